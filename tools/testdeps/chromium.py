"""Chromium for the browser tests (tests/test_browser.py).

pip's ``playwright`` drives the browser, but it cannot download its own
browser builds here, so the tests use Debian's ``chromium`` package.  When it
is missing, ensure() installs it with apt-get (one ``apt-get update`` first,
non-interactive, every step bounded in time) and returns None once the
browser is there, or a one-line reason why it cannot be installed.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

#: Where Debian's package puts the browser binary and its launcher script.
EXECUTABLES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
PACKAGE = "chromium"
#: Fonts: Latin, and Chinese/Japanese/Korean (the glossary's Chinese column; the tests check it renders).
FONTS = ("fonts-liberation", "fonts-noto-cjk")
CJK_FONT_DIR = "/usr/share/fonts/opentype/noto"   # where fonts-noto-cjk puts NotoSansCJK-*.ttc
UPDATE_TIMEOUT = 180    # s, apt-get update
INSTALL_TIMEOUT = 480   # s, apt-get install (a few hundred MB on a cold machine)
LOCK_TIMEOUT = 120      # s, wait for another apt/dpkg run to finish


def executable() -> str | None:
    """The Chromium binary, or None when it is not installed."""
    for path in EXECUTABLES:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def cjk_font() -> str | None:
    """A font file with Chinese glyphs (fonts-noto-cjk's), or None."""
    found = sorted(p for p in (os.listdir(CJK_FONT_DIR) if os.path.isdir(CJK_FONT_DIR) else [])
                   if "CJK" in p)
    return os.path.join(CJK_FONT_DIR, found[0]) if found else None


def _apt(args: list[str], timeout: float) -> tuple[int, str]:
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


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def ensure() -> str | None:
    if executable() and cjk_font():
        return None
    if executable():  # the browser is there, the CJK font not: add it (its test skips, saying why, if that fails)
        if sys.platform.startswith("linux") and shutil.which("apt-get") and os.geteuid() == 0:
            print("installing fonts-noto-cjk for the browser tests (apt-get) ...", flush=True)
            code, out = _apt(["install", "-y", "--no-install-recommends", *FONTS], INSTALL_TIMEOUT)
            if code != 0:
                _apt(["update"], UPDATE_TIMEOUT)
                _apt(["install", "-y", "--no-install-recommends", *FONTS], INSTALL_TIMEOUT)
        return None
    if not sys.platform.startswith("linux") or not shutil.which("apt-get"):
        return ("Chromium is not installed and there is no apt-get to install it "
                f"(expected {EXECUTABLES[0]})")
    if os.geteuid() != 0:
        return f"Chromium is not installed; as root run: apt-get update && apt-get install -y {PACKAGE}"
    print(f"installing {PACKAGE} for the browser tests (apt-get) ...", flush=True)
    code, out = _apt(["update"], UPDATE_TIMEOUT)
    if code != 0:
        return f"apt-get update failed ({_last_line(out)}); cannot install {PACKAGE}"
    code, out = _apt(["install", "-y", "--no-install-recommends", PACKAGE, *FONTS], INSTALL_TIMEOUT)
    if code != 0:
        return f"apt-get install {PACKAGE} failed: {_last_line(out)}"
    if not executable():
        return f"apt-get installed {PACKAGE} but none of {', '.join(EXECUTABLES)} exists"
    return None


if __name__ == "__main__":  # python -m tools.testdeps.chromium
    reason = ensure()
    print(reason or f"Chromium ready: {executable()}")
    sys.exit(1 if reason else 0)
