"""The whole test suite: ``make test`` runs this, and .ci/run runs ``make test``.

Extra pytest arguments pass through:  python -m tools.test -n0 -k ps1
"""
import sys

import pytest


def main(argv: list[str]) -> int:
    code = pytest.main(argv)
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
