"""conftest.py's LONGEST_FIRST names units of work that exist: a renamed module, class or
notebook would silently drop out of the order and could start last."""
from pathlib import Path

import conftest
from tools.assignments import assignments

ROOT = Path(conftest.__file__).resolve().parent


def test_every_unit_listed_longest_first_exists():
    for unit in conftest.LONGEST_FIRST:
        path, _, cls = unit.partition("::")
        assert (ROOT / path).is_file(), f"conftest.LONGEST_FIRST: no {path}"
        if cls:
            prefix, _, assignment = cls.partition("_")
            assert assignment in assignments(), f"conftest.LONGEST_FIRST: {cls} is no assignment's class"
            assert f'"{prefix}"' in (ROOT / path).read_text(), f"conftest.LONGEST_FIRST: {path} makes no {prefix}_* classes"
    assert len(set(conftest.LONGEST_FIRST)) == len(conftest.LONGEST_FIRST)
