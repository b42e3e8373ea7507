"""WSGI (PEP 3333) from both sides: apps, middleware, servers.

* **Apps** (``app(environ, start_response) -> iterable of bytes``):
  :func:`hello_app`, :func:`environ_app`, :func:`slow_app` (sleeps, to measure
  concurrency), :func:`echo_app` (reads ``wsgi.input``) and :class:`TrackedBody`
  (records whether the server called ``close()``).
* **Middleware** (an app that wraps an app): :func:`add_header`,
  :class:`RequestLog`, :func:`route`.
* **Servers**: :func:`serve_wsgiref` runs :mod:`wsgiref.simple_server` (one
  request at a time, or one thread per request) in a daemon thread;
  :class:`MiniWSGIServer` is a WSGI server in ~60 lines on raw sockets, to see
  the contract from the server's side; :func:`server_process` starts a server
  in a **subprocess**: ``gevent`` (``gevent.pywsgi`` after
  ``monkey.patch_all()``, one greenlet per request) or ``prefork`` (a master
  that binds, then forks workers that share the listening socket, like
  gunicorn's sync workers; POSIX only).
* :class:`FrontProxy`: a stand-in for Nginx that serves ``/static/`` itself
  and forwards other paths to the WSGI server (``proxy_pass``).
* :func:`fetch` makes one request; :func:`check_with_validator` runs an app
  under :mod:`wsgiref.validate`.
* :func:`timed_requests` fires N concurrent requests and returns when each
  started and finished.

Command line (what :func:`server_process` runs)::

    python -m conclab.wsgi_demo gevent --app slow    # prints "LISTENING <port>"
    python -m conclab.wsgi_demo prefork --workers 2
"""
import sys

if __name__ == "__main__" and sys.argv[1:2] == ["gevent"]:
    # Patch before anything imports socket/threading/time: this is the
    # server's own process, never the notebook kernel.
    from gevent import monkey
    monkey.patch_all()

import contextlib  # noqa: E402
import http.client  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import queue  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from socketserver import ThreadingMixIn  # noqa: E402
from urllib.parse import parse_qs  # noqa: E402
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer  # noqa: E402

LOOPBACK = "127.0.0.1"
COURSE_DIR = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------- apps


def hello_app(environ, start_response):
    """The smallest useful WSGI app."""
    body = b"Hello, WSGI!\n"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


def environ_app(environ, start_response):
    """Show the environ the server built: one ``key = repr(value)`` line per key."""
    lines = [f"{k} = {v!r}" for k, v in sorted(environ.items())]
    body = ("\n".join(lines) + "\n").encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


def slow_app(environ, start_response):
    """Sleep ``?delay=`` seconds (default 0.25), like an app waiting on a database.

    The body names the process that answered: ``pid=<n>``.
    """
    delay = float(parse_qs(environ.get("QUERY_STRING", "")).get("delay", ["0.25"])[0])
    time.sleep(min(delay, 5.0))
    body = f"slept {delay} pid={os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def blocking_app(environ, start_response):
    """Like :func:`slow_app`, but the sleep is the *original* blocking ``time.sleep``
    even under gevent's monkey patching: a stand-in for a C library call (a database
    driver, say) that gevent cannot make cooperative."""
    delay = float(parse_qs(environ.get("QUERY_STRING", "")).get("delay", ["0.25"])[0])
    sleep = time.sleep
    if "gevent.monkey" in sys.modules:
        from gevent import monkey
        sleep = monkey.get_original("time", "sleep")
    sleep(min(delay, 5.0))
    body = f"blocked {delay} pid={os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def echo_app(environ, start_response):
    """Echo the request body, read from ``wsgi.input`` (exactly CONTENT_LENGTH bytes)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", environ.get("CONTENT_TYPE") or "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]


class TrackedBody:
    """An app whose response iterable records ``close()``: PEP 3333 says the
    server must call it (even if the client went away).  ``events`` lists what
    happened, in order."""

    def __init__(self, chunks=(b"part one, ", b"part two\n")):
        self.chunks = list(chunks)
        self.events: list[str] = []

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        self.events.append("app returned")
        return self._Body(self)

    class _Body:
        def __init__(self, owner):
            self.owner = owner

        def __iter__(self):
            for chunk in self.owner.chunks:
                self.owner.events.append(f"server took {chunk!r}")
                yield chunk

        def close(self):
            self.owner.events.append("server called close()")


APPS = {"hello": hello_app, "environ": environ_app, "slow": slow_app, "echo": echo_app,
        "blocking": blocking_app}

# ---------------------------------------------------------------- middleware


def add_header(app, name: str, value: str):
    """Middleware: add one response header to whatever ``app`` answers."""
    def wrapped(environ, start_response):
        def my_start_response(status, headers, exc_info=None):
            return start_response(status, list(headers) + [(name, value)], exc_info)
        return app(environ, my_start_response)
    return wrapped


class RequestLog:
    """Middleware that records ``(method, path, status)`` for every request in ``records``."""

    def __init__(self, app):
        self.app = app
        self.records: list[tuple[str, str, str]] = []

    def __call__(self, environ, start_response):
        def spy(status, headers, exc_info=None):
            self.records.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), status))
            return start_response(status, headers, exc_info)
        return self.app(environ, spy)


def not_found(environ, start_response):
    body = b"not found\n"
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def route(mapping: dict, default=not_found):
    """Middleware that dispatches on the first path segment, moving it from
    ``PATH_INFO`` to ``SCRIPT_NAME`` as PEP 3333 mounting does."""
    def dispatcher(environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        head = "/" + path.lstrip("/").split("/", 1)[0]
        app = mapping.get(head)
        if app is None:
            return default(environ, start_response)
        environ = dict(environ, SCRIPT_NAME=environ.get("SCRIPT_NAME", "") + head,
                       PATH_INFO=path[len(head):])
        return app(environ, start_response)
    return dispatcher

# ------------------------------------------------------------ wsgiref servers


class QuietHandler(WSGIRequestHandler):
    """wsgiref's handler without the per-request log line on stderr."""

    def log_message(self, format, *args):
        pass


class QuietErrors:
    """Mixin for socketserver servers: keep connection errors in ``errors`` instead of
    printing a traceback to stderr (a client that hangs up early is not news)."""

    def handle_error(self, request, client_address):
        if not hasattr(self, "errors"):
            self.errors = []
        self.errors.append(sys.exc_info()[1])


class LoopbackWSGIServer(QuietErrors, WSGIServer):
    """wsgiref's server: one request at a time, in the thread that serves."""
    request_queue_size = 64  # a deep accept queue, so waiting clients queue instead of retrying SYNs


class ThreadingWSGIServer(ThreadingMixIn, LoopbackWSGIServer):
    """wsgiref's server with a new thread per request (socketserver.ThreadingMixIn)."""
    daemon_threads = True


def declare(app, **flags):
    """Middleware that sets ``wsgi.*`` flags: wsgiref's simple server always reports
    ``wsgi.multithread = wsgi.multiprocess = False``, even when we add threads or forks."""
    def wrapped(environ, start_response):
        for k, v in flags.items():
            environ["wsgi." + k] = v
        return app(environ, start_response)
    return wrapped


def make_wsgiref_server(app, threaded: bool = False, multiprocess: bool = False):
    """A wsgiref server for ``app`` on 127.0.0.1 and a free port (``.server_port``)."""
    cls = ThreadingWSGIServer if threaded else LoopbackWSGIServer
    server = cls((LOOPBACK, 0), QuietHandler)
    server.set_app(declare(app, multithread=threaded, multiprocess=multiprocess))
    return server


@contextlib.contextmanager
def serving(server):
    """Run a server with ``serve_forever``/``shutdown``/``server_close`` in a daemon thread."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve_wsgiref(app, threaded: bool = False):
    """Context manager: a wsgiref server for ``app`` serving in a daemon thread."""
    return serving(make_wsgiref_server(app, threaded))

# --------------------------------------------------------- the minimal server


class MiniWSGIServer:
    """A WSGI server on raw sockets: one connection, one request, in order.

    Read the request line and headers, build ``environ``, call the app with
    ``start_response``, send the status line and headers just before the
    first body bytes, then call the iterable's ``close()``.  ``errors`` keeps
    exceptions raised by the app (answered with 500).
    """

    def __init__(self, app, host: str = LOOPBACK, port: int = 0):
        self.app, self.errors = app, []
        self.sock = socket.create_server((host, port), backlog=64)
        self.sock.settimeout(0.05)
        self.server_port = self.sock.getsockname()[1]
        self._stop = threading.Event()

    def serve_forever(self, poll_interval: float = 0.05):
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(5)
                try:
                    self.handle(conn, addr)
                except (OSError, ValueError):
                    pass  # the client went away or sent garbage

    def handle(self, conn, addr):
        rfile = conn.makefile("rb")
        method, target, version = rfile.readline(65537).decode("latin-1").split()
        path, _, query = target.partition("?")
        environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path,
                   "QUERY_STRING": query, "SERVER_NAME": LOOPBACK,
                   "SERVER_PORT": str(self.server_port), "SERVER_PROTOCOL": version,
                   "REMOTE_ADDR": addr[0], "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
                   "wsgi.errors": sys.stderr, "wsgi.multithread": False,
                   "wsgi.multiprocess": False, "wsgi.run_once": False}
        while (line := rfile.readline(65537).decode("latin-1").strip()):
            name, _, value = line.partition(":")
            key = name.strip().upper().replace("-", "_")
            key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
            environ[key] = environ[key] + "," + value.strip() if key in environ else value.strip()
        environ["wsgi.input"] = io.BytesIO(rfile.read(int(environ.get("CONTENT_LENGTH") or 0)))
        state = {"sent": False}

        def write(data: bytes):
            if not state["sent"]:
                head = [f"HTTP/1.1 {state['status']}"] + [f"{k}: {v}" for k, v in state["headers"]]
                conn.sendall(("\r\n".join(head + ["Connection: close", "", ""])).encode("latin-1"))
                state["sent"] = True
            conn.sendall(data)

        def start_response(status, headers, exc_info=None):
            if exc_info and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])  # too late to change the status
            state["status"], state["headers"] = status, list(headers)
            return write  # the legacy write() callable of PEP 3333

        try:
            result = self.app(environ, start_response)
        except Exception as exc:  # noqa: BLE001 - a server must answer something
            self.errors.append(exc)
            state.update(status="500 Internal Server Error", headers=[("Content-Length", "0")])
            return write(b"")
        try:
            for chunk in result:
                if chunk:
                    write(chunk)
            if not state["sent"]:
                write(b"")
        finally:
            if hasattr(result, "close"):
                result.close()

    def shutdown(self):
        self._stop.set()

    def server_close(self):
        self.sock.close()

# ------------------------------------------------------- a front proxy


_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
               "transfer-encoding", "upgrade", "content-length", "server", "date"}


class FrontProxyHandler(BaseHTTPRequestHandler):
    """Serve ``/static/...`` from a dict, forward everything else to the upstream server."""
    protocol_version = "HTTP/1.1"
    timeout = 5

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _answer(self, status, reason, headers, body):
        self.send_response(status, reason)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Via", "1.1 front-proxy")
        self.end_headers()
        self.wfile.write(body)

    def _handle(self):
        srv = self.server
        if self.path.startswith(srv.static_prefix):  # like nginx: location /static/ { root ...; }
            body = srv.static.get(self.path[len(srv.static_prefix):])
            srv.log.append(("static", self.path, 200 if body is not None else 404))
            if body is None:
                return self._answer(404, "Not Found", [("Content-Type", "text/plain")], b"no such file\n")
            return self._answer(200, "OK", [("Content-Type", "application/octet-stream")], body)
        # like nginx: proxy_pass http://127.0.0.1:<upstream>;
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["X-Forwarded-For"] = self.client_address[0]
        upstream = http.client.HTTPConnection(LOOPBACK, srv.upstream_port, timeout=10)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            resp = upstream.getresponse()
            data = resp.read()
        finally:
            upstream.close()
        srv.log.append(("proxied", self.path, resp.status))
        self._answer(resp.status, resp.reason,
                     [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP], data)

    def log_message(self, format, *args):
        pass


class FrontProxy(QuietErrors, ThreadingHTTPServer):
    """A stand-in for Nginx on loopback: static files from ``static`` (name -> bytes)
    under ``/static/``, every other path proxied over HTTP to ``upstream_port``.
    ``log`` lists ``(kind, path, status)`` per request."""
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, upstream_port: int, static: dict, static_prefix: str = "/static/"):
        self.upstream_port, self.static, self.static_prefix = upstream_port, static, static_prefix
        self.log: list[tuple[str, str, int]] = []
        super().__init__((LOOPBACK, 0), FrontProxyHandler)
        self.server_port = self.server_address[1]

# ------------------------------------------------------ servers in processes


def _read_line(stream, timeout: float) -> str:
    box: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: box.put(stream.readline()), daemon=True).start()
    try:
        return box.get(timeout=timeout)
    except queue.Empty:
        return ""


@contextlib.contextmanager
def server_process(kind: str = "gevent", app: str = "slow", workers: int = 2, timeout: float = 20.0):
    """Start ``python -m conclab.wsgi_demo <kind>`` and yield its port.

    The child prints ``LISTENING <port>`` once it is ready.  On exit it is
    terminated (then killed if it lingers); it also stops by itself after two
    minutes, so a crashed notebook cannot leave it running.
    """
    err = tempfile.TemporaryFile()
    cmd = [sys.executable, "-m", "conclab.wsgi_demo", kind, "--app", app, "--workers", str(workers)]
    proc = subprocess.Popen(cmd, cwd=COURSE_DIR, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        line = _read_line(proc.stdout, timeout)
        if not line.startswith("LISTENING"):
            proc.kill()
            proc.wait(timeout=5)
            err.seek(0)
            raise RuntimeError(f"{kind} server did not start: {line!r}\n{err.read().decode(errors='replace')}")
        yield int(line.split()[1])
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        proc.stdout.close()
        err.close()


def _run_gevent(app, lifetime: float):
    from gevent.pywsgi import WSGIServer as GeventServer
    import gevent
    server = GeventServer((LOOPBACK, 0), app, log=None)
    server.init_socket()
    print("LISTENING", server.server_port, flush=True)
    gevent.spawn_later(lifetime, server.stop)
    server.serve_forever()


def _run_prefork(app, workers: int, lifetime: float):
    """Bind once in the master, then fork workers that all accept() on the same socket."""
    import signal
    server = make_wsgiref_server(app, multiprocess=True)
    master, children = os.getpid(), []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: serve until the master is gone
            def watch():
                while os.getppid() == master:
                    time.sleep(0.2)
                os._exit(0)
            threading.Thread(target=watch, daemon=True).start()
            signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
            server.serve_forever(poll_interval=0.05)
            os._exit(0)
        children.append(pid)

    def stop(*args):
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print("LISTENING", server.server_port, flush=True)
    time.sleep(lifetime)
    stop()


def _run_threads(app, threaded: bool, lifetime: float):
    server = make_wsgiref_server(app, threaded)
    print("LISTENING", server.server_port, flush=True)
    threading.Timer(lifetime, server.shutdown).start()
    server.serve_forever(poll_interval=0.05)


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m conclab.wsgi_demo",
                                     description="Serve a demo WSGI app on 127.0.0.1 (free port).")
    parser.add_argument("kind", choices=["gevent", "prefork", "threaded", "single"])
    parser.add_argument("--app", choices=sorted(APPS), default="slow")
    parser.add_argument("--workers", type=int, default=2, help="prefork: worker processes")
    parser.add_argument("--lifetime", type=float, default=120.0, help="stop after this many seconds")
    args = parser.parse_args(argv)
    app = APPS[args.app]
    if args.kind == "gevent":
        _run_gevent(app, args.lifetime)
    elif args.kind == "prefork":
        _run_prefork(app, args.workers, args.lifetime)
    else:
        _run_threads(app, args.kind == "threaded", args.lifetime)
    return 0

# ------------------------------------------------------------------- clients


def fetch(port: int, path: str = "/", method: str = "GET", body: bytes | None = None,
          headers: dict | None = None, timeout: float = 10.0):
    """One HTTP request to 127.0.0.1:``port``; returns ``(status, headers dict, body bytes)``."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def check_with_validator(app) -> str:
    """Run ``app`` once under :func:`wsgiref.validate.validator` with a test environ.

    Returns ``'passes'`` or ``'fails: <the validator's message>'``.
    """
    from wsgiref.util import setup_testing_defaults
    from wsgiref.validate import validator
    environ = {"QUERY_STRING": ""}
    setup_testing_defaults(environ)
    result = validator(app)(environ, lambda status, headers, exc_info=None: (lambda data: None))
    try:
        b"".join(result)
        return "passes"
    except AssertionError as exc:
        return f"fails: {exc}"
    finally:
        result.close()


def timed_requests(port: int, n: int = 8, path: str = "/?delay=0.25", timeout: float = 15.0):
    """Send ``n`` GET requests at once (one thread and one connection each).

    Returns a list of ``(start, end, status, body)`` sorted by start, times in
    seconds since the first request was released; a failed request has
    status ``None`` and the exception text as body.
    """
    results, barrier = [None] * n, threading.Barrier(n + 1)
    t0 = [0.0]

    def one(i):
        barrier.wait(timeout=timeout)
        start = time.perf_counter() - t0[0]
        try:
            conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
            conn.request("GET", path)
            resp = conn.getresponse()
            results[i] = (start, time.perf_counter() - t0[0], resp.status, resp.read().decode())
            conn.close()
        except OSError as exc:
            results[i] = (start, time.perf_counter() - t0[0], None, repr(exc))

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    t0[0] = time.perf_counter()
    barrier.wait(timeout=timeout)
    for t in threads:
        t.join(timeout=timeout)
    return sorted((r for r in results if r is not None), key=lambda r: r[0])


# ------------------------------------------------------------------ pictures


def plot_requests(runs: dict, ax=None):
    """Draw one bar per request (start to end) for each server in ``runs``
    (``{name: timed_requests(...) result}``); servers are stacked top to bottom,
    each server's requests in order of completion; failed requests are black."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.22 * sum(len(r) + 1 for r in runs.values()) + 1))
    y, ticks, labels = 0, [], []
    for color, (name, rows) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], runs.items()):
        for start, end, status, _ in sorted(rows, key=lambda r: r[1]):
            ax.barh(y, end - start, left=start, color=color if status == 200 else "black", height=0.8)
            y += 1
        ticks.append(y - (len(rows) + 1) / 2)
        labels.append(name)
        y += 1
    ax.set_yticks(ticks, labels)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the requests were sent")
    return ax


def draw_web_path(ax=None):
    """The path of a dynamic request: browser, Nginx, WSGI server, middleware, app, and back."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 4.4))
    w_box, gap, y, h = 1.6, 1.35, 2.8, 1.3
    ax.set_xlim(0, 5 * w_box + 4 * gap + 0.4)
    ax.set_ylim(0, 4.8)
    ax.axis("off")
    names = ["browser", "Nginx\n(reverse proxy)", "WSGI server\ngunicorn, uWSGI,\nwsgiref, gevent",
             "middleware\n(an app that\nwraps an app)", "app\n(Flask, Django)"]
    xs = [0.2 + i * (w_box + gap) for i in range(5)]
    for x, text in zip(xs, names):
        ax.add_patch(FancyBboxPatch((x, y), w_box, h, boxstyle="round,pad=0.05", fc="0.93", ec="0.3"))
        ax.text(x + w_box / 2, y + h / 2, text, ha="center", va="center", fontsize=9)
    ax.add_patch(FancyBboxPatch((xs[1], 0.4), w_box, 1.0, boxstyle="round,pad=0.05", fc="0.93", ec="0.3"))
    ax.text(xs[1] + w_box / 2, 0.9, "static files\n/static/...", ha="center", va="center", fontsize=9)

    def arrow(x0, y0, x1, y1, text, color, above=True):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="-|>", color=color, lw=1.4))
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + (0.1 if above else -0.1), text, ha="center",
                va="bottom" if above else "top", fontsize=8, color=color)
    forward = ["HTTP request", "proxy_pass (HTTP)\nor uwsgi_pass", "app(environ,\nstart_response)",
               "app(environ,\nstart_response)"]
    back = ["HTTP response", "HTTP response", "iterable\nof bytes", "iterable\nof bytes"]
    for i in range(4):
        left, right = xs[i] + w_box + 0.05, xs[i + 1] - 0.05
        arrow(left, y + h - 0.3, right, y + h - 0.3, forward[i], "tab:blue")
        arrow(right, y + 0.3, left, y + 0.3, back[i], "tab:green", above=False)
    arrow(xs[1] + w_box / 2, y - 0.05, xs[1] + w_box / 2, 1.5, "", "tab:blue")
    ax.text(xs[1] + w_box / 2 + 0.1, 2.1, "location /static/", fontsize=8, color="tab:blue")
    ax.text(xs[2], 1.2, "inside the WSGI server's process(es): the server calls the middleware,\n"
            "which calls the app; the iterable goes back the same way,\n"
            "and only the server reads and writes the socket", fontsize=9, va="center", color="0.25")
    return ax


if __name__ == "__main__":
    sys.exit(main())
