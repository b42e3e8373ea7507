"""grader.guard, attacked directly: an IPython shell with the guard installed runs
an attack and then two test cells (one that passes, one that fails), and the test
reads what the guard's channel vouched for.

Each attack is what a submission could run in a cell.  None may make the guard
confirm a test that did not genuinely pass, or stop it from noticing; the
operations that would reach another thread's frames or raw memory are refused.
(The same attacks, and more, are graded end to end in tests/test_autograding.py.)
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap

import pytest

from tools.assignments import ROOT

TESTS = ["x = 41\nassert x + 1 == 42, 'arithmetic'\n", "assert 1 + 1 == 3, 'this test fails'\n"]

RUNNER = textwrap.dedent("""
    import os, sys, tempfile, time
    write, sleep = sys.__stdout__.write, time.sleep   # (the attacks may patch what the runner uses)
    sys.path.insert(0, {root!r})
    from grader import channel, guard
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    key = os.urandom(32)
    folder = tempfile.mkdtemp()
    make = guard.install({{
        "key": key.hex(), "channel_fd": write_end, "tests": {tests!r}, "folder": folder,
        "protected": [], "student_dirs": [folder, tempfile.gettempdir()], "writable": [folder],
        "library_dirs": [sys.prefix, sys.base_prefix, {grader!r}], "source_dir": "", "confined": True,
    }})
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.ast_transformers.append(make(shell))
    shell.run_cell("pass")                      # the first cell arms the guard
    outcome = shell.run_cell({attack!r})
    printed = []
    for source in {tests!r}:
        shell.run_cell(source)
    sleep(0.2)
    reader = channel.Reader(key)
    reader.read_available(read_end)
    summary = {{"records": [(r["kind"], r.get("test"), r.get("passed"), r.get("findings")) for r in reader.records],
               "broken": reader.broken}}
    write("SUMMARY " + repr(summary) + chr(10))
""")


def run(attack: str, tmp_path) -> tuple[dict, str]:
    script = RUNNER.format(root=str(ROOT), grader=str(ROOT / "grader"), tests=TESTS, attack=textwrap.dedent(attack))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("SUMMARY ")), None)
    assert line, f"the run did not finish:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return ast.literal_eval(line[len("SUMMARY "):]), done.stdout


def verdicts(summary: dict) -> dict:
    return {test: passed for kind, test, passed, _ in summary["records"] if kind == "end"}


def findings(summary: dict) -> list:
    return [f for kind, _, _, found in summary["records"] if kind in ("begin", "end") for f in found]


def test_an_honest_notebook_gets_each_test_vouched_for(tmp_path):
    summary, _ = run("y = 1", tmp_path)
    assert not summary["broken"], summary
    assert verdicts(summary) == {0: True, 1: False}
    assert findings(summary) == []


def test_the_interpreters_own_code_is_never_the_submissions(tmp_path):
    """A course cloned under a folder students may write to (/tmp): IPython (whose shell's
    excepthook replaces sys.excepthook while a cell runs) lives there too, and is still not
    the submission's code; a file of the submission's folder is."""
    import IPython

    from grader import guard

    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "pool.py").write_text("def f():\n    return 1\n")
    checks = guard._Checks({"student_dirs": [str(folder), os.path.dirname(sys.prefix), str(ROOT)],
                            "library_dirs": [sys.prefix, sys.base_prefix, str(ROOT / "grader")],
                            "protected": [], "folder": str(folder)})
    ipython_code = IPython.core.interactiveshell.InteractiveShell.excepthook.__code__
    assert not checks._students(ipython_code), "IPython's code was taken for the submission's"
    assert not checks._students(guard.wrap.__code__)
    students = compile("def g(): pass", str(folder / "pool.py"), "exec")
    assert checks._students(students) and checks._students(compile("x = 1", "<ipython-input-1>", "exec"))


@pytest.mark.parametrize("attack", [
    # the guard and its ways in, replaced or emptied from the notebook
    "get_ipython().ast_transformers.clear()",
    "import sys\nsys.audit = lambda *a: None",
    "import builtins\nbuiltins.__import__ = lambda name, *a, **k: type(sys)('fake') if name == 'sys' else __import__(name, *a, **k)",
    "get_ipython().run_ast_nodes = lambda *a, **k: __import__('asyncio').sleep(0, False)",
    "get_ipython().compile = lambda *a, **k: compile('pass', '<x>', 'exec')",
])
def test_cutting_the_guard_out_leaves_the_tests_unconfirmed(tmp_path, attack):
    summary, printed = run(attack, tmp_path)
    assert 0 not in verdicts(summary) or findings(summary) or summary["broken"], \
        f"the test was confirmed although the guard was cut out:\n{summary}\n{printed[-2000:]}"
    assert verdicts(summary).get(1) is not True, "a failing test was confirmed as passing"


@pytest.mark.parametrize("attack", [
    "import sys\nsys.audit('pyconc.begin', 0)",
    "import sys\nsys.audit('pyconc.end', 1)",
    "import sys\nsys.audit('pyconc.begin', 0, 'extra')",
])
def test_claims_from_other_code_break_the_channel(tmp_path, attack):
    summary, _ = run(attack, tmp_path)
    assert summary["broken"], f"a forged claim was accepted: {summary}"
    assert 1 not in verdicts(summary) or verdicts(summary)[1] is False


def test_running_a_test_early_and_again_breaks_the_channel(tmp_path):
    attack = f"""
        from grader import guard
        code = guard.compile_wrapped({TESTS[0]!r}, 0)
        exec(code, get_ipython().user_ns)   # the genuine test code, run before its cell
    """
    summary, _ = run(attack, tmp_path)
    assert summary["broken"] and "second time" in summary["broken"], summary


@pytest.mark.parametrize("attack, finding", [
    ("import builtins\nbuiltins.abs = lambda x: 0", "builtins.abs changed"),
    ("import time\ntime.monotonic = time.time", "time.monotonic replaced"),
    ("import json\ndef fake(*a, **k): return '{}'\njson.dumps = fake", "json.dumps replaced"),
    ("import json\njson.extra = lambda: 1", "json.extra replaced by the submission's code"),
    ("import threading\nthreading.Thread.start = lambda self: None", "threading.Thread.start replaced"),
    ("from IPython import get_ipython\nget_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)",
     "a custom exception handler was installed"),
    ("import sys\nsys.modules['json'] = type(sys)('json')", "sys.modules['json'] replaced"),
])
def test_tampering_a_genuine_test_could_be_fooled_by_is_reported(tmp_path, attack, finding):
    summary, _ = run(attack, tmp_path)
    assert finding in findings(summary), f"expected {finding!r} among {findings(summary)}"


@pytest.mark.parametrize("attack, refused", [
    ("import gc\ngc.get_objects()", "RuntimeError"),
    ("import gc\ngc.get_referrers(gc)", "RuntimeError"),
    ("import gc\ngc.get_referents(gc)", "RuntimeError"),
    ("import sys\nsys._current_frames()", "RuntimeError"),
    ("import ctypes", "ImportError"),
    ("import cffi", "ImportError"),
    ("open('/proc/self/mem', 'rb')", "PermissionError"),
    ("import os\nos.open('mem', os.O_RDONLY, dir_fd=os.open('/proc/self', os.O_RDONLY))", "PermissionError"),
    ("import marshal\nmarshal.loads(marshal.dumps(compile('1', '<x>', 'eval')))", "RuntimeError"),
    ("(lambda: 0).__code__.replace(co_consts=())", "RuntimeError"),
    ("import sys\nsys.settrace(lambda *a: None)", "RuntimeError"),
    ("import sys\nsys.setprofile(None)", "RuntimeError"),
    ("import resource\nresource.setrlimit(resource.RLIMIT_MSGQUEUE, (1 << 20, 1 << 20))", "ValueError"),
    ("open('/tmp/outside-the-folder', 'w')", "PermissionError"),
])
def test_ways_to_the_guards_state_are_refused(tmp_path, attack, refused):
    probe = f"try:\n{textwrap.indent(attack, '    ')}\n    print('OUTCOME ok')\n" \
            f"except Exception as exc:\n    print('OUTCOME', type(exc).__name__)\n"
    summary, printed = run(probe, tmp_path)
    outcome = next(ln.split()[1] for ln in printed.splitlines() if ln.startswith("OUTCOME"))
    if "RLIMIT_MSGQUEUE" in attack and os.geteuid() == 0:
        pytest.skip("root may raise its hard limits: the grader drops root before student code runs")
    assert outcome == refused, f"{attack!r}: {outcome}"
    assert verdicts(summary) == {0: True, 1: False}, summary


def test_types_coroutine_still_works(tmp_path):
    probe = ("import types\n@types.coroutine\ndef g():\n    yield\n"
             "async def f():\n    await g()\nprint('OUTCOME', f().send(None))\n")
    _, printed = run(probe, tmp_path)
    assert "OUTCOME None" in printed


def test_signals_reach_only_own_processes_and_vanished_ones_look_vanished(tmp_path):
    probe = textwrap.dedent("""
        import os, signal, subprocess, sys

        def outcome(call):
            try:
                call()
                return "ok"
            except Exception as exc:
                return type(exc).__name__

        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        print("SIGNAL own child:", outcome(lambda: os.kill(child.pid, signal.SIGTERM)))
        child.wait()
        print("SIGNAL reaped child:", outcome(lambda: os.kill(child.pid, signal.SIGTERM)))
        print("SIGNAL init:", outcome(lambda: os.kill(1, 0)))
        print("SIGNAL every process:", outcome(lambda: os.kill(-1, 0)))
        print("SIGNAL parent:", outcome(lambda: os.kill(os.getppid(), 0)))
    """)
    _, printed = run(probe, tmp_path)
    seen = dict(line[len("SIGNAL "):].split(": ", 1) for line in printed.splitlines() if line.startswith("SIGNAL "))
    assert seen == {
        "own child": "ok",
        # multiprocessing ignores ProcessLookupError when it terminates a worker
        # that another thread has just reaped; a PermissionError there broke pools
        "reaped child": "ProcessLookupError",
        "init": "PermissionError",
        "every process": "PermissionError",
        "parent": "PermissionError",
    }, printed[-2000:]
