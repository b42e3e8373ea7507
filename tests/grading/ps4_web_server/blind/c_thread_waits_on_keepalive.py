# breaks: C4, C6, D3
# why: After answering, the pool thread keeps the keep-alive connection and blocks in recv for its next request instead of giving it back to the selector, so idle keep-alive connections hold every thread (and shutdown cannot close them).
# %% webserver_solution
%%writefile webserver.py
"""webserver.py: an HTTP/1.1 server for WSGI applications, with worker processes and signed sessions."""
import base64
import hashlib
import hmac
import io
import json
import multiprocessing
import os
import queue
import secrets
import selectors
import signal
import socket
import sys
import threading
import time
from urllib.parse import unquote_to_bytes

from webtools import HTTPError, Request, reason

import collections
import math
import multiprocessing.connection
import re

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]")
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]+")


# --- Part A: parsing ---------------------------------------------------------------------------

class RequestParser:
    """Turns the bytes of a connection, in pieces of any size, into Requests."""

    def __init__(self, *, max_header_bytes=16384, max_body_bytes=1048576):
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self._buffer = b""
        self._next_request()

    def feed(self, data):
        """Add `data`; return the list of the requests it completes (raise HTTPError for bad input)."""
        self._buffer += bytes(data)
        complete = []
        while self._advance(complete):
            pass
        return complete

    def _next_request(self):
        self._state = "start"       # start, headers, body, size, chunk, trailer
        self._head_size = 0         # bytes of the request line and headers so far
        self._start = None
        self._headers = []
        self._wanted = 0            # bytes of body (or of the current chunk) still to come
        self._body = []
        self._body_size = 0

    def _take_line(self):
        end = self._buffer.find(b"\r\n")
        if end < 0:
            return None
        line, self._buffer = self._buffer[:end], self._buffer[end + 2:]
        return line

    def _advance(self, complete):
        """One step of the state machine; False when it needs more bytes."""
        state = self._state
        if state in ("start", "headers"):
            line = self._take_line()
            if line is None:
                if self._head_size + len(self._buffer) > self.max_header_bytes:
                    raise HTTPError(431, "the request line and headers are too long")
                return False
            self._head_size += len(line) + 2
            if self._head_size > self.max_header_bytes:
                raise HTTPError(431, "the request line and headers are too long")
            text = line.decode("latin-1")
            if state == "start":
                self._request_line(text)
            elif text:
                self._header_line(text)
            else:
                self._end_of_headers(complete)
            return True
        if state == "body":
            if len(self._buffer) < self._wanted:
                return False
            self._body.append(self._buffer[:self._wanted])
            self._buffer = self._buffer[self._wanted:]
            self._finish(complete)
            return True
        if state == "size":
            line = self._take_line()
            if line is None:
                if len(self._buffer) > self.max_header_bytes:
                    raise HTTPError(400, "a chunk size line is too long")
                return False
            size = line.split(b";", 1)[0].strip(b" \t")
            if not _HEX.fullmatch(size):
                raise HTTPError(400, f"bad chunk size {size!r}")
            size = int(size, 16)
            self._body_size += size
            if self._body_size > self.max_body_bytes:
                raise HTTPError(413, "the body is too long")
            if size:
                self._wanted, self._state = size, "chunk"
            else:
                self._state = "trailer"
            return True
        if state == "chunk":
            if len(self._buffer) < self._wanted + 2:
                return False
            if self._buffer[self._wanted:self._wanted + 2] != b"\r\n":
                raise HTTPError(400, "a chunk should end with CRLF")
            self._body.append(self._buffer[:self._wanted])
            self._buffer = self._buffer[self._wanted + 2:]
            self._state = "size"
            return True
        # the trailer: lines up to an empty one, read and ignored
        line = self._take_line()
        if line is None:
            if len(self._buffer) > self.max_header_bytes:
                raise HTTPError(431, "a trailer line is too long")
            return False
        if not line:
            self._finish(complete)
        return True

    def _request_line(self, text):
        parts = text.split(" ")
        if len(parts) != 3:
            raise HTTPError(400, f"bad request line {text!r}")
        method, target, version = parts
        if not _TOKEN.fullmatch(method) or not target or not _VERSION.fullmatch(version):
            raise HTTPError(400, f"bad request line {text!r}")
        self._start = (method, target, version)
        self._state = "headers"

    def _header_line(self, text):
        name, colon, value = text.partition(":")
        if not colon or not _TOKEN.fullmatch(name):
            raise HTTPError(400, f"bad header line {text!r}")
        self._headers.append((name, value.strip(" \t")))

    def _end_of_headers(self, complete):
        lengths = [v for n, v in self._headers if n.lower() == "content-length"]
        codings = [v for n, v in self._headers if n.lower() == "transfer-encoding"]
        if lengths and codings:
            raise HTTPError(400, "both Content-Length and Transfer-Encoding")
        if codings:
            names = [c.strip(" \t").lower() for v in codings for c in v.split(",")]
            if [c for c in names if c] != ["chunked"]:
                raise HTTPError(501, f"transfer coding {', '.join(codings)!r}")
            self._state = "size"
            return
        if lengths:
            if not all(_DIGITS.fullmatch(v) for v in lengths) or len({int(v) for v in lengths}) > 1:
                raise HTTPError(400, f"bad Content-Length {lengths!r}")
            size = int(lengths[0])
            if size > self.max_body_bytes:
                raise HTTPError(413, "the body is too long")
            if size:
                self._wanted, self._state = size, "body"
                return
        self._finish(complete)

    def _finish(self, complete):
        method, target, version = self._start
        complete.append(Request(method, target, version, self._headers, b"".join(self._body)))
        self._next_request()


# --- Part B: the WSGI contract ------------------------------------------------------------------

def make_environ(request, client, server):
    """The WSGI environ of `request`; client and server are (host, port) pairs."""
    path, _, query = request.target.partition("?")
    environ = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path.encode("latin-1")).decode("latin-1"),
        "QUERY_STRING": query,
        "CONTENT_TYPE": request.header("Content-Type", ""),
        "CONTENT_LENGTH": str(len(request.body)),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": request.version,
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
    }
    for name, value in request.headers:
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            continue
        key = "HTTP_" + key
        environ[key] = environ[key] + "," + value if key in environ else value
    environ.update({
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    })
    return environ


class _Exchange:
    """What the app told start_response and write, for one call of run_app."""

    def __init__(self):
        self.status = None
        self.headers = None
        self.sent = False        # the headers count as sent
        self.error = False       # start_response was misused
        self.queue = collections.deque()   # body pieces not yet taken

    def start_response(self, status, headers, exc_info=None):
        if exc_info:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            self.error = True
            raise AssertionError("start_response called a second time without exc_info")
        self.status, self.headers = status, list(headers)
        return self.write

    def write(self, data):
        if self.status is None:
            self.error = True
            raise AssertionError("write() before start_response()")
        if data:
            self.sent = True
            self.queue.append(bytes(data))


class _Body:
    """The body's pieces: an iterator with close() that closes the app's result exactly once."""

    def __init__(self, queue, result):
        self._queue = queue
        self._result = result
        self._iterator = None
        self._ended = False

    def __iter__(self):
        return self

    def _pull(self):
        """Take one piece from the app's iterable (into the queue); closes the result at its end."""
        try:
            if self._iterator is None:
                self._iterator = iter(self._result)
            piece = next(self._iterator)
        except StopIteration:
            self._end()
            return
        except BaseException:
            self._end()
            raise
        if piece:
            self._queue.append(piece)

    def __next__(self):
        while not self._queue:
            if self._ended:
                raise StopIteration
            self._pull()
        return self._queue.popleft()

    def _end(self):
        if not self._ended:
            self._ended = True
            close = getattr(self._result, "close", None)
            if close is not None:
                close()

    def close(self):
        self._queue.clear()
        self._end()


class _Failing:
    """An iterable that raises `error` (the app failed after its headers counted as sent)."""

    def __init__(self, error):
        self.error = error

    def __iter__(self):
        raise self.error


_ERROR_BODY = b"Internal Server Error\n"


def _internal_error():
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(_ERROR_BODY)))]
    body = _Body(collections.deque(), [_ERROR_BODY])
    return "500 Internal Server Error", headers, body


def run_app(app, environ):
    """Call a WSGI app; return (status, headers, chunks), chunks an iterator of the body's bytes."""
    exchange = _Exchange()
    try:
        result = app(environ, exchange.start_response)
    except Exception as exc:
        if exchange.sent and not exchange.error:
            return exchange.status, exchange.headers, _Body(exchange.queue, _Failing(exc))
        return _internal_error()
    body = _Body(exchange.queue, result)
    try:
        while not exchange.queue and not body._ended:
            body._pull()
    except Exception as exc:
        if exchange.sent and not exchange.error:
            body._result, body._ended = _Failing(exc), False
            body._iterator = None
            return exchange.status, exchange.headers, body
        body.close()
        return _internal_error()
    if exchange.status is None or exchange.error:
        body.close()
        return _internal_error()
    exchange.sent = True
    return exchange.status, exchange.headers, body


# --- Parts C and D: the server ------------------------------------------------------------------

def _close_quietly(sock):
    """Close a connection without resetting it: FIN first, then drop what the client sent."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    try:
        sock.setblocking(False)
        for _ in range(16):
            if not sock.recv(65536):
                break
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def _refusal(error):
    """The bytes of the response to a request the parser refused."""
    phrase = reason(error.status)
    body = f"{error.status} {phrase}\n".encode()
    head = (f"HTTP/1.1 {error.status} {phrase}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode("latin-1") + body


class _Connection:
    def __init__(self, sock, client):
        self.sock = sock
        self.client = client
        self.parser = RequestParser()
        self.pending = collections.deque()   # requests (or an HTTPError) to answer, in order

    def close(self):
        _close_quietly(self.sock)


class _Core:
    """One process's serving: a selector thread that watches the listening socket and the idle
    connections, and a pool of `threads` threads that answer complete requests."""

    def __init__(self, app, listener, address, threads, multiprocess):
        self.app, self.listener, self.address = app, listener, address
        self.threads, self.multiprocess = threads, multiprocess
        self.jobs = queue.SimpleQueue()        # connections with complete requests
        self.returned = queue.SimpleQueue()    # keep-alive connections given back by the pool
        self.lock = threading.Lock()
        self.busy = set()
        self.stopping = False
        self.closing = False                   # set under lock: the pool gives nothing back now
        self.deadline = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    def wake(self):
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    def stop(self, deadline=None):
        """Ask run() to stop (safe in a signal handler: no lock)."""
        self.deadline = deadline
        self.stopping = True
        self.wake()

    def run(self, parent=None):
        self.listener.setblocking(False)
        selector = selectors.DefaultSelector()
        pool = [threading.Thread(target=self._work, name="webserver pool", daemon=True) for _ in range(self.threads)]
        for thread in pool:
            thread.start()
        try:
            selector.register(self.listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self.stopping:
                for key, _ in selector.select(timeout=1.0):
                    if key.fileobj is self.listener:
                        self._accept(selector)
                    elif key.fileobj is self._wake_r:
                        self._drain_wake()
                    else:
                        self._read(selector, key.data)
                self._take_back(selector)
                if parent is not None and os.getppid() != parent:
                    self.stopping = True
        finally:
            self._wind_down(selector, pool)

    def _wind_down(self, selector, pool):
        try:
            selector.unregister(self.listener)
        except (KeyError, ValueError):
            pass
        self.listener.close()
        with self.lock:
            self.closing = True
        self._take_back(selector)
        for key in list(selector.get_map().values()):
            if isinstance(key.data, _Connection):
                selector.unregister(key.fileobj)
                key.data.close()
        for _ in pool:
            self.jobs.put(None)
        for thread in pool:
            left = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
            thread.join(left)
        with self.lock:
            abandoned = list(self.busy)
        for conn in abandoned:
            conn.close()
        selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _drain_wake(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _accept(self, selector):
        for _ in range(64):
            try:
                sock, client = self.listener.accept()
            except OSError:
                return
            sock.settimeout(30)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            selector.register(sock, selectors.EVENT_READ, _Connection(sock, client))

    def _read(self, selector, conn):
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError, socket.timeout):
            return
        except OSError:
            data = b""
        if not data:
            selector.unregister(conn.sock)
            conn.close()
            return
        try:
            requests = conn.parser.feed(data)
        except HTTPError as error:
            requests = [error]
        if requests:
            conn.pending.extend(requests)
            selector.unregister(conn.sock)
            with self.lock:
                self.busy.add(conn)
            self.jobs.put(conn)

    def _take_back(self, selector):
        while True:
            try:
                conn = self.returned.get_nowait()
            except queue.Empty:
                return
            if self.closing:
                conn.close()
            else:
                selector.register(conn.sock, selectors.EVENT_READ, conn)

    def _work(self):
        while True:
            conn = self.jobs.get()
            if conn is None:
                return
            try:
                keep = self._serve(conn)
            except Exception:
                keep = False
            with self.lock:
                self.busy.discard(conn)
                give_back = keep and not self.stopping and not self.closing
                if give_back:
                    self.returned.put(conn)
            if give_back:
                self.wake()
            else:
                conn.close()

    def _serve(self, conn):
        """Answer the connection's pending requests in order; True to keep it open."""
        while conn.pending:
            if self.stopping:
                return False
            item = conn.pending.popleft()
            if isinstance(item, HTTPError):
                conn.sock.sendall(_refusal(item))
                return False
            if self._respond(conn, item):
                return False
            if not conn.pending:
                data = conn.sock.recv(65536)
                if not data:
                    return False
                try:
                    conn.pending.extend(conn.parser.feed(data))
                except HTTPError as error:
                    conn.pending.append(error)
        return True

    def _respond(self, conn, request):
        """Run the app for one request and send its response; True if the connection must close."""
        environ = make_environ(request, conn.client, self.address)
        environ["wsgi.multiprocess"] = self.multiprocess
        status, headers, chunks = run_app(self.app, environ)
        try:
            tokens = {t.strip().lower() for v in request.values("Connection") for t in v.split(",")}
            close = "close" in tokens or any(k.lower() == "connection" and v.strip().lower() == "close"
                                             for k, v in headers)
            names = {k.lower() for k, _ in headers}
            code = int(status.split(" ", 1)[0])
            no_body = code < 200 or code in (204, 304)
            chunked = "content-length" not in names and not no_body
            lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers]
            if chunked:
                lines.append("Transfer-Encoding: chunked")
            if close and "connection" not in names:
                lines.append("Connection: close")
            out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            if request.method != "HEAD" and not no_body:
                for piece in chunks:
                    if not piece:
                        continue
                    out += b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                    conn.sock.sendall(out)
                    out = b""
                if chunked:
                    out += b"0\r\n\r\n"
            if out:
                conn.sock.sendall(out)
            return close
        finally:
            chunks.close()


def _worker_main(app, listener, address, threads):
    """A worker process: serve on the shared socket until SIGTERM (or the parent goes away)."""
    core = _Core(app, listener, address, threads, multiprocess=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: core.stop())
    core.run(parent=os.getppid())


class Server:
    """An HTTP/1.1 server for a WSGI app: Server(app, host, port, *, workers=1, threads=8, start_method=None)."""

    def __init__(self, app, host="127.0.0.1", port=0, *, workers=1, threads=8, start_method=None):
        if workers < 1 or threads < 1:
            raise ValueError(f"workers and threads should be at least 1, not {workers} and {threads}")
        self.app, self.workers, self.threads, self.start_method = app, workers, threads, start_method
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind((host, port))
            self._socket.listen(socket.SOMAXCONN)
        except BaseException:
            self._socket.close()
            raise
        self.address = self._socket.getsockname()[:2]
        self._lock = threading.Lock()
        self._state = "new"                 # new, serving, stopped
        self._done = threading.Event()
        self._procs = []
        self._procs_lock = threading.Lock()
        self._deadline = None
        self._stopping = threading.Event()
        self._core = _Core(app, self._socket, self.address, threads, False) if workers == 1 else None
        self._wake_r, self._wake_w = socket.socketpair() if workers > 1 else (None, None)

    @property
    def pids(self):
        """The pids of the live worker processes ([] when workers == 1)."""
        with self._procs_lock:
            return [p.pid for p in self._procs if p.is_alive()]

    def serve_forever(self):
        """Serve until shutdown() is called."""
        with self._lock:
            if self._state != "new":
                return
            self._state = "serving"
        try:
            if self._core is not None:
                self._core.run()
            else:
                self._supervise()
        finally:
            self._socket.close()
            self._done.set()

    def shutdown(self, timeout=5.0):
        """Stop accepting, finish the requests in flight, close idle connections; return within timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            state, self._state = self._state, "stopped"
        if state == "stopped":
            return
        if state == "new":
            self._socket.close()
            if self._wake_r is not None:
                self._wake_r.close()
                self._wake_w.close()
            return
        inner = deadline - min(0.25, timeout / 5)
        if self._core is not None:
            self._core.stop(inner)
        else:
            self._deadline = inner
            self._stopping.set()
            try:
                self._wake_w.send(b"\0")
            except OSError:
                pass
        self._done.wait(max(0.0, deadline - time.monotonic()))

    def __enter__(self):
        threading.Thread(target=self.serve_forever, name="webserver", daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.shutdown()

    def _supervise(self):
        """Workers > 1: keep `workers` processes serving the shared socket; replace the dead."""
        context = multiprocessing.get_context(self.start_method)
        try:
            while not self._stopping.is_set():
                with self._procs_lock:
                    for proc in [p for p in self._procs if not p.is_alive()]:
                        proc.join()
                        self._procs.remove(proc)
                    while len(self._procs) < self.workers and not self._stopping.is_set():
                        proc = context.Process(target=_worker_main, name="webserver worker", daemon=True,
                                               args=(self.app, self._socket, self.address, self.threads))
                        proc.start()
                        self._procs.append(proc)
                    sentinels = [p.sentinel for p in self._procs]
                multiprocessing.connection.wait(sentinels + [self._wake_r], timeout=1.0)
                self._wake_r.setblocking(False)
                try:
                    while self._wake_r.recv(4096):
                        pass
                except OSError:
                    pass
        finally:
            self._stop_workers()

    def _stop_workers(self):
        with self._procs_lock:
            procs = list(self._procs)
        for proc in procs:
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except (OSError, TypeError):
                pass
        deadline = self._deadline if self._deadline is not None else time.monotonic() + 5.0
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
        for proc in procs:
            if proc.is_alive():
                proc.kill()
        for proc in procs:
            proc.join(2)
        with self._procs_lock:
            self._procs = []
        self._wake_r.close()
        self._wake_w.close()


# --- Part E: signed sessions ---------------------------------------------------------------------

def _new_session_id():
    return secrets.token_urlsafe(24)


def _cookie_value(header, name):
    """The value of the first cookie called `name` in a Cookie header, or None."""
    for part in header.split(";"):
        key, eq, value = part.strip().partition("=")
        if eq and key.strip() == name:
            return value.strip()
    return None


class SessionMiddleware:
    """Keeps environ["session"] (a dict) in a signed cookie: SessionMiddleware(app, secret, *, max_age, cookie="session")."""

    def __init__(self, app, secret, *, max_age, cookie="session"):
        self.app = app
        self.secret = secret if isinstance(secret, bytes) else str(secret).encode("utf-8")
        self.max_age = max_age
        self.cookie = cookie
        self._key = f"webserver.session.{cookie}"

    def __call__(self, environ, start_response):
        loaded = self._load(environ.get("HTTP_COOKIE", ""))
        sid, data = loaded if loaded is not None else (_new_session_id(), {})
        environ["session"] = data
        environ["session.id"] = sid
        before = json.dumps(data)
        state = environ[self._key] = {"rotated": False}

        def start(status, headers, exc_info=None):
            if state["rotated"] or json.dumps(environ.get("session")) != before:
                headers = list(headers) + [("Set-Cookie", self._set_cookie(environ))]
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)

    def rotate(self, environ):
        """Give this request's session a new identity (its data stays)."""
        environ["session.id"] = _new_session_id()
        environ.setdefault(self._key, {})["rotated"] = True

    def _sign(self, payload):
        return hmac.new(self.secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()

    def _set_cookie(self, environ):
        content = {"id": environ["session.id"], "data": environ.get("session"), "t": time.time()}
        payload = base64.urlsafe_b64encode(json.dumps(content, separators=(",", ":")).encode("utf-8")).decode("ascii")
        parts = [f"{self.cookie}={payload}.{self._sign(payload)}", "Path=/", "HttpOnly", "SameSite=Lax",
                 f"Max-Age={math.ceil(self.max_age)}"]
        if environ.get("wsgi.url_scheme") == "https":
            parts.append("Secure")
        return "; ".join(parts)

    def _load(self, header):
        """(id, data) of a valid cookie in the Cookie header, or None."""
        try:
            value = _cookie_value(header, self.cookie)
            if value is None:
                return None
            payload, dot, signature = value.rpartition(".")
            if not dot or not payload:
                return None
            expected = self._sign(payload)
            if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
                return None
            content = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")).decode("utf-8"))
            sid, data, issued = content["id"], content["data"], content["t"]
        except Exception:
            return None
        if not isinstance(sid, str) or not isinstance(data, dict):
            return None
        if not isinstance(issued, (int, float)) or isinstance(issued, bool):
            return None
        if time.time() - issued > self.max_age:
            return None
        return sid, data
