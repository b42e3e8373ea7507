"""Support code for ps4 (read-only: do not edit).

Grading uses the original copy of this file.  It holds:

* the two types your parser uses: :class:`Request` and :class:`HTTPError`;
* WSGI apps that the tests serve (module-level functions and classes, so that a
  worker process started by *spawn* or *forkserver* can import them by name);
* clients that look at your server from outside, byte by byte:
  :class:`RawClient` (a socket that sends exactly the bytes it is given and reads
  responses as they come, several on one connection), :class:`SlowClient` (a
  request sent one byte every 100 ms), :func:`get` (one request on a new
  connection) and :func:`call_app` (a WSGI app called without any server, under
  ``wsgiref.validate``);
* for Part E, :func:`session_app` (shows the session) and :class:`Browser` (keeps cookies);
* :func:`eventually`, a bounded wait for a condition, and :func:`alive`.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus

try:
    import psutil
except ImportError:  # the tests that need it say so
    psutil = None

__all__ = [
    "Request", "HTTPError", "reason", "hello", "echo", "info", "stream", "sleepy", "Gate", "Crowd",
    "bottle_app", "RawClient", "Response", "SlowClient", "get", "call_app", "session_app", "Browser",
    "eventually", "alive",
]

_sleep = time.sleep          # this module's own: a test may replace time functions for a moment
_monotonic = time.monotonic


# --- the types of Part A ---------------------------------------------------------------------

@dataclass
class Request:
    """One parsed request.  ``headers`` is a list of ``(name, value)`` tuples of str, in the
    order they came, names as sent; ``body`` is bytes (a chunked body already decoded)."""
    method: str
    target: str
    version: str
    headers: list = field(default_factory=list)
    body: bytes = b""

    def header(self, name, default=None):
        """The value of the first header called `name` (any case), or `default`."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def values(self, name):
        """The values of every header called `name` (any case), in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


class HTTPError(Exception):
    """A request the server must refuse: ``status`` is the HTTP status code to answer with."""

    def __init__(self, status, detail=""):
        super().__init__(status, detail)
        self.status = status
        self.detail = detail

    def __str__(self):
        return f"{self.status} {reason(self.status)}" + (f": {self.detail}" if self.detail else "")


def reason(status):
    """The standard reason phrase of a status code: reason(404) == 'Not Found'."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


# --- WSGI apps the tests serve ---------------------------------------------------------------

def _query(environ):
    out = {}
    for pair in environ.get("QUERY_STRING", "").split("&"):
        key, _, value = pair.partition("=")
        if key:
            out[key] = value
    return out


def hello(environ, start_response):
    """200, 'hello' with a Content-Length."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def echo(environ, start_response):
    """The method, the path, the query and the body, as JSON with a Content-Length."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    data = json.dumps({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                       "query": environ.get("QUERY_STRING", ""), "body": body.decode("latin-1")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def info(environ, start_response):
    """The process id and the wsgi.* flags, as JSON; ?sleep=s waits s seconds first."""
    seconds = float(_query(environ).get("sleep", 0))
    if seconds:
        _sleep(seconds)
    data = json.dumps({"pid": os.getpid(), "multithread": environ.get("wsgi.multithread"),
                       "multiprocess": environ.get("wsgi.multiprocess")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def stream(environ, start_response):
    """No Content-Length: the body comes in the pieces ?parts=a,b,c (default: 'one,two,three')."""
    parts = _query(environ).get("parts", "one,two,three").split(",")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return (part.encode() for part in parts)


def sleepy(environ, start_response):
    """Sleeps ?s= seconds (default 60), then answers 'awake': a request that stays in flight."""
    _sleep(float(_query(environ).get("s", 60)))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"awake"]


class Gate:
    """An app whose requests wait until the test opens the gate (one process only).

    ``entered`` counts the requests that reached the app; ``wait_entered(n)`` waits until n
    have; ``open()`` lets every waiting request go on (and the later ones pass at once)."""

    def __init__(self, limit=30):
        self.limit = limit
        self._cond = threading.Condition()
        self._open = False
        self.entered = 0

    def __call__(self, environ, start_response):
        with self._cond:
            self.entered += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._open, self.limit)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
        return [b"passed"]

    def wait_entered(self, n, within=5.0):
        with self._cond:
            return self._cond.wait_for(lambda: self.entered >= n, within)

    def open(self):
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def close(self):
        """Requests that come from now on wait again."""
        with self._cond:
            self._open = False


class Crowd:
    """An app that records how many of its calls run at the same time (one process only).

    Each call stays in the app until `size` calls are in it together or `patience` s
    have passed; ``most`` is the largest number seen at once, ``met`` how many calls
    saw the whole crowd."""

    def __init__(self, size, patience=1.0):
        self.size, self.patience = size, patience
        self._cond = threading.Condition()
        self.inside = self.most = self.met = 0

    def __call__(self, environ, start_response):
        with self._cond:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self._cond.notify_all()
            if self._cond.wait_for(lambda: self.inside >= self.size, self.patience):
                self.met += 1
            self._cond.wait(0.05)  # let the others see the crowd too
            self.inside -= 1
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]


def bottle_app():
    """A small site written with Bottle (a WSGI framework): routes, a form, JSON, a 404."""
    import bottle

    app = bottle.Bottle()

    @app.route("/hello/<name>")
    def greet(name):
        return f"hello {name}"

    @app.post("/form")
    def form():
        return {"name": bottle.request.forms.get("name"), "n": int(bottle.request.forms.get("n", 0)) + 1}

    @app.route("/items")
    def items():
        bottle.response.set_header("X-Count", "3")
        return {"items": ["a", "b", "c"], "page": bottle.request.query.get("page", "1")}

    return app


# --- clients ------------------------------------------------------------------------------------

@dataclass
class Response:
    """One response as read from the wire."""
    status: int
    reason: str
    headers: list
    body: bytes
    chunked: bool        # the body came in chunked encoding
    raw: bytes           # the bytes of the whole response, as received

    def header(self, name, default=None):
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default


class RawClient:
    """A client socket that sends exactly the bytes it is given and reads responses as they come.

    ``response()`` reads one whole response (framed by Content-Length, chunked encoding,
    or the end of the connection), keeping what follows for the next call, so pipelined
    responses are read one by one.  Every read waits at most `timeout` seconds: a server
    that does not answer raises ``TimeoutError``, one that closes early ``ConnectionError``."""

    def __init__(self, address, timeout=5.0):
        self.sock = socket.create_connection(address, timeout=timeout)
        self.timeout = timeout
        self._buffer = b""
        self._log = []
        self.eof = False

    @classmethod
    def around(cls, sock, timeout=5.0):
        """A RawClient reading from an already connected socket."""
        client = cls.__new__(cls)
        client.sock, client.timeout, client._buffer, client._log, client.eof = sock, timeout, b"", [], False
        sock.settimeout(timeout)
        return client

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _more(self):
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError(f"no answer from the server within {self.timeout} s") from None
        if not data:
            self.eof = True
        self._buffer += data
        return data

    def _line(self):
        while b"\r\n" not in self._buffer:
            if not self._more():
                raise ConnectionError(f"the server closed the connection in the middle of a line: {self._buffer[:80]!r}")
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        self._log.append(line + b"\r\n")
        return line

    def _exactly(self, n):
        while len(self._buffer) < n:
            if not self._more():
                raise ConnectionError(f"the server closed the connection {n - len(self._buffer)} bytes before the end of the body")
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        self._log.append(data)
        return data

    def response(self, head=False):
        """Read the next response (`head`: it answers a HEAD request, so it has no body)."""
        self._log = []
        status_line = self._line().decode("latin-1")
        version, _, rest = status_line.partition(" ")
        code, _, phrase = rest.partition(" ")
        if not version.startswith("HTTP/") or not code.isdigit():
            raise ConnectionError(f"not an HTTP status line: {status_line!r}")
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        names = {n.lower(): v for n, v in headers}
        chunked = "chunked" in names.get("transfer-encoding", "").lower()
        if head or int(code) in (204, 304) or 100 <= int(code) < 200:
            body = b""
        elif chunked:
            parts = []
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                parts.append(self._exactly(size))
                if self._line():
                    raise ConnectionError("a chunk is not followed by CRLF")
            body = b"".join(parts)
        elif "content-length" in names:
            body = self._exactly(int(names["content-length"]))
        else:  # the body ends when the server closes the connection
            while self._more():
                pass
            body = self._exactly(len(self._buffer))
        return Response(int(code), phrase, headers, body, chunked, b"".join(self._log))

    def leftover(self, within=3.0):
        """What the server sends after the responses read so far, until it closes the connection
        or `within` s pass."""
        deadline = _monotonic() + within
        try:
            while not self.eof and _monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - _monotonic()))
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    break
                except OSError:
                    data = b""
                self.eof = not data
                self._buffer += data
        finally:
            self.sock.settimeout(self.timeout)
        data, self._buffer = self._buffer, b""
        return data

    def closed(self, within=3.0):
        """True if the server closes the connection (EOF) within `within` s, without sending more."""
        self.sock.settimeout(within)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    self.eof = True
                    return True
                self._buffer += data
                return False
        except socket.timeout:
            return False
        except OSError:
            return True  # reset by the server: closed too
        finally:
            self.sock.settimeout(self.timeout)


def get(address, path="/", method="GET", body=b"", headers=(), timeout=5.0):
    """One request on a new connection (with `Connection: close`); returns the Response."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {address[0]}:{address[1]}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    with RawClient(address, timeout) as client:
        client.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        return client.response(head=method == "HEAD")


class SlowClient(threading.Thread):
    """Sends `data` one byte every `every` seconds on its own connection (a daemon thread).

    ``sent`` counts the bytes sent so far; ``stop()`` ends it early."""

    def __init__(self, address, data, every=0.1):
        super().__init__(daemon=True, name="slow client")
        self.sock = socket.create_connection(address, timeout=5)
        self.data, self.every = data, every
        self.sent = 0
        self._stop_event = threading.Event()

    def run(self):
        try:
            for i in range(len(self.data)):
                if self._stop_event.wait(self.every):
                    return
                self.sock.sendall(self.data[i:i + 1])
                self.sent += 1
        except OSError:
            return

    def response(self, timeout=5.0):
        """The server's response, once the whole request is sent (read as RawClient does)."""
        self.join(timeout)
        return RawClient.around(self.sock, timeout).response()

    def stop(self):
        self._stop_event.set()
        self.join(2)
        self.sock.close()


def call_app(app, environ):
    """Call a WSGI app as a server would, with no socket, under ``wsgiref.validate``.

    Returns (status, headers, body); the app's result is closed."""
    from wsgiref.validate import validator

    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, list(headers)
        return lambda data: None

    result = validator(app)(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        result.close()
    return got.get("status"), got.get("headers"), body


# --- waiting and processes ----------------------------------------------------------------------

def eventually(check, within=5.0, every=0.02):
    """Call check() until it returns something truthy, at most `within` s; return its last value."""
    deadline = _monotonic() + within
    while True:
        value = check()
        if value or _monotonic() > deadline:
            return value
        _sleep(every)


def alive(pids):
    """The pids among `pids` whose process exists and is not a zombie."""
    if psutil is None:
        raise RuntimeError("psutil is needed for this test")
    live = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                live.append(pid)
        except psutil.Error:
            continue
    return live


# --- sessions (Part E) ----------------------------------------------------------------------------

def session_app(environ, start_response):
    """Shows the session: JSON {"session": ..., "id": ...}.  A test may put a function in
    environ["test.action"]; it is called with the environ first (to change the session)."""
    action = environ.get("test.action")
    if action is not None:
        action(environ)
    data = json.dumps({"session": environ.get("session"), "id": environ.get("session.id")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class Browser:
    """Calls a WSGI app (through :func:`call_app`) as a browser would: it keeps the cookies the
    responses set (a ``Max-Age=0`` deletes one) and sends them back in a ``Cookie`` header."""

    def __init__(self):
        self.cookies = {}
        self.set_cookies = []     # the Set-Cookie headers of the last response

    def request(self, app, action=None, scheme="http", path="/"):
        """One GET; returns (status, headers, JSON of the body or the raw body)."""
        from wsgiref.util import setup_testing_defaults

        environ = {"SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "", "wsgi.url_scheme": scheme}
        if scheme == "https":
            environ["HTTPS"] = "on"
        setup_testing_defaults(environ)
        if self.cookies:
            environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if action is not None:
            environ["test.action"] = action
        status, headers, body = call_app(app, environ)
        self.set_cookies = [v for k, v in headers if k.lower() == "set-cookie"]
        for header in self.set_cookies:
            name, _, rest = header.partition("=")
            value, *attributes = rest.split(";")
            if any(a.strip().lower() == "max-age=0" for a in attributes):
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()
        try:
            return status, headers, json.loads(body)
        except ValueError:
            return status, headers, body
