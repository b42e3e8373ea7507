"""The instructor's steps, one command each (what `make release`, `collect`,
`autograde`, `feedback` and `grades` run; `make help` lists them).

    python -m tools.instructor STEP [ASSIGNMENT] [extra arguments for the command]

Every step that takes an assignment checks its name first (a missing or
unknown one gets the list of assignments, exit status 2) and brings the
gradebook up to date with source/ (grader.parallel.prepare_gradebook), so a
fresh instructor may start with any step: `make lab` has already released the
assignments, and nothing needs `make generate` unless source/ changed.

    release    release/A -> the exchange; nothing to do when the exchange has it
               unchanged (as after `make lab`), released again when release/ changed
    collect    the exchange -> submitted/: each student's latest submission
               (nbgrader collect; nbgrader_config.py turns on its --update)
    autograde  submitted/ -> autograded/ and the gradebook (python -m grader autograde)
    feedback   feedback for every graded student, made afresh (so a re-graded
               submission gets new feedback), and handed back through the exchange
    grades     the gradebook -> grades.csv (nbgrader export)

Extra arguments go to the command that does the work, e.g. `--jobs 4` for
autograde, or `--CourseFeedback.show_hidden_tests=True` for feedback.
"""
from __future__ import annotations

import contextlib
import getpass
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("release", "collect", "autograde", "feedback", "grades")
NEEDS_ASSIGNMENT = ("release", "collect", "autograde", "feedback")


def known_assignments() -> list[str]:
    from tools.assignments import assignments

    return assignments(ROOT / "source")


def check_assignment(step: str, name: str) -> str | None:
    """An error message for a missing or unknown assignment, or None."""
    have = ", ".join(known_assignments()) or "none (source/ is empty)"
    if not name:
        return f"make {step}: A=<assignment> is required; have: {have}"
    if name not in known_assignments():
        return f"make {step}: no assignment {name!r} in source/; have: {have}"
    return None


def _env() -> dict:
    bin_dir = os.path.dirname(sys.executable)  # nbgrader runs `alembic` from PATH to create a gradebook
    return dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))


def _run(*args: str) -> int:
    print("$", " ".join(args), flush=True)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=_env()).returncode


def nbgrader(*args: str) -> int:
    """`nbgrader ARGS`, run in this process (its start-up, about 3 s, is paid once per step)."""
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    print("$ nbgrader", " ".join(args), flush=True)
    os.chdir(ROOT)
    os.environ["PATH"] = _env()["PATH"]
    app = NbGraderApp.instance()
    try:
        app.initialize(list(args))
        app.start()
        return 0
    except NoStart:  # how a subcommand ends (jupyter_core's launch_instance catches it too)
        return 0
    except SystemExit as exc:  # nbgrader's apps exit with 1 on failure
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        app.reset()  # clears nbgrader's singletons, so that a second command starts afresh


def prepare(name: str) -> None:
    """The gradebook knows the assignment as source/ has it now."""
    sys.path.insert(0, str(ROOT))
    os.environ["PATH"] = _env()["PATH"]
    from grader.parallel import load_config, prepare_gradebook

    prepare_gradebook(load_config(ROOT), name)


def release(name: str, extra: list[str]) -> int:
    from tools.lab import exchange_root, released_copy_is_current

    if released_copy_is_current(name) and "--force" not in extra:
        print(f"{name} is already in the exchange ({exchange_root()}), the same as release/{name}: "
              "students can fetch it (run `make generate` first if you changed source/)")
        return 0
    return nbgrader("release_assignment", name, "--force", *extra)


def feedback(name: str, extra: list[str]) -> int:
    code = nbgrader("generate_feedback", name, "--force", *extra)
    return code or nbgrader("release_feedback", name)


def _named_already(user: str) -> bool:
    """Whether the default SQLite gradebook names `user` (checked without importing
    nbgrader, which takes seconds: `make lab` runs this at every start)."""
    import sqlite3

    from tools.settings import gradebook_url

    url = gradebook_url(ROOT)
    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
    if not path or not os.path.exists(path):
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute("SELECT first_name, last_name FROM student WHERE id = ?", (user,)).fetchone()
    except sqlite3.Error:
        return False
    return bool(row and (row[0] or row[1]))


def name_local_student() -> str:
    """Give this computer's user (the student of `make lab`) a name in the gradebook,
    so the Formgrader shows it instead of "None, None".  Returns the student id."""
    user = getpass.getuser()
    if _named_already(user):
        return user
    from nbgrader.api import Gradebook, MissingEntry

    sys.path.insert(0, str(ROOT))
    from grader.parallel import load_config

    try:
        import pwd

        full = pwd.getpwnam(user).pw_gecos.split(",")[0].split()
    except (ImportError, KeyError):
        full = []
    first, last = (" ".join(full[:-1]), full[-1]) if len(full) > 1 else (user, "(this computer)")
    cfg = load_config(ROOT).CourseDirectory
    os.environ["PATH"] = _env()["PATH"]
    with Gradebook(cfg.db_url, cfg.course_id) as gb:
        try:
            student = gb.find_student(user)
            if student.first_name or student.last_name:
                return user
        except MissingEntry:
            pass
        gb.update_or_create_student(user, first_name=first, last_name=last)
    return user


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in STEPS:
        print(__doc__)
        return 2
    step, rest = argv[0], argv[1:]
    name = rest.pop(0) if rest and not rest[0].startswith("-") else ""
    if step in NEEDS_ASSIGNMENT:
        problem = check_assignment(step, name)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        prepare(name)
    elif name:
        rest.insert(0, name)
    if step == "release":
        return release(name, rest)
    if step == "collect":
        return nbgrader("collect", name, *rest)
    if step == "autograde":
        return _run("-m", "grader", "autograde", name, *rest)
    if step == "feedback":
        return feedback(name, rest)
    return nbgrader("export", "--to", "grades.csv", *rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
