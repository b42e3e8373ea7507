"""Install the course's software where every account of a class server can use it.

    python3 deploy/install.py /opt/pyconc [--python /usr/bin/python3.11]

Run it as root, from a checkout of the course repository (the checkout may
sit anywhere, even in root's closed home).  It puts into TARGET what the hub
and every user's server read, and nothing else:

    TARGET/nbgrader_config.py, grader/,  the course's nbgrader settings, sandbox,
    tools/                               feedback and instructor commands
    TARGET/deploy/                       the hub's and the users' configuration
    TARGET/course/                       the lectures, to copy into new homes
    TARGET/requirements*.txt             what the environment was built from
    TARGET/.venv/                        the Python environment: requirements.txt, plus
                                         JupyterHub and psycopg2 pinned by
                                         requirements-dev.txt

(no source/ and no tests/: the solutions stay in the checkout).  Files are
owned by root, readable by all, writable by nobody else.

The environment is built from a Python that every account can run.  A venv's
interpreter is a link to the Python it was made from: a Python kept under a
closed folder (pyenv's in a 0700 /root, say) gives a venv that JupyterHub
cannot start as a student ("Permission denied ... jupyterhub-singleuser").
Without --python, the first of these that the unprivileged account ``nobody``
can run, with ``venv`` and ``ensurepip``, is used: the Python running this
script, then python3.X on /usr/local/bin:/usr/bin:/bin (this Python's version
first, then the oldest from 3.11 up), then python3.  Debian:
``apt-get install python3 python3-venv``.

At the end it checks, as ``nobody``, that the environment's Python runs and
imports the course's packages, that ``jupyterhub-singleuser`` may be run, and
that the nbgrader settings every user's server loads (deploy/user/, and
through them the course's) load; a folder on the way that others cannot pass
through is named.  Running it again updates the code, and rebuilds the
environment only when the requirements, the Python or the build steps
changed (stop the hub first).  tests/test_hub.py runs the class from an
install made by this script.
"""
from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOFTWARE = ("nbgrader_config.py", "grader", "tools", "deploy", "course", "requirements.txt", "requirements-dev.txt")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".pytest_cache")
HUB_PACKAGES = ("jupyterhub", "psycopg2-binary")   # pinned by requirements-dev.txt
MIN_VERSION = (3, 11)
KEY_FILE = ".pyconc-environment"
NOBODY = 65534           # the conventional uid and gid of `nobody`
STANDARD_PATH = "/usr/local/bin:/usr/bin:/bin"
INSTALL_TIMEOUT = 1200   # s, the whole install of the packages
STEP_TIMEOUT = 120       # s, any other step


class InstallError(RuntimeError):
    """Something an administrator has to fix; the message says what."""


# --- which Python ------------------------------------------------------------
def _as_nobody() -> dict:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    return {}  # not root: we can only try as ourselves


def _run_checked(cmd: list[str], timeout: float = STEP_TIMEOUT, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


def runs_for_everyone(python: str) -> tuple[int, int] | None:
    """(major, minor) when `python` runs, with venv and ensurepip, as an unprivileged account."""
    try:
        done = _run_checked([python, "-I", "-c", "import sys, venv, ensurepip; print(*sys.version_info[:2])"],
                            timeout=60, cwd="/", env={"PATH": STANDARD_PATH, "LANG": "C.UTF-8"}, **_as_nobody())
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    try:
        major, minor = map(int, done.stdout.split())
    except ValueError:
        return None
    return major, minor


def _base_python() -> str:
    """The interpreter this script runs on, outside any venv."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(base)


def candidates() -> list[str]:
    """This Python; the same version elsewhere; then the oldest supported first (the pins'
    own); then whatever python3 is."""
    here = sys.version_info
    names = [f"python{here.major}.{here.minor}"] + [f"python3.{m}" for m in range(MIN_VERSION[1], 30)
                                                    if m != here.minor] + ["python3"]
    found = [_base_python()]
    for name in names:
        path = shutil.which(name, path=STANDARD_PATH)
        if path:
            found.append(os.path.realpath(path))
    return list(dict.fromkeys(found))


def find_python(requested: str | None = None) -> str:
    """A Python (3.11+) that every account can run; InstallError says how to get one."""
    tried = [requested] if requested else candidates()
    for python in tried:
        version = runs_for_everyone(python)
        if version and version >= MIN_VERSION:
            return python
    needed = ".".join(map(str, MIN_VERSION))
    raise InstallError(
        f"no Python {needed}+ with venv that every account can run (tried: {', '.join(tried)}); "
        f"install one where everyone can run it (Debian: apt-get install python3 python3-venv) "
        f"or name one with --python")


def uv_version() -> str:
    """The installer's version: the Makefile's UV_VERSION, the one `make lab` and `make test` use."""
    found = re.search(r"^UV_VERSION\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    if not found:
        raise InstallError(f"no UV_VERSION in {ROOT / 'Makefile'}: run this script from a checkout of the course")
    return found.group(1)


def environment_key(python: str) -> str:
    """Changes when the environment must be rebuilt: the requirements, the Python, the steps."""
    steps = "".join(inspect.getsource(f) for f in (build_environment, _hub_constraints)) + repr(HUB_PACKAGES)
    digest = hashlib.sha256(f"{steps}\0{uv_version()}".encode())
    version = _run_checked([python, "-I", "-c", "import sys; print(sys.version)"]).stdout
    digest.update(f"\0{os.path.realpath(python)}\0{version}".encode())
    for name in ("requirements.txt", "requirements-dev.txt"):
        digest.update(b"\0" + (ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


# --- building it -------------------------------------------------------------
def _hub_constraints(folder: Path) -> Path:
    """requirements-dev.txt's pins as a constraints file (its -r line left out)."""
    lines = [line for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
             if not line.lstrip().startswith("-")]
    path = folder / "constraints.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def build_environment(venv: Path, python: str, log=print) -> bool:
    """The course's environment in `venv`, unless it is there already; True when it was built.
    As the Makefile builds .venv: the venv's pip installs uv (pinned), and uv installs the pinned
    packages, copying the files and compiling their bytecode (no account but root can write
    .pyc files there)."""
    key = environment_key(python)
    stamp = venv / KEY_FILE
    if stamp.is_file() and stamp.read_text().strip() == key:
        return False
    if venv.exists():
        if not (venv / "pyvenv.cfg").is_file() and any(venv.iterdir()):
            raise InstallError(f"{venv} exists and is not a Python environment: remove it or choose another place")
        shutil.rmtree(venv)
    log(f"building the course's environment in {venv} from {python} ...")
    done = _run_checked([python, "-m", "venv", str(venv)])
    if done.returncode != 0:
        raise InstallError(f"{python} -m venv {venv} failed:\n{done.stdout}{done.stderr}")
    bin_ = venv / "bin"
    with tempfile.TemporaryDirectory() as tmp:
        for what, cmd in [
            ("uv", [str(bin_ / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    f"uv=={uv_version()}"]),
            ("the packages", [str(bin_ / "uv"), "pip", "install", "--quiet", "--python", str(bin_ / "python"),
                              "--link-mode=copy", "--compile-bytecode", "-r", str(ROOT / "requirements.txt"),
                              "-c", str(_hub_constraints(Path(tmp))), *HUB_PACKAGES]),
        ]:
            done = _run_checked(cmd, timeout=INSTALL_TIMEOUT)
            if done.returncode != 0:
                raise InstallError(f"installing {what} into {venv} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    stamp.write_text(key + "\n")
    return True


def copy_software(target: Path) -> None:
    """The course's code (no solutions) in `target`, replacing an older copy."""
    if target.resolve() == ROOT:
        raise InstallError(f"{target} is the checkout itself, solutions included: install into another folder")
    for name in SOFTWARE:
        src, dest = ROOT / name, target / name
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        elif dest.exists() or dest.is_symlink():
            dest.unlink()
        if src.is_dir():
            shutil.copytree(src, dest, ignore=SKIP, symlinks=True)
        else:
            shutil.copy2(src, dest)
        for path in [dest, *dest.rglob("*")] if dest.is_dir() else [dest]:
            if path.is_symlink():
                continue
            mode = path.lstat().st_mode
            os.chmod(path, 0o755 if stat.S_ISDIR(mode) or mode & stat.S_IXUSR else 0o644)


# --- checking it, as someone else --------------------------------------------
PROBE = """
import importlib, os, sys
from traitlets.config.loader import PyFileConfigLoader
for module in ("jupyterhub", "jupyter_server", "jupyterlab", "nbgrader", "psycopg2", "gevent"):
    importlib.import_module(module)
singleuser, user_config, *others = sys.argv[1:]
if not os.access(singleuser, os.X_OK):
    sys.exit(f"cannot run {singleuser}")
for path in others:
    open(path, "rb").close()
# what every user's server loads: deploy/user's nbgrader settings, and through them the course's
PyFileConfigLoader(os.path.basename(user_config), path=os.path.dirname(user_config)).load_config()
"""


def closed_folders(*paths: Path) -> list[str]:
    """Folders on the way to `paths` that other accounts cannot pass through."""
    closed = []
    for path in paths:
        path = Path(os.path.abspath(path))
        for folder in [*reversed(path.parents), path]:
            with_mode = f"{folder} ({stat.filemode(folder.stat().st_mode)})"
            if folder.is_dir() and not folder.stat().st_mode & stat.S_IXOTH and with_mode not in closed:
                closed.append(with_mode)
    return closed


def check_for_everyone(target: Path, venv: Path, python: str) -> None:
    """As `nobody`: the environment runs (imports, jupyterhub-singleuser may be run) and the
    configuration every user's server loads can be loaded."""
    if not _as_nobody():
        print("not root: cannot check the install as another account", file=sys.stderr)
        return
    paths = [venv / "bin" / "jupyterhub-singleuser", target / "deploy" / "user" / "nbgrader_config.py",
             target / "deploy" / "user" / "jupyter_server_config.json"]
    env = {"PATH": f"{venv / 'bin'}:{STANDARD_PATH}", "LANG": "C.UTF-8", "HOME": "/"}
    try:
        done = _run_checked([str(venv / "bin" / "python"), "-I", "-c", PROBE, *map(str, paths)],
                            cwd="/", env=env, **_as_nobody())
        failed = done.returncode != 0 and (done.stdout + done.stderr)[-2000:]
    except (OSError, subprocess.SubprocessError) as exc:
        failed = f"{type(exc).__name__}: {exc}"
    if failed:
        closed = closed_folders(target, venv, Path(python))
        raise InstallError(
            f"other accounts (uid {NOBODY}) cannot use the install: its Python, its packages, "
            f"jupyterhub-singleuser or deploy/user's nbgrader settings:\n{failed}\n"
            + (f"closed to them: {', '.join(closed)}; install into a folder every account can reach "
               "(e.g. /opt/pyconc), or use --python with a Python outside closed folders" if closed else ""))


# --- the whole install ---------------------------------------------------------
def install(target: Path, venv: Path | None = None, python: str | None = None, log=print) -> Path:
    """Code into `target`, environment into `venv` (default TARGET/.venv), checked; returns the venv."""
    target = Path(os.path.abspath(target))
    venv = Path(os.path.abspath(venv or target / ".venv"))
    python = find_python(python)
    umask = os.umask(0o022)  # what pip, uv and the copies create: readable by all, writable by root alone
    try:
        target.mkdir(parents=True, exist_ok=True)
        copy_software(target)
        if build_environment(venv, python, log=log):
            log(f"environment ready: {venv}")
    finally:
        os.umask(umask)
    check_for_everyone(target, venv, python)
    return venv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="where the course's software goes, e.g. /opt/pyconc")
    parser.add_argument("--python", help="the Python to build the environment from (3.11+, runnable by all)")
    parser.add_argument("--venv", help="where the environment goes (default: TARGET/.venv)")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        parser.error("a class server here means Linux (JupyterHub's LocalProcessSpawner and OS accounts)")
    if os.geteuid() != 0:
        print("warning: not root; the files will belong to you and cannot be checked as another account",
              file=sys.stderr)
    try:
        venv = install(Path(args.target), Path(args.venv) if args.venv else None, args.python)
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    target = os.path.abspath(args.target)
    print(f"installed: {target} (environment {venv}); start the hub with\n"
          f"  {venv}/bin/jupyterhub -f {target}/deploy/jupyterhub_config.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
