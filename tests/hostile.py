"""Hostile submissions: code a student could submit to hang, crash, escape or
fool the autograder.  Each is a snippet that runs inside the grading kernel
before the tests (as the first solution cell, or in the module a
``%%writefile`` solution cell writes).  None implements the assignment, so
every one of them deserves 0 points, and a trick that earned any point would
show in the score.

Each case is graded beside honest and mistaken submissions (tests/test_autograding.py):
an attack on what an assignment ships runs against every assignment, one on the guard or
on the machine against one assignment (GRADED_WITH). An attack that works inside the
kernel's Python alone is graded once per set of inputs and its outcome recorded, as the
mistakes' grades are (`recorded`); the others are graded in every run.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from grader.launcher import VIEW_VAR


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    tampering: bool = False          # must be caught and reported
    seconds: float = 120             # grading of this submission must end within this (wall, all included)
    hangs: bool = False              # runs until the cell timeout stops it
    aims: str = "assignment"         # what it attacks: "assignment", "guard" or "machine" (GRADED_WITH)
    probes: dict = field(default_factory=dict)
    # Its outcome depends only on what a grade record's key holds (tests/grading/__init__.py:
    # the grader, the assignment, the configuration, the pins, the Python version) and its own
    # code: it works inside the kernel's Python alone (no file, process or network of the
    # machine). Graded once per key, like a mistake, and its grade, findings and time recorded.
    # The attacks on the machine, on files (escapes, planted links) and on processes stay graded
    # in every run: their outcome depends on the machine too.
    recorded: bool = False


MARKER = "4321.5"  # the sleep of the processes a submission leaves behind: none may survive its grading


def marker(owner: str) -> str:
    """MARKER made particular to one grading (a class, a test): the suite grades several at once,
    and one's processes, alive while it is graded, are not another's survivors."""
    return f"{MARKER}{zlib.crc32(owner.encode()) % 10**6:06d}"

# What the escape attempt tries, by name: each must fail (it prints the exception's name).
ESCAPE_ATTEMPTS = {
    "overwrite_outside": "open({canary!r}, 'w').write('overwritten')",
    "delete_outside": "os.remove({canary!r})",
    "overwrite_other_student": "open({other_student!r}, 'w').write('overwritten')",
    "read_other_student": "print(open({other_student!r}).read()[:100])",
    "write_gradebook": "open({gradebook!r}, 'a').write('x')",
    "read_source": "print(open({source_notebook!r}).read())",
    "reach_local_server": "socket.create_connection(('127.0.0.1', {port}), timeout=2)",
    "reach_internet": "socket.create_connection(('10.255.255.1', 80), timeout=2)",
    # the guard's state and raw memory
    "gc_objects": "__import__('gc').get_objects()",
    "gc_referrers": "__import__('gc').get_referrers(sys)",
    "other_threads_frames": "sys._current_frames()",
    "load_ctypes": "__import__('ctypes')",
    "load_cffi": "__import__('cffi')",
    "read_own_memory": "open('/proc/self/mem', 'rb')",
    "build_code": "(lambda: 0).__code__.replace(co_consts=())",
    "trace_calls": "sys.settrace(lambda *a: None)",
    "raise_own_limits": "__import__('resource').setrlimit(__import__('resource').RLIMIT_MSGQUEUE, (1 << 22, 1 << 22))",
}


# Where each attack is graded, by what it aims at:
# - "assignment": the files and names an assignment ships and its tests use (its modules,
#   its notebook, gradelib, the names the tests look up), and the three that rewrite each
#   test cell on its way from the execute request to the compiled code (the shell's
#   run_cell on the instance, its compiler, the kernel's execute handler: one of them once
#   took a blank submission to 12 of 14 points): every assignment grades those;
# - "guard": IPython's and the kernel's cell machinery, builtins, trace and audit hooks, which
#   the guard watches the same way whatever the notebook holds: graded with one assignment;
# - "machine": the kernel's process and the machine (hangs, bombs, exits, floods, kills), which
#   never reach a test cell and are stopped by time limits, cgroups, namespaces and the output
#   limit, the same for every assignment: graded with one assignment.
GRADED_WITH = {"guard": "ps3_coroutine_scheduler", "machine": "ps2_deadlock"}


def cases(probe: dict, assignment: str | None = None) -> list[Hostile]:
    """The suite (for `assignment`, if given: see GRADED_WITH); `probe` holds paths
    and ports the escape attempts aim at."""
    every = _cases(probe)
    return [h for h in every if assignment is None or h.aims not in GRADED_WITH or assignment == GRADED_WITH[h.aims]]


def _cases(probe: dict) -> list[Hostile]:
    mark = probe.get("marker", MARKER)
    lines = ["import os, socket, subprocess, sys", f"print('view:', os.environ.get({VIEW_VAR!r}))"]
    for what, code in ESCAPE_ATTEMPTS.items():
        lines += ["try:", f"    {code.format(**probe)}", f"    print('attempt {what}: ESCAPED')",
                  "except Exception as exc:", f"    print('attempt {what}:', type(exc).__name__)"]
    lines += [
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep({mark})'], start_new_session=True)",
        # no environment at all (no grading tag to be found by), in a session of its own
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep({mark})'], env={{}}, "
        "start_new_session=True, close_fds=True)",
        "if os.fork() == 0:",
        "    os.setsid()",
        f"    os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep({mark})'])",
    ]
    escape = "\n".join(lines) + "\n"
    fake = ("import __main__, types\n"
            "fake = types.SimpleNamespace(bounded=lambda *a, **k: None, raises=lambda *a, **k: None,\n"
            "    lingering=lambda *a: {}, cpu_during=lambda *a, **k: 0.0, Hang=AssertionError)\n"
            "for name in ('gradelib', 'ProcessPool', 'Scheduler'):\n"
            "    setattr(__main__, name, fake)\n"
            "__main__.isinstance = lambda *a: True\n")
    return [
        Hostile("infinite_loop", "while True:\n    pass\n", hangs=True, aims="machine"),
        Hostile("deadlock", "import threading\nlock = threading.Lock()\nlock.acquire()\nlock.acquire()\n", hangs=True, aims="machine"),
        Hostile("swallows_interrupts", "import time\nwhile True:\n    try:\n        time.sleep(1)\n"
                                       "    except BaseException:\n        pass\n", hangs=True, aims="machine"),
        Hostile("fork_bomb", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                hangs=True, aims="machine"),
        Hostile("memory_bomb", "hog = []\nwhile True:\n    hog.append(bytearray(256 * 2**20))\n", aims="machine"),
        Hostile("sys_exit", "import sys\nsys.exit(0)\n", aims="machine"),
        Hostile("os_exit", "import os\nos._exit(0)\n", aims="machine"),
        Hostile("kills_parent", "import os, signal\nfor pid in (os.getppid(), 1, -1):\n    try:\n"
                                "        os.kill(pid, signal.SIGKILL)\n    except Exception as exc:\n"
                                "        print(type(exc).__name__)\n", aims="machine"),
        Hostile("output_flood", "import sys\nfor i in range(400_000):\n    print('flood', i)\n", aims="machine"),
        Hostile("escapes", escape),
        Hostile("redefines_names", fake, tampering=False, recorded=True),
        Hostile("patches_modules", "import gradelib\nfor name in ('bounded', 'raises'):\n"
                                   "    setattr(gradelib, name, lambda *a, **k: None)\n",
                tampering=True, recorded=True),
        Hostile("patches_builtins", "import builtins\nbuiltins.sorted = lambda *a, **k: [1, 2, 3]\n"
                                    "builtins.AssertionError = type('Nope', (Exception,), {})\n",
                tampering=True, aims="guard", recorded=True),
        Hostile("input_transformer", "from IPython import get_ipython\n"
                "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n",
                tampering=True, aims="guard", recorded=True),
        Hostile("ast_transformer", "import ast\nfrom IPython import get_ipython\n"
                "class Blank(ast.NodeTransformer):\n"
                "    def visit_Module(self, node):\n"
                "        return ast.Module(body=[ast.Pass()], type_ignores=[])\n"
                "get_ipython().ast_transformers.append(Blank())\n", tampering=True, aims="guard", recorded=True),
        Hostile("settrace", "import sys, threading\nthreading.settrace(lambda *a: None)\n"
                            "sys.settrace(lambda *a: None)\n", aims="guard", recorded=True),
        Hostile("hides_errors", "from IPython import get_ipython\n"
                "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n",
                tampering=True, aims="guard", recorded=True),
        Hostile("fake_output", "from IPython import get_ipython\n"
                "print('All tests passed! 14/14')\n"
                "get_ipython().events.register('post_run_cell', lambda *a: print('ok: 100 points'))\n",
                tampering=True, aims="guard", recorded=True),
        # root must not write through links the submission plants in its folder
        Hostile("planted_links", "import builtins, os\n"
                f"for name in os.listdir('.'):\n"
                f"    if name.endswith('.ipynb'):\n"
                f"        os.remove(name)\n"
                f"        os.symlink({probe['canary']!r}, name)\n"
                f"os.symlink({probe['canary']!r}, 'tampering.json')\n"
                f"os.symlink({probe['canary']!r}, 'feedback.html')\n"
                "builtins.abs = lambda x: 0  # and be caught, so that a report is written\n", tampering=True),
        # the guard switched off from the notebook: its old handles, and the cell machinery
        Hostile("silences_guard", "import sys\nfrom IPython import get_ipython\nshell = get_ipython()\n"
                "for target in (getattr(getattr(shell, 'kernel', None), 'guard', None), sys.modules.get('grader.guard')):\n"
                "    if target is not None:\n"
                "        for name in ('check', 'install', 'ARMED', 'WATCHED', 'DENIED_IMPORTS'):\n"
                "            try:\n"
                "                setattr(target, name, (lambda *a, **k: []) if name != 'ARMED' else [])\n"
                "            except Exception:\n"
                "                pass\n"
                "shell.ast_transformers.clear()\n"
                "shell.input_transformers_post.append(lambda lines: ['pass\\n'] if any('assert' in l for l in lines) else lines)\n",
                tampering=True, aims="guard", recorded=True),
        Hostile("replaces_run_cell", "from IPython import get_ipython\nshell = get_ipython()\n"
                "real_async, real = shell.run_cell_async, shell.run_cell\n"
                "def blank(cell):\n"
                "    return 'pass' if 'assert' in cell else cell\n"
                "async def run_cell_async(raw_cell, *a, **k):\n"
                "    return await real_async(blank(raw_cell), *a, **k)\n"
                "shell.run_cell_async = run_cell_async\n"
                "shell.run_cell = lambda raw_cell, *a, **k: real(blank(raw_cell), *a, **k)\n",
                tampering=True, recorded=True),
        Hostile("replaces_compiler", "from IPython import get_ipython\nshell = get_ipython()\n"
                "real = shell.compile.ast_parse\n"
                "shell.compile.ast_parse = lambda source, *a, **k: real('pass' if 'assert' in source else source, *a, **k)\n",
                tampering=True, recorded=True),
        Hostile("replaces_execute_handler", "from IPython import get_ipython\nkernel = get_ipython().kernel\n"
                "real = kernel.do_execute\n"
                "async def do_execute(code, *a, **k):\n"
                "    if 'assert' in code:\n"
                "        code = 'pass'\n"
                "    return await real(code, *a, **k)\n"
                "kernel.do_execute = do_execute\n", tampering=True, recorded=True),
        Hostile("hides_tracebacks", "import sys\nfrom IPython import get_ipython\nshell = get_ipython()\n"
                "shell._showtraceback = lambda *a, **k: None\n"
                "shell.showtraceback = lambda *a, **k: None\n", tampering=True, aims="guard", recorded=True),
        Hostile("forges_partial_credit", "from IPython import get_ipython\nshell = get_ipython()\n"
                "shell.input_transformers_post.append(lambda lines: ['get_ipython().displayhook(99)\\n'] + lines)\n",
                tampering=True, aims="guard", recorded=True),
        # messages the grader cannot trust: signed with another key (forked children writing to the
        # kernel's sockets garble them the same way)
        Hostile("forges_messages", "from IPython import get_ipython\n"
                "get_ipython().kernel.session.key = b'forged'\n"
                "print('this message is signed with another key')\n", tampering=True, aims="guard", recorded=True),
        Hostile("garbles_messages", "from IPython import get_ipython\nkernel = get_ipython().kernel\n"
                "kernel.session.send(kernel.iopub_socket, 'stream', content={}, parent=kernel.get_parent())\n",
                tampering=True, aims="guard", recorded=True),
        Hostile("forges_claims", "import sys\nfor i in range(12):\n    sys.audit('pyconc.end', i)\n"
                "sys.audit('pyconc.begin', 0)\n", tampering=True, aims="guard", recorded=True),
    ]
