"""grader.kernel's audit hook: signals only to the submission's own processes,
with the answers a real system call would give, and no trace functions."""
import os
import subprocess
import sys
import textwrap

from tools.assignments import ROOT

PROBE = textwrap.dedent("""
    import os, signal, subprocess, sys, types
    from grader import kernel
    kernel.install_audit_hook({"folder": os.getcwd(), "tmpdir": os.getcwd(), "source_dir": ""},
                              types.SimpleNamespace(ARMED=True))

    def outcome(call):
        try:
            call()
            return "ok"
        except Exception as exc:
            return type(exc).__name__

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    print("own child:", outcome(lambda: os.kill(child.pid, signal.SIGTERM)))
    child.wait()
    print("reaped child:", outcome(lambda: os.kill(child.pid, signal.SIGTERM)))
    print("init:", outcome(lambda: os.kill(1, 0)))
    print("every process:", outcome(lambda: os.kill(-1, 0)))
    print("parent:", outcome(lambda: os.kill(os.getppid(), 0)))
    print("settrace:", outcome(lambda: sys.settrace(lambda *a: None)))
    print("settrace off:", outcome(lambda: sys.settrace(None)))
""")


def test_signals_reach_only_own_processes_and_vanished_ones_look_vanished(tmp_path):
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr
    seen = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert seen == {
        "own child": "ok",
        # multiprocessing ignores ProcessLookupError when it terminates a worker
        # that another thread has just reaped; a PermissionError there broke pools
        "reaped child": "ProcessLookupError",
        "init": "PermissionError",
        "every process": "PermissionError",
        "parent": "PermissionError",
        "settrace": "RuntimeError",
        "settrace off": "RuntimeError",  # the audit event does not say what is set
    }, done.stdout
