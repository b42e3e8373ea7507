"""JupyterHub's proxy for the JupyterHub test (tests/test_hub.py).

JupyterHub routes every request through ``configurable-http-proxy``, a
Node.js program from npm.  ensure() installs a pinned version into the
suite's own cache (tools.testdeps.cache_home(), e.g.
~/.cache/pyconc-course/configurable-http-proxy-5.3.0; never globally: a
course's tests must not change the machine's Node.js set-up), so that every
clone of the course reuses it; bounded in time and under a lock so that two
test runs do not install at once.  It returns None
when the proxy can be run, or a one-line reason (e.g. no Node.js 20+).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

from tools.testdeps import cache_home

PACKAGE = "configurable-http-proxy"
VERSION = "5.3.0"        # needs Node.js 20 or newer
PREFIX = cache_home() / f"{PACKAGE}-{VERSION}"
NODE_MAJOR = 20
INSTALL_TIMEOUT = 300    # s, npm install (a few MB)
LOCK_TIMEOUT = 600       # s, wait for another run's install to finish


def executable() -> str | None:
    """The proxy: the project-local install first, then one on PATH."""
    local = PREFIX / "node_modules" / ".bin" / PACKAGE
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(PACKAGE)


def _node_major() -> int | None:
    node = shutil.which("node")
    if not node:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.match(r"v(\d+)", out.strip())
    return int(m.group(1)) if m else None


def missing() -> str | None:
    """Why the proxy cannot be run here (without installing anything), or None."""
    if executable():
        return None
    return f"{PACKAGE} not found (python -m tools.testdeps.hub_proxy installs it into {PREFIX})"


def _npm_install() -> tuple[int, str]:
    cmd = [shutil.which("npm"), "install", "--prefix", str(PREFIX), "--no-save", "--no-audit",
           "--no-fund", "--loglevel=error", f"{PACKAGE}@{VERSION}"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=PREFIX, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        return -1, f"timed out after {INSTALL_TIMEOUT} s"
    return proc.returncode, out


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def ensure() -> str | None:
    if executable():
        return None
    major = _node_major()
    if major is None or not shutil.which("npm"):
        return f"Node.js and npm are needed to install {PACKAGE} (e.g. apt-get install -y nodejs npm)"
    if major < NODE_MAJOR:
        return f"{PACKAGE} {VERSION} needs Node.js {NODE_MAJOR}+, this machine has Node.js {major}"
    PREFIX.mkdir(parents=True, exist_ok=True)
    with open(PREFIX / ".install.lock", "w") as lock:
        if os.name == "posix":
            import fcntl
            import time

            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        return f"another install of {PACKAGE} held {PREFIX} for {LOCK_TIMEOUT} s"
                    time.sleep(1)
        if executable():  # installed by the run we waited for
            return None
        print(f"installing {PACKAGE}@{VERSION} into {PREFIX} for the JupyterHub test (npm) ...", flush=True)
        code, out = _npm_install()
    if code != 0:
        return f"npm install {PACKAGE}@{VERSION} failed: {_last_line(out)}"
    return missing()


if __name__ == "__main__":  # python -m tools.testdeps.hub_proxy
    reason = ensure()
    print(reason or f"{PACKAGE} ready: {executable()}")
    sys.exit(1 if reason else 0)
