"""What the sandbox uid may see of the file system: a private mount namespace.

When grading runs as root, student code runs as an unprivileged uid, which
must still reach Python, the grader package and its own submission folder.
On a real machine those often sit below folders that others may not enter
(``/root/.pyenv``, a 0700 temporary folder, a course folder on a hub).
Opening those folders (chmod o+x) would open them to every user of the
machine, for good.  Instead the kernel, while still root, enters a mount
namespace of its own (inherited by every process student code starts, and
invisible to the rest of the machine) and in it replaces

* every folder on the way to a kept path that others cannot enter, and
* every folder it is asked to hide (the course folder, /home, ...)

by an empty in-memory folder that holds only the way to the kept paths,
bind-mounted from the real ones.  Nothing changes on disk, nothing changes
for anyone else, and the submission cannot see other students' work, the
gradebook or the source folder at all: they are not there.
"""
from __future__ import annotations

import ctypes
import os
import stat
import tempfile

CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
MNT_DETACH = 2


class ViewError(OSError):
    pass


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return libc


def _call(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise ViewError(err, f"{what}: {os.strerror(err)}")


def _enc(path: str | None) -> bytes | None:
    return None if path is None else os.fsencode(path)


def _ancestors(path: str) -> list[str]:
    """'/a/b/c' -> ['/', '/a', '/a/b'] (the folders one passes through to reach it)."""
    out, parent = [], os.path.dirname(path)
    while True:
        out.append(parent)
        up = os.path.dirname(parent)
        if up == parent:
            break
        parent = up
    return out[::-1]


def under(path: str, folder: str) -> bool:
    """path lies strictly inside folder."""
    return path.startswith(folder.rstrip("/") + "/")


def plan(keep: list[str], hide: list[str]) -> dict[str, list[str]]:
    """{folder to mask: [its children to bind back]}, top-down.

    A folder is masked when it is in `hide` or on the way from a hidden folder
    to a kept path, or when it lies on the way to a kept path and others lack
    the right to traverse it (o+x)."""
    keep = sorted({os.path.realpath(k) for k in keep if os.path.exists(k)})
    masked = {os.path.realpath(h) for h in hide if os.path.isdir(h)}
    hidden = set(masked)
    for k in keep:
        for folder in _ancestors(k):
            if not stat.S_IMODE(os.stat(folder).st_mode) & 0o001:
                masked.add(folder)
            if any(folder == h or under(folder, h) for h in hidden):
                masked.add(folder)  # inside a hidden folder only the way itself shows
    masked -= set(keep)  # a kept folder stays whole
    masked = {m for m in masked if not any(under(m, k) for k in keep)}
    way = {a for k in keep for a in _ancestors(k)}
    # a folder inside a masked one is gone already unless it is on the way to a kept path
    masked = {m for m in masked if m in way or not any(under(m, other) for other in masked if other != m)}
    out: dict[str, list[str]] = {}
    for folder in sorted(masked, key=lambda p: (p.count("/"), p)):
        out[folder] = sorted({os.path.relpath(k, folder).split("/")[0] for k in keep if under(k, folder)})
    return out


def enter(keep: list[str], hide: list[str], staging: str) -> dict[str, list[str]]:
    """Enter a new mount namespace and mask per plan(); returns the plan.  Needs root
    (CAP_SYS_ADMIN); raises ViewError when the platform refuses."""
    libc = _libc()
    _call(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _call(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "making mounts private")
    return mask(keep, hide, staging)


def mask(keep: list[str], hide: list[str], staging: str) -> dict[str, list[str]]:
    """Mask per plan() in the current mount namespace, which must be private already
    (grader.launcher makes it so).  `staging` is an empty folder of the caller's that
    lies outside every folder to be masked.  Returns the plan."""
    libc = _libc()
    layout = plan(keep, hide)
    staging = os.path.realpath(staging)
    if any(staging == m or under(staging, m) for m in layout):
        raise ViewError(0, f"the staging folder {staging} lies in a folder to be masked")
    for folder, children in layout.items():
        stage = tempfile.mkdtemp(dir=staging)
        _call(libc.mount(_enc(folder), _enc(stage), None, MS_BIND | MS_REC, None), f"bind {folder}")
        _call(libc.mount(b"tmpfs", _enc(folder), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=1m"),
              f"tmpfs over {folder}")
        for child in children:
            source, target = os.path.join(stage, child), os.path.join(folder, child)
            if os.path.isdir(source):
                os.mkdir(target)
            else:
                open(target, "w").close()
            _call(libc.mount(_enc(source), _enc(target), None, MS_BIND | MS_REC, None), f"bind back {target}")
        _call(libc.umount2(_enc(stage), MNT_DETACH), f"unmount {stage}")
        os.rmdir(stage)
    return layout


def open_the_way(keep: list[str]) -> list[str]:
    """The fallback without a mount namespace: give others the right to traverse (o+x,
    not to list) every folder on the way to a kept path.  Returns the folders changed."""
    opened = []
    for k in {os.path.realpath(k) for k in keep if os.path.exists(k)}:
        for folder in _ancestors(k) + ([k] if os.path.isdir(k) else []):
            mode = stat.S_IMODE(os.stat(folder).st_mode)
            if not mode & 0o001:
                os.chmod(folder, mode | 0o001)
                opened.append(folder)
    return opened
