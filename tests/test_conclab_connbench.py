"""Tests for conclab.connbench at small sizes (the notebook runs the big ones)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conclab import connbench

COURSE = Path(__file__).resolve().parent.parent / "course"

pytestmark = pytest.mark.timeout(120)


def test_feasible_keeps_a_reserve_of_descriptors():
    assert connbench.feasible(10_000, None) == 10_000
    assert connbench.feasible(10_000, 1024) == 1024 - connbench.RESERVE_FDS
    assert connbench.feasible(100, 20_000) == 100
    assert connbench.feasible(100, 10) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_NOFILE is POSIX-only")
def test_raise_nofile_never_exceeds_the_hard_limit():
    # in a child process, so this test process keeps its limits
    code = ("import resource; from conclab import connbench as c;"
            "s, h = resource.getrlimit(resource.RLIMIT_NOFILE);"
            "new = c.raise_nofile(10**9);"
            "assert h == resource.RLIM_INFINITY or new <= h, (new, h);"
            "assert new >= s")
    subprocess.run([sys.executable, "-c", code], cwd=COURSE, check=True, timeout=60)


@pytest.mark.parametrize("model", connbench.MODELS)
def test_server_holds_all_connections_at_once(model):
    r = connbench.run(model, 64, inflight=16, timeout=60)
    assert r["ok"] == r["served"] == r["n"] == 64
    assert r["peak_open"] == 64
    if model == "threads":
        assert r["threads_at_peak"] >= 64  # one thread per connection
    else:
        assert r["threads_at_peak"] < 64   # one event loop, however many sockets


def test_unknown_model_is_rejected():
    with pytest.raises(ValueError):
        connbench.run("fibers", 1)


def test_command_line_prints_json():
    proc = subprocess.run([sys.executable, "-m", "conclab.connbench", "-n", "32", "--json"],
                          cwd=COURSE, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["model"] == "asyncio" and r["ok"] == 32
