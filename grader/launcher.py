"""The first processes of a grading kernel: set-up with privileges, then the kernel.

grader.execute starts this file as the kernel of the notebook it grades
(``python grader/launcher.py -f CONNECTION_FILE --config SETTINGS``).  The
chain of processes, and where privileges change::

    grader (nbgrader; root on a class server, or an instructor's own user)
      │  jupyter_client starts, as "the kernel":
      ▼
    launcher  (this file, same user as the grader)
      │  reads the settings (and deletes them), sends its output to a log only
      │  root reads, joins the submission's cgroups, sets rlimits, and opens new
      │  namespaces: network (only loopback), PID, and without root first a user
      │  namespace to hold them.  Then forks:
      ▼
    init      (PID 1 of the new PID namespace; still the grader's user)
      │  dies with the launcher (PR_SET_PDEATHSIG); gets a mount namespace of its
      │  own with a /proc for the new PIDs and a private view of the file system
      │  (grader.view: the course, the exchange, /home, /root hidden).  Forks:
      ▼
    kernel    (grader/sandbox_kernel.py, a fresh interpreter started with exec)
         as root: drops to the sandbox uid first thing (and so becomes
         non-dumpable: no other process of that uid can read its memory);
         installs the guard (grader.guard) and runs IPython.  Student code
         runs here and in the processes it starts.

When the kernel ends, init ends, and the Linux kernel kills every process
left in the PID namespace, however it detached (new session, empty
environment, double fork): none can leave the namespace.  If jupyter_client
kills the launcher, init is killed with it, with the same effect.

Where namespaces are refused (a container without CAP_SYS_ADMIN, or no
unprivileged user namespaces), the launcher is a child subreaper instead:
the kernel is its child, orphans are re-parented to it, and when the kernel
ends it kills every process it has collected.  Only if the launcher itself
is killed first can a detached process outlive the grading; as root the
sandbox uid's processes are then still killed by the grader.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import resource
import signal
import socket
import struct
import sys
import time

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
NAMESPACES_REFUSED = 97  # init's exit status when it could not set up its namespaces
# What the kernel is told about its sandbox (tests/hostile.py prints them from a submission):
NETWORK_VAR = "PYCONC_NETWORK"  # "isolated" (its own loopback only), "allowed", or "unavailable (why)"
VIEW_VAR = "PYCONC_VIEW"        # the file-system view: "private", or "shared (why)"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# What the kernel's environment may hold: an allow-list (the grader's own
# environment has the gradebook's URL, tokens, ...), plus what the sandbox sets.
ENV_ALLOWED = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LC_NUMERIC", "LC_TIME",
               "TZ", "TERM", "PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONUTF8", "GRADING_TAG")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, value, 0, 0, 0), f"prctl({option})")


def _loopback_up() -> None:
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        ifr = struct.pack("16sh", b"lo", 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | IFF_UP))


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


def namespaces(cfg: dict) -> dict:
    """Enter a new network namespace (unless the network is allowed) and prepare a new
    PID namespace for the next child.  Without root, a user namespace holds them, with
    our own uid mapped to itself.  Returns what was done, for the kernel's environment."""
    done = {"network": "allowed" if cfg["network"] else "unavailable", "pid": False}
    if not sys.platform.startswith("linux"):
        done["network"] = "allowed" if cfg["network"] else "unavailable (not Linux)"
        return done
    if os.geteuid() != 0 or cfg.get("unprivileged"):
        # (as root too when asked to grade as an unprivileged user would: a process in
        # a child user namespace cannot raise its hard rlimits or regain root's powers
        # over the machine, only over files)
        uid, gid = os.geteuid(), os.getegid()
        if _libc.unshare(CLONE_NEWUSER) != 0:
            done["network"] = "allowed" if cfg["network"] else \
                f"unavailable (no user namespace: {os.strerror(ctypes.get_errno())})"
            return done
        with open("/proc/self/setgroups", "w") as fh:
            fh.write("deny")
        with open("/proc/self/uid_map", "w") as fh:
            fh.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as fh:
            fh.write(f"{gid} {gid} 1")
    if not cfg["network"]:
        if _libc.unshare(CLONE_NEWNET) == 0:
            _loopback_up()
            done["network"] = "isolated"
        else:
            done["network"] = f"unavailable ({errno.errorcode.get(ctypes.get_errno(), 'error')})"
    done["pid"] = _libc.unshare(CLONE_NEWPID) == 0
    return done


def private_mounts(cfg: dict) -> str:
    """In init: a mount namespace of its own, a /proc that shows this PID namespace, and
    the private view of the file system.  Returns how the view went."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "making mounts private")
    _check(_libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mounting /proc")
    sys.path.insert(0, REPO)
    try:
        from grader import view
    finally:
        sys.path.remove(REPO)
    try:
        view.mask(cfg["keep"], cfg["hide"], staging=cfg["staging"])
        return "private"
    except OSError as exc:
        if cfg.get("uid") is None:
            return f"shared ({exc})"
        opened = view.open_the_way(cfg["keep"])
        print(f"grading sandbox: no private view of the file system ({exc}); allowed others to traverse "
              f"{', '.join(opened) or 'nothing'}", file=sys.stderr, flush=True)
        return f"shared ({exc})"


def kernel_environment(cfg: dict, done: dict, parent: int) -> dict:
    env = {name: os.environ[name] for name in ENV_ALLOWED if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update({
        "HOME": cfg["home"], "TMPDIR": cfg["tmp"], "MPLCONFIGDIR": os.path.join(cfg["home"], ".mpl"),
        "PYTHONNOUSERSITE": "1", "JPY_PARENT_PID": str(parent),
        NETWORK_VAR: done["network"], VIEW_VAR: done.get("view", "shared"),
    })
    return env


def exec_kernel(cfg: dict, args: list[str], done: dict, parent: int) -> None:
    """Become the kernel: a fresh interpreter, its settings in an anonymous file."""
    settings = os.memfd_create("pyconc-kernel", 0)
    os.write(settings, json.dumps(cfg["kernel"]).encode())
    os.lseek(settings, 0, os.SEEK_SET)
    os.set_inheritable(settings, True)
    os.set_inheritable(cfg["kernel"]["channel_fd"], True)
    os.chdir(cfg["kernel"]["folder"])
    argv = [sys.executable, "-I", os.path.join(HERE, "sandbox_kernel.py"), *args, "--config-fd", str(settings)]
    os.execve(sys.executable, argv, kernel_environment(cfg, done, parent))


def copy_connection_file(cfg: dict, args: list[str]) -> None:
    """The connection file lies in the grader's runtime folder, which the kernel cannot
    see: give it a copy in its own home."""
    at = args.index("-f") + 1
    with open(args[at]) as fh:
        info = fh.read()
    copy = os.path.join(cfg["home"], "connection.json")
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(info)
    if cfg.get("uid") is not None:
        os.chown(copy, cfg["uid"], cfg["uid"])
    args[at] = copy


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def kill_descendants(limit: float = 10.0) -> None:
    """As a subreaper: kill and reap every child until none is left (orphans of the
    killed ones are re-parented to us, and killed in the next round)."""
    me, deadline = os.getpid(), time.monotonic() + limit
    while time.monotonic() < deadline:
        kids = children_of(me)
        if not kids:
            return
        for kid in kids:
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.01)
                break


def wait_for(child: int) -> int:
    """Reap children until `child` ends; its exit status, as a shell would give it."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 1
        if pid == child:
            code = os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
            if code not in (0, NAMESPACES_REFUSED):
                print(f"grading sandbox: process {pid} ended with status {code}", file=sys.stderr, flush=True)
            return code


def run_init(cfg: dict, args: list[str], done: dict, launcher: int) -> None:
    """PID 1 of the grading namespace."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != launcher and os.getppid() != 0:
            os._exit(1)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        done["view"] = private_mounts(cfg)
    except OSError as exc:
        print(f"grading sandbox: no PID namespace ({exc})", file=sys.stderr, flush=True)
        os._exit(NAMESPACES_REFUSED)
    kernel = os.fork()
    if kernel == 0:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        exec_kernel(cfg, args, done, parent=1)
    os._exit(wait_for(kernel))


def main() -> None:
    args = sys.argv[1:]
    at = args.index("--config")
    path = args[at + 1]
    del args[at:at + 2]
    with open(path) as fh:
        cfg = json.load(fh)
    os.unlink(path)
    parent = os.getppid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # a grader that dies takes its kernel with it
    if os.getppid() != parent:
        os._exit(1)
    log = os.open(cfg["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    for procs in cfg.get("cgroups", []):  # CPU, process and memory caps for the whole family
        try:
            with open(procs, "w") as fh:
                fh.write(str(os.getpid()))
        except OSError:
            pass
    set_limits(cfg)
    copy_connection_file(cfg, args)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for the kernel (same process group)
    done = namespaces(cfg)
    if os.geteuid() != 0:  # (after the user namespace's maps are written)
        _prctl(PR_SET_DUMPABLE, 0)  # the settings are in our memory: not for the submission's processes
    me = os.getpid()
    if done["pid"]:
        init = os.fork()
        if init == 0:
            run_init(cfg, args, done, me)
        signal.signal(signal.SIGTERM, lambda *_: os.kill(init, signal.SIGKILL))
        status = wait_for(init)
        if status != NAMESPACES_REFUSED:
            os._exit(status)
    # no PID namespace: be a subreaper for the kernel and whatever it leaves behind
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    kernel = os.fork()
    if kernel == 0:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if cfg.get("uid") is not None:
            done["view"] = private_mounts_without_pid(cfg)
        exec_kernel(cfg, args, done, parent=me)

    def stop(*_):
        kill_descendants()
        os._exit(143)

    signal.signal(signal.SIGTERM, stop)
    status = wait_for(kernel)
    kill_descendants()
    os._exit(status)


def private_mounts_without_pid(cfg: dict) -> str:
    """The private view alone (as root, when only the PID namespace was refused)."""
    sys.path.insert(0, REPO)
    try:
        from grader import view
    finally:
        sys.path.remove(REPO)
    try:
        _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "making mounts private")
        view.mask(cfg["keep"], cfg["hide"], staging=cfg["staging"])
        return "private"
    except OSError as exc:
        opened = view.open_the_way(cfg["keep"])
        print(f"grading sandbox: no private view of the file system ({exc}); allowed others to traverse "
              f"{', '.join(opened) or 'nothing'}", file=sys.stderr, flush=True)
        return f"shared ({exc})"


if __name__ == "__main__":
    main()
