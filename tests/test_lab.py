"""`make lab` (tools.lab) starts JupyterLab on the course with nbgrader's
extensions, and the Assignment List offers every released assignment.

The server runs as a subprocess on a free loopback port with a temporary
exchange, workspace, gradebook and Jupyter runtime folder, and is always
stopped at the end (tests/labserver.py, shared with tests/test_browser.py).
"""
import json

import pytest

from tools.assignments import RELEASE
from tools.settings import COURSE_ID

from labserver import get, running_lab


@pytest.fixture
def lab(tmp_path):
    with running_lab(tmp_path) as server:
        yield server.base, server.token, tmp_path


@pytest.mark.slow
def test_lab_serves_the_course_and_offers_the_assignments(lab):
    base, token, tmp = lab
    status, page = get(f"{base}/lab/tree/course/00-Welcome.ipynb", token)
    assert status == 200 and "JupyterLab" in page
    status, body = get(f"{base}/api/contents/course", token)
    names = {item["name"] for item in json.loads(body)["content"]}
    assert "00-Welcome.ipynb" in names and "Index.ipynb" in names

    status, body = get(f"{base}/assignments?course_id={COURSE_ID}", token)
    listing = json.loads(body)
    assert listing["success"], listing
    offered = {a["assignment_id"] for a in listing["value"] if a["status"] == "released"}
    expected = {p.name for p in RELEASE.iterdir() if p.is_dir()}
    assert expected and expected <= offered, f"the Assignment List offers {offered}, expected {expected}"

    status, body = get(f"{base}/formgrader/api/assignments", token)
    assert status == 200, "nbgrader's Formgrader is not served"
