"""File permissions of a class server: the shared exchange and the course folder.

    python deploy/permissions.py EXCHANGE_ROOT COURSE_ROOT GRADER_ACCOUNT [--course pyconc]

Run it as root.  jupyterhub_config.py runs it at every hub start, and the
instructor runs it after each ``python -m grader autograde`` (README,
"Teaching a class"), so the modes below always hold.

The exchange.  nbgrader's default exchange works through file permissions
alone.  Each folder gets the mode nbgrader itself would give it, but here the
folders exist *before* the first release, owned by the grader account, so no
student can create ``pyconc/`` first and serve assignments of their own:

    EXCHANGE_ROOT             root    1777  anyone may create entries (nbgrader insists
                                            on o+rwx); sticky: nobody may delete or
                                            rename another's entries
    EXCHANGE_ROOT/pyconc      grader  0755  the course
      outbound/               grader  0755  released assignments: everyone reads
      inbound/                grader  2733  submissions: everyone may add, only the
                                            grader may list or read
      feedback/               grader  0711  feedback, named by a hash of a secret in
                                            the submission: only its owner finds theirs

The course folder (the grader account's clone of the repository).  Root's
autograde leaves its output owned by root: everything goes back to the grader
account, and the folders holding students' work or solutions are closed to
everyone else.  (The grading sandbox needs no opening: it reaches its folder
through a private mount namespace, grader/view.py.)

    COURSE_ROOT               grader  0755  the course's code (grader/, the notebooks)
      source/ submitted/ feedback/ autograded/   0700
"""
from __future__ import annotations

import argparse
import os
import pwd
import stat
import sys

EXCHANGE_ROOT_MODE = 0o1777
EXCHANGE_FOLDERS = {"": 0o755, "outbound": 0o755, "inbound": 0o2733, "feedback": 0o711}
PRIVATE = ("source", "submitted", "feedback", "autograded")


def _folder(path: str, mode: int, uid: int, gid: int, changes: list[str]) -> None:
    """`path` is a plain folder (created if missing) with this owner and mode."""
    if not os.path.lexists(path):
        os.mkdir(path, 0o700)
        changes.append(f"created {path}")
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):  # e.g. a symlink planted in place of a folder
        raise RuntimeError(f"{path} is not a plain folder; remove it and run again")
    if (st.st_uid, st.st_gid) != (uid, gid):
        os.lchown(path, uid, gid)
        changes.append(f"owner of {path} -> {uid}:{gid}")
    if stat.S_IMODE(os.lstat(path).st_mode) != mode:  # chown may clear the setgid bit
        os.chmod(path, mode)
        changes.append(f"mode of {path} -> {mode:o}")


def prepare_exchange(root: str, course_id: str, grader: str) -> list[str]:
    """The exchange of `course_id` exists with the modes above; returns what changed."""
    account = pwd.getpwnam(grader)  # KeyError: the grader account must exist
    changes: list[str] = []
    os.makedirs(os.path.dirname(os.path.abspath(root)), exist_ok=True)
    _folder(root, EXCHANGE_ROOT_MODE, 0, 0, changes)
    course = os.path.join(root, course_id)
    for name, mode in EXCHANGE_FOLDERS.items():
        _folder(os.path.join(course, name) if name else course, mode, account.pw_uid, account.pw_gid, changes)
    return changes


def lock_course_folder(course_root: str, grader: str) -> list[str]:
    """The course folder belongs to the grader account, with the modes above; returns what changed."""
    account = pwd.getpwnam(grader)
    uid, gid = account.pw_uid, account.pw_gid
    if not os.path.isdir(course_root):
        raise RuntimeError(f"no course folder at {course_root}: clone the course repository there first")
    changes: list[str] = []
    handed_back = 0
    for dirpath, dirnames, filenames in os.walk(course_root):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if (st.st_uid, st.st_gid) != (uid, gid):
                os.lchown(path, uid, gid)
                handed_back += 1
    if handed_back:
        changes.append(f"{handed_back} files and folders handed back to {grader}")
    _folder(course_root, 0o755, uid, gid, changes)
    for name in PRIVATE:
        _folder(os.path.join(course_root, name), 0o700, uid, gid, changes)
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exchange", help="the exchange root, e.g. /srv/nbgrader/exchange")
    parser.add_argument("course_root", help="the grader account's course folder, e.g. /home/grader-pyconc/pyconc")
    parser.add_argument("grader", help="the account that releases, collects and grades, e.g. grader-pyconc")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the course's checkout
    from tools.settings import COURSE_ID

    parser.add_argument("--course", default=COURSE_ID)
    args = parser.parse_args(argv)
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        parser.error("run as root: the folders belong to root and to the grader account")
    changes = prepare_exchange(args.exchange, args.course, args.grader)
    changes += lock_course_folder(args.course_root, args.grader)
    print("\n".join(changes or ["permissions already right"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
