"""The Chinese edition (中文版): translation files, and the notebooks built from them.

    python -m tools.translate status [PATH ...]   # what is missing or stale, per notebook
    python -m tools.translate update [PATH ...]   # add new cells to the translation files, mark changed ones
    python -m tools.translate build               # build/zh-CN/: the Chinese notebooks and releases

English is the source of everything that runs.  The Chinese edition of a notebook
is the English notebook with the text of its markdown cells replaced; code cells,
their stored outputs, widget state and notebook metadata are the English ones,
copied by ``build``, never edited by hand.

**Translation files.**  One gettext PO file per English notebook, under
``translations/zh_CN/`` at the notebook's path with ``.po`` for ``.ipynb``
(``course/00-Welcome.ipynb`` -> ``translations/zh_CN/course/00-Welcome.po``;
an assignment's text is translated from its ``release/`` notebook).  One entry
per markdown cell: ``msgctxt`` is the cell's id, ``msgid`` the English text the
translation was made from (the key: the English itself, not only a hash of it,
so a translator sees what changed), ``msgstr`` the Chinese.  Any PO editor
(Poedit, Weblate, a text editor) works on them.

A markdown cell is *translated* when its entry has the cell's current English as
``msgid`` and a non-empty ``msgstr`` that is not marked fuzzy; *stale* when the
entry was made from other English (the cell changed since) or is fuzzy; *missing*
otherwise.  ``update`` adds missing cells with an empty ``msgstr``, turns a
changed cell's entry into a fuzzy one that keeps the old translation and the old
English (``#| msgid``), and drops entries of cells that no longer exist.  After
editing, remove the ``#, fuzzy`` line.

**Cells that need no translation.**  Navigation cells (``<!--NAVIGATION-->``,
written by tools/nav.py) are rebuilt with the Chinese titles of the notebooks
they link.  ``course/Index.ipynb`` (also written by tools/nav.py) is translated
block by block (blocks are separated by blank lines): a block that only lists
links to notebooks under their English titles is rebuilt from their Chinese
titles, every other block is an entry keyed by the cell id and the block's text.

**The glossary.**  ``glossary_problems()`` checks that where an English cell
uses a term of course/conclab/glossary.py, its translation uses the glossary's
Chinese form (or keeps the English term).  A translator who has a reason to
word a term differently in one cell says so with a translator comment on its
entry: ``# glossary: <English term>`` (one line per term).

**The build.**  ``build`` writes ``build/zh-CN/course/`` (every course notebook)
and ``build/zh-CN/release/<assignment>/`` (each released assignment, its helper
files copied).  A cell that is missing or stale keeps its English text there,
and the notebook starts with a note that says how many; so the edition always
has every page, in Chinese as far as it is translated.  The assignment releases
differ from release/ only in plain markdown cells (nbgrader's cells, code and
metadata are the English ones), so a Chinese student's submission is graded by
the same tests and points and has the same gradebook entry.  A small
``conclab`` package in build/zh-CN/course/ loads the course's real
course/conclab, so the Chinese lectures run wherever Jupyter starts them.

**In-page links.**  A link to a section uses JupyterLab's anchor of its heading
(``[section 2](#2.-CPU-bound-work:-threads-versus-processes)``, or
``other.ipynb#...`` for another notebook): the heading's text with every space
replaced by '-' (``heading_anchor``).  A translated heading has another anchor, so
``build`` maps, cell by cell, each English heading's anchor to its Chinese heading's
and rewrites the links of every notebook of the edition; ``broken_anchor_links``
lists the links that point to no heading (tests/test_translations.py checks both
editions).

``translations/zh_CN/PENDING`` lists the notebooks whose translation is not due
yet (their English is still being rewritten); tests/test_translations.py
requires every other notebook to be completely and currently translated.
"""
from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LOCALE = "zh_CN"                      # gettext's name for the language
EDITION = "zh-CN"                     # the edition's folder names (BCP 47)
TRANSLATIONS = ROOT / "translations" / LOCALE
PENDING = TRANSLATIONS / "PENDING"
BUILD = ROOT / "build" / EDITION
MARKER = "<!--NAVIGATION-->"
INDEX = "Index.ipynb"
NOTICE_ID = "zh-cn-untranslated"
CONTENTS = ("Contents", "目录")
GLOSSARY_COMMENT = re.compile(r"^glossary:\s*(.+?)\s*$")
LINK = re.compile(r"\[([^\]]+)\]\(([^)#\s]+\.ipynb)(#[^)\s]*)?\)")
LIST_LINK = re.compile(r"^\s*[-*] \[[^\]]+\]\([^)#\s]+\.ipynb\)\s*$")
NOTICE = ("> **翻译未完成**：本页有 {n} 个段落还没有中文译文（或英文原文在翻译后改过），"
          "暂以英文显示。译文在 `translations/zh_CN/{po}`，做法见 `tools/translate.py`。")


# --- which notebooks, and their translation units -------------------------------------

def course_notebooks() -> list[Path]:
    """The course's notebooks, in name order (the lectures, welcome, glossary), and the Index."""
    from tools.nav import notebooks
    return [*notebooks(ROOT / "course"), ROOT / "course" / INDEX]


def release_notebooks() -> list[Path]:
    return sorted((ROOT / "release").glob("*/*.ipynb"))


def english_notebooks() -> list[Path]:
    return course_notebooks() + release_notebooks()


def rel(path: Path) -> str:
    return path.resolve().relative_to(ROOT).as_posix()


def po_path(notebook: Path) -> Path:
    return TRANSLATIONS / Path(rel(notebook)).with_suffix(".po")


def is_nav(cell) -> bool:
    return cell.cell_type == "markdown" and cell.source.startswith(MARKER)


def blocks(text: str) -> list[str]:
    """Markdown split at blank lines (the Index's translation units)."""
    return [b.strip("\n") for b in re.split(r"\n[ \t]*\n", text) if b.strip()]


def derived_block(block: str) -> bool:
    """A block that only lists notebooks: rebuilt from the notebooks' Chinese titles."""
    return all(LIST_LINK.match(line) for line in block.splitlines())


@dataclass(frozen=True)
class Unit:
    """One piece of English to translate: a markdown cell (or a block of the Index)."""
    cell_id: str
    english: str


def units(nb, notebook: Path) -> list[Unit]:
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or is_nav(cell) or not cell.source.strip():
            continue
        if notebook.name == INDEX and notebook.parent.name == "course":
            out += [Unit(cell.id, b) for b in blocks(cell.source) if not derived_block(b)]
        else:
            out.append(Unit(cell.id, cell.source))
    return out


# --- translation files (gettext PO, read and written with polib) ---------------------

HEADER = {
    "Project-Id-Version": "Python concurrency, hands-on",
    "Language": LOCALE,
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "8bit",
    "Plural-Forms": "nplurals=1; plural=0;",
}


def new_catalog():
    import polib
    po = polib.POFile(wrapwidth=0)  # one line per line of markdown: readable diffs
    po.header = "Chinese (Simplified) edition of the course: see tools/translate.py."
    po.metadata = dict(HEADER)  # fixed: a file changes only with its entries
    return po


def read_po(path: Path):
    """The PO file at `path` (an empty catalog if there is none); a syntax error raises,
    naming the file and line."""
    import polib
    if not path.exists():
        return new_catalog()
    return polib.pofile(str(path), wrapwidth=0, encoding="utf-8")


def po_text(catalog) -> str:
    return str(catalog) + "\n"


def write_po(path: Path, catalog) -> bool:
    """Write `catalog`; return True when the file changed."""
    data = po_text(catalog)
    if path.exists() and path.read_text(encoding="utf-8") == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data, encoding="utf-8")
    return True


def entries(catalog) -> dict[str, list]:
    """{cell id: [entries]}; obsolete entries left out."""
    out: dict[str, list] = {}
    for entry in catalog:
        if not entry.obsolete:
            out.setdefault(entry.msgctxt or "", []).append(entry)
    return out


def glossary_waivers(entry) -> set[str]:
    found = set()
    for comment in (entry.tcomment or "").splitlines():
        m = GLOSSARY_COMMENT.match(comment.strip())
        if m:
            found.add(m.group(1).lower())
    return found


# --- status ----------------------------------------------------------------------------

@dataclass
class Status:
    notebook: Path
    translated: dict[Unit, str] = field(default_factory=dict)
    waivers: dict[Unit, set] = field(default_factory=dict)
    missing: list[Unit] = field(default_factory=list)
    stale: list[Unit] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)     # entries of cells that no longer exist
    total: int = 0

    @property
    def complete(self) -> bool:
        return not self.missing and not self.stale

    def lines(self) -> list[str]:
        def show(u: Unit) -> str:
            first = next((line for line in u.english.splitlines() if line.strip()), "")
            return f"cell {u.cell_id}: {first[:70]}"
        out = [f"  missing  {show(u)}" for u in self.missing]
        out += [f"  stale    {show(u)}" for u in self.stale]
        return out


def status(notebook: Path, nb=None, catalog=None) -> Status:
    nb = nb if nb is not None else nbformat.read(notebook, as_version=4)
    catalog = catalog if catalog is not None else read_po(po_path(notebook))
    by_id = entries(catalog)
    st = Status(notebook)
    us = units(nb, notebook)
    st.total = len(us)
    for u in us:
        candidates = by_id.get(u.cell_id, [])
        exact = next((m for m in candidates if m.msgid == u.english), None)
        if exact is not None and exact.msgstr and not exact.fuzzy:
            st.translated[u] = exact.msgstr
            st.waivers[u] = glossary_waivers(exact)
        elif any(m.msgstr for m in candidates):
            st.stale.append(u)
        else:
            st.missing.append(u)
    ids = {u.cell_id for u in us}
    st.orphans = sorted(k for k in by_id if k not in ids)
    return st


def pending() -> set[str]:
    """Notebooks (paths relative to the repository) whose translation is not due yet."""
    if not PENDING.exists():
        return set()
    return {line.split("#")[0].strip() for line in PENDING.read_text(encoding="utf-8").splitlines()
            if line.split("#")[0].strip()}


# --- update ----------------------------------------------------------------------------

def update(notebook: Path) -> bool:
    """Bring the notebook's PO file in line with its English; True if the file changed."""
    import polib
    nb = nbformat.read(notebook, as_version=4)
    by_id = entries(read_po(po_path(notebook)))
    new = new_catalog()
    for u in units(nb, notebook):
        candidates = by_id.get(u.cell_id, [])
        exact = next((m for m in candidates if m.msgid == u.english), None)
        if exact is not None:
            new.append(exact)  # keeps its translation, flags, comments, previous English
            continue
        previous = next((m for m in candidates if m.msgstr), None)
        if previous is not None:  # the English changed: keep the old work, marked for review
            new.append(polib.POEntry(msgctxt=u.cell_id, msgid=u.english, msgstr=previous.msgstr,
                                     flags=["fuzzy"], tcomment=previous.tcomment,
                                     previous_msgid=previous.msgid))
        else:
            new.append(polib.POEntry(msgctxt=u.cell_id, msgid=u.english, msgstr=""))
    return write_po(po_path(notebook), new)


# --- build -----------------------------------------------------------------------------

def title_of(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type != "markdown" or is_nav(cell):
            continue
        for line in cell.source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return ""


def relink(text: str, folder_titles: dict[str, tuple[str, str]]) -> str:
    """Replace the English title in each link to a sibling notebook by its Chinese title."""
    def repl(m: re.Match) -> str:
        label, target, anchor = m.group(1), m.group(2), m.group(3) or ""
        if target == INDEX and label == CONTENTS[0]:
            label = CONTENTS[1]
        elif target in folder_titles and label == folder_titles[target][0]:
            label = folder_titles[target][1]
        return f"[{label}]({target}{anchor})"
    return LINK.sub(repl, text)


def translate_notebook(notebook: Path, st: Status | None = None):
    """(Chinese notebook, status): every markdown cell with a current translation replaced;
    everything else copied from the English notebook.  Nav cells and the Index's derived
    blocks are rebuilt by ``finish`` once every title is known."""
    nb = nbformat.read(notebook, as_version=4)
    st = st or status(notebook, nb)
    translated = {(u.cell_id, u.english): text for u, text in st.translated.items()}
    is_index = notebook.name == INDEX and notebook.parent.name == "course"
    for cell in nb.cells:
        if cell.cell_type != "markdown" or is_nav(cell) or not cell.source.strip():
            continue
        if is_index:
            cell.source = "\n\n".join(translated.get((cell.id, b), b) for b in blocks(cell.source))
        else:
            cell.source = translated.get((cell.id, cell.source), cell.source)
    untranslated = len(st.missing) + len(st.stale)
    if untranslated:
        notice = nbformat.v4.new_markdown_cell(
            NOTICE.format(n=untranslated, po=po_path(notebook).relative_to(TRANSLATIONS).as_posix()))
        notice.id = NOTICE_ID
        at = 1 if nb.cells and is_nav(nb.cells[0]) else 0
        nb.cells.insert(at, notice)
    return nb, st


def finish(nbs: dict[Path, object], english_titles: dict[Path, str]) -> None:
    """Rebuild navigation cells and the Index's link lists with the Chinese titles."""
    by_folder: dict[Path, dict[str, tuple[str, str]]] = {}
    for path, nb in nbs.items():
        by_folder.setdefault(path.parent, {})[path.name] = (english_titles[path], title_of(nb) or english_titles[path])
    for path, nb in nbs.items():
        titles = by_folder[path.parent]
        for cell in nb.cells:
            if cell.cell_type == "markdown" and (is_nav(cell) or (path.name == INDEX)):
                cell.source = relink(cell.source, titles)


# --- in-page links: JupyterLab's heading anchors -------------------------------------------

# `](#anchor)` or `](notebook.ipynb#anchor)`; an anchor may hold balanced parentheses, as
# "(PEP-380)" in "3.-Delegation-and-return-values:-yield-from-(PEP-380)".
ANCHOR_LINK = re.compile(r"\]\((?P<target>[^()\s#]*)#(?P<anchor>(?:[^()\s]|\([^()\s]*\))+)\)")


def heading_anchor(text: str) -> str:
    """JupyterLab's anchor (element id) of a heading whose rendered text is `text`: every
    space becomes '-'.  The rule of ``renderMarkdown.createHeaderId`` in @jupyterlab/rendermime
    (``(header.textContent ?? '').replace(/ /g, '-')``): keep the rule in this one function."""
    return text.replace(" ", "-")


@functools.lru_cache(maxsize=None)
def _markdown():
    import mistune  # CommonMark plus GitHub's tables and strikethrough, as JupyterLab renders
    return mistune.create_markdown(escape=False, plugins=["strikethrough", "table"])


def heading_texts(markdown: str) -> list[str]:
    """The text of each heading of a markdown cell as the browser has it (the DOM's
    ``textContent``: markup removed, entities decoded), in order.  Rendered by a Markdown
    parser, so a `#` line in a code block is no heading and a setext or HTML heading is."""
    from html.parser import HTMLParser

    class Headings(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.texts: list[str] = []
            self.inside = 0

        def handle_starttag(self, tag, attrs):
            if re.fullmatch(r"h[1-6]", tag):
                self.inside += 1
                self.texts.append("")

        def handle_endtag(self, tag):
            if re.fullmatch(r"h[1-6]", tag) and self.inside:
                self.inside -= 1

        def handle_data(self, data):
            if self.inside:
                self.texts[-1] += data

    parser = Headings()
    parser.feed(_markdown()(markdown))
    parser.close()
    return parser.texts


def anchors_of(nb) -> set[str]:
    """The anchors of every heading of a notebook's markdown cells."""
    return {heading_anchor(h) for cell in nb.cells if cell.cell_type == "markdown"
            for h in heading_texts(cell.source)}


def anchor_map(english, chinese) -> dict[str, str]:
    """{English heading anchor: the anchor of the same heading in the Chinese notebook}: cells
    matched by id, headings by their order in the cell (a cell whose two versions have a
    different number of headings maps none: ``broken_anchor_links`` then names what breaks)."""
    zh_cells = {c.id: c for c in chinese.cells if c.cell_type == "markdown"}
    out: dict[str, str] = {}
    for cell in english.cells:
        if cell.cell_type != "markdown" or cell.id not in zh_cells:
            continue
        en, zh = heading_texts(cell.source), heading_texts(zh_cells[cell.id].source)
        if len(en) == len(zh):
            for e, z in zip(en, zh):
                out.setdefault(heading_anchor(e), heading_anchor(z))  # JupyterLab goes to the first
    return out


def _link_target(notebook: Path, target: str) -> Path | None:
    """The notebook a link's target names (the notebook itself for ``#anchor``); None when
    it is no notebook (a web page, a file)."""
    from urllib.parse import unquote
    if not target:
        return notebook.resolve()
    if "://" in target or not target.endswith(".ipynb"):
        return None
    return (notebook.parent / unquote(target)).resolve()


def reanchor(built: dict[Path, object], english: dict[Path, object]) -> None:
    """Rewrite the in-page links of the Chinese notebooks `built` ({English path: notebook})
    to the anchors of their Chinese headings.  nbgrader's cells are left as released."""
    from urllib.parse import unquote
    maps = {path.resolve(): anchor_map(english[path], nb) for path, nb in built.items()}

    for path, nb in built.items():
        def repl(m: re.Match, path=path) -> str:
            to = _link_target(path, m.group("target"))
            new = maps.get(to, {}).get(unquote(m.group("anchor"))) if to else None
            return m.group(0) if new is None else f"]({m.group('target')}#{new})"

        for cell in nb.cells:
            if cell.cell_type == "markdown" and "nbgrader" not in cell.metadata:
                cell.source = ANCHOR_LINK.sub(repl, cell.source)


def broken_anchor_links(nbs: dict[Path, object]) -> list[str]:
    """Links to a heading of a notebook of `nbs` ({path: notebook}), or of a notebook beside
    them, that no heading of it has: ``"<notebook> cell <id>: <link>"``."""
    from urllib.parse import unquote
    known = {path.resolve(): anchors_of(nb) for path, nb in nbs.items()}
    broken = []
    for path, nb in nbs.items():
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for m in ANCHOR_LINK.finditer(cell.source):
                to = _link_target(path, m.group("target"))
                if to is None:
                    continue
                if to not in known:
                    known[to] = anchors_of(nbformat.read(to, as_version=4)) if to.exists() else set()
                if unquote(m.group("anchor")) not in known[to]:
                    broken.append(f"{path.name} cell {cell.id}: {m.group(0)[1:]}")
    return broken


SHIM = '''"""The course's helper package for the Chinese edition: loads course/conclab.

Written by ``python -m tools.translate build``.  The Chinese notebooks run in this
folder, so ``import conclab`` finds this file, which replaces itself by the
course's real package (same module, same ``__file__``), in kernels and in the
child processes they start alike.
"""
import importlib.util
import os
import sys

_REAL = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), {real!r}))
_spec = importlib.util.spec_from_file_location(__name__, os.path.join(_REAL, "__init__.py"),
                                               submodule_search_locations=[_REAL])
_module = importlib.util.module_from_spec(_spec)
sys.modules[__name__] = _module
_spec.loader.exec_module(_module)
'''


def write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def build(out: Path = BUILD, say=print) -> dict[Path, Status]:
    """Write the Chinese edition into `out`: course/ and release/<assignment>/.  Returns the
    status of every notebook (what is still English in the build)."""
    statuses: dict[Path, Status] = {}
    built: dict[Path, object] = {}
    english: dict[Path, object] = {}
    for notebook in english_notebooks():
        nb, st = translate_notebook(notebook)
        english[notebook] = nbformat.read(notebook, as_version=4)
        built[notebook], statuses[notebook] = nb, st
    finish(built, {path: title_of(nb) for path, nb in english.items()})
    reanchor(built, english)
    wanted = set()
    for notebook, nb in built.items():
        target = out / rel(notebook)
        write_if_changed(target, nbformat.writes(nb) + "\n")
        wanted.add(target)
    for folder in sorted((ROOT / "release").iterdir()):  # an assignment's other files, as released
        if not folder.is_dir():
            continue
        for f in folder.rglob("*"):
            if f.is_file() and f.suffix != ".ipynb" and "__pycache__" not in f.parts \
                    and ".ipynb_checkpoints" not in f.parts:
                target = out / rel(f)
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists() or target.read_bytes() != f.read_bytes():
                    shutil.copyfile(f, target)
                wanted.add(target)
    shim = out / "course" / "conclab" / "__init__.py"
    try:  # relative, so that the repository can move
        real = os.path.relpath(ROOT / "course" / "conclab", shim.parent)
    except ValueError:  # another drive (Windows)
        real = str(ROOT / "course" / "conclab")
    write_if_changed(shim, SHIM.format(real=Path(real).as_posix()))
    wanted.add(shim)
    for f in [*(out / "course").rglob("*"), *(out / "release").rglob("*")]:  # left by an earlier build
        if f.is_file() and f not in wanted and "__pycache__" not in f.parts \
                and ".ipynb_checkpoints" not in f.parts:
            f.unlink()
    left = {rel(p): len(s.missing) + len(s.stale) for p, s in statuses.items() if not s.complete}
    say(f"Chinese edition in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: "
        f"{len(built)} notebooks, {len(built) - len(left)} fully translated"
        + (f"; still in English: {sum(left.values())} cells in {len(left)} notebooks "
           "(python -m tools.translate status)" if left else ""))
    return statuses


# --- glossary --------------------------------------------------------------------------

def _forms(text: str) -> list[str]:
    """'fork (派生)' -> ['fork', '派生']; 'kernel mode / mode switch' -> both sides."""
    out = []
    for part in text.split(" / "):
        outside = re.sub(r"\s*\([^)]*\)", "", part).strip().strip('"')
        inside = re.findall(r"\(([^)]*)\)", part)
        out += [outside] + [i.strip() for i in inside]
    return [f for f in out if f]


def glossary_terms():
    """[(English forms, Chinese forms, Entry)] of course/conclab/glossary.py.  English forms are
    the term without its parenthesised qualifier; a Chinese form may also be the parenthesised
    alternative (e.g. 'GIL' of '全局解释器锁 (GIL)')."""
    sys.path.insert(0, str(ROOT / "course"))
    try:
        from conclab import glossary
    finally:
        sys.path.remove(str(ROOT / "course"))
    out = []
    for e in glossary.ENTRIES:
        en = [re.sub(r"\s*\([^)]*\)", "", p).strip().strip('"') for p in e.en.split(" / ")]
        out.append(([f for f in en if f], _forms(e.zh), e))
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _english_pattern(term: str) -> re.Pattern:
    words = [re.escape(w) for w in term.split()]
    return re.compile(r"(?<![\w-])" + r"\s+".join(words) + r"(?:s|es)?(?![\w-])", re.IGNORECASE)


def glossary_problems(st: Status, terms=None) -> list[str]:
    """Translated cells where the English uses a glossary term and the Chinese uses neither
    the glossary's Chinese form nor the English term itself."""
    terms = terms if terms is not None else glossary_terms()
    problems = []
    for unit, chinese in st.translated.items():
        english = re.sub(r"`[^`]*`|\]\([^)]*\)|<[^>]+>", " ", unit.english)  # code, link targets, tags
        zh = _squash(chinese)
        for en_forms, zh_forms, entry in terms:
            hit = next((f for f in en_forms if _english_pattern(f).search(english)), None)
            if hit is None or {f.lower() for f in en_forms} & st.waivers.get(unit, set()) \
                    or entry.en.lower() in st.waivers.get(unit, set()):
                continue
            if any(_squash(f) in zh for f in zh_forms + en_forms):
                continue
            problems.append(f"cell {unit.cell_id}: '{hit}' should be {' or '.join(zh_forms)} "
                            f"(glossary: {entry.zh} = {entry.en})")
    return problems


# --- command line ----------------------------------------------------------------------

def _select(paths: list[str]) -> list[Path]:
    if not paths:
        return english_notebooks()
    chosen = []
    for p in paths:
        path = (ROOT / p).resolve() if not Path(p).is_absolute() else Path(p)
        if path.suffix == ".po":
            path = ROOT / path.relative_to(TRANSLATIONS).with_suffix(".ipynb")
        if not path.exists():
            raise SystemExit(f"no such notebook: {p} (give a course/ or release/ notebook)")
        chosen.append(path)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.translate",
                                     description="The Chinese edition: translation files and build.")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("status", help="list missing and stale translations")
    s.add_argument("paths", nargs="*")
    s.add_argument("--all", action="store_true", help="also list the cells of pending notebooks")
    u = sub.add_parser("update", help="add new cells to the PO files, mark changed ones fuzzy")
    u.add_argument("paths", nargs="*")
    b = sub.add_parser("build", help="write the Chinese notebooks and releases into build/zh-CN/")
    b.add_argument("--out", type=Path, default=BUILD)
    args = parser.parse_args(argv)

    if args.command == "build":
        build(args.out.resolve())
        return 0
    if args.command == "update":
        for notebook in _select(args.paths):
            if update(notebook):
                print("updated", po_path(notebook).relative_to(ROOT))
        return 0
    waiting = pending()
    bad = 0
    for notebook in _select(args.paths):
        st = status(notebook)
        is_pending = rel(notebook) in waiting
        done = st.total - len(st.missing) - len(st.stale)
        label = "pending" if is_pending else ("ok" if st.complete else "INCOMPLETE")
        print(f"{label:10} {done:3}/{st.total:<3} {rel(notebook)}")
        if not st.complete and (not is_pending or args.all):
            print(*st.lines(), sep="\n")
        if st.complete:
            for problem in glossary_problems(st):
                print("  glossary", problem)
                bad += 1
        bad += (not st.complete and not is_pending)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
