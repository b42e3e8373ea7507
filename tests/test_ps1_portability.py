"""ps1's tests and reference pool hold under every start method, and on
every Python the course supports.  Each start method and each Python once:
spawn (the notebook's default) on 3.11 is every other grading of the suite;
here forkserver on 3.12 and fork on 3.13, where pyenv or the system provides
them (else on the suite's own Python: the start method is still checked).

On 3.12+, `fork` from a kernel (a process with threads) warns on stderr, and
stderr zeroes an nbgrader test cell: the 3.13 run proves the notebook copes.
"""
import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import environ, grade_cells
from support import locked
from tools.assignments import ROOT, reference_solutions
from tools.testdeps import cache_home

NAME = "ps1_process_pool"


def lost_parts(scores):
    return [gid for gid, points in scores.items() if not points]


def find_python(version: str) -> str | None:
    """An interpreter for `version` that really runs (a pyenv shim may exist but refuse)."""
    candidates = sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"))
    candidates.append(shutil.which(f"python{version}"))
    for candidate in filter(None, candidates):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30)
            if out.returncode == 0 and out.stdout.strip() == str(tuple(map(int, version.split(".")))):
                return candidate
    return None


# What the kernel needs: ipykernel, and what the notebook's tests import.
KERNEL_PACKAGES = ["ipykernel", "psutil", "hypothesis"]
BUILD_TIMEOUT = 900    # s, waiting for (or doing) one kernel environment's build


def kernel_for(version: str) -> tuple[str, Path] | None:
    """None if Python `version` is not installed here; else a venv with KERNEL_PACKAGES
    (pinned by requirements.txt) for `version`, and a kernelspec for it.  Built once per
    machine, not per clone: kept in tools.testdeps.cache_home() under a name that changes
    with requirements.txt, the package list and the interpreter, so a stale one is never used."""
    python = find_python(version)
    if python is None:
        return None
    key = hashlib.sha256("\0".join([os.path.realpath(python), " ".join(KERNEL_PACKAGES),
                                     (ROOT / "requirements.txt").read_text()]).encode()).hexdigest()[:16]
    cache = cache_home()
    cache.mkdir(parents=True, exist_ok=True)
    venv = cache / f"kernel-py{version}-{key}"
    name = f"course-py{version}"
    # xdist workers, or another run, may build it
    with locked(cache / f"kernel-py{version}.lock", BUILD_TIMEOUT, "another run building it"):
        ready = venv / ".ready"
        if not ready.exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                            "-c", str(ROOT / "requirements.txt"), *KERNEL_PACKAGES],
                           check=True, timeout=600)
            spec = venv / "share" / "jupyter" / "kernels" / name
            spec.mkdir(parents=True, exist_ok=True)
            (spec / "kernel.json").write_text(json.dumps({
                "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"Python {version}", "language": "python",
            }))
            ready.touch()
            # environments built from other requirements: keep the newest (another branch's)
            others = sorted((p for p in cache.glob(f"kernel-py{version}-*") if p != venv),
                            key=lambda p: (p / ".ready").stat().st_mtime if (p / ".ready").exists() else 0)
            for old in others[:-1]:
                shutil.rmtree(old, ignore_errors=True)
    return name, venv / "share" / "jupyter"


@pytest.mark.slow
@pytest.mark.parametrize("version,method", [("3.12", "forkserver"), ("3.13", "fork")])
def test_reference_passes_on_other_pythons_and_start_methods(version, method, tmp_path):
    """fork on 3.13 is the case that warns on stderr (DeprecationWarning), which would zero a test cell."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available on this platform")
    env = {"COURSE_START_METHOD": method}
    found = kernel_for(version)
    if found is None:  # the start method is checked all the same, on this Python
        scores = grade_cells(NAME, reference_solutions(NAME), tmp_path, env=env)
        where = f"on this Python (no Python {version} here: pyenv or python{version} on PATH)"
    else:
        kernel, jupyter_path = found
        with environ(JUPYTER_PATH=str(jupyter_path)):
            scores = grade_cells(NAME, reference_solutions(NAME), tmp_path, env=env, kernel=kernel)
        where = f"on Python {version}"
    assert not lost_parts(scores), f"{where} with {method} the reference loses {lost_parts(scores)}: {scores}"
