"""Suite-wide pytest set-up: import paths.

The suite runs on two xdist workers with ``--dist loadscope``: each notebook
(nbval needs its cells in order, in one kernel) and each test class is one
unit of work.  Tests that loop over assignments are written as one class per
assignment (see tests/assignment_classes.py) so that the assignments spread
over the workers.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
for path in (ROOT, ROOT / "course"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
