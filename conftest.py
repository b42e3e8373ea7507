"""Suite-wide pytest set-up: import paths, and nbval's kernels stopped gracefully.

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
