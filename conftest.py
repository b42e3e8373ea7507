"""Suite-wide pytest set-up: import paths, and notebook grouping for xdist."""
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
for path in (ROOT, ROOT / "course"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


def pytest_collection_modifyitems(config, items):
    """Keep each notebook's cells on one xdist worker, in order (nbval needs one kernel)."""
    for item in items:
        path = str(item.path)
        if path.endswith(".ipynb"):
            item.add_marker(pytest.mark.xdist_group(name=path))
