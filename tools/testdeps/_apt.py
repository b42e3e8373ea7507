"""apt-get for the installers in tools/testdeps (not a dependency itself: the
leading underscore keeps ensure_all() from treating it as one)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

UPDATE_TIMEOUT = 180     # s, apt-get update
INSTALL_TIMEOUT = 480    # s, apt-get install
LOCK_TIMEOUT = 120       # s, wait for another apt/dpkg run to finish


def run(args: list[str], timeout: float) -> tuple[int, str]:
    """Run apt-get in its own process group; kill the whole group on timeout."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", NEEDRESTART_MODE="a")
    cmd = ["apt-get", "-q", "-o", f"DPkg::Lock::Timeout={LOCK_TIMEOUT}", *args]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        return -1, f"timed out after {timeout} s"
    return proc.returncode, out


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def cannot_install() -> str | None:
    """Why apt-get cannot be used here, or None."""
    if not sys.platform.startswith("linux") or not shutil.which("apt-get"):
        return "no apt-get to install it"
    if os.geteuid() != 0:
        return "needs root to install it"
    return None


def install(packages: list[str]) -> str | None:
    """apt-get install `packages` (updating the package lists once if that fails);
    None when it worked, else a one-line reason."""
    why = cannot_install()
    if why:
        return why
    command = ["install", "-y", "--no-install-recommends", *packages]
    code, out = run(command, INSTALL_TIMEOUT)
    if code != 0:  # package lists missing or stale: update them once, then try again
        code, out = run(["update"], UPDATE_TIMEOUT)
        if code != 0:
            return f"apt-get update failed ({last_line(out)}); cannot install {' '.join(packages)}"
        code, out = run(command, INSTALL_TIMEOUT)
        if code != 0:
            return f"apt-get install {' '.join(packages)} failed: {last_line(out)}"
    return None
