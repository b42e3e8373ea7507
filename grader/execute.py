"""nbgrader's Execute preprocessor, run inside the sandbox.

Configured in nbgrader_config.py as the first autograde preprocessor, so
``nbgrader autograde``, the Formgrader and ``python -m grader autograde`` all
use it.  Every limit is a traitlets option (``c.SandboxedExecute.<name>`` in
nbgrader_config.py, or ``--SandboxedExecute.<name>=...`` on a command line).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
import time
import uuid

import psutil
from jupyter_client.kernelspec import KernelSpecManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import Bool, Float, Integer, List, Unicode

from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_solution

from grader import cgroups
from grader.guarded_kernel import KEY

HERE = os.path.dirname(os.path.abspath(__file__))


def kill_leftovers(uid: int | None = None, tag: str | None = None, pids=()) -> list[int]:
    """Kill every process a submission started, however it detached or re-parented:
    those of the sandbox uid, those whose environment carries GRADING_TAG=tag
    (children inherit it), and `pids`; then remove the uid's files in /tmp and
    /dev/shm.  Returns the pids killed."""
    me = os.getpid()
    victims = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            victims.append(psutil.Process(pid))
    for proc in psutil.process_iter(["pid", "uids"]):
        if proc.pid == me or proc in victims:
            continue
        try:
            if uid is not None and proc.info["uids"] and proc.info["uids"].real == uid:
                victims.append(proc)
            elif tag and proc.environ().get("GRADING_TAG") == tag:
                victims.append(proc)
        except psutil.Error:
            continue
    for proc in victims:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(victims, timeout=10)
    if uid is not None:  # what it left in the shared temporary folders
        for shared in ("/tmp", "/dev/shm"):
            with contextlib.suppress(OSError):
                for entry in os.scandir(shared):
                    with contextlib.suppress(OSError):
                        if entry.stat(follow_symlinks=False).st_uid == uid:
                            if entry.is_dir(follow_symlinks=False):
                                shutil.rmtree(entry.path, ignore_errors=True)
                            else:
                                os.unlink(entry.path)
    return [p.pid for p in victims]


def _error(cell, ename: str, message: str) -> None:
    cell.outputs.append(NotebookNode(output_type="error", ename=ename, evalue=message,
                                     traceback=[f"{ename}: {message}"]))


class SandboxedExecute(Execute):
    sandbox = Bool(True, help="Run student code in the sandbox (False: plain nbgrader Execute)").tag(config=True)
    notebook_timeout = Integer(900, help="Wall seconds for the whole notebook; later cells are not run").tag(config=True)
    memory_mb = Integer(4096, help="Address-space limit of each process, MiB (RLIMIT_AS)").tag(config=True)
    processes = Integer(256, help="Processes and threads of the sandbox user (RLIMIT_NPROC; needs root)").tag(config=True)
    cpus = Float(1.0, help="Cores' worth of CPU time the whole submission may use (cgroup quota; 0: no cap)").tag(config=True)
    file_mb = Integer(64, help="Largest file a submission may write, MiB (RLIMIT_FSIZE)").tag(config=True)
    open_files = Integer(1024, help="Open file descriptors per process (RLIMIT_NOFILE)").tag(config=True)
    network = Bool(False, help="Allow network access (default: only a private loopback)").tag(config=True)
    uid_base = Integer(61000, help="When grading runs as root, student code runs as a free uid from uid_base on").tag(config=True)
    source_dir = Unicode("", help="The course's source/ folder: never readable by student code").tag(config=True)
    ignore = List(Unicode(), [], help="Files of the assignment's folder that are not shipped helpers").tag(config=True)
    hidden = List(Unicode(), ["/home", "/root"], help="Folders student code must not see when grading runs "
                  "as root, besides the course folder and the exchange (grader.view)").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        if not self.sandbox:
            return super().preprocess(nb, resources, km)
        folder = os.path.realpath((resources or {}).get("metadata", {}).get("path") or os.getcwd())
        self._findings: list[tuple[int, list[str]]] = []
        self._dead = False
        self._deadline = time.monotonic() + self.notebook_timeout
        tests = sorted({hashlib.sha256(c.source.encode()).hexdigest() for c in nb.cells
                        if c.cell_type == "code" and is_grade(c) and not is_solution(c)})
        with self._sandbox(folder, tests):
            nb, resources = super().preprocess(nb, resources, km)
        self._report(nb, folder)
        return nb, resources

    # --- the sandbox around one notebook ---------------------------------
    @contextlib.contextmanager
    def _sandbox(self, folder: str, tests: list[str]):
        root = hasattr(os, "geteuid") and os.geteuid() == 0
        uid, claim = self._claim_uid() if root else (None, None)
        tmpdir = tempfile.mkdtemp(prefix="pyconc-sbx-")
        tag = uuid.uuid4().hex
        owner = os.stat(folder)
        protected = self._shipped_files(folder)
        groups = cgroups.create(f"pyconc-{uid}", self.processes, self.memory_mb * 2**20, self.cpus) if root else []
        cfg = {
            "folder": folder, "tmpdir": tmpdir, "uid": uid, "network": self.network,
            "memory_mb": self.memory_mb, "processes": self.processes, "file_mb": self.file_mb,
            "open_files": self.open_files, "source_dir": self.source_dir, "protected": protected,
            "cgroups": groups, "tests": tests,
        }
        cfg["keep"], cfg["hide"] = self._view(folder, tmpdir)
        spec_root = os.path.join(tmpdir, "spec")
        spec_dir = os.path.join(spec_root, "kernels", "pyconc-sandbox")
        os.makedirs(spec_dir)
        with open(os.path.join(spec_dir, "kernel.json"), "w") as fh:
            json.dump({
                "argv": [sys.executable, os.path.join(HERE, "kernel.py"), "-f", "{connection_file}"],
                "display_name": "Python (grading sandbox)", "language": "python",
                "env": {"PYCONC_SANDBOX": json.dumps(cfg), "GRADING_TAG": tag,
                        "MPLCONFIGDIR": os.path.join(tmpdir, "mpl"), "PYTHONNOUSERSITE": "1"},
            }, fh)
        self._box = {"spec_root": spec_root, "ipc": os.path.join(tmpdir, "ipc", "k")}
        os.makedirs(os.path.dirname(self._box["ipc"]))
        if root:
            self._lock_down(folder, tmpdir, uid, protected)
        try:
            yield
        finally:
            kill_leftovers(uid, tag, cgroups.members(groups))
            self._relay_kernel_log(os.path.join(tmpdir, "kernel.log"))
            cgroups.remove(groups)
            if root:
                self._hand_back(folder, owner)
            shutil.rmtree(tmpdir, ignore_errors=True)
            if claim is not None:
                claim.close()  # releases the uid for the next notebook

    def _relay_kernel_log(self, path: str, limit: int = 4000) -> None:
        """What the kernel process wrote outside the notebook (see grader.kernel.quiet_start)."""
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - limit))
                text = fh.read().decode("utf-8", "replace").strip()
        except OSError:
            return
        if text:
            self.log.info("the grading kernel wrote (last %d bytes):\n%s", limit, text)

    def _claim_uid(self):
        """A sandbox uid no other grading on this machine is using right now.

        Each uid is claimed with an exclusive lock on a file in a root-only
        folder, held for the whole notebook, so concurrent gradings (parallel
        workers, a second course, the test suite) never share a uid, and
        killing "every process of the uid" afterwards kills only our own.
        """
        import fcntl

        locks = os.path.join(tempfile.gettempdir(), "pyconc-sandbox-uids")
        os.makedirs(locks, mode=0o700, exist_ok=True)
        for uid in range(self.uid_base, self.uid_base + 4096):
            claim = open(os.path.join(locks, str(uid)), "w")
            try:
                fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                claim.close()
                continue
            kill_leftovers(uid, None)  # anything left by a run that crashed
            return uid, claim
        raise RuntimeError("no free sandbox uid: 4096 gradings at once?")

    def _shipped_files(self, folder: str) -> list[str]:
        assignment = os.path.basename(folder)
        source = os.path.join(self.source_dir, assignment) if self.source_dir else ""
        names = os.listdir(source) if source and os.path.isdir(source) else []
        return sorted(n for n in names if n.endswith(".py") and n not in self.ignore
                      and os.path.exists(os.path.join(folder, n)))

    def _view(self, folder: str, tmpdir: str) -> tuple[list[str], list[str]]:
        """(keep, hide) for grader.view: what the sandbox uid needs to reach, and the
        folders it must not see (apart from the way to those)."""
        keep = [folder, tmpdir, os.path.dirname(os.path.realpath(sys.executable)),
                sys.base_prefix, sys.prefix, HERE]
        course = self.config.CourseDirectory.get("root", "") or os.getcwd()
        exchange = self.config.Exchange.get("root", "")
        hide = [course, exchange, *self.hidden]
        return keep, [h for h in hide if h and os.path.realpath(h) != "/"]

    def _lock_down(self, folder, tmpdir, uid, protected):
        if self.source_dir and os.path.isdir(self.source_dir):
            mode = stat.S_IMODE(os.stat(self.source_dir).st_mode)
            if mode & 0o077:
                os.chmod(self.source_dir, mode & 0o700)  # instructors only
        url = str(self.config.CourseDirectory.get("db_url", ""))
        if url.startswith("sqlite:///") and os.path.exists(url[len("sqlite:///"):]):
            os.chmod(url[len("sqlite:///"):], 0o600)  # grades are not for the sandbox users
        for path in (folder, tmpdir):
            for dirpath, dirnames, filenames in os.walk(path):
                for name in [dirpath, *(os.path.join(dirpath, f) for f in dirnames + filenames)]:
                    os.lchown(name, uid, uid)
        for name in protected:  # the uid may not modify the shipped helpers in place
            path = os.path.join(folder, name)
            os.chown(path, 0, 0)
            os.chmod(path, 0o644)
        os.chmod(tmpdir, 0o700)

    def _hand_back(self, folder, owner):
        for dirpath, dirnames, filenames in os.walk(folder):
            for name in [dirpath, *(os.path.join(dirpath, f) for f in dirnames + filenames)]:
                with contextlib.suppress(OSError):
                    os.lchown(name, owner.st_uid, owner.st_gid)
        os.chmod(folder, 0o700)

    # --- kernel and cells -----------------------------------------------
    def create_kernel_manager(self):
        if not self.sandbox:
            return super().create_kernel_manager()
        self.kernel_name = "pyconc-sandbox"
        self.km = self.kernel_manager_class(
            kernel_name=self.kernel_name, config=self.config, transport="ipc", ip=self._box["ipc"],
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[os.path.join(self._box["spec_root"], "kernels")]),
        )
        return self.km

    def preprocess_cell(self, cell, resources, index):
        if not self.sandbox or cell.cell_type != "code":
            return super().preprocess_cell(cell, resources, index)
        if self._dead:
            cell.outputs = []
            _error(cell, "KernelDied", "not run: the kernel died or was stopped in an earlier cell")
            return cell, resources
        if time.monotonic() > self._deadline:
            cell.outputs = []
            _error(cell, "NotebookTimeout", f"not run: the notebook exceeded {self.notebook_timeout} s")
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._dead = True
            _error(cell, "KernelDied", "the kernel exited or was killed while running this cell")
            return cell, resources
        except CellTimeoutError:
            # interrupted after the timeout, and still did not stop (KeyboardInterrupt swallowed)
            self._dead = True
            _error(cell, "CellTimeout", f"still running {self.timeout} s after it started, "
                   "and it ignored the interrupt; the kernel was stopped")
            return cell, resources

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        if not self.sandbox:
            return
        reply, index = kwargs["execute_reply"], kwargs["cell_index"]
        if "header" not in reply:
            return  # made up by nbclient after a timeout: the kernel never answered
        guard = (reply.get("metadata") or {}).get(KEY)
        if guard is None:
            self._findings.append((index, ["the grading guard did not answer (the kernel was tampered with)"]))
        elif guard["findings"]:
            self._findings.append((index, guard["findings"]))

    def _report(self, nb, folder):
        if not self._findings:
            return
        first = max(0, self._findings[0][0] - 1)  # the cell before the one that found it did it
        lines = [f"cell {i}: {f}" for i, found in self._findings for f in found]
        message = "the submission changed the grading environment; these tests score 0: " + "; ".join(lines)
        self.log.warning("TAMPERING in %s: %s", folder, "; ".join(lines))
        for cell in nb.cells[first:]:
            if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell):
                _error(cell, "TamperingDetected", message)
        with open(os.path.join(folder, "tampering.json"), "w") as fh:
            json.dump({"findings": lines}, fh, indent=1)
