"""grader.cgroups: the caps hold for a whole family of processes."""
import os
import subprocess
import sys
import time

import psutil
import pytest

from grader import cgroups


@pytest.fixture
def groups():
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("control groups need root")
    procs = cgroups.create(f"pyconc-test-{os.getpid()}", processes=8, memory_bytes=256 * 2**20, cpus=0.25)
    if not procs:
        pytest.skip("no writable control groups here")
    yield procs
    for pid in cgroups.members(procs):
        psutil.Process(pid).kill()
    time.sleep(0.2)
    cgroups.remove(procs)


def test_a_spinning_family_gets_at_most_its_cpu_quota(groups):
    started = time.monotonic()
    proc = psutil.Popen([sys.executable, "-c", "import time\nend = time.time() + 2\nwhile time.time() < end: pass"])
    cgroups.attach(groups, proc.pid)
    cpu = 0.0
    while proc.poll() is None and time.monotonic() - started < 30:
        times = proc.cpu_times()
        cpu = times.user + times.system
        time.sleep(0.05)
    wall = time.monotonic() - started
    assert proc.poll() is not None, "the spinner did not finish"
    # 0.25 of a core: about 0.5 s of CPU in 2 s (however busy the machine is, never more)
    assert cpu <= 0.25 * wall + 0.3, f"{cpu:.2f} s of CPU in {wall:.2f} s under a 0.25-core cap"


def test_the_process_cap_counts_the_family(groups):
    code = ("import os, time\nkids = []\nfor _ in range(20):\n    try:\n        pid = os.fork()\n"
            "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(1)\n        os._exit(0)\n"
            "    kids.append(pid)\nprint(len(kids))\n")
    proc = subprocess.Popen([sys.executable, "-c", f"import sys; sys.stdin.readline()\n{code}"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    cgroups.attach(groups, proc.pid)
    out, _ = proc.communicate("go\n", timeout=60)
    assert int(out) < 8, f"{out.strip()} children under a cap of 8 processes"
