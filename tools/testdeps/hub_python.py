"""A Python that every account can run, for the JupyterHub test (tests/test_hub.py).

The hub starts each user's server as that user's OS account, so the course's
environment must be built from a Python that those accounts can run: the
suite's own .venv may not do (its interpreter is a link to the Python it was
made from, e.g. pyenv's under a 0700 /root).  deploy/install.py looks for one
(3.11+, with venv); when there is none, ensure() installs Debian's
``python3 python3-venv`` with apt-get and looks again.  Returns None when
there is one, or a one-line reason.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["python3", "python3-venv"]


def _install_module():
    spec = importlib.util.spec_from_file_location("pyconc_install", ROOT / "deploy" / "install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def missing() -> str | None:
    """Why there is no Python every account can run (without installing anything), or None."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return None  # the hub test skips anyway (Linux, root only), saying why
    install = _install_module()
    try:
        install.find_python()
    except install.InstallError as exc:
        return str(exc)
    return None


def ensure() -> str | None:
    reason = missing()
    if reason is None:
        return None
    from tools.testdeps import _apt

    print(f"installing {' '.join(PACKAGES)} for the JupyterHub test (apt-get) ...", flush=True)
    failed = _apt.install(PACKAGES)
    return f"{reason} ({failed})" if failed else missing()


if __name__ == "__main__":  # python -m tools.testdeps.hub_python
    reason = ensure()
    print(reason or f"a Python every account can run: {_install_module().find_python()}")
    sys.exit(1 if reason else 0)
