"""The whole test suite: ``make test`` runs this, and .ci/run runs ``make test``.

First it makes sure the system dependencies of some tests are present
(tools/testdeps: a browser, a database server, ...); a dependency that cannot
be installed here makes its tests skip with the reason, printed below.
Extra pytest arguments pass through:  python -m tools.test -n0 -k ps1
"""
import os
import sys

import pytest

from tools.testdeps import ensure_all, skip_var


def main(argv: list[str]) -> int:
    for name, reason in ensure_all().items():
        os.environ[skip_var(name)] = reason
        print(f"tests needing {name} will be skipped: {reason}", flush=True)
    return int(pytest.main(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
