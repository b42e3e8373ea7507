"""Claims: an experiment states, in one printed line, what its text says it shows.

A lecture's prose says what an experiment shows ("processes beat threads on
CPU-bound work").  The cell that runs the experiment ends with::

    claim("processes finish CPU-bound work faster than threads",
          t_processes < 0.8 * t_threads,
          measured=f"threads {t_threads:.2f} s, processes {t_processes:.2f} s",
          busy="on a busy machine the processes cannot get a core each")

which prints one verdict line, for the reader and for the course's tests:

    ✔ claim holds: processes finish CPU-bound work faster than threads (threads 0.42 s, processes 0.21 s)
    ✘ claim FAILED here: processes ... (threads 0.42 s, processes 0.39 s); on a busy machine ...

The suite (``tests/test_claims.py``) reads the *stored* outputs of every
lecture, without running them, and fails on any ``✘`` line: the outputs a
student reads must say what the text says.  A failed claim never raises, so a
reader's *Run All* on a busy laptop still runs to the end and says why its
numbers differ.
"""
from __future__ import annotations

import re

__all__ = ["claim", "VERDICT", "HOLDS", "FAILS", "parse"]

HOLDS = "✔ claim holds: "
FAILS = "✘ claim FAILED here: "
# One verdict per line: the mark, then the claim's text, then "(measured)" and "; advice".
VERDICT = re.compile(r"^(?P<mark>✔|✘) claim (?:holds|FAILED here): (?P<text>.+)$", re.MULTILINE)


def claim(text: str, holds: object, measured: str = "", *, busy: str = "") -> bool:
    """Print whether ``holds`` is true for the claim ``text``; return it as a bool.

    ``measured`` (optional) names the numbers the verdict rests on.  ``busy``
    (optional) is printed only when the claim fails: what a reader should
    suspect first (usually other programs taking the machine's cores).
    """
    if not text or "\n" in text:
        raise ValueError("a claim is one non-empty line of text")
    ok = bool(holds)
    line = (HOLDS if ok else FAILS) + text
    if measured:
        line += f" ({measured})"
    if not ok and busy:
        line += f"; {busy}"
    print(line)
    return ok


def parse(output: str) -> list[tuple[bool, str]]:
    """Every verdict in a cell's printed ``output``: ``[(holds, text), ...]``."""
    return [(m["mark"] == "✔", m["text"]) for m in VERDICT.finditer(output)]
