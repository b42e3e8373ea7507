"""The stored lectures say what their text says.

Students read the lectures with their stored outputs, usually before running
anything.  These tests read those stored notebooks (nothing is executed) and
fail when

* a stored output breaks its claim: a ``✘ claim FAILED here`` line printed by
  :func:`conclab.claims.claim` (the notebook was recorded on a machine that
  could not show what the text says: re-record it with ``python -m
  tools.run_notebooks``, which refuses a busy machine);
* a cell that makes a claim has no verdict stored (it was never recorded, or
  it raised);
* a sentence next to an experiment states a measured comparison ("twice as
  long", "close to two cores", "processes climb", "x faster" ...) but the
  experiment beside it (the code cells right before or right after that
  markdown cell) makes no claim, so nothing checks the sentence against the
  output.
* a timing lecture does not say what a reader on a busy machine may see.

A timing lecture (``"conclab": {"timing": true}`` in its metadata) that has no
stored outputs at all has not been recorded yet, because no quiet machine was
available; its checks are skipped with the command that records it
(``python -m tools.run_notebooks --all``), so the skip shows in the summary.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from conclab import claims
from tools.nav import notebooks

ROOT = Path(__file__).resolve().parent.parent

LECTURES = [p for p in notebooks(ROOT / "course") if re.match(r"\d\d\.\d\d-", p.name)]

# A sentence that compares measured quantities.  Kept narrow on purpose: it
# must catch "about twice as long", "a fifth of the time", "close to two
# cores", "processes climb", "1.5x", "faster", and leave alone sentences about
# documented limits ("at least 512 bytes") or set-up ("each request sleeps 0.25 s").
MEASURED = re.compile(
    r"\b(faster|slower|quicker|cheaper|costlier|beats?|wins?|outperforms?|climbs?|shrinks?|speed-?ups?"
    r"|(?:twice|half|three times|four times|ten times) as \w+"
    r"|(?:a|one) (?:fifth|quarter|third|half) of"
    r"|\d+(?:\.\d+)?\s*(?:x|×)(?= |$)|\d+(?:\.\d+)? times"
    r"|(?:close to|near) (?:one|two|\d)"
    r"|(?:more|fewer|less) than (?:one|two|\d))\b",
    re.IGNORECASE,
)
# A sentence that links to the lecture or section that measures it is checked there;
# one that reports what the notes say ("The notes argue that ...") states no outcome.
MEASURED_ELSEWHERE = re.compile(r"\]\((?:[\w.-]+\.ipynb|#)[^)]*\)")
REPORTED = re.compile(r"(?:The|the) notes (?:argue|say|claim|state)s?\b")
REFERENCE_SECTIONS = ("## Debugging", "## Glossary", "## Exercises", "## Interview", "<!--NAVIGATION-->")


def outcome_sentences(markdown: str) -> list[str]:
    """Sentences of ``markdown`` that state a measured comparison (see ``MEASURED``)."""
    if "**You will learn**" in markdown or markdown.lstrip().startswith(REFERENCE_SECTIONS):
        return []
    found = []
    for line in markdown.splitlines():
        text = line.strip()
        if not text or text.startswith(("#", "|", "```")) or "**Source" in text or "*the notes" in text:
            continue
        text = re.sub(r"`[^`]*`", "CODE", text)                 # code is not prose
        for sentence in re.split(r"(?<=[.;:!])\s+(?![^(]*\))", text):
            if sentence.rstrip().endswith("?") or "redict" in sentence:   # questions, predictions
                continue
            if MEASURED_ELSEWHERE.search(sentence) or REPORTED.match(sentence):
                continue
            sentence = re.sub(r"\]\([^)]*\)", "]", sentence)      # link targets
            if MEASURED.search(sentence):
                found.append(sentence)
    return found


def stream_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def verdicts(cell) -> list[tuple[bool, str]]:
    return claims.parse(stream_text(cell)) if cell.cell_type == "code" else []


def experiment_around(cells, i: int) -> list:
    """The code cells right before and right after markdown cell ``i`` (contiguous runs)."""
    before, after = [], []
    j = i - 1
    while j >= 0 and cells[j].cell_type == "code":
        before.append(cells[j])
        j -= 1
    j = i + 1
    while j < len(cells) and cells[j].cell_type == "code":
        after.append(cells[j])
        j += 1
    return before + after


def load(path: Path):
    """The stored notebook; skips a timing lecture that was never recorded (see the module docstring)."""
    nb = nbformat.read(path, as_version=4)
    timing = nb.metadata.get("conclab", {}).get("timing", False)
    if timing and not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        pytest.skip(f"{path.name} is not recorded yet: run `python -m tools.run_notebooks --all` on a quiet machine")
    return nb


def ids(paths):
    return [p.name for p in paths]


def test_there_are_lectures_to_check():
    assert len(LECTURES) >= 10


@pytest.mark.parametrize("path", LECTURES, ids=ids(LECTURES))
def test_stored_outputs_keep_their_claims(path):
    nb = load(path)
    broken = [f"cell {c.get('id')}: {text}" for c in nb.cells for ok, text in verdicts(c) if not ok]
    assert not broken, (f"{path.name}: stored outputs break their claims (re-record on a quiet machine: "
                        f"python -m tools.run_notebooks {path.relative_to(ROOT)}):\n  " + "\n  ".join(broken))


@pytest.mark.parametrize("path", LECTURES, ids=ids(LECTURES))
def test_every_claim_has_a_stored_verdict(path):
    nb = load(path)
    silent = [c.get("id") for c in nb.cells
              if c.cell_type == "code" and re.search(r"\bclaim\(", c.source) and not verdicts(c)]
    assert not silent, f"{path.name}: cells that make a claim but store no verdict (record the notebook): {silent}"


@pytest.mark.parametrize("path", LECTURES, ids=ids(LECTURES))
def test_measured_sentences_sit_next_to_claims(path):
    nb = load(path)
    unchecked = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        around = experiment_around(nb.cells, i)
        if not around:
            continue                                   # not next to an experiment
        sentences = outcome_sentences(cell.source)
        if sentences and not any(verdicts(c) for c in around):
            unchecked += [f"cell {cell.get('id')}: {s}" for s in sentences]
    assert not unchecked, (f"{path.name}: sentences state measured comparisons next to an experiment "
                           f"that makes no claim (add conclab.claims.claim(...) to it):\n  " + "\n  ".join(unchecked))


@pytest.mark.parametrize("path", LECTURES, ids=ids(LECTURES))
def test_timing_lectures_say_what_a_busy_machine_shows(path):
    nb = nbformat.read(path, as_version=4)
    if not nb.metadata.get("conclab", {}).get("timing"):
        pytest.skip("not a timing lecture")
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "busy machine" in prose, f"{path.name}: say what a reader on a busy machine may see instead"
    load(path)
    assert any(verdicts(c) for c in nb.cells), f"{path.name}: a timing lecture without a single claim"


def test_the_sentence_detector_catches_what_it_must():
    caught = [
        "On two idle cores the hashing threads keep close to two cores busy.",
        "Each job takes about twice as long.",
        "The loop gets about a fifth of the time.",
        "Processes climb towards the number of free cores.",
        "Threads run 1.5x faster here.",
    ]
    left = [
        "`PIPE_BUF` is at least 512 by POSIX and 4096 on Linux.",
        "Each request below sleeps 0.25 s, as if waiting on a database.",
        "*Predict:* which is faster?",
        "It works as long as both messages fit in the pipes.",
        "Threads do not make it faster ([01.02](01.02-The-GIL.ipynb) measures it).",
        "Processes win only with enough work per task (try the knob in [section 2](#2.-CPU-bound-work)).",
        "The notes argue that coroutines are faster because they avoid switching threads.",
    ]
    assert [bool(outcome_sentences(s)) for s in caught] == [True] * len(caught)
    assert [bool(outcome_sentences(s)) for s in left] == [False] * len(left)
