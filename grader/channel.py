"""The guard's report channel: authenticated records from the grading kernel.

The kernel's guard (grader.guard) writes one record per event to a pipe whose
reading end only the grader holds; each record carries a sequence number and an
HMAC-SHA256 over it with a key that exists only in the grader and inside the
guard's worker thread.  Student code can write to the pipe (it runs in the same
process), close it or fill it, but it cannot write a record the grader accepts:
anything that is not the next valid record breaks the channel, and a broken
channel is itself tampering (grader.execute).

A record is one line: ``<json>\\t<hex mac>\\n``.  Kinds:

* ``ready``   the guard is installed, before any student code ran;
* ``begin``   test cell ``test`` started, genuinely (its own code, in the
  notebook's namespace), with the findings of the check made then;
* ``end``     test cell ``test`` finished; ``passed`` says whether it raised;
* ``broken``  the guard saw something it cannot vouch for (``why``); it closes
  its end of the pipe after this record, so nothing later is trusted.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os

KEY_BYTES = 32
MAX_LINE = 64 * 1024


class Reader:
    """The grader's end: feed it bytes, it keeps the valid records in order and
    remembers why the channel broke, if it did."""

    def __init__(self, key: bytes):
        self._key = key
        self._buffer = b""
        self.records: list[dict] = []
        self.broken = ""       # why the channel cannot be trusted from here on
        self.closed = False    # the writing end was closed (EOF seen)

    def feed(self, data: bytes) -> None:
        if self.broken:
            return
        self._buffer += data
        while b"\n" in self._buffer and not self.broken:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self._take(line)
        if len(self._buffer) > MAX_LINE:
            self._break("an over-long line was written to the guard's channel")

    def _take(self, line: bytes) -> None:
        try:
            body, mac = line.decode().rsplit("\t", 1)
            good = hmac.compare_digest(mac, hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest())
            record = json.loads(body) if good else None
        except ValueError:
            good, record = False, None
        if not good or not isinstance(record, dict):
            self._break("something other than the guard wrote to the guard's channel")
        elif record.get("seq") != len(self.records):
            self._break("a record of the guard's channel is missing or repeated")
        else:
            self.records.append(record)
            if record.get("kind") == "broken":
                self._break(f"the guard stopped vouching: {record.get('why', '?')}")

    def _break(self, why: str) -> None:
        if not self.broken:
            self.broken = why

    def read_available(self, fd: int) -> None:
        """Read what the pipe holds now (the fd is non-blocking)."""
        while not self.closed:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError as exc:
                self._break(f"the guard's channel could not be read: {exc}")
                self.closed = True
                return
            if not data:
                self.closed = True
                return
            self.feed(data)
