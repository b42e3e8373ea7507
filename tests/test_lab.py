"""`make lab` (tools.lab) starts JupyterLab on the course with nbgrader's
extensions, and the Assignment List offers every released assignment.

The server runs as a subprocess on a free loopback port with a temporary
exchange, workspace, gradebook and Jupyter runtime folder, and is always
stopped at the end.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tools.assignments import RELEASE

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str, timeout: float = 60):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read().decode()


@pytest.fixture
def lab(tmp_path):
    port, token = free_port(), "course-test-token"
    env = dict(
        os.environ,
        COURSE_EXCHANGE=str(tmp_path / "exchange"),
        COURSE_WORKSPACE=str(tmp_path / "workspace"),
        COURSE_GRADEBOOK_URL=f"sqlite:///{tmp_path / 'gradebook.db'}",
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
    )
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "nbgrader_config.py").write_text(
        (ROOT / "workspace" / "nbgrader_config.py").read_text().replace(
            '"../nbgrader_config.py"', repr(str(ROOT / "nbgrader_config.py"))))
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            get(f"{base}/api/status", token, timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"JupyterLab did not start:\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
    try:
        yield base, token, tmp_path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@pytest.mark.slow
def test_lab_serves_the_course_and_offers_the_assignments(lab):
    base, token, tmp = lab
    status, page = get(f"{base}/lab/tree/course/00-Welcome.ipynb", token)
    assert status == 200 and "JupyterLab" in page
    status, body = get(f"{base}/api/contents/course", token)
    names = {item["name"] for item in json.loads(body)["content"]}
    assert "00-Welcome.ipynb" in names and "Index.ipynb" in names

    status, body = get(f"{base}/assignments?course_id=pyconc", token)
    listing = json.loads(body)
    assert listing["success"], listing
    offered = {a["assignment_id"] for a in listing["value"] if a["status"] == "released"}
    expected = {p.name for p in RELEASE.iterdir() if p.is_dir()}
    assert expected and expected <= offered, f"the Assignment List offers {offered}, expected {expected}"

    status, body = get(f"{base}/formgrader/api/assignments", token)
    assert status == 200, "nbgrader's Formgrader is not served"
