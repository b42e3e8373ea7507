"""Hostile submissions: code a student could submit to hang, crash, escape or
fool the autograder.  Each is a snippet that runs inside the grading kernel
before the tests (as the first solution cell, or in the module a
``%%writefile`` solution cell writes).  None implements the assignment, so
every one of them deserves 0 points, and a trick that earned any point would
show in the score.

Cases marked sandbox_only (hangs, bombs, escapes, floods) meet the sandbox
before any code of the assignment runs, so their outcome cannot depend on the
assignment: they run with the first assignment only, to keep the suite
within its time budget.  The tricks aimed at the tests (tampering, exits,
redefined names) run against every assignment.
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    tampering: bool = False          # must be caught and reported
    seconds: float = 150             # grading of this submission must end within this
    sandbox_only: bool = False       # the outcome depends on the sandbox alone, not on the assignment
    probes: dict = field(default_factory=dict)


def cases(probe: dict) -> list[Hostile]:
    """The suite; `probe` holds paths and ports the escape attempts aim at."""
    escape = textwrap.dedent(f"""
        import os, socket, subprocess, sys
        for attempt in (
            lambda: open({probe['canary']!r}, 'w').write('overwritten'),
            lambda: os.remove({probe['canary']!r}),
            lambda: open({probe['other_student']!r}, 'w').write('overwritten'),
            lambda: open({probe['gradebook']!r}, 'a').write('x'),
            lambda: print(open({probe['source_notebook']!r}).read()),
            lambda: socket.create_connection(('127.0.0.1', {probe['port']}), timeout=2),
            lambda: socket.create_connection(('10.255.255.1', 80), timeout=2),
        ):
            try:
                attempt()
            except Exception as exc:
                print(type(exc).__name__)
        subprocess.Popen([sys.executable, '-c', 'import time; time.sleep({probe['marker']})'],
                         start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep({probe['marker']})'])
    """)
    fake = ("import __main__, types\n"
            "fake = types.SimpleNamespace(bounded=lambda *a, **k: None, raises=lambda *a, **k: None,\n"
            "    lingering=lambda *a: {}, cpu_during=lambda *a, **k: 0.0, Hang=AssertionError)\n"
            "for name in ('gradelib', 'ProcessPool', 'Scheduler'):\n"
            "    setattr(__main__, name, fake)\n"
            "__main__.isinstance = lambda *a: True\n")
    return [
        Hostile("infinite_loop", "while True:\n    pass\n", sandbox_only=True),
        Hostile("deadlock", "import threading\nlock = threading.Lock()\nlock.acquire()\nlock.acquire()\n", sandbox_only=True),
        Hostile("swallows_interrupts", "import time\nwhile True:\n    try:\n        time.sleep(1)\n"
                                       "    except BaseException:\n        pass\n", sandbox_only=True),
        Hostile("fork_bomb", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", sandbox_only=True),
        Hostile("memory_bomb", "hog = []\nwhile True:\n    hog.append(bytearray(256 * 2**20))\n", sandbox_only=True),
        Hostile("sys_exit", "import sys\nsys.exit(0)\n"),
        Hostile("os_exit", "import os\nos._exit(0)\n"),
        Hostile("kills_parent", "import os, signal\nfor pid in (os.getppid(), 1, -1):\n    try:\n"
                                "        os.kill(pid, signal.SIGKILL)\n    except Exception as exc:\n"
                                "        print(type(exc).__name__)\n", sandbox_only=True),
        Hostile("output_flood", "import sys\nfor i in range(3_000_000):\n    print('flood', i)\n", sandbox_only=True),
        Hostile("escapes", escape, sandbox_only=True),
        Hostile("redefines_names", fake, tampering=False),
        Hostile("patches_modules", "import gradelib\nfor name in ('bounded', 'raises'):\n"
                                   "    setattr(gradelib, name, lambda *a, **k: None)\n", tampering=True),
        Hostile("patches_builtins", "import builtins\nbuiltins.sorted = lambda *a, **k: [1, 2, 3]\n"
                                    "builtins.AssertionError = type('Nope', (Exception,), {})\n", tampering=True),
        Hostile("input_transformer", "from IPython import get_ipython\n"
                "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n", tampering=True),
        Hostile("ast_transformer", "import ast\nfrom IPython import get_ipython\n"
                "class Blank(ast.NodeTransformer):\n"
                "    def visit_Module(self, node):\n"
                "        return ast.Module(body=[ast.Pass()], type_ignores=[])\n"
                "get_ipython().ast_transformers.append(Blank())\n", tampering=True),
        Hostile("settrace", "import sys, threading\nthreading.settrace(lambda *a: None)\n"
                            "sys.settrace(lambda *a: None)\n"),
        Hostile("hides_errors", "from IPython import get_ipython\n"
                "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n", tampering=True),
        Hostile("fake_output", "from IPython import get_ipython\n"
                "print('All tests passed! 14/14')\n"
                "get_ipython().events.register('post_run_cell', lambda *a: print('ok: 100 points'))\n",
                tampering=True),
    ]
