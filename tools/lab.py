"""Open the course in JupyterLab (what `make lab` runs).

    python -m tools.lab [extra jupyter-lab arguments, e.g. --no-browser --port 8899]

Before it starts JupyterLab it makes the embedded, single-machine set-up
ready, idempotently: the repo-local exchange and workspace folders exist, and
every assignment in release/ is released into the exchange (again, if
release/ changed), so the Assignment List offers it at once.  Set
COURSE_EXCHANGE to use a shared exchange instead (see README).
"""
from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COURSE_ID = "pyconc"


def exchange_root() -> Path:
    return Path(os.environ.get("COURSE_EXCHANGE", ROOT / "exchange"))


def nbgrader(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


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
    released = []
    for folder in sorted((ROOT / "release").iterdir()):
        if not folder.is_dir() or released_copy_is_current(folder.name):
            continue
        result = nbgrader("release_assignment", folder.name, "--force")
        if result.returncode != 0:
            raise SystemExit(f"could not release {folder.name} into {root}:\n{result.stdout}{result.stderr}")
        released.append(folder.name)
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
