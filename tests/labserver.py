"""Start JupyterLab for a test the way the README does (``python -m tools.lab``).

The server runs as a subprocess on a free loopback port, with a token, a
temporary exchange, gradebook, and Jupyter runtime, configuration and data
folders (so JupyterLab's user settings and workspaces, and nbgrader's record
of what this OS user submitted, stay out of the home folder).  It
is always stopped at the end: its process group, and every process it started
in a session of its own (kernels), are killed.

``copy_course(dest)`` makes a throwaway copy of the course to run the server
on, for tests that change files (Run All, fetch, collect, autograde,
feedback): the repository itself is never touched.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from support import free_port, stop_process_tree, wait_until
from tools import settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "course-test-token"

#: What a copy of the course needs to run JupyterLab, nbgrader and its sandbox.
COURSE_PARTS = ("nbgrader_config.py", "tools", "grader", "course", "source", "release",
                "workspace/nbgrader_config.py")


def get(url: str, token: str, timeout: float = 60):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read().decode()


def copy_course(dest: Path) -> Path:
    """A copy of the course's code, notebooks and assignments under `dest`, without
    what nbgrader never ships (caches, feedback, files that solution cells write)."""
    from harness import ignore_patterns

    not_copied = ignore_patterns()
    ignore = shutil.ignore_patterns(*not_copied)
    for part in COURSE_PARTS:
        src, out = ROOT / part, dest / part
        out.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, out, ignore=ignore)
        elif not any(fnmatch.fnmatch(src.name, p) for p in not_copied):
            shutil.copy2(src, out)
    return dest


@dataclasses.dataclass
class Lab:
    base: str          # http://127.0.0.1:PORT
    token: str
    root: Path         # the course folder the server runs on (JupyterLab's root_dir)
    tmp: Path          # exchange, gradebook, runtime, config and the log live here
    log: Path

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@contextlib.contextmanager
def running_lab(tmp: Path, root: Path = ROOT, workspace: Path | None = None,
                startup_timeout: float = 90, extra_args: tuple[str, ...] = ()):
    """Run ``python -m tools.lab`` from `root` (the repository or a copy_course());
    yield a Lab once its API answers.  `workspace` defaults to `root`/workspace
    for a copy, and to a temporary folder for the repository itself."""
    port = free_port()
    if workspace is None:
        if root == ROOT:
            from harness import write_config

            workspace = tmp / "workspace"
            workspace.mkdir(exist_ok=True)
            write_config(workspace, move_paths=False)  # as workspace/nbgrader_config.py: the course's own
        else:
            workspace = root / "workspace"
    env = dict(os.environ, **{
        settings.EXCHANGE_VAR: str(tmp / "exchange"),
        settings.WORKSPACE_VAR: str(workspace),
        settings.GRADEBOOK_VAR: f"sqlite:///{tmp / 'gradebook.db'}",
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp / "config"),
        "JUPYTER_DATA_DIR": str(tmp / "data"),   # nbgrader's student cache (what was submitted) lives here
    })
    log_path = tmp / "lab.log"
    lab = Lab(f"http://127.0.0.1:{port}", TOKEN, root, tmp, log_path)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tools.lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={TOKEN}", "--ServerApp.port_retries=0", *extra_args],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            try:
                wait_until(lambda: get(lab.url("api/status"), TOKEN, timeout=2), startup_timeout,
                           "JupyterLab's API", interval=0.5, alive=lambda: proc.poll() is None,
                           retry_on=(OSError,))
            except TimeoutError:
                log.flush()
                raise RuntimeError(f"JupyterLab did not start:\n{lab.log_tail()}") from None
            yield lab
        finally:
            # the server's process group, then whatever of it is left, kernels included
            # (jupyter_client starts them in sessions of their own)
            stop_process_tree(proc)
