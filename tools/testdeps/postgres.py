"""PostgreSQL for the JupyterHub test (tests/test_hub.py).

On a multi-grader server the gradebook lives in PostgreSQL (SQLite is not
safe for several graders at once), so the hub test starts a throwaway
PostgreSQL server of its own: ``initdb`` into a temporary folder, then the
server on a free loopback port, run as the ``postgres`` OS user.  It needs the
server binaries (Debian's ``postgresql`` package puts them in
/usr/lib/postgresql/<version>/bin, not on PATH).  When they are missing,
ensure() installs the package with apt-get (non-interactive, every step
bounded in time; ``apt-get update`` only when the package lists do not know
it) and returns None once the server can be run, or a one-line reason.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import sys
from pathlib import Path

PACKAGE = "postgresql"
PROGRAMS = ("initdb", "pg_ctl", "postgres")
OS_USER = "postgres"     # Debian's package creates it; the server refuses to run as root


def _version_key(path: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres (newest version first), or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(os.path.dirname(os.path.realpath(found)))
    for folder in candidates:
        if all(os.access(os.path.join(folder, p), os.X_OK) for p in PROGRAMS):
            return Path(folder)
    return None


def os_user() -> str | None:
    """The OS user the server runs as: `postgres` when we are root, else ourselves."""
    if os.name != "posix":
        return None
    import pwd

    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        return pwd.getpwnam(OS_USER).pw_name
    except KeyError:
        return None


def missing() -> str | None:
    """Why a throwaway server cannot be run here (without installing anything), or None."""
    if not sys.platform.startswith("linux"):
        return "the PostgreSQL test server is set up for Linux only"
    if bindir() is None:
        return (f"PostgreSQL server programs ({', '.join(PROGRAMS)}) not found; "
                f"as root run: apt-get install -y {PACKAGE}")
    if os_user() is None:
        return f"running as root but there is no '{OS_USER}' OS user to run the server as"
    return None


def ensure() -> str | None:
    reason = missing()
    if reason is None:
        return None
    if not sys.platform.startswith("linux"):
        return reason
    from tools.testdeps import _apt

    if _apt.cannot_install():
        return f"{reason} ({_apt.cannot_install()})"
    print(f"installing {PACKAGE} for the JupyterHub test (apt-get) ...", flush=True)
    failed = _apt.install([PACKAGE])
    return failed or missing()


if __name__ == "__main__":  # python -m tools.testdeps.postgres
    reason = ensure()
    print(reason or f"PostgreSQL ready: {bindir()} (runs as {os_user()})")
    sys.exit(1 if reason else 0)
