"""The student's and the instructor's flows, clicked through in a real browser.

JupyterLab starts the way the README says (``python -m tools.lab``, see
tests/labserver.py) on a throwaway copy of the course, with its own exchange,
workspace and gradebook, and headless Chromium (Debian's package, installed by
tools/testdeps/chromium.py) is driven by playwright:

1. a lecture opens, *Run All* completes without errors, a plot appears, and an
   ipywidgets control renders and reacts; the glossary's Chinese column is
   drawn with a font that has Chinese glyphs (not as empty boxes);
2. the *Assignment List* offers the assignments; fetch, open, *Validate* (its
   dialog opens with the course's summary: every part, and each failing test's
   message, before the errors) and *Submit* work;
3. the *Formgrader* generates, collects, autogrades the submission (in the
   course's grading sandbox) to the expected score, and shows the student by
   name; feedback is generated, released and fetched by the student, and
   *(view feedback)* leads to the page, which JupyterLab shows with its summary.

Screenshots of every step land in tests/artifacts/browser/ (git-ignored);
docs/screenshots/ holds three of them, optimised, for the README: refresh them
with  COURSE_UPDATE_SCREENSHOTS=1 .venv/bin/pytest -n0 tests/test_browser.py
"""
from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

import grading
from tools.assignments import cells_by_id, notebook_path, points_of, reference_solutions
from tools.settings import COURSE_ID
from tools.testdeps import chromium, skip_reason

from labserver import ROOT, copy_course, running_lab
from support import wait_until

pytestmark = pytest.mark.browser

if skip_reason("chromium"):
    pytest.skip(skip_reason("chromium"), allow_module_level=True)
CHROMIUM = chromium.executable()
if CHROMIUM is None:
    pytest.skip(f"Chromium is not installed (none of {', '.join(chromium.EXECUTABLES)}); "
                "`python -m tools.test` installs it, or: apt-get install chromium",
                allow_module_level=True)

from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
SCREENSHOTS = ROOT / "docs" / "screenshots"
README_SHOTS = {"02-lecture-plot": "lecture", "13-submitted": "assignment-list",
                "21-formgrader-autograded": "formgrader", "24-feedback-page": "feedback"}
LECTURE = "04.02-TIME-WAIT-and-2MSL.ipynb"   # ~4 s to run; a plot and an interact widget
ASSIGNMENT = "ps2_deadlock"                   # the fastest to validate and autograde
STUDENT = getpass.getuser()                   # the Assignment List submits as the OS user
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STEP = 30_000        # ms: default bound for one UI step (a click, a panel to appear)
LONG = 150_000       # ms: bound for a notebook run, a validation, an autograde
expect.set_options(timeout=STEP)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    root = copy_course(tmp / "course")
    with running_lab(tmp, root) as server:
        yield server


@pytest.fixture(scope="module")
def page(lab):
    """One browser context (a fresh profile), logged in with the token URL,
    with the "Jupyter news" question answered so it stays out of screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(lab.tmp / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=FLAGS, viewport={"width": 1280, "height": 800}, timeout=60_000)
        try:
            context.set_default_timeout(STEP)
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(lab.url(f"lab?token={lab.token}"), timeout=60_000)
            page.locator(".jp-LabShell").wait_for(timeout=60_000)
            with contextlib.suppress(PlaywrightError):  # not asked again once answered
                page.get_by_role("button", name="No", exact=True).click(timeout=20_000)
            yield page
        finally:
            context.close()


def shot(page, name: str) -> None:
    """A screenshot in tests/artifacts/browser/; with COURSE_UPDATE_SCREENSHOTS=1 the
    README's ones are also written, optimised (128-colour palette), to docs/screenshots/."""
    page.mouse.move(1000, 760)  # no hover highlight on whatever was clicked last
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if name in README_SHOTS and os.environ.get("COURSE_UPDATE_SCREENSHOTS") == "1":
        from PIL import Image
        image = Image.open(path).convert("RGB").quantize(
            colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        image.save(SCREENSHOTS / f"{README_SHOTS[name]}.png", optimize=True)


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def kernel_idle(page):
    """The status bar reads "<kernel name> | Idle": the kernel is up and has nothing to do."""
    status = page.get_by_role("contentinfo").get_by_role("button", name=re.compile(r"\| Idle$"))
    expect(status).to_be_visible(timeout=LONG)


# --- 1. a lecture -----------------------------------------------------------------------

def test_lecture_runs_all_and_its_plot_and_widget_work(lab, page):
    path = lab.root / "course" / LECTURE
    assert not path.resolve().is_relative_to(ROOT), "Run All must run a copy, never the repository's notebook"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # so every output seen below comes from this run
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, path)
    n_code = sum(c.cell_type == "code" for c in nb.cells)

    page.goto(lab.url(f"lab/tree/course/{LECTURE}"), timeout=60_000)
    page.locator(".jp-NotebookPanel").wait_for()
    kernel_idle(page)
    shot(page, "01-lecture-opened")

    menu(page, "Run", "Run All Cells")
    prompts = page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt")
    wait_until(lambda: any(re.search(r"\[(\*|\d+)\]", t) for t in prompts.all_text_contents()),
               STEP / 1000, "Run All to start (a cell shows [*] or a count)")
    # Run All is over when no cell waits ([*]); a cell that raises stops it, and the
    # cells after it go back to [ ].
    wait_until(lambda: not any("*" in t for t in prompts.all_text_contents()),
               LONG / 1000, f"Run All to finish the {n_code} code cells")
    kernel_idle(page)
    page.locator(".jp-NotebookPanel-toolbar [data-command='docmanager:save']").click()
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current.jp-mod-dirty")).to_have_count(0)
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(cells) for o in c["outputs"]
              if o["output_type"] == "error"]
    assert not errors, f"Run All raised in code cells (index, error, message): {errors}"
    not_run = [i for i, c in enumerate(cells) if not c["execution_count"]]
    assert not not_run, f"Run All did not run code cells {not_run} of {n_code}"
    assert any("image/png" in o.get("data", {}) for c in cells for o in c["outputs"]), "no plot was saved"

    plot = page.locator(".jp-NotebookPanel .jp-OutputArea-output[data-mime-type='image/png'] img").first
    plot.scroll_into_view_if_needed()
    expect(plot).to_be_visible()
    assert plot.evaluate("img => img.complete && img.naturalWidth > 100"), "the plot image did not load"
    plot.evaluate("img => img.closest('.jp-Cell').scrollIntoView({block: 'start'})")
    shot(page, "02-lecture-plot")

    widget = page.locator(".jp-NotebookPanel .widget-interact").first
    widget.scroll_into_view_if_needed()
    expect(widget.locator("select")).to_be_visible()
    output = widget.locator(".widget-output")
    expect(output).to_contain_text("restart the server on its port: EADDRINUSE", timeout=STEP)
    widget.get_by_role("checkbox", name="reuse").check()
    expect(output).to_contain_text("restart the server on its port: ok", timeout=STEP)
    expect(output).not_to_contain_text("EADDRINUSE")
    shot(page, "03-lecture-widget-reacted")


CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
CJK_FAMILIES = re.compile(r"CJK|Han Sans|Han Serif|WenQuanYi|Droid Sans Fallback|AR PL|Noto Sans SC|Noto Serif SC")


def test_glossary_chinese_column_renders(lab, page):
    """The glossary's Chinese terms are drawn with a font that has Chinese glyphs.
    Chromium reports the fonts it really used for a node's text (DevTools'
    CSS.getPlatformFontsForNode); without a CJK font they come out as empty boxes."""
    if chromium.cjk_font() is None:
        pytest.skip("no CJK font installed (python -m tools.testdeps.chromium installs fonts-noto-cjk as root)")
    page.goto(lab.url("lab/tree/course/99-Glossary.ipynb"), timeout=60_000)
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel).to_be_visible()
    expect(panel.locator(".jp-RenderedMarkdown td", has_text=CJK).first).to_be_visible(timeout=LONG)
    cdp = page.context.new_cdp_session(page)
    mark = """() => {
        const cells = [...document.querySelectorAll('.jp-NotebookPanel .jp-RenderedMarkdown td')];
        const td = cells.find(t => /[\\u3400-\\u4dbf\\u4e00-\\u9fff]/.test(t.textContent) && t.checkVisibility());
        if (!td) return null;
        document.querySelectorAll('[data-cjk-probe]').forEach(e => e.removeAttribute('data-cjk-probe'));
        td.scrollIntoView({block: 'center'});
        td.setAttribute('data-cjk-probe', '1');
        return td.textContent;
    }"""
    probe = {}

    def fonts_used():  # empty until the cell has been laid out and painted
        probe["text"] = page.evaluate(mark)
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-cjk-probe]"})["nodeId"]
        return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"] if node else []

    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        fonts = wait_until(fonts_used, STEP / 1000, "Chromium to report the fonts of the glossary's Chinese cell")
    finally:
        cdp.detach()
    text = probe["text"]
    chinese = sum(f["glyphCount"] for f in fonts if CJK_FAMILIES.search(f["familyName"]))
    assert chinese >= len(CJK.findall(text)), \
        f"the Chinese text {text!r} was drawn with {fonts}: no font with Chinese glyphs"
    shot(page, "04-glossary-chinese")


# --- 2. the student: Assignment List -------------------------------------------------------

_state: dict[str, bool] = {}


def assignment_list(page, lab):
    """The Assignment List, opened in an empty workspace: no notebook that JupyterLab
    restores from an earlier test (the glossary, the lecture) can finish loading later,
    take the front and cover the list while a test clicks in it."""
    page.goto(lab.url("lab/tree/course?reset"), timeout=60_000)
    # the reset is done when JupyterLab drops "?reset" from the address and, having
    # restored an empty main area, opens its Launcher there
    page.wait_for_url(re.compile(r"/lab/tree/course$"), timeout=60_000)
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Launcher")).to_be_visible(timeout=60_000)
    expect(page.locator(".jp-NotebookPanel")).to_have_count(0)
    menu(page, "Nbgrader", "Assignment List")
    panel = page.locator("#assignments")
    expect(panel).to_be_visible()
    return panel


def fill_in(notebook: Path, solutions: dict[str, str]) -> None:
    """Stand in for the student's typing: `solutions` go into the solution cells of
    the fetched notebook, nothing else changes."""
    nb = nbformat.read(notebook, as_version=4)
    cells = cells_by_id(nb)
    for grade_id, source in solutions.items():
        cells[grade_id].source = source
    nbformat.write(nb, notebook)


def partial_case():
    """The partly correct submission of tests/grading/, and the points it keeps."""
    case = grading.case(ASSIGNMENT, grading.module(ASSIGNMENT).PARTIAL)
    points = points_of(nbformat.read(notebook_path(ASSIGNMENT), as_version=4))
    return case, sum(points.values()) - sum(points[c] for c in case.loses)


def validate_from_the_list(page, panel) -> str:
    """Validate the fetched notebook from the Assignment List (the file on disk); the dialog's text."""
    fetched = panel.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT)
    if not fetched.get_by_role("button", name="Validate").first.is_visible():
        fetched.locator("a.assignment-notebooks-link").click()
    fetched.get_by_role("button", name="Validate").first.click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Validation Results", timeout=LONG)
    return dialog.inner_text()


def close_dialog(page) -> None:
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_role("button", name="Ok").click()
    expect(dialog).to_have_count(0)


def submit_from_the_list(lab, page, panel, count: int) -> None:
    """Submit, and wait until the exchange holds `count` submissions of this student."""
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Assignments").click()
    fetched = panel.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT)
    fetched.get_by_role("button", name="Submit").click()
    submitted = panel.locator("#submitted_assignments_list > .list_item", has_text=ASSIGNMENT)
    expect(submitted).to_be_visible(timeout=LONG)
    inbound = lab.tmp / "exchange" / COURSE_ID / "inbound"
    wait_until(lambda: len(list(inbound.glob(f"{STUDENT}+{ASSIGNMENT}+*/*.ipynb"))) >= count, STEP / 1000,
               f"submission {count} to land in the exchange's inbound folder")


def student_fetches_validates_and_submits(lab, page):
    panel = assignment_list(page, lab)
    released = panel.locator("#released_assignments_list > .list_item")
    expect(released.first).to_be_visible()
    offered = {t.split()[0] for t in released.all_inner_texts()}
    expected = {p.name for p in (lab.root / "release").iterdir() if p.is_dir()}
    assert offered == expected, f"the Assignment List offers {offered}, expected {expected}"
    shot(page, "10-assignment-list")

    released.filter(has_text=ASSIGNMENT).get_by_role("button", name="Fetch").click()
    fetched = panel.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT)
    expect(fetched).to_be_visible()
    notebook = notebook_path(ASSIGNMENT, lab.root / "workspace")
    assert notebook.is_file(), f"fetch did not put {notebook.name} in the workspace"

    # Validate the notebook as fetched (nothing written yet): every test fails, and
    # nbgrader's own dialog shows the course's summary before the errors
    text = validate_from_the_list(page, panel)
    source = nbformat.read(notebook_path(ASSIGNMENT), as_version=4)
    tests = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")
             and not c.metadata["nbgrader"].get("solution")]
    failing = text.count("FAIL ")    # a test cell whose checks are all hidden passes here
    named = [c.metadata["nbgrader"]["grade_id"] for c in tests if c.metadata["nbgrader"]["grade_id"] in text]
    assert failing and len(named) == failing, f"the details must name each failing test:\n{text[:3000]}"
    assert f"{failing} of {len(tests)} graded tests fail" in text, text[:3000]
    details = min(text.find(gid) for gid in named)
    assert 0 < text.find("graded tests fail") < text.rfind("FAIL ") < details <= text.find("Traceback"), \
        f"the summary must come first, then the details:\n{text[:3000]}"
    assert "import gradelib" not in text, "the dialog must not repeat the test cells' source"
    shot(page, "12-validate-summary")
    close_dialog(page)

    # a partly correct notebook, opened, validated from its toolbar and submitted
    fill_in(notebook, partial_case()[0].solutions)
    fetched.get_by_role("link", name=notebook.stem, exact=True).click()
    nb_panel = page.locator(".jp-NotebookPanel:visible")
    expect(nb_panel).to_be_visible()
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")).to_contain_text(notebook.name)
    kernel_idle(page)
    shot(page, "11-fetched-notebook")
    nb_panel.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    expect(page.locator(".jp-Dialog")).to_contain_text("Validation Results", timeout=LONG)
    shot(page, "12-validated")
    close_dialog(page)

    submit_from_the_list(lab, page, panel, 1)
    shot(page, "13-submitted")
    _state["submitted"] = True


def test_student_fetches_validates_and_submits(lab, page):
    student_fetches_validates_and_submits(lab, page)


# --- 3. the instructor: Formgrader --------------------------------------------------------

def close_modal(frame, action: str) -> str:
    """Wait for the Formgrader's result dialog, require Success, close it."""
    modal = frame.locator(".modal.in")
    expect(modal.locator(".modal-footer button")).to_be_visible(timeout=LONG)
    text = modal.inner_text()
    assert modal.locator(".modal-title").inner_text().strip() == "Success", \
        f"{action} failed:\n{text[:1500]}\n...\n{text[-3000:]}"
    modal.locator(".modal-footer button").first.click()
    expect(frame.locator(".modal.in")).to_have_count(0)
    expect(frame.locator(".modal-backdrop")).to_have_count(0)  # faded out: the page is usable again
    return text


def manage_assignments(frame):
    """The Formgrader's row of ASSIGNMENT on its Manage Assignments page (going there if needed)."""
    row = frame.locator("#main-table tr", has_text=ASSIGNMENT)
    if not row.locator("td.collect a").is_visible():
        frame.get_by_role("link", name="Manage Assignments").click()
    expect(row.locator("td.collect a")).to_be_visible()
    return row


def formgrader_grades(page, frame, lab, score: float, total: float) -> None:
    """Collect, then autograde the student from the submissions page; the score shows."""
    row = manage_assignments(frame)
    row.locator("td.collect a").click()
    close_modal(frame, "Collect")
    expect(row.locator("td.num-submissions")).to_have_text("1")
    row.locator("td.num-submissions a").click()
    student = frame.locator("tbody tr", has_text=STUDENT)
    expect(student.locator("td.status")).to_have_text("needs autograding")
    name = student.locator("td.student-name").inner_text().strip()
    assert name and "None" not in name, f"the Formgrader shows the student as {name!r}"
    student.locator("td.autograde a").click()
    log = close_modal(frame, "Autograde")
    assert "[DEBUG]" not in log and "Attribute 'checksum'" not in log, f"the Autograde dialog is noisy:\n{log[:3000]}"
    expect(student.locator("td.status")).to_have_text("graded")
    expect(student.locator("td.score")).to_have_text(f"{score:g} / {total:g}")
    assert not (lab.root / "autograded" / STUDENT / ASSIGNMENT / "tampering.json").exists()


def formgrader_returns_feedback(page, frame, lab) -> None:
    row = manage_assignments(frame)
    row.locator("td.generate-feedback a").click()
    close_modal(frame, "Generate Feedback")
    assert (lab.root / "feedback" / STUDENT / ASSIGNMENT / f"{notebook_path(ASSIGNMENT).stem}.html").is_file()
    row.locator("td.release-feedback a").click()
    close_modal(frame, "Release Feedback")
    assert list((lab.tmp / "exchange" / COURSE_ID / "feedback").glob("*.html")), "no feedback in the exchange"


def student_fetches_feedback(page, lab, score: float, total: float) -> Path:
    """Fetch Feedback on the newest submission; its page shows `score`.  Returns the page."""
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Assignments").click()
    panel = page.locator("#assignments")
    panel.locator("#refresh_assignments_list").click()
    waiting = panel.locator("#submitted_assignments_list .nested_list_item", has_text="feedback available to fetch")
    expect(waiting).to_have_count(1, timeout=STEP)   # the newest submission's
    panel.locator("#submitted_assignments_list > .list_item", has_text=ASSIGNMENT) \
        .get_by_role("button", name="Fetch Feedback").click()
    expect(waiting).to_have_count(0, timeout=STEP)
    pages = sorted((lab.root / "workspace" / ASSIGNMENT / "feedback").glob("*/*.html"))
    assert pages, "Fetch Feedback put no feedback in the workspace"
    latest = pages[-1]  # folders are named by submission time
    number = lambda x: rf"{x:g}(\.0+)?"  # noqa: E731
    assert re.search(rf"Score:\s*{number(score)}\s*/\s*{number(total)}", re.sub(r"<[^>]+>", " ", latest.read_text())), \
        f"the fetched feedback of the newest submission does not show {score:g} / {total:g}"
    return latest


def test_formgrader_grades_a_resubmission_and_returns_feedback(lab, page):
    if not _state.get("submitted"):  # run on its own: make the submission first
        student_fetches_validates_and_submits(lab, page)
    case, partial = partial_case()
    total = sum(points_of(nbformat.read(notebook_path(ASSIGNMENT), as_version=4)).values())

    menu(page, "Nbgrader", "Formgrader")
    frame = page.frame_locator(".jp-MainAreaWidget:visible iframe")
    row = frame.locator("#main-table tr", has_text=ASSIGNMENT)
    expect(row).to_be_visible()
    shot(page, "20-formgrader")

    # a fresh gradebook: the instructor's first step records the assignment (make generate)
    row.locator("td.assign a").click()
    close_modal(frame, "Generate")
    formgrader_grades(page, frame, lab, partial, total)
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()  # room for the table
    frame.locator(".breadcrumb").evaluate("e => e.scrollIntoView({block: 'start'})")
    shot(page, "21-formgrader-autograded")
    page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.click()
    formgrader_returns_feedback(page, frame, lab)
    shot(page, "22-feedback-released")

    # the student fetches the feedback; (view feedback) shows its folder in the file
    # browser, and the page opens from there, untrusted, summary first
    first = student_fetches_feedback(page, lab, partial, total)
    shot(page, "23-feedback-fetched")
    panel = page.locator("#assignments")
    panel.locator("#submitted_assignments_list").get_by_text("(view feedback)").last.click()
    crumbs = page.locator(".jp-FileBrowser .jp-BreadCrumbs")
    expect(crumbs).to_contain_text(first.parent.name, timeout=STEP)
    page.locator(".jp-FileBrowser .jp-DirListing-item", has_text=first.name).dblclick()
    viewer = page.frame_locator(".jp-HTMLViewer:visible iframe")
    expect(viewer.locator("#summary")).to_contain_text("graded tests lost points", timeout=STEP)
    expect(viewer.locator("#summary tr.check.fail").first).to_be_visible()
    untrusted = page.locator(".jp-HTMLViewer:visible iframe").get_attribute("sandbox") or ""
    assert "allow-scripts" not in untrusted, f"the feedback page should open untrusted: sandbox={untrusted!r}"
    expect(page.locator(".jp-MainAreaWidget:visible").get_by_role("button", name="Trust HTML")).to_be_visible()
    shot(page, "24-feedback-page")

    # the student fixes the notebook (on disk; it validates), and submits again
    fill_in(notebook_path(ASSIGNMENT, lab.root / "workspace"), reference_solutions(ASSIGNMENT))
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Assignments").click()
    assert "Success! Your notebook passes all the tests." in validate_from_the_list(page, panel)
    close_dialog(page)
    submit_from_the_list(lab, page, panel, 2)

    # the Formgrader collects, grades and returns the second submission
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Formgrader").click()
    formgrader_grades(page, frame, lab, total, total)
    shot(page, "25-formgrader-regraded")
    formgrader_returns_feedback(page, frame, lab)
    second = student_fetches_feedback(page, lab, total, total)
    assert second != first, "the second submission must get feedback of its own"
