"""The Chinese edition (tools/translate.py): complete, current, consistent, graded the same.

* Every notebook that is not listed in translations/zh_CN/PENDING has a current
  translation of every markdown cell; the failure lists each missing or stale cell.
  A pending notebook is reported as an expected failure with its count, and a
  pending notebook that is complete fails (take it off the list).
* Where the English uses a glossary term (course/conclab/glossary.py), the
  translation uses the glossary's Chinese form.
* The build copies code cells, outputs, widget state and metadata from the
  English notebooks; an assignment's Chinese release differs from release/ only
  in plain markdown cells, and a student who works in it is graded by nbgrader
  exactly as an English one (one gradebook entry, full marks for the reference).
"""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tools import translate as t
from tools.assignments import ROOT, notebook_path, points_of, reference_solutions
from tools.settings import COURSE_ID

DUE = [p for p in t.english_notebooks()]


@pytest.fixture(scope="module")
def terms():
    return t.glossary_terms()


# --- the translation files -------------------------------------------------------------

def test_every_translation_file_belongs_to_a_notebook_and_parses():
    notebooks = {t.po_path(p) for p in t.english_notebooks()}
    files = sorted(t.TRANSLATIONS.rglob("*.po"))
    assert files, f"no translation files in {t.TRANSLATIONS}"
    strays = [f.relative_to(ROOT).as_posix() for f in files if f not in notebooks]
    assert not strays, f"translation files of notebooks that do not exist (renamed or removed?): {strays}"
    for f in files:
        catalog = t.read_po(f)  # abort_invalid: a syntax error raises, naming the line
        no_context = [m.msgid[:40] for m in catalog if not m.msgctxt]
        assert not no_context, f"{f.name}: entries without a cell id (msgctxt): {no_context}"


def test_translation_files_are_as_the_tool_writes_them():
    """`python -m tools.translate update` would change nothing: no hand-made layout that the
    next update rewrites (a diff that hides the real change), no entry of a removed cell."""
    changed = []
    for notebook in t.english_notebooks():
        path = t.po_path(notebook)
        if not path.exists():
            continue
        before = path.read_bytes()
        try:
            if t.update(notebook):
                changed.append(path.relative_to(ROOT).as_posix())
        finally:
            path.write_bytes(before)
    assert not changed, f"run `python -m tools.translate update` and commit: {changed}"


def test_pending_lists_only_notebooks_that_exist():
    known = {t.rel(p) for p in t.english_notebooks()}
    unknown = sorted(t.pending() - known)
    assert not unknown, f"translations/zh_CN/PENDING names notebooks that do not exist: {unknown}"


@pytest.mark.parametrize("notebook", DUE, ids=[t.rel(p) for p in DUE])
def test_every_markdown_cell_is_translated_and_current(notebook):
    st = t.status(notebook)
    name = t.rel(notebook)
    if name in t.pending():
        assert not st.complete, (f"{name} is completely translated: take it off translations/zh_CN/PENDING "
                                 "so that the suite keeps it so")
        pytest.xfail(f"translation pending: {len(st.missing)} missing and {len(st.stale)} stale "
                     f"of {st.total} cells")
    assert st.complete, (
        f"{name}: {len(st.missing)} markdown cells without a translation and {len(st.stale)} whose English "
        f"changed since (in {t.po_path(notebook).relative_to(ROOT)}):\n" + "\n".join(st.lines())
        + "\nRun `python -m tools.translate update " + name + "`, translate the new or fuzzy entries, "
        "or list the notebook in translations/zh_CN/PENDING while its English is being rewritten.")


@pytest.mark.parametrize("notebook", DUE, ids=[t.rel(p) for p in DUE])
def test_translations_use_the_glossary_terms(notebook, terms):
    st = t.status(notebook)
    if not st.translated:
        pytest.skip("nothing translated yet")
    problems = t.glossary_problems(st, terms)
    assert not problems, (f"{t.rel(notebook)}: terms not in the glossary's Chinese form (or add a translator "
                          "comment `# glossary: <English term>` to the entry, saying why):\n" + "\n".join(problems))


# --- the mechanism, on a notebook of its own -----------------------------------------

@pytest.fixture()
def sandbox(tmp_path, monkeypatch):
    """A repository of one English notebook, with its own translations folder."""
    root = tmp_path / "repo"
    (root / "course").mkdir(parents=True)
    monkeypatch.setattr(t, "ROOT", root)
    monkeypatch.setattr(t, "TRANSLATIONS", root / "translations" / t.LOCALE)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A process\n\nA thread runs.", id="aaaa0001"),
                nbformat.v4.new_code_cell("print(1)", id="cccc0001"),
                nbformat.v4.new_markdown_cell("Deadlock is forever.", id="aaaa0002")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    path = root / "course" / "01.01-Demo.ipynb"
    nbformat.write(nb, path)
    return path


def set_string(path: Path, cell_id: str, text: str, comment: str | None = None) -> None:
    catalog = t.read_po(t.po_path(path))
    for m in catalog:
        if m.msgctxt == cell_id:
            m.msgstr, m.flags = text, []
            if comment:
                m.tcomment = comment
    t.write_po(t.po_path(path), catalog)


def test_status_lists_missing_then_stale_cells_and_update_keeps_the_old_translation(sandbox):
    st = t.status(sandbox)
    assert [u.cell_id for u in st.missing] == ["aaaa0001", "aaaa0002"] and st.total == 2
    assert t.update(sandbox) and not t.update(sandbox), "update writes once, then changes nothing"
    set_string(sandbox, "aaaa0001", "# 一个进程\n\n一个线程在运行。")
    set_string(sandbox, "aaaa0002", "死锁是永远的。")
    st = t.status(sandbox)
    assert st.complete

    nb = nbformat.read(sandbox, as_version=4)
    nb.cells[2].source = "Deadlock lasts until someone breaks it."
    nbformat.write(nb, sandbox)
    st = t.status(sandbox)
    assert [u.cell_id for u in st.stale] == ["aaaa0002"] and not st.missing
    assert "stale    cell aaaa0002: Deadlock lasts" in "\n".join(st.lines())

    t.update(sandbox)
    entry = next(m for m in t.read_po(t.po_path(sandbox)) if m.msgctxt == "aaaa0002")
    assert entry.fuzzy and entry.msgstr == "死锁是永远的。"
    assert entry.previous_msgid == "Deadlock is forever.", "the translator sees the English it was made from"
    assert not t.update(sandbox), "a second update keeps the fuzzy entry as it is"
    assert [u.cell_id for u in t.status(sandbox).stale] == ["aaaa0002"], "a fuzzy entry is still stale"
    set_string(sandbox, "aaaa0002", "死锁会一直持续，直到有人打破它。")
    assert t.status(sandbox).complete


def test_glossary_check_catches_a_term_in_another_wording(sandbox, terms):
    t.update(sandbox)
    set_string(sandbox, "aaaa0001", "# 一个进程\n\n一个执行绪在运行。")   # 'thread' is 线程 in the glossary
    set_string(sandbox, "aaaa0002", "死结是永远的。")                      # 'deadlock' is 死锁
    problems = t.glossary_problems(t.status(sandbox), terms)
    assert any("cell aaaa0001: 'thread'" in p and "线程" in p for p in problems), problems
    assert any("cell aaaa0002: 'deadlock'" in p and "死锁" in p for p in problems), problems
    set_string(sandbox, "aaaa0002", "死结是永远的。", comment="glossary: deadlock")
    problems = t.glossary_problems(t.status(sandbox), terms)
    assert not any("aaaa0002" in p for p in problems), "a translator's comment waives the term in that cell"
    set_string(sandbox, "aaaa0001", "# 一个进程\n\n一个 thread 在运行。")    # the English term kept: fine
    assert not t.glossary_problems(t.status(sandbox), terms)


# --- the build ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("zh") / t.EDITION
    statuses = t.build(out, say=lambda *a: None)
    return out, statuses


def test_build_copies_code_outputs_and_metadata_from_the_english(built):
    out, statuses = built
    for notebook, st in statuses.items():
        en = nbformat.read(notebook, as_version=4)
        zh = nbformat.read(out / t.rel(notebook), as_version=4)
        name = t.rel(notebook)
        assert zh.metadata == en.metadata, f"{name}: notebook metadata (kernelspec, widget state) differs"
        zh_cells = [c for c in zh.cells if c.get("id") != t.NOTICE_ID]
        assert (len(zh_cells) < len(zh.cells)) == (not st.complete), f"{name}: notice iff incomplete"
        assert [c.id for c in zh_cells] == [c.id for c in en.cells], f"{name}: cells differ"
        for e, z in zip(en.cells, zh_cells):
            if e.cell_type != "markdown":
                assert z == e, f"{name}: cell {e.id} is not the English one"
            else:
                assert z.metadata == e.metadata and z.get("attachments") == e.get("attachments")
        translated = {u.cell_id: text for u, text in st.translated.items()}
        for e, z in zip(en.cells, zh_cells):
            if e.id in translated and notebook.name != t.INDEX:  # in-page links: their own test
                assert without_anchors(z.source) == without_anchors(translated[e.id])


def without_anchors(markdown: str) -> str:
    return t.ANCHOR_LINK.sub(lambda m: f"]({m['target']}#)", markdown)


def test_build_rebuilds_navigation_with_chinese_titles_and_keeps_targets(built):
    out, _ = built
    welcome = nbformat.read(out / "course" / "00-Welcome.ipynb", as_version=4)
    english = nbformat.read(ROOT / "course" / "00-Welcome.ipynb", as_version=4)
    zh, en = t.LINK.findall(welcome.cells[0].source), t.LINK.findall(english.cells[0].source)
    assert [link[1:] for link in zh] == [link[1:] for link in en], "the navigation keeps its targets"
    for (label, target, _), (en_label, _, _) in zip(zh, en):
        title = t.title_of(nbformat.read(out / "course" / target, as_version=4))
        assert label == ("目录" if en_label == "Contents" else title), f"{target}: labelled {label!r}"
        assert re.search(r"[\u4e00-\u9fff]", label), f"{target}: the label {label!r} is not Chinese"
    index = nbformat.read(out / "course" / t.INDEX, as_version=4).cells[0].source
    title = t.title_of(nbformat.read(out / "course" / "00-Welcome.ipynb", as_version=4))
    assert f"[{title}](00-Welcome.ipynb)" in index and "欢迎" in title
    targets = sorted(m[1] for m in t.LINK.findall(index))
    assert targets == sorted(m[1] for m in t.LINK.findall(
        nbformat.read(ROOT / "course" / t.INDEX, as_version=4).cells[0].source)), "the Index links every notebook"


def test_chinese_lectures_import_the_course_helpers(built):
    import subprocess
    import sys
    out, _ = built
    code = "import conclab, conclab.glossary as g; print(conclab.__file__); print(len(g.ENTRIES))"
    done = subprocess.run([sys.executable, "-c", code], cwd=out / "course", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.split()[0]) == ROOT / "course" / "conclab" / "__init__.py"


def test_chinese_release_differs_only_in_plain_markdown(built):
    out, _ = built
    for name in sorted(p.name for p in (ROOT / "release").iterdir() if p.is_dir()):
        en_path = notebook_path(name, ROOT / "release")
        zh_path = out / "release" / name / en_path.name
        en, zh = nbformat.read(en_path, as_version=4), nbformat.read(zh_path, as_version=4)
        zh_cells = [c for c in zh.cells if c.get("id") != t.NOTICE_ID]
        assert zh.metadata == en.metadata and len(zh_cells) == len(en.cells)
        for e, z in zip(en.cells, zh_cells):
            if e.cell_type != "markdown" or "nbgrader" in e.metadata:
                assert z == e, f"{name}: cell {e.id} must be exactly the released one"
        assert points_of(zh) == points_of(en)
        others = sorted(f.relative_to(ROOT / "release" / name) for f in (ROOT / "release" / name).rglob("*")
                        if f.is_file() and f.suffix != ".ipynb" and "__pycache__" not in f.parts)
        for f in others:
            assert (out / "release" / name / f).read_bytes() == (ROOT / "release" / name / f).read_bytes()


# --- in-page links ---------------------------------------------------------------------------

def test_heading_anchor_is_jupyterlabs_rule_on_the_rendered_heading_text():
    """JupyterLab (@jupyterlab/rendermime, renderMarkdown.createHeaderId) takes the heading's
    textContent, markup removed, and replaces each space by '-'."""
    cell = ("## 4. `Condition`: waiting *until* [it](x.ipynb) is true &amp; (PEP 380)\n\n"
            "```python\n# a comment, not a heading\n```\n\nSetext heading\n---\n\n<h3>An HTML one</h3>\n")
    assert t.heading_texts(cell) == ["4. Condition: waiting until it is true & (PEP 380)",
                                     "Setext heading", "An HTML one"]
    assert [t.heading_anchor(h) for h in t.heading_texts(cell)] == [
        "4.-Condition:-waiting-until-it-is-true-&-(PEP-380)", "Setext-heading", "An-HTML-one"]
    assert t.heading_anchor("2. CPU 密集型工作：线程与进程") == "2.-CPU-密集型工作：线程与进程"


def test_build_rewrites_in_page_links_to_the_chinese_headings(tmp_path):
    """A link to a section of the same notebook, one to a section of a sibling notebook, a
    web link with a fragment, and an nbgrader cell: only the first two change (nbgrader's
    cells are graded as released), and the checker names every link left pointing at an
    English heading, the nbgrader cell's included."""
    def notebook(*cells):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(text, id=cid) for cid, text in cells]
        return nb

    a, b = tmp_path / "course" / "01.01-A.ipynb", tmp_path / "course" / "01.02-B.ipynb"
    english = {
        a: notebook(("a1", "# Title\n\n## 1. First part\n\nText."),
                    ("a2", "## 2. `Second` part (PEP 380)\n\nBack to [section 1](#1.-First-part)."),
                    ("a3", "See [B, section 1](01.02-B.ipynb#1.-Other-things) and "
                           "[the docs](https://docs.python.org/3/library/sys.html#sys.exit).")),
        b: notebook(("b1", "## 1. Other things\n\nAs in [A](01.01-A.ipynb#2.-Second-part-(PEP-380))."),
                    ("b2", "Graded: [section 1](#1.-Other-things)")),
    }
    english[b].cells[1].metadata["nbgrader"] = {"grade": False, "locked": True, "solution": False}
    chinese = {
        a: notebook(("a1", "# 标题\n\n## 1. 第一部分\n\n正文。"),
                    ("a2", "## 2. `第二` 部分 (PEP 380)\n\n回到[第 1 节](#1.-First-part)。"),
                    ("a3", "见 [B 第 1 节](01.02-B.ipynb#1.-Other-things) 和 "
                           "[文档](https://docs.python.org/3/library/sys.html#sys.exit)。")),
        b: notebook(("b1", "## 1. 其他事情\n\n同 [A](01.01-A.ipynb#2.-Second-part-(PEP-380))。"),
                    ("b2", "Graded: [section 1](#1.-Other-things)")),
    }
    chinese[b].cells[1].metadata = english[b].cells[1].metadata
    assert t.broken_anchor_links(english) == []
    before = t.broken_anchor_links(chinese)
    assert len(before) == 4, before  # every link to a section of A or B

    t.reanchor(chinese, english)
    left = "01.02-B.ipynb cell b2: (#1.-Other-things)"
    assert t.broken_anchor_links(chinese) == [left], "only the nbgrader cell's link is left"
    assert "](#1.-第一部分)" in chinese[a].cells[1].source
    assert "](01.02-B.ipynb#1.-其他事情)" in chinese[a].cells[2].source
    assert "](https://docs.python.org/3/library/sys.html#sys.exit)" in chinese[a].cells[2].source
    assert "](01.01-A.ipynb#2.-第二-部分-(PEP-380))" in chinese[b].cells[0].source
    assert chinese[b].cells[1].source == english[b].cells[1].source, "nbgrader's cells stay as released"

    chinese[a].cells[1].source += " [gone](#3.-No-such-section)"
    assert t.broken_anchor_links(chinese) == ["01.01-A.ipynb cell a2: (#3.-No-such-section)", left]


def test_every_in_page_link_of_both_editions_points_to_a_heading(built):
    out, _ = built
    english = {p: nbformat.read(p, as_version=4) for p in t.english_notebooks()}
    chinese = {out / t.rel(p): nbformat.read(out / t.rel(p), as_version=4) for p in english}
    links = sum(len(t.ANCHOR_LINK.findall(c.source)) for nb in chinese.values() for c in nb.cells
                if c.cell_type == "markdown" and "](#" in c.source)
    assert links, "no in-page link in the course: this test checks nothing"
    for edition, nbs in (("English", english), ("Chinese", chinese)):
        broken = t.broken_anchor_links(nbs)
        assert not broken, (f"{edition} edition: links to a heading that does not exist (JupyterLab's anchor "
                            "is the heading's text with '-' for each space):\n" + "\n".join(broken))


@pytest.mark.slow
def test_a_student_of_the_chinese_release_is_graded_like_an_english_one(tmp_path, monkeypatch):
    """ps2 (the quickest to grade), every plain markdown cell given a Chinese text.  One student
    fetches the English release, another the Chinese one; both submit the reference solution;
    nbgrader collects and autogrades them: the same score in every test cell, one submission
    each in the gradebook, and the Chinese text kept in the graded notebook."""
    from nbgrader.api import Gradebook

    from harness import Course, fill_solutions

    name = "ps2_deadlock"
    release_nb = notebook_path(name, ROOT / "release")
    monkeypatch.setattr(t, "TRANSLATIONS", tmp_path / "translations" / t.LOCALE)
    t.update(release_nb)
    catalog = t.read_po(t.po_path(release_nb))
    for m in catalog:
        m.msgstr = "中文说明：" + m.msgid
    t.write_po(t.po_path(release_nb), catalog)
    out = tmp_path / "build"
    t.build(out, say=lambda *a: None)

    course = Course(tmp_path / "course")
    course.add_source(name)
    course.generate(name)
    shutil.rmtree(course.root / "release" / name)
    shutil.copytree(ROOT / "release" / name, course.root / "release" / name)
    course.release(name)
    folders = {"alice": course.fetch("alice", name)}
    shutil.rmtree(course.root / "release" / name)
    shutil.rmtree(course.root / "exchange" / COURSE_ID / "outbound" / name)
    shutil.copytree(out / "release" / name, course.root / "release" / name)
    course.release(name)
    folders["chen"] = course.fetch("chen", name)

    for student, folder in folders.items():
        fetched = nbformat.read(folder / release_nb.name, as_version=4)
        chinese = any(c.cell_type == "markdown" and c.source.startswith("中文说明：") for c in fetched.cells)
        assert chinese == (student == "chen"), f"{student} fetched the wrong edition"
        nbformat.write(fill_solutions(fetched, reference_solutions(name)), folder / release_nb.name)
        course.submit(student, name)
    course.collect(name)
    scores = {}
    for student in folders:
        course.autograde(name, student)
        with Gradebook(course.config().CourseDirectory.db_url, COURSE_ID) as gb:
            submissions = list(gb.find_student(student).submissions)
            assert [s.assignment.name for s in submissions] == [name], f"{student}: one gradebook entry"
            scores[student] = {g.name: g.score for nb in submissions[0].notebooks for g in nb.grades}
    graded = nbformat.read(course.root / "autograded" / "chen" / name / release_nb.name, as_version=4)
    assert any(c.cell_type == "markdown" and c.source.startswith("中文说明：") for c in graded.cells)
    assert sum(scores["alice"].values()) > 0, "the English reference scored nothing: the loop is broken"
    assert scores["chen"] == scores["alice"], "the Chinese release is graded differently"


# --- make lab LANG=zh ----------------------------------------------------------------------

@pytest.mark.browser
def test_make_lab_lang_zh_opens_the_chinese_edition_in_a_chinese_jupyterlab(tmp_path):
    """`python -m tools.lab --lang zh` (what `make lab LANG=zh` runs), on a copy of the course:
    the exchange offers the Chinese releases, JupyterLab's default locale is zh_CN, and in
    headless Chromium the menus are Chinese and the welcome notebook opens in Chinese."""
    from labserver import copy_course, get, running_lab
    from tools.testdeps import chromium, skip_reason

    if skip_reason("chromium") or chromium.executable() is None:
        pytest.skip(skip_reason("chromium") or "Chromium is not installed")
    from playwright.sync_api import expect, sync_playwright

    root = copy_course(tmp_path / "course")
    shutil.copytree(ROOT / "translations", root / "translations")
    with running_lab(tmp_path, root, extra_args=("--lang", "zh")) as lab:
        build = root / "build" / t.EDITION
        for folder in sorted((build / "release").iterdir()):
            outbound = tmp_path / "exchange" / COURSE_ID / "outbound" / folder.name
            for f in folder.iterdir():
                if f.is_file():
                    assert (outbound / f.name).read_bytes() == f.read_bytes(), \
                        f"{folder.name}/{f.name}: the exchange must offer the Chinese release"
        _, text = get(lab.url("lab/api/settings/@jupyterlab/translation-extension:plugin"), lab.token)
        import json
        default = json.loads(text)["schema"]["properties"]["locale"]["default"]
        assert default == "zh_CN", f"JupyterLab's default locale is {default!r}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium.executable(), headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto(lab.url(f"?token={lab.token}"), timeout=90_000)  # "/" leads to the default URL
                menubar = page.locator(".lm-MenuBar-itemLabel")
                expect(menubar.filter(has_text="文件")).to_have_count(1, timeout=90_000)
                expect(menubar.filter(has_text="内核")).to_have_count(1)
                panel = page.locator(".jp-NotebookPanel:visible")
                expect(panel.locator("h1").first).to_contain_text("欢迎来到", timeout=60_000)
                tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
                expect(tab).to_contain_text("00-Welcome.ipynb")
                assert "build/zh-CN/course" in page.url
                (Path(ROOT / "tests" / "artifacts" / "browser")).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(ROOT / "tests" / "artifacts" / "browser" / "30-lab-zh.png"))
            finally:
                browser.close()
