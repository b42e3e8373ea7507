"""The sandboxed kernel that grades a submission.

Started by grader.execute as ``python grader/kernel.py -f CONNECTION_FILE``
with the settings in the environment variable PYCONC_SANDBOX (JSON).  Before
any student code can run, as the process that becomes the kernel, it:

0. drops secrets from its environment (gradebook URL, hub and API tokens)
   and joins its control groups (grader.cgroups), when there are any;
1. cuts the network (a new network namespace holding only loopback), when
   it may (as root, or where unprivileged user namespaces are allowed);
2. sets resource limits: address space, processes, file size, open files,
   no core dumps;
3. when started as root, enters a mount namespace of its own in which the
   course folder, /home and /root are hidden apart from the way to Python,
   the grader and its own folder (grader.view), then drops to the sandbox
   uid/gid (no supplementary groups), so file permissions keep it out of
   everything else;
4. puts the submission folder last on sys.path (a submitted ``psutil.py``
   cannot shadow the real one);
5. installs an audit hook (PEP 578; it cannot be removed) that refuses
   trace/profile functions, signals to processes outside its own tree, and,
   when it could not drop privileges, writes outside its folder and the
   temporary folders and any access to the course's source/;
6. runs an IPython kernel whose do_execute first runs grader.guard.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import importlib
import json
import os
import resource
import socket
import struct
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def _unshare(flags: int) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.unshare(flags) == 0


def _loopback_up() -> None:
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


def cut_network() -> str:
    if not sys.platform.startswith("linux"):
        return "unavailable (not Linux)"
    if os.geteuid() == 0 and _unshare(CLONE_NEWNET):
        _loopback_up()
        return "isolated"
    uid, gid = os.geteuid(), os.getegid()
    if _unshare(CLONE_NEWUSER | CLONE_NEWNET):
        try:  # keep our own uid inside the new user namespace
            with open("/proc/self/setgroups", "w") as fh:
                fh.write("deny")
            with open("/proc/self/uid_map", "w") as fh:
                fh.write(f"{uid} {uid} 1")
            with open("/proc/self/gid_map", "w") as fh:
                fh.write(f"{gid} {gid} 1")
            _loopback_up()
        except OSError:
            pass
        return "isolated (user namespace)"
    return f"unavailable ({errno.errorcode.get(ctypes.get_errno(), 'error')})"


def set_limits(cfg: dict) -> None:
    mib = 1024 * 1024
    wanted = {
        resource.RLIMIT_AS: cfg["memory_mb"] * mib,
        resource.RLIMIT_FSIZE: cfg["file_mb"] * mib,
        resource.RLIMIT_NOFILE: cfg["open_files"],
        resource.RLIMIT_CORE: 0,
    }
    if cfg.get("uid") is not None:  # per-uid count: only meaningful for the sandbox uid
        wanted[resource.RLIMIT_NPROC] = cfg["processes"]
    for which, value in wanted.items():
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value if os.geteuid() == 0 else hard))


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _grader(name: str):
    """grader.<name>: this file runs as a script, so its package is on sys.path only meanwhile."""
    sys.path.insert(0, REPO)
    try:
        return importlib.import_module(f"grader.{name}")
    finally:
        sys.path.remove(REPO)


def private_view(cfg: dict) -> None:
    """Hide what the sandbox uid must not see, and give it the way to what it needs,
    in a mount namespace of its own (grader.view).  Where the platform refuses
    (a container without CAP_SYS_ADMIN), fall back to letting others traverse
    the folders on the way (o+x, not listing), and say so on stderr."""
    view = _grader("view")
    try:
        view.enter(cfg["keep"], cfg["hide"], staging=cfg["tmpdir"])
        os.environ["PYCONC_VIEW"] = "private"
    except OSError as exc:
        opened = view.open_the_way(cfg["keep"])
        os.environ["PYCONC_VIEW"] = f"shared ({exc})"
        print(f"grading sandbox: no private mount namespace ({exc}); allowed others to traverse "
              f"{', '.join(opened) or 'nothing'}", file=sys.stderr, flush=True)


def drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def install_audit_hook(cfg: dict, guard) -> None:
    folder = os.path.realpath(cfg["folder"])
    source = os.path.realpath(cfg["source_dir"]) if cfg.get("source_dir") else None
    writable = [folder, os.path.realpath(cfg["tmpdir"]), "/dev/shm", "/tmp", os.path.realpath("/tmp")]
    confined = cfg.get("uid") is None  # no uid drop: the hook must keep it in its folder
    me = os.getpid()

    def inside(path, roots):
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return True
        return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

    def ours(pid: int) -> bool:
        if pid in (0, -1) or pid < 0:
            return False
        try:
            while pid > 1:
                if pid == me:
                    return True
                with open(f"/proc/{pid}/stat") as fh:
                    pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        return False

    watched = frozenset({"sys.settrace", "sys.setprofile", "os.kill", "os.killpg", "open", "os.system",
                         "os.remove", "os.rmdir", "os.rename", "os.replace", "os.chmod", "os.chown",
                         "os.truncate", "os.link", "os.symlink", "os.mkdir", "shutil.rmtree"})

    def hook(event, args):
        if event not in watched or not guard.ARMED:  # (ARMED: the kernel's own start-up runs before any cell)
            return
        if event in ("sys.settrace", "sys.setprofile"):  # the event carries no argument: even None is refused
            raise RuntimeError(f"{event} is not allowed while grading")
        if event in ("os.kill", "os.killpg"):
            pid = args[0]
            if event == "os.kill" and (pid == os.getpid() or ours(pid)):
                return
            if isinstance(pid, int) and pid > 0 and not os.path.exists(f"/proc/{pid}"):
                # gone already (e.g. a worker another thread has just reaped): what the
                # system call itself would say, which multiprocessing expects and ignores
                raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))
            raise PermissionError(f"{event}({pid}) is not allowed while grading: not a process of this submission")
        if source and event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)) \
                and inside(args[0], [source]):
            raise PermissionError("the course's source folder cannot be read while grading")
        if not confined:
            return
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            writing = any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC)
            if writing and not inside(args[0], writable):
                raise PermissionError(f"writing {args[0]!r} is not allowed while grading")
        elif event in ("os.remove", "os.rmdir", "os.rename", "os.replace", "os.chmod", "os.chown",
                       "os.truncate", "os.link", "os.symlink", "os.mkdir", "shutil.rmtree"):
            paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
            if any(not inside(p, writable) for p in paths):
                raise PermissionError(f"{event} outside the submission folder is not allowed while grading")
        elif event == "os.system":
            raise PermissionError("os.system is not allowed while grading")

    sys.addaudithook(hook)


SECRET_HINTS = ("TOKEN", "PASSWORD", "SECRET", "GRADEBOOK", "API_KEY")


def drop_secrets() -> None:
    """The grader's environment reaches the kernel: remove what student code must not see
    (the gradebook URL with its password, hub and API tokens)."""
    for name in list(os.environ):
        upper = name.upper()
        if upper == "JPY_PARENT_PID":  # not a secret: the kernel exits when its manager dies
            continue
        if upper.startswith(("JUPYTERHUB_", "JPY_")) or any(h in upper for h in SECRET_HINTS):
            del os.environ[name]


def quiet_start(cfg: dict) -> None:
    """The kernel's own low-level output (ipykernel's warnings, a failing thread of a
    fork bomb) goes to a log the grader reads back, not to the instructor's terminal.
    (Cell output, including subprocesses', still reaches the notebook.)"""
    log = os.open(os.path.join(cfg["tmpdir"], "kernel.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def main() -> None:
    cfg = json.loads(os.environ.pop("PYCONC_SANDBOX"))
    quiet_start(cfg)
    drop_secrets()
    args = sys.argv[1:]
    connection_file = args[args.index("-f") + 1]
    os.environ["PYCONC_NETWORK"] = "allowed" if cfg["network"] else cut_network()
    for procs in cfg.get("cgroups", []):  # CPU share, process and memory caps for the whole family
        try:
            with open(procs, "w") as fh:
                fh.write(str(os.getpid()))
        except OSError:
            pass
    set_limits(cfg)
    if cfg.get("uid") is not None and os.geteuid() == 0:
        with open(connection_file) as fh:  # readable by root only: copy it for the sandbox uid
            info = fh.read()
        copy = os.path.join(cfg["tmpdir"], "connection.json")
        with open(copy, "w") as fh:
            fh.write(info)
        os.chown(copy, cfg["uid"], cfg["uid"])
        args[args.index("-f") + 1] = copy
        private_view(cfg)
        drop_privileges(cfg["uid"])
        os.environ["HOME"] = cfg["tmpdir"]
    os.environ["TMPDIR"] = cfg["tmpdir"]
    guard = _grader("guard")  # (after the sandbox is in place)
    launch = _grader("guarded_kernel").launch
    folder = os.path.realpath(cfg["folder"])
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != folder] + [folder]
    install_audit_hook(cfg, guard)
    sys.argv = [sys.argv[0], *args]
    launch(cfg)


if __name__ == "__main__":
    main()
