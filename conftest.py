"""Suite-wide pytest set-up: import paths, and nbval's kernels stopped gracefully.

The suite runs on five xdist workers with ``--dist loadscope``: each notebook
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


# s: after a shutdown request, the kernel gets half of this to exit, then SIGTERM
KERNEL_SHUTDOWN_WAIT = 1.0


def _stop_gracefully(self):
    """nbval's RunningKernel.stop kills the kernel (shutdown_kernel(now=True)), and with
    it the kernel's multiprocessing resource tracker, so the named semaphores of a
    lecture's spawn-context objects (Queue, Value, Pool...) were left in /dev/shm.  A
    graceful shutdown lets the kernel exit normally and clean up.

    A kernel that started a resource tracker never exits by itself in time: at shutdown
    ipykernel sends SIGTERM to its children for up to 14 s before SIGKILL, and the
    tracker ignores SIGTERM.  jupyter_client then sends SIGTERM to the kernel's process
    group after half of shutdown_wait_time (default 5 s): the kernel dies, the tracker
    survives, sees the kernel gone and unlinks what it tracked.  A shorter wait keeps
    that outcome and saves about 2 s per such notebook."""
    self.kc.stop_channels()
    self.km.shutdown_wait_time = KERNEL_SHUTDOWN_WAIT
    self.km.shutdown_kernel(now=False)
    del self.km


try:
    from nbval.kernel import RunningKernel
except ImportError:  # nbval not installed: no notebooks are collected anyway
    pass
else:
    RunningKernel.stop = _stop_gracefully


# The units of work (xdist --dist loadscope: a module, or a class) that take longest, longest
# first: xdist hands units out in collection order (pytest.ini turns off its reordering by number
# of tests), and a long one handed out last runs alone at the end while the other workers wait.
LONGEST_FIRST = [
    "tests/test_autograding.py::TestAutograding_ps3_coroutine_scheduler",
    "tests/test_autograding.py::TestAutograding_ps2_deadlock",
    "tests/test_autograding.py::TestAutograding_ps4_web_server",
    "tests/test_instructor_loop.py",
    "tests/test_browser.py",
    "tests/test_parallel_grading.py",
    "tests/test_ps1_portability.py",
    "tests/test_autograding.py::TestAutograding_ps1_process_pool",
    "tests/test_hub.py",
    "tests/test_translations.py",
    "course/03.03-Processes-plus-Coroutines.ipynb",
    "tests/test_site.py",
    "tests/test_grader_unprivileged.py",
    "tests/test_assignments.py::TestExecuted_ps1_process_pool",
    "tests/test_grader_guard.py",
    "course/01.02-The-GIL.ipynb",
    "tests/test_assignments.py::TestExecuted_ps4_web_server",
    "tests/test_ps2_deadlock_support.py",
]


def pytest_collection_modifyitems(config, items):
    rank = {scope: n for n, scope in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.rsplit("::", 1)[0], len(rank)))


def _alembic_version_once():
    """nbgrader stamps every new gradebook with its migrations' head, which it asks of a new
    `alembic heads` process each time (about 1.2 s of CPU); the suite makes some twenty
    gradebooks in its workers, and the head is the same for all: each worker asks once."""
    import functools

    import nbgrader.api

    nbgrader.api.get_alembic_version = functools.lru_cache(maxsize=None)(nbgrader.api.get_alembic_version)


_alembic_version_once()
