"""The course's own commands and documents stay consistent."""
import re
from pathlib import Path

import nbformat
import pytest

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


# ----------------------------------------------------------- notebooks open clean
def kernel_reports() -> dict:
    """Start the course's kernel and ask it what JupyterLab asks: its spec and language_info."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        reply = kc.kernel_info(reply=True, timeout=60)
        return {"display_name": km.kernel_spec.display_name, "language": km.kernel_spec.language,
                "language_info": reply["content"]["language_info"]}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_lab_metadata_is_what_the_kernel_reports():
    from tools.run_notebooks import lab_metadata

    got, meta = kernel_reports(), lab_metadata()
    assert meta["kernelspec"] == {"name": "python3", "display_name": got["display_name"], "language": got["language"]}
    assert meta["language_info"] == got["language_info"]


def opened_notebooks() -> list[Path]:
    from tools.assignments import RELEASE

    return sorted((ROOT / "course").glob("*.ipynb")) + sorted(RELEASE.glob("*/*.ipynb"))


@pytest.mark.parametrize("path", opened_notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_open_clean_in_jupyterlab(path):
    """JupyterLab rewrites kernelspec and language_info on open and marks the notebook modified
    unless they already equal what the kernel reports (a deep comparison)."""
    from tools.run_notebooks import lab_metadata

    meta = nbformat.read(path, as_version=4).metadata
    expected = lab_metadata()
    wrong = {k: meta.get(k) for k in expected if meta.get(k) != expected[k]}
    fix = ("python -m tools.assignments generate" if "release" in path.parts
           else "python -m tools.nav (or record it with python -m tools.run_notebooks)")
    assert not wrong, f"{path.name}: JupyterLab would rewrite {sorted(wrong)} on open; run `{fix}`"


# ------------------------------------------------------------------- the recorder
def scratch_notebook(path: Path, cells: list[str], timing: bool = False) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"import sys; sys.path.insert(0, {str(ROOT / 'course')!r})")]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in cells]
    if timing:
        nb.metadata["conclab"] = {"timing": True}
    nbformat.write(nb, path)
    return path


def test_recorder_saves_outputs_and_lab_metadata(tmp_path):
    from tools import run_notebooks as rn

    path = scratch_notebook(tmp_path / "ok.ipynb", ["from conclab.claims import claim\nclaim('one is one', 1 == 1)"])
    ok, outcome = rn.record(path, max_wait=0, retries=0, max_neighbours=99, keep_failed=False, say=lambda s: None)
    assert ok, outcome
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[1].outputs[0]["text"] == "✔ claim holds: one is one\n"
    assert {k: nb.metadata[k] for k in ("kernelspec", "language_info")} == rn.lab_metadata()
    assert all("execution" not in c.metadata for c in nb.cells), "no per-cell timestamps"


def test_recorder_keeps_the_old_notebook_when_a_claim_fails(tmp_path):
    from tools import run_notebooks as rn

    path = scratch_notebook(tmp_path / "bad.ipynb", ["from conclab.claims import claim\nclaim('one is two', 1 == 2)"])
    before = path.read_text()
    ok, outcome = rn.record(path, max_wait=0, retries=0, max_neighbours=99, keep_failed=False, say=lambda s: None)
    assert not ok and "CLAIMS FAILED" in outcome and "one is two" in outcome
    assert path.read_text() == before


def busy(*args, **kwargs):
    from tools.run_notebooks import Calibration

    return Calibration(usable=2, free=1.0, free_runs=[1.0, 1.0, 1.0], neighbours=1.0, load=(2.0, 2.0, 2.0))


def quiet(*args, **kwargs):
    from tools.run_notebooks import Calibration

    return Calibration(usable=2, free=2.0, free_runs=[2.0, 2.0, 2.0], neighbours=0.0, load=(0.0, 0.0, 0.0))


def test_recorder_refuses_a_timing_notebook_on_a_busy_machine(tmp_path, monkeypatch):
    from tools import run_notebooks as rn

    path = scratch_notebook(tmp_path / "t.ipynb", ["1 + 1"], timing=True)
    before = path.read_text()
    monkeypatch.setattr(rn, "wait_for_quiet", busy)
    monkeypatch.setattr(rn, "execute", lambda *a, **k: pytest.fail("must not run on a busy machine"))
    ok, outcome = rn.record(path, max_wait=0, retries=2, max_neighbours=0.25, keep_failed=False, say=lambda s: None)
    assert not ok and outcome.startswith("REFUSED (machine busy")
    assert path.read_text() == before


def test_recorder_throws_away_a_run_that_neighbours_disturbed(tmp_path, monkeypatch):
    from tools import run_notebooks as rn

    path = scratch_notebook(tmp_path / "t.ipynb", ["1 + 1"], timing=True)
    before, runs = path.read_text(), []
    monkeypatch.setattr(rn, "wait_for_quiet", quiet)
    monkeypatch.setattr(rn, "execute", lambda p: runs.append(p) or rn.Run(nbformat.read(p, 4), 1.0, neighbours=0.9))
    ok, outcome = rn.record(path, max_wait=0, retries=2, max_neighbours=0.25, keep_failed=False, say=lambda s: None)
    assert not ok and "busy while recording, 3 attempts" in outcome and len(runs) == 3
    assert path.read_text() == before


def test_recorder_records_a_notebook_without_timing_whatever_the_load(tmp_path, monkeypatch):
    from tools import run_notebooks as rn

    path = scratch_notebook(tmp_path / "plain.ipynb", ["print('hi')"])
    monkeypatch.setattr(rn, "wait_for_quiet", lambda *a, **k: pytest.fail("no calibration needed"))
    monkeypatch.setattr(rn, "execute", lambda p: rn.Run(nbformat.read(p, 4), 1.0, neighbours=1.5))
    ok, outcome = rn.record(path, max_wait=0, retries=0, max_neighbours=0.25, keep_failed=False, say=lambda s: None)
    assert ok, outcome


def test_calibration_is_quiet_only_with_free_cores_and_no_neighbours():
    from tools.run_notebooks import QUIET_FRACTION

    assert quiet().quiet and not busy().quiet
    assert not quiet().__class__(2, 2.0, [2.0], neighbours=0.9, load=(0, 0, 0)).quiet
    assert not quiet().__class__(2, 2 * QUIET_FRACTION - 0.1, [1.0], neighbours=0.0, load=(0, 0, 0)).quiet
    assert "BUSY" in str(busy()) and "quiet" in str(quiet())


def test_accuracy_grades_each_case_alone_and_says_where_a_grade_differs(monkeypatch, capsys):
    """tools.accuracy (make accuracy): exit 0 when each grading lost exactly the case's cells, 1
    with the error of each cell that differs, 2 for a bad argument (the grading itself is stubbed)."""
    import harness
    from tools import accuracy

    import grading
    case = grading.case("ps2_deadlock", "argument_order")
    runs = iter([{cell: 0 for cell in case.loses}, {}])  # exactly its cells, then nothing lost

    def grade(name, solutions, workdir, keep=None, sandbox=None):
        assert name == "ps2_deadlock" and solutions == case.solutions and sandbox["timeout"] == 15
        keep.append(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            metadata={"nbgrader": {"grade_id": cell}}) for cell in case.loses]))
        return {"test_other": 1, **next(runs)}

    monkeypatch.setattr(harness, "grade_cells", grade)
    assert accuracy.main(["ps2_deadlock", "argument_order", "--repeat", "2"]) == 1
    out = capsys.readouterr().out
    assert "ok   argument_order (run 1)" in out and "DIFF argument_order (run 2)" in out
    assert f"{sorted(case.loses)[0]}: kept its points" in out
    assert accuracy.main(["ps2_deadlock", "no_such_case"]) == 2
    assert accuracy.main(["no_such_assignment"]) == 2
    assert accuracy.main(["ps2_deadlock", "argument_order", "--repeat", "0"]) == 2
