"""Collecting submissions without following links.

nbgrader's collect copies each submission out of the exchange with
``shutil.copytree``, which follows symbolic links.  On a shared exchange a
student can put a link in their own submission (to /etc/shadow, say); whoever
collects, root on a class server, would then copy that file's content into
``submitted/``, and the student's code would read it while being graded and
print it into the feedback.  ``SafeCollect`` copies regular files and folders
only, opening each without following links, and names what it left out.
(nbgrader_config.py sets ``c.ExchangeFactory.collect`` to it, so the command
line and the Formgrader both use it.)
"""
from __future__ import annotations

import os
import shutil
import stat

from nbgrader.exchange.default.collect import ExchangeCollect
from grader.upstream import ignore_patterns


class SafeCollect(ExchangeCollect):
    def do_copy(self, src, dest, log=None):
        ignore = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                 max_file_size=self.coursedir.max_file_size, log=self.log)
        if self.get_size(src) > 1000 * self.coursedir.max_dir_size:
            self.log.error("Directory size is too big")
            raise RuntimeError(f"Directory size is too big: {src}")
        left_out = []
        os.makedirs(dest)
        for dirpath, dirnames, filenames in os.walk(src):  # (does not follow links)
            rel = os.path.relpath(dirpath, src)
            target = os.path.normpath(os.path.join(dest, rel))
            skip = set(ignore(dirpath, dirnames + filenames))
            for name in list(dirnames):
                path = os.path.join(dirpath, name)
                if name in skip or os.path.islink(path):
                    dirnames.remove(name)
                    if name not in skip:
                        left_out.append(os.path.join(rel, name))
                    continue
                os.mkdir(os.path.join(target, name))
            for name in filenames:
                if name in skip:
                    continue
                path = os.path.join(dirpath, name)
                if not stat.S_ISREG(os.lstat(path).st_mode):
                    left_out.append(os.path.join(rel, name))
                    continue
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
                except OSError:  # became a link since: leave it out
                    left_out.append(os.path.join(rel, name))
                    continue
                with os.fdopen(fd, "rb") as fh, open(os.path.join(target, name), "xb") as out:
                    shutil.copyfileobj(fh, out)
        if left_out:
            self.log.warning("Collecting %s: left out what is not a regular file or folder: %s",
                             src, ", ".join(sorted(left_out)))
