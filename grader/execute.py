"""nbgrader's Execute preprocessor, run inside the sandbox.

Configured in nbgrader_config.py as the first autograde preprocessor, so
``nbgrader autograde``, the Formgrader and ``python -m grader autograde`` all
use it.  Every limit is a traitlets option (``c.SandboxedExecute.<name>`` in
nbgrader_config.py, or ``--SandboxedExecute.<name>=...`` on a command line).

Where the grader's own files are, and why root never writes where student code
could have planted something:

* The submission's folder (``autograded/<student>/<assignment>``) is never
  given to the sandbox: the kernel runs in a *copy* of it, in a scratch folder
  that the sandbox uid owns (``<private>/box/work/<assignment>``).  Regular
  files and folders only are copied; links and special files are left out.
  Everything the submission writes stays there, and is deleted with it
  (shutil.rmtree does not follow links).  nbgrader then writes the autograded
  notebook into the real folder, which the sandbox never owned or saw.
* ``<private>`` (a fresh 0700 folder of the grader) holds the launcher's
  settings, the kernel's log (the kernel has only a file descriptor to it)
  and the staging folder of the private view; the sandbox can reach none of it.
* ``tampering.json`` is written beside the autograded notebook, into that
  folder, without following links (O_NOFOLLOW), replacing any file there.
* Sandbox uids are claimed with locks in a root-only folder
  (``/run/pyconc-grader``), checked to be a folder root owns that nobody
  else can write, before it is used.
* Files the sandbox uid owns in /tmp and /dev/shm are removed after the
  grading, without following links.

How a test cell is scored: nbgrader scores the notebook's outputs, which
student code produces and could fake.  So a test cell keeps its points only if
the guard inside the kernel confirmed, through its authenticated channel
(grader.guard, grader.channel), that this cell's own code ran to the end
without raising, with no tampering found.  Otherwise the cell gets an error
output (``TamperingDetected``), and so do the test cells after it.
"""
from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import shutil
import stat
import sys
import sysconfig
import tempfile
import time
import uuid

import psutil
from nbformat import NotebookNode
from traitlets import Bool, Float, Integer, List, Unicode

from grader import cgroups
from grader.channel import KEY_BYTES, Reader
from grader.upstream import (MESSAGE_TAKERS, CellTimeoutError, DeadKernelError, Execute, KernelSpecManager,
                             determine_grade, is_grade, is_solution, run_sync)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
UID_LOCKS = "/run/pyconc-grader/uids"
# Set (to anything) to keep each grading's private folder and print the kernel's log.
DEBUG_VAR = "PYCONC_DEBUG"


def kill_leftovers(uid: int | None = None, tag: str | None = None, pids=()) -> list[int]:
    """Kill every process a submission started that is still running: those of the
    sandbox uid, those whose environment carries GRADING_TAG=tag, and `pids`; then
    remove the uid's files in /tmp and /dev/shm.  (The launcher's PID namespace
    already ends every process of the kernel's; this is the second line.)
    Returns the pids killed."""
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


def root_only_folder(path: str) -> str:
    """Create `path` (and its parent) for root alone, or check that it already is:
    a real folder (not a link), owned by root, that nobody else may write to.
    Raises PermissionError otherwise: root must not use a folder someone else
    could have prepared."""
    for folder in (os.path.dirname(path), path):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        info = os.lstat(folder)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o022:
            raise PermissionError(f"{folder} is not a folder that only root can change: refusing to use it")
    return path


def write_nofollow(path: str, text: str) -> None:
    """Write a file without following a link at `path` (a link there is replaced)."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISLNK(os.lstat(path).st_mode) or not stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def copy_regular(src: str, dest: str, uid: int | None) -> list[str]:
    """Copy the folder `src` to `dest` (new): folders and regular files only, nothing
    through a link.  Owned by `uid` when given.  Returns what was left out."""
    skipped = []
    os.mkdir(dest, 0o700)
    for dirpath, dirnames, filenames in os.walk(src):  # (os.walk does not follow links)
        rel = os.path.relpath(dirpath, src)
        target_dir = os.path.normpath(os.path.join(dest, rel))
        for name in list(dirnames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                skipped.append(os.path.join(rel, name))
                dirnames.remove(name)
            else:
                os.mkdir(os.path.join(target_dir, name), 0o700)
        for name in filenames:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                skipped.append(os.path.join(rel, name))
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as fh, open(os.path.join(target_dir, name), "xb") as out:
                shutil.copyfileobj(fh, out)
            os.chmod(os.path.join(target_dir, name), stat.S_IMODE(info.st_mode) & 0o755 | 0o600)
    if uid is not None:
        for dirpath, dirnames, filenames in os.walk(dest):
            for name in [dirpath, *(os.path.join(dirpath, f) for f in dirnames + filenames)]:
                os.lchown(name, uid, uid)
    return skipped


class KernelNotAnswering(CellTimeoutError):
    """The kernel ended a cell's request without ever replying to it."""


def _from_a_message(exc: BaseException) -> bool:
    """`exc` was raised while the grader took in one of the kernel's messages (a forged or
    garbled one: grader.upstream.MESSAGE_TAKERS), not by the grader's own code."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code in MESSAGE_TAKERS:
            return True
        tb = tb.tb_next
    return False


def _error(cell, ename: str, message: str, first: bool = False) -> None:
    out = NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])
    if first:
        cell.outputs.insert(0, out)
    else:
        cell.outputs.append(out)


def library_dirs() -> list[str]:
    """Where the interpreter's own code lives (not writable by the sandbox)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, HERE}
    paths.update(p for p in sysconfig.get_paths().values() if p)
    paths.update(p for p in sys.path if p and os.path.isdir(p) and p.startswith((sys.prefix, sys.base_prefix)))
    return sorted(os.path.realpath(p) for p in paths)


class SandboxedExecute(Execute):
    sandbox = Bool(True, help="Run student code in the sandbox (False: plain nbgrader Execute)").tag(config=True)
    notebook_timeout = Integer(900, help="Wall seconds for the whole notebook; later cells are not run").tag(config=True)
    memory_mb = Integer(4096, help="Address-space limit of each process, MiB (RLIMIT_AS)").tag(config=True)
    processes = Integer(256, help="Processes and threads of the sandbox user (RLIMIT_NPROC; needs root)").tag(config=True)
    cpus = Float(1.0, help="Cores' worth of CPU time the whole submission may use (cgroup quota; 0: no cap)").tag(config=True)
    file_mb = Integer(64, help="Largest file a submission may write, MiB (RLIMIT_FSIZE)").tag(config=True)
    open_files = Integer(1024, help="Open file descriptors per process (RLIMIT_NOFILE)").tag(config=True)
    network = Bool(False, help="Allow network access (default: only a private loopback)").tag(config=True)
    uid_base = Integer(62000, help="When grading runs as root, student code runs as a free uid from uid_base on").tag(config=True)
    as_root = Bool(True, help="When grading runs as root, use what only root can: a sandbox uid, cgroups, "
                   "root-owned scratch folders. False grades exactly as an unprivileged user would "
                   "(the audit hook confines writes; namespaces through a user namespace)").tag(config=True)
    source_dir = Unicode("", help="The course's source/ folder: never readable by student code").tag(config=True)
    ignore = List(Unicode(), [], help="Files of the assignment's folder that are not shipped helpers, as "
                  "fnmatch patterns (nbgrader_config.py: CourseDirectory.ignore, which lists what "
                  "solution cells write)").tag(config=True)
    hidden = List(Unicode(), ["/home", "/root"], help="Folders student code must not see, besides the course "
                  "folder and the exchange (grader.view)").tag(config=True)
    interrupt_grace = Float(10.0, help="Seconds a cell past its time limit has, once interrupted, to stop: a "
                            "kernel that does not stop is ended and later cells are not run").tag(config=True)
    preload = List(Unicode(), ["multiprocessing", "multiprocessing.pool", "concurrent.futures", "selectors",
                               "socket", "queue", "heapq", "hypothesis", "hypothesis.strategies"],
                   help="Modules the kernel imports before any student code (modules imported "
                   "later are compiled from source)").tag(config=True)

    # --- one notebook -----------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        if not self.sandbox:
            return super().preprocess(nb, resources, km)
        folder = os.path.realpath((resources or {}).get("metadata", {}).get("path") or os.getcwd())
        self._dead = False
        self._silenced = None  # the index of the cell the kernel ended without answering
        self._garbled = None   # (cell index, what was wrong) of a message the grader could not take
        self._iopub_timeout = self.iopub_timeout
        self._deadline = time.monotonic() + self.notebook_timeout
        self._tests = [i for i, c in enumerate(nb.cells)
                       if c.cell_type == "code" and is_grade(c) and not is_solution(c)]
        self._readers: list[Reader] = []
        with self._sandbox(folder, [nb.cells[i].source for i in self._tests]):
            nb, resources = super().preprocess(nb, resources, km)
        self._enforce(nb, folder)
        return nb, resources

    @property
    def _root(self) -> bool:
        return hasattr(os, "geteuid") and os.geteuid() == 0 and self.as_root

    @contextlib.contextmanager
    def _sandbox(self, folder: str, tests: list[str]):
        root = self._root
        uid, claim = self._claim_uid() if root else (None, None)
        private = tempfile.mkdtemp(prefix="pyconc-sbx-")
        staging = tempfile.mkdtemp(prefix="pyconc-stage-")
        box = os.path.join(private, "box")
        os.mkdir(box, 0o700)
        for sub in ("tmp", "ipc", "work"):
            os.mkdir(os.path.join(box, sub), 0o700)
        work = os.path.join(box, "work", os.path.basename(folder))
        skipped = copy_regular(folder, work, None)
        if skipped:
            self.log.warning("not copied into the sandbox (links or special files): %s", ", ".join(skipped))
        tag = uuid.uuid4().hex
        protected = self._shipped_files(work)
        groups = cgroups.create(f"pyconc-{uid}", self.processes, self.memory_mb * 2**20, self.cpus) if root else []
        self._box = {
            "private": private, "box": box, "work": work, "uid": uid, "tag": tag, "tests": tests,
            "protected": protected, "groups": groups, "staging": staging, "launcher": None,
            "spec_root": os.path.join(private, "spec"), "ipc": os.path.join(box, "ipc", "k"),
            "log": os.path.join(private, "kernel.log"),
        }
        self._write_spec(tag)
        if root:
            self._lock_down(box, uid, protected)
        try:
            yield
        finally:
            launcher = self._box.get("launcher")
            if launcher is not None:  # its PID namespace ends with it
                with contextlib.suppress(psutil.Error):
                    if launcher.is_running():  # (the same process: psutil compares its start time)
                        launcher.kill()
            kill_leftovers(uid, tag, cgroups.members(groups))
            self._read_channel()  # the rest of what the guard wrote
            for reader_fd in self._box.get("channels", []):
                with contextlib.suppress(OSError):
                    os.close(reader_fd)
            self._relay_kernel_log(self._box["log"])
            cgroups.remove(groups)
            if not os.environ.get(DEBUG_VAR): shutil.rmtree(private, ignore_errors=True)  # (does not follow links)
            shutil.rmtree(staging, ignore_errors=True)
            if claim is not None:
                claim.close()  # releases the uid for the next notebook

    def _write_spec(self, tag: str) -> None:
        spec_dir = os.path.join(self._box["spec_root"], "kernels", "pyconc-sandbox")
        os.makedirs(spec_dir)
        with open(os.path.join(spec_dir, "kernel.json"), "w") as fh:
            json.dump({
                "argv": [sys.executable, os.path.join(HERE, "launcher.py"), "-f", "{connection_file}",
                         "--config", os.path.join(self._box["private"], "launcher.json")],
                "display_name": "Python (grading sandbox)", "language": "python",
                "env": {"GRADING_TAG": tag},
            }, fh)

    def _launcher_config(self, channel_fd: int, key: bytes) -> dict:
        b = self._box
        keep = [b["box"], os.path.dirname(os.path.realpath(sys.executable)), sys.base_prefix, sys.prefix, HERE]
        course = self.config.CourseDirectory.get("root", "") or os.getcwd()
        exchange = self.config.Exchange.get("root", "")
        hide = [h for h in (course, exchange, *self.hidden) if h and os.path.realpath(h) != "/"]
        writable = [b["work"], b["box"]]  # (the kernel's TMPDIR is in the box)
        return {
            "log": b["log"], "uid": b["uid"], "unprivileged": not self._root, "network": self.network, "memory_mb": self.memory_mb,
            "processes": self.processes, "file_mb": self.file_mb, "open_files": self.open_files,
            "cgroups": b["groups"], "home": b["box"], "tmp": os.path.join(b["box"], "tmp"),
            "keep": keep, "hide": hide, "staging": b["staging"],
            "kernel": {
                "key": key.hex(), "channel_fd": channel_fd, "tests": b["tests"], "folder": b["work"],
                "protected": b["protected"], "uid": b["uid"], "repo": REPO, "preload": list(self.preload),
                "student_dirs": [b["work"], b["box"], "/tmp", "/dev/shm"], "library_dirs": library_dirs(),
                "writable": writable, "source_dir": self.source_dir, "confined": b["uid"] is None,
            },
        }

    async def async_start_new_kernel(self, **kwargs):
        if not self.sandbox:
            return await super().async_start_new_kernel(**kwargs)
        key = os.urandom(KEY_BYTES)
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        settings = os.path.join(self._box["private"], "launcher.json")
        fd = os.open(settings, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self._launcher_config(write_end, key), fh)
        self._readers.append(Reader(key))
        self._box.setdefault("channels", []).append(read_end)
        kwargs["cwd"] = self._box["work"]
        kwargs["pass_fds"] = (write_end,)
        try:
            return await super().async_start_new_kernel(**kwargs)
        finally:
            os.close(write_end)  # the kernel holds the only writing end now
            pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
            with contextlib.suppress(psutil.Error, TypeError, ValueError):
                self._box["launcher"] = psutil.Process(pid)

    start_new_kernel = run_sync(async_start_new_kernel)

    def _read_channel(self) -> None:
        for reader, fd in zip(self._readers, self._box.get("channels", [])):
            reader.read_available(fd)

    def _relay_kernel_log(self, path: str, limit: int = 4000) -> None:
        """What the kernel's processes wrote outside the notebook (the launcher sends it there)."""
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - limit))
                text = fh.read().decode("utf-8", "replace").strip()
        except OSError:
            return
        if os.environ.get(DEBUG_VAR):
            print("KERNEL LOG", path, repr(text[-3000:]), file=sys.stderr)
        if text:
            self.log.info("the grading kernel wrote (last %d bytes):\n%s", limit, text)
            if os.environ.get(DEBUG_VAR): print(path, text, file=sys.stderr)

    def _claim_uid(self):
        """A sandbox uid no other grading on this machine is using right now.

        Each uid is claimed with an exclusive lock on a file in a root-only
        folder, held for the whole notebook, so concurrent gradings (parallel
        workers, a second course, the test suite) never share a uid, and
        killing "every process of the uid" afterwards kills only our own.
        """
        import fcntl

        locks = root_only_folder(UID_LOCKS)
        for uid in range(self.uid_base, self.uid_base + 4096):
            fd = os.open(os.path.join(locks, str(uid)), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            claim = os.fdopen(fd, "r+")
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
        return sorted(n for n in names if n.endswith(".py")
                      and not any(fnmatch.fnmatch(n, pattern) for pattern in self.ignore)
                      and os.path.exists(os.path.join(folder, n)))

    def _lock_down(self, box, uid, protected):
        if self.source_dir and os.path.isdir(self.source_dir):
            mode = stat.S_IMODE(os.stat(self.source_dir).st_mode)
            if mode & 0o077:
                os.chmod(self.source_dir, mode & 0o700)  # instructors only
        url = str(self.config.CourseDirectory.get("db_url", ""))
        if url.startswith("sqlite:///") and os.path.exists(url[len("sqlite:///"):]):
            os.chmod(url[len("sqlite:///"):], 0o600)  # grades are not for the sandbox users
        for dirpath, dirnames, filenames in os.walk(box):
            for name in [dirpath, *(os.path.join(dirpath, f) for f in dirnames + filenames)]:
                os.lchown(name, uid, uid)
        for name in protected:  # the uid may not modify the shipped helpers in place
            path = os.path.join(self._box["work"], name)
            os.chown(path, 0, 0)
            os.chmod(path, 0o644)

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

    async def _async_handle_timeout(self, timeout, cell=None):
        # nbclient interrupts the kernel and makes up an error reply for the cell; it then waits
        # iopub_timeout for the cell to end, and with raise_on_iopub_timeout raises
        # CellTimeoutError if it does not.  Without that, a kernel that ignores the interrupt
        # (or no longer answers at all) would be sent every later cell, each waiting its
        # whole time limit.
        # A kernel that ended the cell on IOPub (status idle) but never replied has a way of
        # running cells that no longer answers: nothing more can be run in it.
        ended = cell is not None and "iopub.status.idle" in cell.get("metadata", {}).get("execution", {})
        reply = await super()._async_handle_timeout(timeout, cell)
        if self.sandbox:
            if ended:
                raise KernelNotAnswering(f"the kernel ended the cell without answering in {timeout} s")
            self.raise_on_iopub_timeout, self.iopub_timeout = True, self.interrupt_grace
        return reply

    def preprocess_cell(self, cell, resources, index):
        if not self.sandbox or cell.cell_type != "code":
            return super().preprocess_cell(cell, resources, index)
        self.raise_on_iopub_timeout, self.iopub_timeout = False, self._iopub_timeout  # (see _async_handle_timeout)
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
        except KernelNotAnswering:
            self._dead, self._silenced = True, index
            _error(cell, "CellTimeout", f"the kernel did not answer this cell in {self.timeout} s (its way of "
                   "running cells was changed or broken); the kernel was stopped")
            return cell, resources
        except CellTimeoutError:
            # interrupted after the timeout, and still did not stop (KeyboardInterrupt swallowed)
            self._dead = True
            _error(cell, "CellTimeout", f"still running {self.timeout} s after it started, "
                   "and it ignored the interrupt; the kernel was stopped")
            return cell, resources
        except Exception as exc:
            if not _from_a_message(exc):
                raise  # the grader's own failure: the grading fails and says why
            # a message signed with another key, or one nbclient cannot read: only code that
            # writes to the kernel's sockets sends those (a fork writing to the parent's
            # sockets garbles them too); nothing the kernel says can be trusted any more
            what = f"{type(exc).__name__}: {exc}"
            self._dead, self._garbled = True, (index, what)
            _error(cell, "KernelMessageInvalid", f"the kernel sent a message the grader cannot take ({what}); "
                   "the kernel was stopped")
            return cell, resources
        finally:
            self._read_channel()

    @staticmethod
    def _ran(cell) -> bool:
        """The kernel was asked to run the cell (not: skipped after the kernel died or time ran out)."""
        return not any(o.get("output_type") == "error" and o.get("ename") in ("KernelDied", "NotebookTimeout")
                       and str(o.get("evalue", "")).startswith("not run") for o in cell.outputs)

    # --- scores only for what the guard vouched for ------------------------
    def _enforce(self, nb, folder: str) -> None:
        """Every test cell that would score points without a confirmed, clean pass from the
        guard gets a TamperingDetected error, and so does every test cell after it."""
        self._read_channel()
        verdicts: dict[int, tuple[bool, list[str]]] = {}   # test number -> (passed, findings)
        problems: list[str] = []
        started: set[int] = set()
        for reader in self._readers:
            begun: dict[int, list[str]] = {}
            for record in reader.records:
                test = record.get("test")
                if record["kind"] == "begin":
                    started.add(test)
                    begun[test] = list(record.get("findings", []))
                elif record["kind"] == "end" and test in begun:
                    verdicts[test] = (bool(record.get("passed")), begun.pop(test) + list(record.get("findings", [])))
            if reader.broken:
                problems.append(reader.broken)
        first = None
        if self._silenced is not None:
            # only code that changes how the kernel runs cells keeps it from answering one
            problems.append(f"the kernel stopped answering at cell {self._silenced} (its way of running cells "
                            "was changed); nothing after it was run")
        if self._garbled is not None:
            problems.append(f"the kernel sent a message the grader cannot take at cell {self._garbled[0]} "
                            f"({self._garbled[1]}); nothing after it was run")
        if problems:  # nothing after the last confirmed test is vouched for
            first = next((n for n in range(len(self._tests)) if n not in verdicts), len(self._tests))
            first = min(first, len(self._tests) - 1) if self._tests else None
        lines: list[str] = []
        for number, index in enumerate(self._tests):
            cell = nb.cells[index]
            # A test cell scores by whether its code raised.  Its code (wrapped by the
            # guard) shows no value; a value shown anyway came from student code, and
            # nbgrader would read a number as partial credit (or fail on a large one).
            shown = [o for o in cell.outputs if o.get("output_type") == "execute_result"]
            if shown:
                cell.outputs = [o for o in cell.outputs if o.get("output_type") != "execute_result"]
            scored = (determine_grade(cell)[0] or 0) > 0
            if shown:
                lines.append(f"{cell.metadata.get('nbgrader', {}).get('grade_id', index)}: "
                             "the test cell showed a value (nbgrader reads a number there as partial credit)")
                first = number if first is None else min(first, number)
            passed, findings = verdicts.get(number, (False, []))
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
            if findings:
                lines += [f"{grade_id}: {f}" for f in findings]
            if scored and not passed:
                lines.append(f"{grade_id}: scored in the notebook, but the guard did not see this test pass")
            elif number not in started and self._ran(cell) and not problems:
                # its first line tells the guard it started: a test cell that ran without
                # starting was changed on its way, or stopped before its first line
                lines.append(f"{grade_id}: ran, but the guard never saw it start (the kernel's way of "
                             "running cells was changed, or something stopped the cell before its first line)")
                findings = findings or ["never started"]
            if (findings or (scored and not passed)) and (first is None or number < first):
                first = number
        if first is None:
            return
        lines += problems
        message = "the submission changed the grading environment; this test and the ones after it score 0: " \
            + "; ".join(dict.fromkeys(lines))
        self.log.warning("TAMPERING in %s: %s", folder, "; ".join(dict.fromkeys(lines)))
        for number in range(first, len(self._tests)):
            _error(nb.cells[self._tests[number]], "TamperingDetected", message, first=True)
        first_cell = self._tests[first]
        for cell in nb.cells[first_cell:]:  # what the submission printed after it tampered is not handed back
            if cell.cell_type == "code" and not (is_grade(cell) and not is_solution(cell)):
                cell.outputs = [o for o in cell.outputs if o.get("output_type") == "error"]
        write_nofollow(os.path.join(folder, "tampering.json"),
                       json.dumps({"findings": list(dict.fromkeys(lines))}, indent=1))
