"""Loopback networking helpers for Part IV (the web path).

Everything here talks to 127.0.0.1 only; nothing needs the internet.

* **Watching TCP states**: :func:`tcp_table` lists the kernel's TCP sockets
  that involve one port (Linux: ``ss`` or ``/proc/net/tcp``; elsewhere
  ``psutil``), with the state names of RFC 9293 (``TIME-WAIT``, not
  ``TIME_WAIT``).  :class:`TcpPair` builds one loopback connection
  (listener, client, accepted socket) and reports both ends' states, so a
  notebook can close one side and watch the other.
* **A tiny web site**: :func:`serve_site` runs :mod:`http.server` in a daemon
  thread on a free port, speaking HTTP/1.1 with keep-alive, serving an HTML
  page that references a stylesheet, a script and an image, and logging which
  connection (client port) asked for what.
* **A raw HTTP/1.1 client**: :class:`RawHTTPConnection` writes request bytes
  on a socket and parses the response by hand (``Content-Length``,
  ``chunked`` or read-to-close), so the bytes on the wire stay visible;
  :func:`fetch_page` parses a page and fetches its sub-resources over one
  connection, like a browser's first tab on a site.
"""
from __future__ import annotations

import contextlib
import errno
import html.parser
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"

# ---------------------------------------------------------------- TCP states

#: RFC 9293 names for the spellings used by ss, psutil and /proc/net/tcp.
_STATE_NAMES = {
    "ESTAB": "ESTABLISHED", "ESTABLISHED": "ESTABLISHED",
    "SYN-SENT": "SYN-SENT", "SYN_SENT": "SYN-SENT",
    "SYN-RECV": "SYN-RECEIVED", "SYN_RECV": "SYN-RECEIVED",
    "FIN-WAIT-1": "FIN-WAIT-1", "FIN_WAIT1": "FIN-WAIT-1",
    "FIN-WAIT-2": "FIN-WAIT-2", "FIN_WAIT2": "FIN-WAIT-2",
    "TIME-WAIT": "TIME-WAIT", "TIME_WAIT": "TIME-WAIT",
    "CLOSE-WAIT": "CLOSE-WAIT", "CLOSE_WAIT": "CLOSE-WAIT",
    "LAST-ACK": "LAST-ACK", "LAST_ACK": "LAST-ACK",
    "CLOSING": "CLOSING", "LISTEN": "LISTEN", "UNCONN": "CLOSED",
    "CLOSE": "CLOSED", "NONE": "CLOSED",
}
# include/net/tcp_states.h: the hex codes in /proc/net/tcp
_PROC_STATES = {1: "ESTABLISHED", 2: "SYN-SENT", 3: "SYN-RECEIVED", 4: "FIN-WAIT-1",
                5: "FIN-WAIT-2", 6: "TIME-WAIT", 7: "CLOSED", 8: "CLOSE-WAIT",
                9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING"}


@dataclass(frozen=True)
class Conn:
    """One row of the kernel's TCP table: local port, remote port, RFC state.

    ``timer`` is the kernel's remaining time in seconds for timers that
    ``ss -o`` reports (TIME-WAIT, FIN-WAIT-2), else ``None``.
    """
    local: int
    remote: int
    state: str
    timer: float | None = None


def _via_ss(port: int) -> list[Conn]:
    out = subprocess.run(
        ["ss", "-tanoH", f"( sport = :{port} or dport = :{port} )"],
        capture_output=True, text=True, timeout=10, check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 5:
            continue
        local, remote = parts[3].rsplit(":", 1)[1], parts[4].rsplit(":", 1)[1]
        timer = None
        m = re.search(r"timer:\((?:timewait|keepalive|on),(?:(\d+)min)?([\d.]+)(ms|sec)", line)
        if m:
            timer = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1) + 60 * int(m.group(1) or 0)
        # "*": no port (a listener's peer; a socket not yet given one)
        rows.append(Conn(0 if local == "*" else int(local), 0 if remote == "*" else int(remote),
                         _STATE_NAMES.get(parts[0], parts[0]), timer))
    return rows


def _via_proc(port: int) -> list[Conn]:
    rows = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local = int(parts[1].rsplit(":", 1)[1], 16)
                    remote = int(parts[2].rsplit(":", 1)[1], 16)
                    if port in (local, remote):
                        rows.append(Conn(local, remote, _PROC_STATES.get(int(parts[3], 16), parts[3])))
        except FileNotFoundError:
            continue
    return rows


def _via_psutil(port: int) -> list[Conn]:
    import psutil  # macOS needs root for this: see the notebook's platform note
    rows = []
    for c in psutil.net_connections("tcp"):
        local = c.laddr.port if c.laddr else 0
        remote = c.raddr.port if c.raddr else 0
        if port in (local, remote):
            rows.append(Conn(local, remote, _STATE_NAMES.get(c.status, c.status)))
    return rows


def tcp_table(port: int) -> list[Conn]:
    """Every TCP socket on this machine whose local or remote port is ``port``.

    Linux asks ``ss`` (the kernel filters, so it stays fast with thousands of
    sockets) and falls back to reading ``/proc/net/tcp``; other systems use
    ``psutil.net_connections``.  Rows are sorted by (local, remote).
    """
    if sys.platform.startswith("linux"):
        rows = _via_ss(port) if shutil.which("ss") else _via_proc(port)
    else:
        rows = _via_psutil(port)
    return sorted(rows, key=lambda c: (c.local, c.remote, c.state))


def state_of(local: int, remote: int) -> str:
    """State of the socket (local port, remote port), or ``'CLOSED'`` if the kernel has none."""
    for c in tcp_table(local):
        if c.local == local and c.remote == remote:
            return c.state
    return "CLOSED"


def states_of(port: int, roles: dict[str, tuple[int, int]]) -> dict[str, str]:
    """States of named sockets: ``roles`` maps a name to (local port, remote port).

    ``port`` is a port every socket of interest shares (the server's); a
    socket the kernel no longer has is reported as ``'CLOSED'``.
    """
    table = {(c.local, c.remote): c.state for c in tcp_table(port)}
    return {name: table.get(key, "CLOSED") for name, key in roles.items()}


def wait_states(port: int, roles: dict[str, tuple[int, int]], timeout: float = 3.0,
                **expected: str) -> dict[str, str]:
    """Poll :func:`states_of` until every ``name=state`` in ``expected`` holds, or timeout.

    Returns the last states seen (so a failed wait shows what happened).
    """
    deadline = time.monotonic() + timeout
    while True:
        now = states_of(port, roles)
        if all(now.get(k) == v for k, v in expected.items()) or time.monotonic() > deadline:
            return now
        time.sleep(0.01)


def needs_linux(what: str = "this cell") -> bool:
    """True on Linux; elsewhere print what to use instead and return False."""
    if sys.platform.startswith("linux"):
        return True
    print(f"(skipped on {sys.platform}: {what} reads Linux's TCP table; "
          "run `netstat -an` in a terminal instead)")
    return False


def ephemeral_range() -> tuple[int, int]:
    """The ports the system picks from for a socket that did not choose one (Linux:
    net.ipv4.ip_local_port_range; elsewhere the IANA range)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            low, high = map(int, fh.read().split())
            return low, high
    return 49152, 65535


def bind_below_ephemeral(sock: socket.socket, tries: int = 100) -> None:
    """Bind ``sock`` to a free loopback port below the ephemeral range, where the system never
    puts another socket by itself: what happens to this port after the socket closes (free,
    or held by TIME-WAIT) is then this connection's doing, not another program's that was
    handed the same number a moment later.  If none is free, the system picks one."""
    low = ephemeral_range()[0]
    candidates = range(max(1024, low - 10_000), low)
    for port in random.sample(candidates, min(tries, len(candidates))):
        try:
            sock.bind((LOOPBACK, port))
            return
        except OSError:
            continue
    sock.bind((LOOPBACK, 0))


class TcpPair:
    """One TCP connection on loopback, with both ends in this process.

    ``listener`` is the server's listening socket, ``client`` the connecting
    socket, ``server`` the socket that ``accept()`` returned.  ``states()``
    reports ``{'client': ..., 'server': ...}`` as the kernel sees them, also
    after a side has been closed (TIME-WAIT and FIN-WAIT-2 outlive the file
    descriptor).  ``reuse=True`` sets ``SO_REUSEADDR`` on the listener (and so
    on the accepted socket, which inherits it).  The client's port is one below the
    ephemeral range (:func:`bind_below_ephemeral`), so no other program's connection
    takes it over once it is closed.
    """

    def __init__(self, reuse: bool = False, timeout: float = 5.0):
        self.listener = socket.socket()
        if reuse:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen()
        self.listener.settimeout(timeout)
        self.port = self.listener.getsockname()[1]
        self.client = socket.socket()
        self.client.settimeout(timeout)
        bind_below_ephemeral(self.client)
        self.client.connect((LOOPBACK, self.port))
        self.client_port = self.client.getsockname()[1]
        self.server, _ = self.listener.accept()
        self.server.settimeout(timeout)

    def roles(self) -> dict[str, tuple[int, int]]:
        """``{'client': (client port, server port), 'server': (server port, client port)}``."""
        return {"client": (self.client_port, self.port), "server": (self.port, self.client_port)}

    def states(self) -> dict[str, str]:
        """The kernel's view of both ends right now."""
        return states_of(self.port, self.roles())

    def wait(self, timeout: float = 3.0, **expected: str) -> dict[str, str]:
        """Poll ``states()`` until it shows ``expected`` (e.g. ``client='TIME-WAIT'``) or timeout.

        Returns the last states seen, so a notebook prints what really happened.
        """
        return wait_states(self.port, self.roles(), timeout, **expected)

    def close_all(self) -> None:
        """Close every socket this pair still holds (idempotent)."""
        for s in (self.client, self.server, self.listener):
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close_all()


def close_first(first: str = "client", reuse: bool = False) -> "TcpPair":
    """Open a :class:`TcpPair`, close the ``first`` side, then the other, then the listener.

    Returns the pair once the first closer shows TIME-WAIT (Linux), so
    ``pair.states()`` and ``pair.port`` can be inspected afterwards.
    """
    if first not in ("client", "server"):
        raise ValueError("first must be 'client' or 'server'")
    pair = TcpPair(reuse=reuse)
    a, b = (pair.client, pair.server) if first == "client" else (pair.server, pair.client)
    other = "server" if first == "client" else "client"
    linux = sys.platform.startswith("linux")
    a.close()
    if linux:
        pair.wait(**{other: "CLOSE-WAIT"})
    b.close()
    pair.listener.close()
    if linux:
        pair.wait(**{first: "TIME-WAIT", other: "CLOSED"})
    else:
        time.sleep(0.2)
    return pair


def segments_sent(sock: socket.socket) -> int | None:
    """How many TCP segments the kernel has sent on ``sock`` (``tcpi_segs_out``, Linux 4.2+).

    Read from ``getsockopt(IPPROTO_TCP, TCP_INFO)``; ``struct tcp_info`` in
    ``include/uapi/linux/tcp.h`` has ``tcpi_segs_out`` at byte offset 136.
    Returns None where the option or the field is missing.
    """
    if not hasattr(socket, "TCP_INFO"):
        return None
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    if len(info) < 144:
        return None
    return struct.unpack_from("I", info, 136)[0]


def close_segments(peer_delay: float = 0.0) -> dict[str, int] | None:
    """Close a loopback connection (client first) and count the segments each side sent.

    The client half-closes (``shutdown(SHUT_WR)``: its FIN); the server reads
    the end of stream and, after ``peer_delay`` seconds, half-closes too; both
    sockets stay open, so their counters can still be read.  Returns
    ``{"client": n, "server": m}`` (None where TCP_INFO has no counter).  With
    no delay the server's FIN usually rides on its ACK (3 segments in all);
    after a delay longer than the delayed-ACK timer (40 ms to 200 ms on Linux),
    the ACK leaves alone and the FIN follows (4 segments).
    """
    with TcpPair() as pair:
        pair.client.sendall(b"request")          # some traffic first, as in a real exchange
        pair.server.recv(100)
        pair.server.sendall(b"response")
        pair.client.recv(100)
        time.sleep(0.25)                         # every ACK of that exchange has gone out
        c0, s0 = segments_sent(pair.client), segments_sent(pair.server)
        if c0 is None or s0 is None:
            return None
        pair.client.shutdown(socket.SHUT_WR)     # FIN
        if pair.server.recv(100) != b"":
            raise RuntimeError("expected the end of the stream")
        if peer_delay:
            time.sleep(peer_delay)
        pair.server.shutdown(socket.SHUT_WR)     # the server's FIN
        if pair.client.recv(100) != b"":
            raise RuntimeError("expected the end of the stream")
        time.sleep(0.25)                         # the last ACK has gone out
        return {"client": segments_sent(pair.client) - c0, "server": segments_sent(pair.server) - s0}


def close_model(time_wait: bool = True, lose_last_ack: bool = True) -> tuple[list, str]:
    """The end of a connection whose last ACK is lost, as the two state machines of RFC 9293 see it.

    A model, not the kernel: a lost segment cannot be arranged on loopback
    without privileges.  The active closer sends FIN, gets ACK and the peer's
    FIN, and answers with an ACK that is lost (``lose_last_ack``).  The
    passive closer, in LAST-ACK, retransmits its FIN when its timer expires.
    With ``time_wait`` the active closer still knows the connection: in
    TIME-WAIT it acknowledges the FIN again and restarts its 2MSL timer
    (RFC 9293 §3.10.7.4).  Without it, the FIN meets no connection, and a
    segment for no connection is answered with a reset (RFC 9293 §3.10.7.1).
    Returns ``(steps for draw_sequence, what the passive closer's application sees)``.
    """
    after_fin = "TIME-WAIT" if time_wait else "CLOSED (no TIME-WAIT)"
    steps = [("", "", "ESTABLISHED", "ESTABLISHED"), (">", "FIN", "FIN-WAIT-1", "CLOSE-WAIT"),
             ("<", "ACK", "FIN-WAIT-2", ""), ("<", "FIN (the peer's)", after_fin, "LAST-ACK")]
    if not lose_last_ack:
        steps.append((">", "ACK", "", "CLOSED"))
        return steps, "a clean end of the connection"
    steps.append(("x>", "ACK", "", ""))
    steps.append(("<", "FIN again (its timer expired)", "", "LAST-ACK"))
    if time_wait:
        steps += [(">", "ACK again (2MSL timer restarts)", "TIME-WAIT", "CLOSED"),
                  ("", "", "CLOSED after 2MSL", "")]
        return steps, "a clean end of the connection"
    steps.append((">", "RST: no such connection", "", "CLOSED"))
    return steps, "a reset instead of an acknowledgment: an error for a connection that had ended cleanly"


def try_bind(port: int, reuse: bool = False) -> str:
    """Bind and listen on 127.0.0.1:``port`` (optionally with SO_REUSEADDR).

    Returns ``'ok'`` or the errno name, e.g. ``'EADDRINUSE'``.
    """
    with socket.socket() as s:
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
            s.listen()
            return "ok"
        except OSError as exc:
            return errno.errorcode.get(exc.errno, str(exc))


def catch_syn_sent(attempts: int = 3, timeout: float = 2.0) -> dict[str, int]:
    """Make SYN-SENT observable: connect to a listener whose accept queue is full.

    A listener with ``listen(0)`` that never calls ``accept()`` holds one
    finished connection; Linux drops further SYNs, so those clients sit in
    SYN-SENT, retransmitting.  Returns a count of the client-side states seen.
    """
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    clients = []
    try:
        for _ in range(1 + attempts):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex((LOOPBACK, port))
            clients.append(c)
            time.sleep(0.05)
        deadline = time.monotonic() + timeout
        while True:
            mine = {c.getsockname()[1] for c in clients}
            counts: dict[str, int] = {}
            for row in tcp_table(port):
                if row.local in mine:
                    counts[row.state] = counts.get(row.state, 0) + 1
            if counts.get("SYN-SENT") == attempts or time.monotonic() > deadline:
                return dict(sorted(counts.items()))
            time.sleep(0.02)
    finally:
        for c in clients:
            c.close()
        listener.close()


# ----------------------------------------------------------------- TLS peek

def capture_client_hello(server_hostname: str = "www.example.com", alpn=("h2", "http/1.1"),
                         timeout: float = 5.0) -> bytes:
    """The first bytes a TLS client sends (its ClientHello), caught on loopback.

    A plain TCP server on 127.0.0.1 accepts, reads what arrives and hangs up;
    the client side is :mod:`ssl` with the default context.  The handshake
    therefore fails (that error is swallowed); what matters is what travelled
    before any encryption: the record header, the SNI host name, ALPN names.
    """
    import ssl
    listener = socket.create_server((LOOPBACK, 0))
    listener.settimeout(timeout)
    port = listener.getsockname()[1]
    box: dict[str, bytes] = {}

    def grab():
        try:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(timeout)
                box["hello"] = conn.recv(16384)
        except OSError:
            pass

    thread = threading.Thread(target=grab, daemon=True)
    thread.start()
    ctx = ssl.create_default_context()
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    raw = socket.create_connection((LOOPBACK, port), timeout=timeout)
    try:
        ctx.wrap_socket(raw, server_hostname=server_hostname).close()
    except (ssl.SSLError, OSError):
        pass  # the "server" hung up: expected
    finally:
        raw.close()
        thread.join(timeout)
        listener.close()
    return box.get("hello", b"")


# ------------------------------------------------------------ the local site

def tiny_png(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid 1x1 PNG image in the given colour (built by hand: signature + 3 chunks)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00" + bytes(rgb)  # filter byte 0, one RGB pixel
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


INDEX_HTML = b"""<!doctype html>
<html><head><title>loopback</title>
<link rel="stylesheet" href="/style.css">
<script src="/app.js"></script></head>
<body><h1>Hello from 127.0.0.1</h1><img src="/logo.png" alt="logo"></body></html>
"""

#: path -> (content type, body): the site :func:`serve_site` serves by default.
SITE: dict[str, tuple[str, bytes]] = {
    "/": ("text/html; charset=utf-8", INDEX_HTML),
    "/style.css": ("text/css", b"h1 { color: darkred; }\n"),
    "/app.js": ("text/javascript", b"console.log('loaded');\n"),
    "/logo.png": ("image/png", tiny_png()),
}


class SiteHandler(BaseHTTPRequestHandler):
    """Serve ``server.site`` over HTTP/1.1 (keep-alive) and log (client port, method, path)."""
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle keep-alive connection is closed after this many seconds

    def do_GET(self):
        self.server.record(self.client_address[1], "GET", self.path)
        ctype, body = self.server.site.get(self.path, ("text/plain", None))
        if body is None:
            body = b"not found\n"
            self.send_response(404)
        else:
            self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.headers.get("Connection", "").lower() == "close":
            self.send_header("Connection", "close")  # RFC 9112 §9.6; also makes us close
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # keep notebook cells free of stderr noise
        pass


class SiteServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer on loopback that keeps a request log: ``log`` is a list of
    ``(client_port, method, path)`` in arrival order."""
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, site=None, handler=SiteHandler, host: str = LOOPBACK):
        self.site = SITE if site is None else site
        self.log: list[tuple[int, str, str]] = []
        self.errors: list[BaseException] = []
        self._log_lock = threading.Lock()
        super().__init__((host, 0), handler)
        self.port = self.server_address[1]

    def record(self, client_port: int, method: str, path: str) -> None:
        with self._log_lock:
            self.log.append((client_port, method, path))

    def handle_error(self, request, client_address):
        """Keep the exception (e.g. a client that hung up) in ``errors``; print nothing."""
        self.errors.append(sys.exc_info()[1])


@contextlib.contextmanager
def serving(server):
    """Run any ``socketserver`` server in a daemon thread; shut it down on exit."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve_site(site=None):
    """Context manager: a :class:`SiteServer` serving in a daemon thread (``.port``, ``.log``)."""
    return serving(SiteServer(site))


# ----------------------------------------------------------- raw HTTP client

@dataclass
class Response:
    """A parsed HTTP response: status code, reason, headers (in order), body."""
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    version: str = "HTTP/1.1"

    def header(self, name: str, default: str | None = None) -> str | None:
        """First header called ``name`` (case-insensitive)."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name: str) -> list[str]:
        """Every header called ``name`` (``Set-Cookie`` may repeat)."""
        return [v for k, v in self.headers if k.lower() == name.lower()]


def format_request(method: str, path: str, host: str, headers=None, body: bytes = b"") -> bytes:
    """The bytes of an HTTP/1.1 request: request line, ``Host`` header, other headers, CRLF, body."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def read_response(rfile, method: str = "GET") -> Response:
    """Read one response from a binary file object (``sock.makefile('rb')``).

    The body ends by ``Content-Length``, by ``Transfer-Encoding: chunked``,
    or, failing both, when the server closes the connection (RFC 9112 §6.3).
    """
    status_line = rfile.readline(65537)
    if not status_line:
        raise ConnectionError("server closed the connection before answering")
    version, code, *reason = status_line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers = []
    while True:
        line = rfile.readline(65537).decode("latin-1").rstrip("\r\n")
        if not line:
            break
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    resp = Response(int(code), reason[0] if reason else "", headers, b"", version)
    if method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200:
        return resp
    if (resp.header("Transfer-Encoding") or "").lower() == "chunked":
        chunks = []
        while True:
            size = int(rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            chunks.append(rfile.read(size))
            rfile.readline()
        resp.body = b"".join(chunks)
    elif resp.header("Content-Length") is not None:
        resp.body = rfile.read(int(resp.header("Content-Length")))
    else:
        resp.body = rfile.read()
    return resp


class RawHTTPConnection:
    """An HTTP/1.1 client on one TCP connection, written with bare sockets.

    ``request()`` sends bytes built by :func:`format_request` and parses the
    answer with :func:`read_response`; ``sent`` keeps the raw request bytes.
    Every socket operation has a timeout.
    """

    def __init__(self, host: str = LOOPBACK, port: int = 80, timeout: float = 5.0):
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.local_port = self.sock.getsockname()[1]
        self.rfile = self.sock.makefile("rb")
        self.sent: list[bytes] = []

    def request(self, path: str = "/", method: str = "GET", headers=None, body: bytes = b"") -> Response:
        data = format_request(method, path, f"{self.host}:{self.port}", headers, body)
        self.sent.append(data)
        self.sock.sendall(data)
        return read_response(self.rfile, method)

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ResourceFinder(html.parser.HTMLParser):
    """Collect the URLs a browser would fetch next: stylesheets, scripts, images."""

    def __init__(self):
        super().__init__()
        self.resources: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and "stylesheet" in (a.get("rel") or "").split() and a.get("href"):
            self.resources.append(a["href"])
        elif tag in ("script", "img", "iframe", "audio", "video", "source") and a.get("src"):
            self.resources.append(a["src"])


def find_resources(html_text: str) -> list[str]:
    """The sub-resource URLs referenced by an HTML page, in document order."""
    finder = ResourceFinder()
    finder.feed(html_text)
    return finder.resources


@dataclass
class Fetched:
    """One fetched URL: path, status, content type, body size, client port used."""
    path: str
    status: int
    content_type: str
    size: int
    client_port: int


def fetch_page(port: int, path: str = "/", host: str = LOOPBACK, keep_alive: bool = True) -> list[Fetched]:
    """Fetch a page and then every sub-resource it references, like a browser.

    With ``keep_alive`` every request reuses one connection; without it each
    request opens (and closes) its own, as HTTP/1.0 did.
    """
    results: list[Fetched] = []
    conn = RawHTTPConnection(host, port)
    try:
        def get(p):
            nonlocal conn
            if not keep_alive and results:
                conn.close()
                conn = RawHTTPConnection(host, port)
            r = conn.request(p, headers=None if keep_alive else {"Connection": "close"})
            results.append(Fetched(p, r.status, (r.header("Content-Type") or "").split(";")[0],
                                   len(r.body), conn.local_port))
            return r
        page = get(path)
        for url in find_resources(page.body.decode("utf-8", "replace")):
            get(url)
    finally:
        conn.close()
    return results


# ------------------------------------------------------- sequence diagrams

def draw_sequence(steps, title: str = "", left: str = "client", right: str = "server", ax=None):
    """Draw a time-goes-down sequence diagram of TCP segments with matplotlib.

    ``steps`` is a list of ``(arrow, label, left_state, right_state)``:
    ``arrow`` is ``">"`` (left to right), ``"<"``, ``"x>"``/``"<x"`` (a
    segment lost halfway), ``"d>"``/``"<d"`` (a segment delayed halfway),
    ``"l>"``/``"<l"`` (that segment arriving late, from halfway) or ``""``
    (no segment, just states); the states
    (may be ``""``) are written beside each side's time line after the step.
    Returns the Axes.
    """
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.6 * len(steps) + 1.2))
    xl, xr, n = 3.0, 7.0, len(steps)
    ax.set_xlim(0, 10)
    ax.set_ylim(n + 0.3, -0.9)
    ax.axis("off")
    for x, name in ((xl, left), (xr, right)):
        ax.plot([x, x], [-0.2, n + 0.1], color="0.6", lw=1)
        ax.text(x, -0.45, name, ha="center", va="bottom", fontsize=11, weight="bold")
    for i, (arrow, label, lstate, rstate) in enumerate(steps):
        y0, y1 = i + 0.05, i + 0.75
        if arrow:
            to_right = ">" in arrow
            kind = arrow.replace(">", "").replace("<", "")  # "", "x" lost, "d" delayed, "l" late
            x0, x1 = (xl, xr) if to_right else (xr, xl)
            mid = ((x0 + x1) / 2, (y0 + y1) / 2)
            if kind in ("x", "d"):
                x1, y1 = mid
            elif kind == "l":
                x0, y0 = mid
            color = {"": "tab:blue", "x": "tab:red"}.get(kind, "tab:orange")
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops=dict(arrowstyle="-|>", color=color, lw=1.5,
                                        linestyle="--" if kind in ("d", "l") else "-"))
            if kind in ("x", "d"):
                ax.text(x1, y1 + 0.02, "X lost" if kind == "x" else "... delayed", color=color,
                        ha="center", va="top", fontsize=9)
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 - 0.12, label, ha="center", va="bottom",
                    fontsize=9, color=color)
        if lstate:
            ax.text(xl - 0.15, i + 0.75, lstate, ha="right", va="center", fontsize=9, family="monospace")
        if rstate:
            ax.text(xr + 0.15, i + 0.75, rstate, ha="left", va="center", fontsize=9, family="monospace")
    if title:
        ax.set_title(title, fontsize=11)
    return ax
