"""The course's website, both editions, from the stored notebooks (what `make site` runs).

    python -m tools.site [--out build/site] [--jobs N]

1. builds the Chinese edition (tools/translate.py) into build/zh-CN/;
2. stages each edition in build/site-src/<edition>/ (en: course/ and release/;
   zh-CN: build/zh-CN/): every course notebook, the Index as the home page (with the
   sidebar's table of contents made from its headings and links), and each assignment's
   *release* notebook under assignments/<name>/ (the text students get: no solution, no
   hidden test).  Each page gets a note on how to run it (the README's commands); ipywidgets
   are replaced by their stored state, written out: the values of their controls and the
   output they showed (a static page has no kernel to drive them); in the Chinese edition,
   links to a section that still name the English heading follow the translated one;
3. runs Sphinx (myst-nb, sphinx-book-theme; configuration in site/conf.py) on each, the two
   editions at the same time (--jobs 1: one after the other), in build/site-work/<edition>/
   (kept: the next build redoes only the pages whose notebook changed), without executing
   anything and without the network: an audit hook in the build process refuses every
   connection and name look-up, so a build that would fetch fails;
4. copies each edition's HTML to build/site/<edition>/ and writes build/site/index.html, a
   choice of the two editions.

The result is build/site/{en,zh-CN}/Index.html and their pages: serve the folder with any
static web server (``python -m http.server -d build/site``) or copy it to one.  Sphinx's
warnings go to build/site-work/<edition>/warnings.txt.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import html
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from tools import translate

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "site"
OUT = ROOT / "build" / "site"
STAGE = ROOT / "build" / "site-src"
WORK = ROOT / "build" / "site-work"    # Sphinx's doctrees, HTML and warnings, per edition
EDITIONS = ("en", "zh-CN")
BUILD_TIMEOUT = 1200  # s, one edition's Sphinx run

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

TEXT = {
    "en": {
        "lecture_title": "Run this page yourself",
        "lecture": "This page shows the outputs stored in `{path}`. To run it on your own machine, clone "
                   "the course; `make lab` opens it in JupyterLab (`make lab LANG=zh`: the Chinese edition), "
                   "then *Run > Run All Cells*: the numbers will be your machine's. `make test` runs the "
                   "course's test suite. Without make (Windows): `python -m tools.lab`; see the README.",
        "assignment_title": "Do this assignment",
        "assignment": "This is the text of the assignment `{name}` as students receive it (no solution, no "
                      "hidden test). To do it, clone the course and run `make lab` (`make lab LANG=zh`: the "
                      "Chinese text), fetch `{name}` from the *Assignment List*, then *Validate* and *Submit*; "
                      "`make test` runs the course's test suite.",
        "widget": "Interactive in JupyterLab; shown here as stored",
        "assignments": "Assignments",
        "controls": "with",
    },
    "zh-CN": {
        "lecture_title": "自己运行本页",
        "lecture": "本页显示的是 `{path}` 中保存的输出。要在自己的机器上运行：克隆课程仓库，`make lab LANG=zh` "
                   "在 JupyterLab 中打开中文版（`make lab` 打开英文版），然后选择 *运行 > 运行所有单元格*，"
                   "得到的就是你的机器上的数字。`make test` 运行课程的全部测试。没有 make（例如 Windows）："
                   "`python -m tools.lab --lang zh`，详见 README.zh-CN.md。",
        "assignment_title": "做这份作业",
        "assignment": "这是作业 `{name}` 发给学生的题面（不含答案，不含隐藏测试）。做作业：克隆课程仓库，"
                      "`make lab LANG=zh`（中文题面；`make lab` 为英文），在 *Assignment List* 中获取（Fetch）"
                      "`{name}`，完成后 *Validate*、*Submit*。`make test` 运行课程的全部测试。",
        "widget": "在 JupyterLab 中可以交互操作；这里显示的是保存时的状态",
        "assignments": "作业",
        "controls": "控件取值：",
    },
}


# --- anchors ---------------------------------------------------------------------------

def jupyterlab_anchor(title: str) -> str:
    """A heading's anchor as JupyterLab makes it (its text, spaces as hyphens).  The site's
    headings get the same anchors (site/conf.py), so the notebooks' links to their own
    sections (``#2.-CPU-bound-work:-...``) work on the site as they do in JupyterLab."""
    return title.strip().replace(" ", "-")


def heading_anchors(source: str) -> list[str]:
    """The anchors of a markdown cell's headings, in order (their text as MyST reads it:
    plain text and inline code, no markup)."""
    from markdown_it import MarkdownIt
    tokens = MarkdownIt("commonmark").parse(source)
    return [jupyterlab_anchor("".join(c.content for c in (tokens[i + 1].children or [])
                                      if c.type in ("text", "code_inline")))
            for i, t in enumerate(tokens) if t.type == "heading_open"]


SECTION_LINK = re.compile(r"\]\(#([^)\s]+)\)")


def localise_anchors(nb, english) -> int:
    """In a translated notebook, links to a section of itself that still name the English
    heading's anchor are pointed at the translated heading (headings paired by cell id and
    order).  Returns how many links changed."""
    english_cells = {c.get("id"): c for c in english.cells if c.cell_type == "markdown"}
    renamed = {}
    for cell in nb.cells:
        source = english_cells.get(cell.get("id")) if cell.cell_type == "markdown" else None
        if source is not None:
            old, new = heading_anchors(source.source), heading_anchors(cell.source)
            if len(old) == len(new):
                renamed.update((o, n) for o, n in zip(old, new) if o != n)
    changed = []

    def swap(m):
        if m.group(1) not in renamed:
            return m.group(0)
        changed.append(m.group(1))
        return f"](#{renamed[m.group(1)]})"

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = SECTION_LINK.sub(swap, cell.source)
    return len(changed)


# --- staging ---------------------------------------------------------------------------

def _note(edition: str, kind: str, **names) -> nbformat.NotebookNode:
    t = TEXT[edition]
    body = t[kind].format(**names)
    cell = nbformat.v4.new_markdown_cell(
        f"```{{admonition}} {t[kind + '_title']}\n:class: tip course-run-note\n\n{body}\n```")
    cell.id = "course-site-run-note"
    return cell


def _widget_parts(state: dict, model_id: str, seen: set) -> tuple[list[str], list[dict]]:
    """(control descriptions, stored outputs) of a widget and its children."""
    if model_id in seen or model_id not in state:
        return [], []
    seen.add(model_id)
    model = state[model_id]
    values = model.get("state", {})
    controls, outputs = [], []
    if model.get("model_name") == "OutputModel":
        outputs += values.get("outputs", [])
    elif "value" in values or "index" in values:
        label = values.get("description") or model.get("model_name", "").removesuffix("Model")
        value = values.get("value")
        labels = values.get("_options_labels")
        if labels and isinstance(values.get("index"), int) and 0 <= values["index"] < len(labels):
            value = labels[values["index"]]
        controls.append(f"{label} = {value!r}")
    for child in values.get("children", []):
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            c, o = _widget_parts(state, child[len("IPY_MODEL_"):], seen)
            controls += c
            outputs += o
    return controls, outputs


def static_widgets(nb, edition: str) -> int:
    """Replace each widget view by a line naming its controls' stored values, followed by the
    outputs its Output widgets held when the notebook was saved.  Returns how many."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        new = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW) if out.get("output_type") in ("display_data", "execute_result") else None
            if not view:
                new.append(out)
                continue
            count += 1
            controls, outputs = _widget_parts(state, view.get("model_id", ""), set())
            t = TEXT[edition]
            line = t["widget"] + (f" ({t['controls']} {', '.join(controls)})" if controls else "") + "."
            new.append(nbformat.v4.new_output(
                "display_data", data={"text/html": f'<div class="course-widget-static"><p>{html.escape(line)}</p></div>',
                                      "text/plain": line}))
            new += [nbformat.from_dict(o) for o in outputs]
        cell.outputs = new
    nb.metadata.pop("widgets", None)
    return count


def _insert_after_title(nb, cell) -> None:
    """After the cell with the page's title (and its introduction), else after the navigation."""
    title = next((i for i, c in enumerate(nb.cells)
                  if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")), None)
    if title is None:
        title = 0 if nb.cells and translate.is_nav(nb.cells[0]) else -1
    nb.cells.insert(title + 1, cell)


ASSIGNMENT_LINE = re.compile(r"^(\s*[-*] )\*\*(ps\d+_[a-z0-9_]+)\*\*(.*)$")
HEADING = re.compile(r"^##\s+(.+?)\s*$")
LIST_LINK = re.compile(r"^\s*[-*] \[[^\]]*\]\(([^)#\s]+)\.ipynb\)")


def index_page(nb, assignments: dict[str, str], caption: str = "Assignments"):
    """The Index as the site's home page: assignment names become links to their pages, and a
    hidden table of contents per heading (the sidebar) lists the pages linked under it."""
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and not translate.is_nav(c))
    lines, sections = [], []
    for line in cell.source.splitlines():
        heading = HEADING.match(line)
        if heading:
            sections.append((heading.group(1), []))
        link = LIST_LINK.match(line)
        a = ASSIGNMENT_LINE.match(line)
        if link and sections and link.group(1) != "Index":
            sections[-1][1].append(link.group(1))
        elif a and a.group(2) in assignments:
            doc = assignments[a.group(2)]
            line = f"{a.group(1)}[**{a.group(2)}**]({doc}.ipynb){a.group(3)}"
            if sections:
                sections[-1][1].append(doc)
        lines.append(line)
    cell.source = "\n".join(lines)
    listed = {doc for _, docs in sections for doc in docs}
    missing = sorted(set(assignments.values()) - listed)  # not (yet) in the Index: in the sidebar all the same
    home = next((docs for _, docs in sections if any(d.startswith("assignments/") for d in docs)), None)
    if missing and home is not None:
        home += missing
    elif missing:
        sections.append((caption, missing))
    trees = [f"```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(docs) + "\n```"
             for caption, docs in sections if docs]
    toc = nbformat.v4.new_markdown_cell("\n\n".join(trees))
    toc.id = "course-site-toc"
    nb.cells.append(toc)
    return nb


def jieba_dictionary() -> str:
    """The glossary's Chinese terms, one per line with a high frequency (jieba's user dictionary)."""
    words = set()
    for _, zh_forms, _ in translate.glossary_terms():
        words.update(f.replace(" ", "") for f in zh_forms if re.search(r"[\u4e00-\u9fff]", f))
    return "".join(f"{w} 100000\n" for w in sorted(words))


def write_if_changed(path: Path, text: str) -> None:
    """Unchanged files keep their time, so that Sphinx rebuilds only what changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _page(path: Path, english: Path, edition: str):
    """A notebook as a page: widgets as their stored state; in a translation, links to its
    own sections pointed at the translated headings."""
    nb = nbformat.read(path, as_version=4)
    static_widgets(nb, edition)
    if path != english:
        localise_anchors(nb, nbformat.read(english, as_version=4))
    return nb


def stage(edition: str, stage_root: Path = STAGE, zh: Path = translate.BUILD) -> Path:
    """Write the Sphinx source of one edition (the Chinese one from the build in `zh`);
    return its folder."""
    src = stage_root / edition
    base = ROOT if edition == "en" else zh
    wanted: dict[Path, str] = {}
    assignments = {}
    for folder in sorted((base / "release").iterdir()):
        notebooks = sorted(folder.glob("*.ipynb"))
        if folder.is_dir() and len(notebooks) == 1:
            nb = _page(notebooks[0], ROOT / "release" / folder.name / notebooks[0].name, edition)
            _insert_after_title(nb, _note(edition, "assignment", name=folder.name))
            doc = f"assignments/{folder.name}/{notebooks[0].stem}"
            assignments[folder.name] = doc
            wanted[src / f"{doc}.ipynb"] = nbformat.writes(nb)
    for english in translate.course_notebooks():
        nb = _page(base / "course" / english.name, english, edition)
        if english.name == translate.INDEX:
            index_page(nb, assignments, TEXT[edition]["assignments"])
        else:
            _insert_after_title(nb, _note(edition, "lecture", path=f"course/{english.name}" if edition == "en"
                                        else f"build/zh-CN/course/{english.name}"))
        wanted[src / english.name] = nbformat.writes(nb)
    if edition == "zh-CN":
        wanted[src / "_jieba_dict.txt"] = jieba_dictionary()
    for path, text in wanted.items():
        write_if_changed(path, text)
    if src.exists():
        for f in src.rglob("*"):
            if f.is_file() and f not in wanted:
                f.unlink()
    return src


# --- building --------------------------------------------------------------------------

#: Run first in Sphinx's process: no connection and no name look-up is allowed.
OFFLINE = r'''
import sys
def _offline(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
                 "socket.sendto", "urllib.Request"):
        raise RuntimeError(f"the site is built offline: refused {event} {args[1:] if event.startswith('socket') else args}")
sys.addaudithook(_offline)
'''
#: jsonschema (which nbformat imports) loads rfc3987_syntax when it is installed, and that
#: compiles some forty grammars at import: over a second per Sphinx process, for checking
#: IRI formats, which no notebook read here asks for.  Without it jsonschema skips that format.
SKIP_SLOW_IMPORTS = "sys.modules.setdefault('rfc3987_syntax', None)\n"
RUN_SPHINX = "from sphinx.cmd.build import main\nsys.exit(main(sys.argv[1:]))\n"


def sphinx(edition: str, src: Path, work: Path) -> tuple[int, str, Path]:
    """Run Sphinx on one staged edition: HTML into work/html, its doctrees into
    work/doctrees (kept, so that the next build redoes only changed pages); myst-nb writes
    the notebooks' images beside the HTML folder, into work/jupyter_execute.
    Returns (exit code, its output, the warnings file)."""
    work.mkdir(parents=True, exist_ok=True)
    warnings = work / "warnings.txt"
    env = dict(os.environ, COURSE_SITE_EDITION=edition, COURSE_SITE_SOURCE=str(src),
               PYTHONWARNINGS="ignore::DeprecationWarning")
    cmd = [sys.executable, "-c", OFFLINE + SKIP_SLOW_IMPORTS + RUN_SPHINX, "-b", "html", "-q", "-c", str(CONF),
           "-d", str(work / "doctrees"), "-w", str(warnings), str(src), str(work / "html")]
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return -1, f"timed out after {BUILD_TIMEOUT} s\n{e.stdout or ''}{e.stderr or ''}", warnings
    return done.returncode, done.stdout + done.stderr, warnings


def publish(html: Path, target: Path) -> None:
    """Replace `target` by a copy of `html` (a copy: the build folder stays for the next build)."""
    fresh = target.with_name(f".{target.name}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(html, fresh)
    shutil.rmtree(target, ignore_errors=True)
    fresh.rename(target)


LANDING = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Python concurrency, hands-on · 动手学 Python 并发</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.6}}
a{{display:block;font-size:1.4rem;margin:1rem 0}}</style></head>
<body>
<h1>Python concurrency, hands-on<br><span lang="zh-CN">动手学 Python 并发</span></h1>
<a href="en/Index.html" hreflang="en">English edition</a>
<a href="zh-CN/Index.html" hreflang="zh-CN" lang="zh-CN">中文版</a>
<p>{note}</p>
</body></html>
"""


def build(out: Path = OUT, stage_root: Path = STAGE, work: Path = WORK, jobs: int = 2,
          zh: Path = translate.BUILD, say=print) -> dict[str, Path]:
    """Build both editions into `out` (the Chinese notebooks into `zh` first; Sphinx works in
    `work`), `jobs` editions at a time; return {edition: its folder}.  Raises SystemExit with
    Sphinx's output when a build fails."""
    started = time.monotonic()
    translate.build(zh, say=say)
    sources = {edition: stage(edition, stage_root, zh) for edition in EDITIONS}
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
        runs = {edition: pool.submit(sphinx, edition, src, work / edition) for edition, src in sources.items()}
        results = {edition: run.result() for edition, run in runs.items()}
    failed = [f"Sphinx failed on the {edition} edition (exit {code}):\n{output[-6000:]}"
              for edition, (code, output, _) in results.items() if code != 0]
    if failed:
        raise SystemExit("\n".join(failed))
    out.mkdir(parents=True, exist_ok=True)
    built = {}
    for edition, (_, _, warnings) in results.items():
        publish(work / edition / "html", out / edition)
        count = sum(1 for line in warnings.read_text(encoding="utf-8", errors="replace").splitlines()
                    if "WARNING" in line) if warnings.exists() else 0
        say(f"{edition}: {out / edition / 'Index.html'}"
            + (f"; {count} Sphinx warnings in {warnings}" if count else ""))
        built[edition] = out / edition
    note = ("Built by <code>make site</code> from the notebooks' stored outputs. "
            "To run the course: <code>make lab</code> (<code>make lab LANG=zh</code> 中文版); "
            "its tests: <code>make test</code>.")
    (out / "index.html").write_text(LANDING.format(note=note), encoding="utf-8")
    (out / ".nojekyll").write_text("", encoding="utf-8")
    say(f"website: {out / 'index.html'} ({time.monotonic() - started:.0f} s); "
        f"to read it: python -m http.server -d {out}")
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.site", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the website goes (default build/site)")
    parser.add_argument("--jobs", type=int, default=2, help="editions built at the same time (default 2)")
    args = parser.parse_args(argv)
    build(args.out.resolve(), jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
