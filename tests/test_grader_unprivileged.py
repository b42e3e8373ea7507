"""Grading as an unprivileged user would (an instructor's laptop, a Formgrader pod):
no sandbox uid, no cgroups; the audit hook is the only file-system barrier, and the
launcher's PID namespace (or its subreaper) the only way to find what a submission
started.  As root, ``SandboxedExecute.as_root = False`` grades exactly so (in a user
namespace, so that even root's kernel cannot raise its own limits)."""
import os
import textwrap

import nbformat
import psutil
import pytest

from harness import grade_cells
from hostile import marker
from tools.assignments import assignments, points_of, reference_solutions, notebook_path

NAME = "ps2_deadlock"  # the quickest to grade


def first_solution(name: str, code: str) -> tuple[str, dict]:
    """(grade id, solutions): `code` in the first solution cell (a module, where that cell writes one)."""
    gid, source = next(iter(reference_solutions(name).items()))
    head = source.splitlines()[0]
    if head.startswith("%%writefile"):  # imported by the tests: run the attack at import
        return gid, {gid: head + "\n" + code}
    return gid, {gid: code}


def printed(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.get("output_type") == "stream")


def test_the_reference_keeps_full_marks_unprivileged(tmp_path):
    scores = grade_cells(NAME, reference_solutions(NAME), tmp_path, sandbox={"as_root": False})
    total = points_of(nbformat.read(notebook_path(NAME), as_version=4))
    assert scores == total


@pytest.mark.parametrize("name", assignments())
def test_a_disarmed_hook_still_confines_writes_and_nothing_outlives_the_grading(tmp_path, name):
    canary = tmp_path / "canary.txt"
    canary.write_text("untouched")
    mark = marker(f"unprivileged-{name}")
    attack = textwrap.dedent(f"""
        import os, subprocess, sys
        guard = sys.modules.get('grader.guard')
        for name in ('ARMED', 'WATCHED', 'DENIED_IMPORTS', 'CHANGES'):
            if guard is not None:
                setattr(guard, name, [] if name == 'ARMED' else frozenset())
        try:
            open({str(canary)!r}, 'w').write('overwritten')
            print('attempt write: ESCAPED')
        except Exception as exc:
            print('attempt write:', type(exc).__name__)
        try:
            __import__('ctypes')
            print('attempt ctypes: ESCAPED')
        except Exception as exc:
            print('attempt ctypes:', type(exc).__name__)
        subprocess.Popen([sys.executable, '-c', 'import time; time.sleep({mark})'], env={{}},
                         start_new_session=True, close_fds=True)
        if os.fork() == 0:
            os.setsid()
            os.execve(sys.executable, [sys.executable, '-c', 'import time; time.sleep({mark})'], {{}})
    """)
    kept = []
    gid, solutions = first_solution(name, attack)
    grade_cells(name, solutions, tmp_path, sandbox={"as_root": False}, keep=kept)
    out = printed(kept[0])
    assert "attempt write: PermissionError" in out and "attempt ctypes: ImportError" in out, out[-2000:]
    assert canary.read_text() == "untouched"
    survivors = [p.pid for p in psutil.process_iter(["cmdline"]) if mark in " ".join(p.info["cmdline"] or [])]
    assert not survivors, f"processes started by the submission outlived its grading: {survivors}"
