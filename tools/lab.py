"""Open the course in JupyterLab (what `make lab` runs).

    python -m tools.lab [extra jupyter-lab arguments, e.g. --no-browser --port 8899]

Before it starts JupyterLab it makes the embedded, single-machine set-up
ready, idempotently: the repo-local exchange and workspace folders exist, and
every assignment in release/ is released into the exchange (again, if
release/ changed), so the Assignment List offers it at once; and this
computer's user, the student here, has a name in the gradebook.  Set
COURSE_EXCHANGE to use a shared exchange instead (see README).
"""
from __future__ import annotations

import filecmp
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COURSE_ID = "pyconc"


def exchange_root() -> Path:
    return Path(os.environ.get("COURSE_EXCHANGE", ROOT / "exchange"))


def release(names: list[str]) -> None:
    """nbgrader's release_assignment --force for each name, in this process (one start-up for all)."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeReleaseAssignment

    sys.path.insert(0, str(ROOT))
    from grader.parallel import load_config

    for name in names:
        cfg = load_config(ROOT)
        cfg.CourseDirectory.assignment_id = name
        app = ExchangeReleaseAssignment(coursedir=CourseDirectory(config=cfg),
                                        authenticator=Authenticator(config=cfg), config=cfg)
        app.force = True
        try:
            app.start()
        except Exception as exc:
            raise SystemExit(f"could not release {name} into {exchange_root()}: {exc}") from None


def released_copy_is_current(name: str) -> bool:
    outbound = exchange_root() / COURSE_ID / "outbound" / name
    if not outbound.is_dir():
        return False
    cmp = filecmp.dircmp(ROOT / "release" / name, outbound, ignore=[".ipynb_checkpoints", "__pycache__"])
    return not (cmp.left_only or cmp.right_only or cmp.diff_files)


def prepare() -> list[str]:
    """Create the exchange and workspace; release what is new or changed. Returns what was released."""
    root = exchange_root()
    root.mkdir(parents=True, exist_ok=True)
    (ROOT / "workspace").mkdir(exist_ok=True)
    released = [f.name for f in sorted((ROOT / "release").iterdir())
                if f.is_dir() and not released_copy_is_current(f.name)]
    release(released)
    from tools.instructor import name_local_student

    name_local_student()  # the Formgrader shows this student by name, not "None, None"
    return released


def main(argv: list[str]) -> int:
    released = prepare()
    if released:
        print("Released to the local exchange:", ", ".join(released))
    print(f"Exchange: {exchange_root()}   Gradebook: {os.environ.get('COURSE_GRADEBOOK_URL', ROOT / 'gradebook.db')}")
    cmd = [str(BIN / "jupyter"), "lab", f"--ServerApp.root_dir={ROOT}", *argv]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in argv:
        cmd.append("--allow-root")  # containers and CI machines often run as root
    if not any(a.startswith("--LabApp.default_url") or a.startswith("--ServerApp.default_url") for a in argv):
        cmd.append("--LabApp.default_url=/lab/tree/course/00-Welcome.ipynb")
    os.chdir(ROOT)
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    os.execv(cmd[0], cmd)  # JupyterLab takes over this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
