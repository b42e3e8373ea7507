"""The website (`make site`, tools/site.py): both editions built offline from the stored notebooks.

The site is built once for this module into a temporary folder (the repository's build/
is not touched).  Without a browser: every course notebook and assignment has a page in
both editions, with the run note and a language switch to the same page; no page loads
anything from another host; widgets are shown as their stored state; no solution and no
hidden test is anywhere in the built site; the Chinese search index has the glossary's
terms.  In headless Chromium, served on loopback: every page of both editions loads, every
internal link resolves (anchors included), every image loads, Chinese text is drawn with a
Chinese font, the language switch leads to the same page in the other language, and the
search finds a term in both languages.
"""
from __future__ import annotations

import contextlib
import functools
import html
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import nbformat
import pytest

from tools.assignments import HIDDEN_MARKERS, ROOT, assignments, marked_regions, notebook_path, reference_solutions

pytest.importorskip("myst_nb", reason="the site builder is in requirements-dev.txt (make test installs it)")
pytest.importorskip("sphinx_book_theme", reason="the site builder is in requirements-dev.txt")

from tools import site, translate  # noqa: E402

EDITIONS = site.EDITIONS
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
CJK_FAMILIES = re.compile(r"CJK|Han Sans|Han Serif|WenQuanYi|Droid Sans Fallback|AR PL|Noto Sans SC|Noto Serif SC")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    out = tmp / "site"
    site.build(out, stage_root=tmp / "src", work=tmp / "work", zh=tmp / "zh", say=lambda *a: None)
    return out


def pages(out: Path, edition: str) -> list[Path]:
    return sorted(p for p in (out / edition).rglob("*.html") if "_static" not in p.parts)


def expected_docs() -> list[str]:
    docs = [p.stem for p in translate.course_notebooks()]
    docs += [f"assignments/{a}/{notebook_path(a, ROOT / 'release').stem}"
             for a in sorted(p.name for p in (ROOT / "release").iterdir() if p.is_dir())]
    return docs


def text_of(page: Path) -> str:
    """A page's text: tags removed, entities decoded (so highlighted code reads as written)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def words_of(page: Path) -> str:
    """A page's text with every run of white space made one space."""
    return " ".join(text_of(page).split())


# --- without a browser ---------------------------------------------------------------------

def test_the_build_cannot_reach_the_network():
    """The hook that tools/site.py runs before Sphinx refuses connections and name look-ups."""
    code = site.OFFLINE + ("import socket\n"
                           "try:\n    socket.getaddrinfo('pypi.org', 443)\nexcept RuntimeError as e:\n    print(e)\n"
                           "try:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
                           "except RuntimeError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all("built offline: refused socket." in line for line in lines), done


def test_a_translated_link_to_a_section_follows_the_translated_heading():
    """JupyterLab's anchor is a heading's text with hyphens for spaces; a translation that
    kept the English anchor in a link is pointed at the Chinese heading of the same cell."""
    english = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## 2. CPU-bound work: `threads` versus *processes*", id="h"),
        nbformat.v4.new_markdown_cell("See [section 2](#2.-CPU-bound-work:-threads-versus-processes) "
                                      "and [the top](#Top).", id="p")])
    chinese = nbformat.from_dict(json.loads(nbformat.writes(english)))
    chinese.cells[0].source = "## 2. CPU 密集型工作：`threads` 与 *processes*"
    chinese.cells[1].source = "见[第 2 节](#2.-CPU-bound-work:-threads-versus-processes)和[开头](#Top)。"
    assert site.heading_anchors(english.cells[0].source) == ["2.-CPU-bound-work:-threads-versus-processes"]
    assert site.localise_anchors(chinese, english) == 1
    assert chinese.cells[1].source == "见[第 2 节](#2.-CPU-密集型工作：threads-与-processes)和[开头](#Top)。"


def test_every_notebook_and_assignment_has_a_page_in_both_editions(built):
    for edition in EDITIONS:
        missing = [d for d in expected_docs() if not (built / edition / f"{d}.html").is_file()]
        assert not missing, f"{edition}: no page for {missing}"
    assert (built / "index.html").is_file()


def test_every_page_has_the_run_note_and_a_switch_to_the_same_page(built):
    for edition in EDITIONS:
        other = EDITIONS[1 - EDITIONS.index(edition)]
        for doc in expected_docs():
            page = built / edition / f"{doc}.html"
            text = page.read_text(encoding="utf-8")
            switch = re.search(r'<a class="[^"]*course-lang-switch[^"]*" href="([^"]+)"', text)
            assert switch, f"{edition}/{doc}: no language switch"
            target = (page.parent / switch.group(1)).resolve()
            assert target == (built / other / f"{doc}.html").resolve(), f"{edition}/{doc}: switch leads to {target}"
            if doc != "Index":
                words = words_of(page)
                assert "course-run-note" in text and "make lab" in words and "make test" in words, \
                    f"{edition}/{doc}: no note on how to run it"


def test_no_page_loads_anything_from_another_host(built):
    external = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//', re.I)
    for edition in EDITIONS:
        bad = [p.relative_to(built).as_posix() for p in pages(built, edition)
               if external.search(p.read_text(encoding="utf-8"))]
        assert not bad, f"pages that load scripts, styles or images from the network: {bad[:5]}"


def test_widgets_are_shown_as_their_stored_state(built):
    with_widgets = [p for p in translate.course_notebooks()
                    if nbformat.read(p, as_version=4).metadata.get("widgets")]
    assert with_widgets, "no lecture has a widget: nothing to check"
    for edition in EDITIONS:
        for nb in with_widgets:
            text = (built / edition / f"{nb.stem}.html").read_text(encoding="utf-8")
            assert "course-widget-static" in text, f"{edition}/{nb.stem}: widget not replaced"
            assert "widget-view+json" not in text and "widget-state+json" not in text
    glossary = text_of(built / "en" / "99-Glossary.html")
    assert "match(es) for '锁'" in glossary, "the glossary's search widget shows what it printed when stored"


def public_lines() -> set[str]:
    """Every line of what students and readers get anyway: the lectures (their stored outputs
    too: some print the source of a helper) and the releases."""
    lines = set()
    for path in translate.course_notebooks() + translate.release_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            texts = [cell.source]
            for out in cell.get("outputs", []):
                texts += [out.get("text", ""), out.get("data", {}).get("text/plain", ""),
                          html.unescape(re.sub(r"<[^>]+>", "", out.get("data", {}).get("text/html", "")))]
            lines |= {line.strip() for text in texts for line in "".join(text).splitlines()}
    return lines


def secret_lines(name: str, public: set[str]) -> list[str]:
    """Lines of the reference solutions and of the hidden tests that nothing public has."""
    secret = {line.strip() for source in reference_solutions(name).values() for line in source.splitlines()}
    for cell in nbformat.read(notebook_path(name), as_version=4).cells:
        secret |= {line.strip() for line in marked_regions(cell.source, HIDDEN_MARKERS)}
    return sorted(line for line in secret - public if len(line) >= 20)


def test_no_solution_and_no_hidden_test_in_the_site(built):
    files = [p for p in built.rglob("*") if p.is_file() and p.suffix in (".html", ".js", ".txt", ".ipynb", ".json")]
    texts = {p: (text_of(p) if p.suffix == ".html" else p.read_text(encoding="utf-8", errors="replace"))
             for p in files}
    for p, text in texts.items():
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, p
    lines_of = {p: {line.strip() for line in text.splitlines()} for p, text in texts.items()}
    public = public_lines()
    for name in assignments():
        release = nbformat.read(notebook_path(name, ROOT / "release"), as_version=4)
        page = lines_of[built / "en" / "assignments" / name / f"{notebook_path(name).stem}.html"]
        # the search finds code as written: the lines of the released test cells are found on their page
        shown = [line.strip() for c in release.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
                 for line in c.source.splitlines() if len(line.strip()) >= 20]
        assert shown and all(line in page for line in shown), \
            f"{name}: released test lines not found on its page: {[x for x in shown if x not in page][:3]}"
        lines = secret_lines(name, public)
        assert len(lines) >= 20, f"{name}: only {len(lines)} solution or hidden-test lines to look for"
        leaks = sorted({(p.relative_to(built).as_posix(), line) for p, found in lines_of.items()
                        for line in lines if line in found})
        assert not leaks, f"{name}: solution or hidden-test lines in the site: {leaks[:5]}"


def test_the_chinese_search_index_knows_the_glossary_terms(built):
    script = (built / "zh-CN" / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(script[script.index("(") + 1:script.rindex(")")])
    glossary = index["docnames"].index("99-Glossary")
    for term in ("僵尸进程", "死锁", "协程"):   # whole words: jieba knows the glossary's terms
        found = index["terms"].get(term)
        found = [found] if isinstance(found, int) else found or []
        assert glossary in found, f"the Chinese search index does not find {term} in the glossary"


# --- in a browser --------------------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(folder: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Browser:
    """One headless Chromium page on the served site; requests that fail, requests to other
    hosts (Chromium resolves no host name but 127.0.0.1) and script errors are recorded."""

    def __init__(self, base: str, context, page):
        self.base, self.context, self.page = base, context, page
        self.failed: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []

    def goto(self, rel: str):
        response = self.page.goto(self.base + rel, wait_until="load")
        assert response and response.ok, f"{rel}: {response and response.status}"
        return response


@pytest.fixture(scope="module")
def browser(built):
    from tools.testdeps import chromium, skip_reason
    if skip_reason("chromium"):
        pytest.skip(skip_reason("chromium"))
    if chromium.executable() is None:
        pytest.skip(f"Chromium is not installed (none of {', '.join(chromium.EXECUTABLES)}); "
                    "`python -m tools.test` installs it, or: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with serving(built) as base, sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=chromium.executable(), headless=True, timeout=60_000,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--no-first-run",
                                          "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        try:
            context = chrome.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(30_000)
            page = context.new_page()
            b = Browser(base, context, page)
            # listened to, not intercepted: routing every request through Python costs a third of the time
            page.on("request", lambda r: b.outside.append(r.url)
                    if re.match(r"(https?|wss?):", r.url) and not r.url.startswith(base) else None)
            page.on("requestfailed", lambda r: b.failed.append(r.url))
            page.on("response", lambda r: b.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("pageerror", lambda e: b.errors.append(f"{page.url}: {e}"))
            yield b
        finally:
            chrome.close()


def ids_of(page: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))


@pytest.mark.browser
def test_every_page_loads_with_its_images_and_every_internal_link_resolves(built, browser):
    links: dict[str, str] = {}
    for path in [*(p for e in EDITIONS for p in pages(built, e)), built / "index.html"]:
        rel = path.relative_to(built).as_posix()
        browser.goto(rel)
        broken = browser.page.evaluate(
            "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        assert not broken, f"{rel}: images that did not load: {broken}"
        for href in browser.page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)"):
            if href.startswith(browser.base):
                links.setdefault(href, rel)
    assert not browser.failed, f"requests that failed: {browser.failed[:10]}"
    assert not browser.outside, f"requests to other hosts: {browser.outside[:10]}"
    assert not browser.errors, f"script errors: {browser.errors[:5]}"

    unresolved = []
    for href, where in sorted(links.items()):
        target, _, anchor = href.partition("#")
        path = built / urllib.parse.unquote(urllib.parse.urlparse(target).path).lstrip("/")
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            unresolved.append(f"{href} (on {where})")
        elif anchor and path.suffix == ".html" and urllib.parse.unquote(anchor) not in ids_of(path):
            unresolved.append(f"{href}: no #{anchor} (on {where})")
    assert len(links) > 100 and not unresolved, f"internal links that do not resolve: {unresolved[:10]}"


@pytest.mark.browser
def test_the_language_switch_leads_to_the_same_page_in_the_other_language(browser):
    from playwright.sync_api import expect
    page = browser.page
    for doc, chinese_title in (("01.02-The-GIL", "全局解释器锁"), ("assignments/ps2_deadlock/deadlock", "死锁")):
        browser.goto(f"en/{doc}.html")
        english_title = page.locator("article h1").first.text_content()
        page.locator(".course-lang-switch").click()
        expect(page).to_have_url(browser.base + f"zh-CN/{doc}.html")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("article h1").first).to_contain_text(chinese_title)
        page.locator(".course-lang-switch").click()
        expect(page).to_have_url(browser.base + f"en/{doc}.html")
        expect(page.locator("article h1").first).to_have_text(english_title)


@pytest.mark.browser
def test_chinese_text_is_drawn_with_a_chinese_font(browser):
    """Chromium reports the fonts it really drew a node's text with (DevTools'
    CSS.getPlatformFontsForNode); without a CJK font, Chinese comes out as empty boxes."""
    from tools.testdeps import chromium
    if chromium.cjk_font() is None:
        pytest.skip("no CJK font installed (python -m tools.testdeps.chromium installs fonts-noto-cjk as root)")
    page = browser.page
    browser.goto("zh-CN/00-Welcome.html")
    text = page.locator("article h1").first.inner_text()
    assert len(CJK.findall(text)) >= 4, f"the Chinese welcome page's title is {text!r}"
    page.evaluate("() => document.fonts.ready.then(() => true)")
    cdp = browser.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        deadline = time.monotonic() + 30
        while True:   # empty until the title has been laid out and painted
            root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
            node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "article h1"})["nodeId"]
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"] if node else []
            if fonts or time.monotonic() > deadline:
                break
            time.sleep(0.25)
    finally:
        cdp.detach()
    chinese = sum(f["glyphCount"] for f in fonts if CJK_FAMILIES.search(f["familyName"]))
    assert chinese >= len(CJK.findall(text)), f"{text!r} was drawn with {fonts}: no font with Chinese glyphs"

    page.mouse.move(1200, 880)
    shots = ROOT / "tests" / "artifacts" / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "40-site-zh.png"))
    if os.environ.get("COURSE_UPDATE_SCREENSHOTS") == "1":   # the README's picture, optimised
        from PIL import Image
        image = Image.open(shots / "40-site-zh.png").convert("RGB").quantize(
            colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        image.save(ROOT / "docs" / "screenshots" / "site-zh.png", optimize=True)


@pytest.mark.browser
@pytest.mark.parametrize("edition, word", [("zh-CN", "僵尸进程"), ("en", "zombie")])
def test_the_search_finds_a_glossary_term(browser, edition, word):
    from playwright.sync_api import expect
    browser.goto(f"{edition}/search.html?q=" + urllib.parse.quote(word))
    # results appear one by one; the summary line is written when the last one is shown
    expect(browser.page.locator("#search-results p.search-summary")).not_to_have_text("", timeout=30_000)
    found = browser.page.locator("#search-results li a").evaluate_all("as => as.map(a => a.href)")
    assert any("99-Glossary" in a for a in found), f"searching {word} does not find the glossary: {found}"
    assert any("01.03-Multiprocessing" in a for a in found), f"searching {word} does not find lecture 01.03: {found}"
