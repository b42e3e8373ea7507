"""The grading kernel: the last process of the chain grader.launcher starts.

Run as ``python -I sandbox_kernel.py -f CONNECTION_FILE --config-fd N``, in a
fresh interpreter (nothing the launcher imported, ctypes among them, is
loaded here).  Before any student code can run it:

1. reads its settings from the anonymous file N (and closes it);
2. when started as root, drops to the sandbox uid, its group and no other
   groups; a process whose uid changed is not dumpable, so no process of that
   uid (the submission's) can read or trace this one's memory;
3. installs the guard (grader.guard: the audit hook and its worker thread);
4. imports the modules the settings ask for (compiled bytecode is read only
   until the guard is armed, at the first cell);
5. puts the submission's folder last on sys.path (a submitted ``psutil.py``
   cannot shadow the real one) and runs an IPython kernel whose shell wraps
   the test cells for the guard (without the history a grading never reads).
"""
import faulthandler
import importlib
import json
import os
import sys


def for_history(exc, *args, **kwargs) -> dict:
    """What the kernel's history keeps of an error in a cell."""
    return {"ename": type(exc).__name__, "evalue": str(exc), "traceback": []}


def main() -> None:
    faulthandler.enable()  # (stderr is the kernel's log, which only the grader reads)
    args = sys.argv[1:]
    at = args.index("--config-fd")
    fd = int(args[at + 1])
    del args[at:at + 2]
    with os.fdopen(fd, "rb") as fh:
        cfg = json.loads(fh.read())
    uid = cfg.get("uid")
    if uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    sys.path.insert(0, cfg["repo"])
    try:
        from grader import guard
    finally:
        sys.path.remove(cfg["repo"])
    transformer_for = guard.install(cfg)
    for name in cfg.get("preload", []):
        try:
            importlib.import_module(name)
        except Exception:
            pass
    folder = os.path.realpath(cfg["folder"])
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != folder] + [folder]

    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelapp import IPKernelApp

    class GuardedKernel(IPythonKernel):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.shell.ast_transformers.append(transformer_for(self.shell))
            # IPython formats each error a second time, in full, for its history of the
            # session, which nobody reads in a grading: the type and the message will do
            # (the error shown in the notebook is formatted as before)
            self.shell._format_exception_for_storage = for_history

    # no history database: a grading never reads its input history back
    sys.argv = [sys.argv[0], *args, "--HistoryManager.enabled=False"]
    IPKernelApp.launch_instance(kernel_class=GuardedKernel)


if __name__ == "__main__":
    main()
