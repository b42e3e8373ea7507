"""Execute course notebooks top to bottom and store their outputs in place.

    python -m tools.run_notebooks                 # every notebook in course/
    python -m tools.run_notebooks course/01.02-The-GIL.ipynb ...

This is *Run All* + *Save*, done by nbclient in the notebook's own folder with
the current environment's kernel, so stored outputs are exactly what a reader
gets.  It prints each notebook's wall time (the course's budget is 60 s on two
cores) and exits non-zero if any cell raised without an expected-error tag.
Run it on a quiet machine: stored timings are what readers see first.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"


def course_notebooks() -> list[Path]:
    """The lectures (NN.MM-Title.ipynb); Index.ipynb has no code and is written by tools.nav."""
    from tools.nav import notebooks

    return notebooks(COURSE)


def run(path: Path, timeout: int = 300) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        allow_error_names=[],
    )
    # Cells tagged raises-exception (or NBVAL_RAISES_EXCEPTION) are expected to fail.
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or course_notebooks()
    failed = 0
    for path in paths:
        if not path.exists():
            print(f"{path}: no such notebook", file=sys.stderr)
            failed += 1
            continue
        try:
            elapsed = run(path)
        except CellExecutionError as exc:
            print(f"FAIL {path}:\n{exc}", file=sys.stderr)
            failed += 1
            continue
        flag = "" if elapsed < 60 else "   <-- over the 60 s budget"
        print(f"{elapsed:6.1f} s  {path.relative_to(ROOT) if path.is_absolute() else path}{flag}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
