"""The course's own commands and documents stay consistent."""
import re
from pathlib import Path

import nbformat

from tools import nav
from tools.assignments import HIDDEN_MARKERS, SOLUTION_MARKERS, marked_regions, without_markers

ROOT = Path(__file__).resolve().parent.parent


def make_notebook(path: Path, title: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}"), nbformat.v4.new_code_cell("1 + 1")]
    nbformat.write(nb, path)


def test_nav_links_neighbours_and_is_idempotent(tmp_path):
    for name, title in [("00-Welcome.ipynb", "Welcome"), ("01.01-A.ipynb", "Alpha"), ("01.02-B.ipynb", "Beta")]:
        make_notebook(tmp_path / name, title)
    first = nav.build(tmp_path)
    for path, text in first.items():
        path.write_text(text)
    assert nav.build(tmp_path) == first, "running nav twice must change nothing"
    middle = nbformat.read(tmp_path / "01.01-A.ipynb", as_version=4)
    assert middle.cells[0].source.startswith(nav.MARKER) and middle.cells[-1].source.startswith(nav.MARKER)
    assert "[Welcome](00-Welcome.ipynb)" in middle.cells[0].source
    assert "[Beta](01.02-B.ipynb)" in middle.cells[0].source
    index = (tmp_path / "Index.ipynb").read_text()
    assert "[Alpha](01.01-A.ipynb)" in index and "Part I" in index


def test_course_navigation_is_current():
    stale = [p.name for p, text in nav.build().items() if not p.exists() or p.read_text(encoding="utf-8") != text]
    assert not stale, f"run `python -m tools.nav`: out of date: {stale}"


def test_readme_links_point_to_files():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#]+\.(?:ipynb|md))\)", text)
    missing = [link for link in links if not (ROOT / link).exists()]
    assert links and not missing, f"README links to missing files: {missing}"


def test_ci_runs_exactly_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    commands = [l for l in script.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    assert commands[-1].strip() == "exec make test"
    assert "make test" in (ROOT / "README.md").read_text()


def test_marker_helpers():
    src = "a\n### BEGIN SOLUTION\nsecret\n### END SOLUTION\nb\n    ### BEGIN HIDDEN TESTS\n    hidden\n    ### END HIDDEN TESTS"
    assert marked_regions(src, SOLUTION_MARKERS) == ["secret"]
    assert marked_regions(src, HIDDEN_MARKERS) == ["    hidden"]
    assert "BEGIN SOLUTION" not in without_markers(src) and "secret" in without_markers(src)


def test_gitignore_keeps_outputs_out():
    ignored = (ROOT / ".gitignore").read_text()
    for pattern in ["/autograded/*", "/submitted/", "/feedback/", "/exchange/", "/gradebook.db", "/workspace/*"]:
        assert pattern in ignored
    assert (ROOT / "autograded" / "README.md").exists()
