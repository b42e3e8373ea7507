"""System dependencies of the test suite that pip cannot install.

Each module here defines ``ensure() -> str | None``: make the dependency
available if it is missing (quickly returning when it is already there), and
return None when it is ready, or a one-line reason why it cannot be had on
this machine.  tools/test.py calls every ensure() before pytest and exports
the reasons as COURSE_SKIP_<MODULE> environment variables (``skip_var``), so
that the tests that need the dependency skip with that reason
(``skip_reason``) instead of failing.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path


def cache_home() -> Path:
    """Where the suite keeps what it builds once and may reuse from any clone of the course
    (a pinned npm package, other Pythons' kernel environments), each under a name that
    changes with what it was built from: $XDG_CACHE_HOME/pyconc-course, or
    ~/.cache/pyconc-course.  Never shared with other accounts."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pyconc-course"


SKIP_PREFIX = "COURSE_SKIP_"


def skip_var(name: str) -> str:
    """The environment variable that carries why dependency `name` is missing."""
    return SKIP_PREFIX + name.upper()


def skip_reason(name: str) -> str | None:
    """Why tools/test.py could not get dependency `name` (a module here), or None."""
    return os.environ.get(skip_var(name)) or None


def ensure_all() -> dict[str, str]:
    """{module name: reason} for every dependency that is not available."""
    missing = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers, not dependencies
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        try:
            reason = module.ensure()
        except Exception as exc:  # a broken installer must not stop the suite
            reason = f"{info.name}: set-up failed: {type(exc).__name__}: {exc}"
        if reason:
            missing[info.name] = reason
    return missing
