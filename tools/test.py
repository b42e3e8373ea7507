"""The whole test suite: ``make test`` runs this, and .ci/run runs ``make test``.

First it makes sure the system dependencies of some tests are present
(tools/testdeps: a browser, a database server, ...); a dependency that cannot
be installed here makes its tests skip with the reason, printed below.
Extra pytest arguments pass through:  python -m tools.test -n0 -k ps1

The suite writes bytecode caches (``__pycache__``, git-ignored) even where
PYTHONDONTWRITEBYTECODE is set, as a container image often sets it: the suite
starts several hundred Python processes (graders, kernels, make steps) that
import the same modules, and pytest rewrites the test modules' assertions in
each of its workers; without the caches every one of them compiles its modules
again.
"""
import os
import sys

import pytest

from tools.testdeps import ensure_all, skip_var


def main(argv: list[str]) -> int:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # for the processes the suite starts
    sys.dont_write_bytecode = False                  # and for this one (it collects the tests too)
    for name, reason in ensure_all().items():
        os.environ[skip_var(name)] = reason
        print(f"tests needing {name} will be skipped: {reason}", flush=True)
    return int(pytest.main(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
