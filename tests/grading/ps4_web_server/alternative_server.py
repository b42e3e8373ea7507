"""webserver.py: a different correct design (a thread per connection, a semaphore around the app)."""
import base64
import hashlib
import hmac
import json
import multiprocessing
import os
import secrets
import selectors
import signal
import socket
import sys
import threading
import time
from io import BytesIO
from urllib.parse import unquote

from webtools import HTTPError, Request, reason

TCHAR = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _token(text):
    return bool(text) and all(c in TCHAR for c in text)


class RequestParser:
    """A state machine: head -> body | chunk size -> chunk data -> ... -> trailer -> head."""

    def __init__(self, *, max_header_bytes=16384, max_body_bytes=1048576):
        self.max_header_bytes, self.max_body_bytes = max_header_bytes, max_body_bytes
        self.data = b""
        self.state = "head"
        self.request = None
        self.need = 0
        self.body = []
        self.size = 0

    def feed(self, data):
        self.data += data
        out = []
        while True:
            step = getattr(self, "_" + self.state)()
            if step is None:
                return out
            if step is not True:
                out.append(step)

    def _head(self):
        if b"\r\n\r\n" not in self.data:
            if len(self.data) > self.max_header_bytes:
                raise HTTPError(431)
            return None
        head, self.data = self.data.split(b"\r\n\r\n", 1)
        if len(head) + 4 > self.max_header_bytes:
            raise HTTPError(431)
        first, *lines = head.decode("latin-1").split("\r\n")
        words = first.split(" ")
        if (len(words) != 3 or not _token(words[0]) or words[1] == "" or len(words[2]) != 8
                or not words[2].startswith("HTTP/") or not words[2][5].isdigit() or words[2][6] != "."
                or not words[2][7].isdigit() or not words[2].isascii()):
            raise HTTPError(400)
        headers = []
        for line in lines:
            if ":" not in line:
                raise HTTPError(400)
            name, value = line.split(":", 1)
            if not _token(name):
                raise HTTPError(400)
            headers.append((name, value.strip(" \t")))
        self.request = Request(words[0], words[1], words[2], headers, b"")
        coding = ",".join(v for k, v in headers if k.lower() == "transfer-encoding")
        length = ",".join(v for k, v in headers if k.lower() == "content-length")
        if coding and length:
            raise HTTPError(400)
        if coding:
            if [c.strip().lower() for c in coding.split(",")] != ["chunked"]:
                raise HTTPError(501)
            self.body, self.size, self.state = [], 0, "chunk_size"
            return True
        if length:
            values = {v.strip() for v in length.split(",")}
            value = values.pop()
            if values or not (value.isascii() and value.isdigit()):
                raise HTTPError(400)
            self.need = int(value)
            if self.need > self.max_body_bytes:
                raise HTTPError(413)
            self.state = "body"
            return True
        return self._done(b"")

    def _done(self, body):
        request, self.request = self.request, None
        request.body = body
        self.state = "head"
        return request

    def _body(self):
        if len(self.data) < self.need:
            return None
        body, self.data = self.data[:self.need], self.data[self.need:]
        return self._done(body)

    def _chunk_size(self):
        if b"\r\n" not in self.data:
            return None
        line, self.data = self.data.split(b"\r\n", 1)
        text = line.split(b";")[0].strip().decode("latin-1")
        if not text or any(c not in "0123456789abcdefABCDEF" for c in text):
            raise HTTPError(400)
        self.need = int(text, 16)
        self.size += self.need
        if self.size > self.max_body_bytes:
            raise HTTPError(413)
        self.state = "trailer" if self.need == 0 else "chunk_data"
        return True

    def _chunk_data(self):
        if len(self.data) < self.need + 2:
            return None
        if self.data[self.need:self.need + 2] != b"\r\n":
            raise HTTPError(400)
        self.body.append(self.data[:self.need])
        self.data = self.data[self.need + 2:]
        self.state = "chunk_size"
        return True

    def _trailer(self):
        if b"\r\n" not in self.data:
            return None
        line, self.data = self.data.split(b"\r\n", 1)
        return self._done(b"".join(self.body)) if line == b"" else True


def make_environ(request, client, server):
    path, query = (request.target.split("?", 1) + [""])[:2]
    environ = dict(
        REQUEST_METHOD=request.method, SCRIPT_NAME="", PATH_INFO=unquote(path, encoding="latin-1"),
        QUERY_STRING=query, CONTENT_TYPE="", CONTENT_LENGTH=f"{len(request.body)}", SERVER_NAME=server[0],
        SERVER_PORT=f"{server[1]}", SERVER_PROTOCOL=request.version, REMOTE_ADDR=client[0])
    environ.update({"wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": BytesIO(request.body),
                    "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
                    "wsgi.run_once": False})
    for name, value in request.headers:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ[key] = value
        elif key != "CONTENT_LENGTH":
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class _Body:
    """The rest of an app's body; closes the app's result exactly once."""

    def __init__(self, first, rest, result):
        self.first, self.rest, self.result, self.closed = first, rest, result, False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            if self.first is not None:
                piece, self.first = self.first, None
                return piece
            return next(self.rest)
        except BaseException:
            self.close()
            raise

    def close(self):
        if not self.closed:
            self.closed = True
            if hasattr(self.result, "close"):
                self.result.close()


def run_app(app, environ):
    box = {"status": None, "headers": None, "sent": False, "out": []}

    def start_response(status, headers, exc_info=None):
        if exc_info is not None:
            if box["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
        elif box["status"] is not None:
            raise RuntimeError("start_response called twice")
        box["status"], box["headers"] = status, list(headers)
        return box["out"].append

    def pieces(result):
        for piece in result:
            while box["out"]:
                yield box["out"].pop(0)
            if piece:
                yield piece
        while box["out"]:
            yield box["out"].pop(0)

    result = None
    try:
        result = app(environ, start_response)
        out = box["out"]
        rest = pieces(result)
        first = out.pop(0) if out else next(rest, None)
        while first == b"":
            first = next(rest, None)
        if box["status"] is None:
            raise RuntimeError("start_response was not called")
    except Exception:
        if hasattr(result, "close"):
            result.close()
        return "500 Internal Server Error", [("Content-Length", "0")], iter([])
    box["sent"] = True
    return box["status"], box["headers"], _Body(first, rest, result)


class Server:
    def __init__(self, app, host="127.0.0.1", port=0, *, workers=1, threads=8, start_method=None):
        if workers < 1:
            raise ValueError("workers < 1")
        if threads < 1:
            raise ValueError("threads < 1")
        self.app, self.workers, self.threads, self.start_method = app, workers, threads, start_method
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(512)
        self.address = self.listener.getsockname()
        self.stop_r, self.stop_w = os.pipe()
        self.state = "new"
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.deadline = 0.0
        self.children = []

    @property
    def pids(self):
        with self.lock:
            return [p.pid for p in self.children if p.is_alive()]

    def serve_forever(self):
        with self.lock:
            if self.state != "new":
                return
            self.state = "serving"
        try:
            if self.workers == 1:
                _serve(self.app, self.listener, self.threads, False, self.stop_r, lambda: self.deadline)
            else:
                self._master()
        finally:
            self.listener.close()
            self.done.set()

    def _spawn(self, ctx):
        p = ctx.Process(target=_child, args=(self.app, self.listener, self.threads), daemon=True)
        p.start()
        with self.lock:
            self.children.append(p)

    def _master(self):
        ctx = multiprocessing.get_context(self.start_method)
        for _ in range(self.workers):
            self._spawn(ctx)
        sel = selectors.DefaultSelector()
        sel.register(self.stop_r, selectors.EVENT_READ)
        while True:
            with self.lock:
                watching = {p.sentinel: p for p in self.children}
            for s in watching:
                sel.register(s, selectors.EVENT_READ)
            events = sel.select()
            for s in watching:
                sel.unregister(s)
            if any(key.fileobj == self.stop_r for key, _ in events):
                break
            for key, _ in events:
                p = watching[key.fileobj]
                p.join()
                with self.lock:
                    self.children.remove(p)
                self._spawn(ctx)
        sel.close()
        with self.lock:
            children = list(self.children)
        for p in children:
            p.terminate()       # SIGTERM: the worker stops accepting and finishes what it has
        for p in children:
            p.join(max(0.0, self.deadline - time.monotonic() - 0.3))
            if p.is_alive():
                p.kill()
                p.join()
        with self.lock:
            self.children.clear()

    def shutdown(self, timeout=5.0):
        with self.lock:
            previous, self.state = self.state, "stopped"
            if previous == "serving":
                self.deadline = time.monotonic() + timeout
        if previous == "serving":
            os.write(self.stop_w, b"x")
            self.done.wait(max(0.0, self.deadline - time.monotonic()))
        elif previous == "new":
            self.listener.close()

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.shutdown()


def _child(app, listener, threads):
    r, w = os.pipe()
    os.set_blocking(w, False)
    stop = {"at": None}

    def on_term(signum, frame):
        stop["at"] = time.monotonic() + 4.5

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, on_term)
    signal.set_wakeup_fd(w)
    _serve(app, listener, threads, True, r, lambda: stop["at"] or time.monotonic())


def _serve(app, listener, threads, multiprocess, stop_fd, deadline):
    """Accept until stop_fd is readable; a thread per connection; at most `threads` in the app."""
    state = {"open": set(), "busy": 0, "stopping": False}
    lock = threading.Condition()
    gate = threading.BoundedSemaphore(threads)
    address = listener.getsockname()
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    sel.register(stop_fd, selectors.EVENT_READ)
    while True:
        if any(key.fileobj == stop_fd for key, _ in sel.select()):
            break
        try:
            sock, peer = listener.accept()
        except (BlockingIOError, InterruptedError):
            continue
        sock.setblocking(True)
        with lock:
            state["open"].add(sock)
        threading.Thread(target=_connection, args=(app, sock, peer, address, multiprocess, gate, state, lock),
                         daemon=True).start()
    sel.close()
    listener.close()
    with lock:
        state["stopping"] = True
        for sock in state["open"]:
            try:
                sock.shutdown(socket.SHUT_RD)   # wakes the threads waiting in recv() on idle connections
            except OSError:
                pass
        lock.wait_for(lambda: state["busy"] == 0, max(0.0, deadline() - time.monotonic()))


def _connection(app, sock, peer, address, multiprocess, gate, state, lock):
    parser = RequestParser()
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            try:
                requests = parser.feed(data)
            except HTTPError as exc:
                sock.sendall(f"HTTP/1.1 {exc.status} {reason(exc.status)}\r\nConnection: close\r\n"
                             f"Content-Length: 0\r\n\r\n".encode())
                return
            for request in requests:
                with lock:
                    if state["stopping"]:
                        return
                    state["busy"] += 1
                try:
                    with gate:
                        again = _answer(app, sock, request, peer, address, multiprocess, state)
                finally:
                    with lock:
                        state["busy"] -= 1
                        lock.notify_all()
                if not again:
                    return
    except OSError:
        return
    finally:
        with lock:
            state["open"].discard(sock)
        sock.close()


def _answer(app, sock, request, peer, address, multiprocess, state):
    environ = make_environ(request, peer, address)
    environ["wsgi.multiprocess"] = multiprocess
    status, headers, body = run_app(app, environ)
    connection = ",".join(v for k, v in request.headers if k.lower() == "connection").lower()
    again = "close" not in [t.strip() for t in connection.split(",")] and not state["stopping"]
    length = any(k.lower() == "content-length" for k, _ in headers)
    head = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers]
    if not length and request.method != "HEAD":
        head.append("Transfer-Encoding: chunked")
    if not again:
        head.append("Connection: close")
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    try:
        for piece in body:
            if request.method == "HEAD":
                continue
            sock.sendall(piece if length else b"%x\r\n" % len(piece) + piece + b"\r\n")
    finally:
        body.close()
    if not length and request.method != "HEAD":
        sock.sendall(b"0\r\n\r\n")
    return again


class _Session(dict):
    """A dict that remembers whether it was changed (as Flask's session does)."""

    changed = False

    def __setitem__(self, key, value):
        self.changed = True
        super().__setitem__(key, value)

    def __delitem__(self, key):
        self.changed = True
        super().__delitem__(key)

    def update(self, *args, **kwargs):
        self.changed = True
        super().update(*args, **kwargs)

    def pop(self, *args):
        self.changed = True
        return super().pop(*args)

    def clear(self):
        self.changed = True
        super().clear()

    def setdefault(self, key, default=None):
        if key not in self:
            self.changed = True
        return super().setdefault(key, default)


def _b64(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class SessionMiddleware:
    def __init__(self, app, secret, *, max_age, cookie="session"):
        self.app, self.secret, self.max_age, self.cookie = app, secret, max_age, cookie

    def rotate(self, environ):
        environ["session.id"] = secrets.token_hex(16)

    def _mac(self, payload):
        return _b64(hmac.digest(self.secret, payload.encode(), "sha256"))

    def _read(self, header):
        jar = {}
        for item in header.split(";"):
            if "=" in item:
                k, v = item.split("=", 1)
                jar.setdefault(k.strip(), v.strip())
        value = jar.get(self.cookie, "")
        if value.count(".") < 1:
            return None
        payload, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(self._mac(payload).encode(), mac.encode()):
            return None
        try:
            sid, issued, data = json.loads(base64.urlsafe_b64decode(payload + "=="))
        except (ValueError, TypeError):
            return None
        if time.time() > issued + self.max_age:
            return None
        return sid, data

    def __call__(self, environ, start_response):
        found = self._read(environ.get("HTTP_COOKIE", ""))
        sid, data = found or (secrets.token_hex(16), {})
        session = _Session(data)
        environ["session"], environ["session.id"] = session, sid

        def start(status, headers, exc_info=None):
            current = environ["session"]
            if environ["session.id"] != sid or getattr(current, "changed", True):
                payload = _b64(json.dumps([environ["session.id"], time.time(), dict(current)]).encode())
                cookie = f"{self.cookie}={payload}.{self._mac(payload)}; Path=/; Max-Age={self.max_age}; HttpOnly; SameSite=Lax"
                if environ.get("wsgi.url_scheme") == "https":
                    cookie += "; Secure"
                headers = list(headers) + [("Set-Cookie", cookie)]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)
