"""ps4: requests per second of the reference server against wsgiref and gevent, same run.

    python benchmarks/bench_ps4_server.py [--clients 1 10 100] [--seconds 3] [--threads 8]

Three servers serve the same app (a 12-byte body with a Content-Length), each in a
process of its own on 127.0.0.1: the reference solution of ps4_web_server (its
``%%writefile webserver.py`` cell, one process, --threads threads), wsgiref's
``simple_server`` (one thread, one request per connection: it answers HTTP/1.0
style and closes), and gevent's ``pywsgi`` (greenlets, after ``monkey.patch_all()``; with TCP_NODELAY,
as pywsgi sends the headers and the body in two writes that Nagle's algorithm would delay).
A load generator in another process keeps 1, 10 and 100 clients busy for --seconds
each: every client sends a request, reads the whole response and sends the next,
on one keep-alive connection while the server keeps it open (a new connection
otherwise).  It prints requests per second and the ratios reference/wsgiref and
reference/gevent.  Targets: the reference at least as fast as wsgiref with one
client, several times faster with 100.  A measurement, not a test: run it on a
quiet machine (it says the load average it started with).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.assignments import SOURCE, writefile_module  # noqa: E402

APP = '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"hello, world"]
'''

SERVERS = {
    "reference": APP + '''
import sys, threading
from webserver import Server
server = Server(app, threads=int(sys.argv[1]))
print(server.address[1], flush=True)
server.serve_forever()
''',
    "wsgiref": APP + '''
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
class Server(WSGIServer):
    request_queue_size = 1024
server = make_server("127.0.0.1", 0, app, server_class=Server, handler_class=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
''',
    "gevent": '''
from gevent import monkey
monkey.patch_all()
''' + APP + '''
import socket
from gevent.pywsgi import WSGIServer
class NoDelay(WSGIServer):
    def handle(self, sock, address):  # pywsgi sends headers and body apart: without this, Nagle's
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # algorithm holds the body 40 ms
        super().handle(sock, address)
server = NoDelay(("127.0.0.1", 0), app, log=None, error_log=None)
server.start()
print(server.server_port, flush=True)
server.serve_forever()
''',
}

LOAD = '''
import asyncio, sys, time
port, clients, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
REQUEST = b"GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n"

async def client(deadline, counts):
    reader = writer = None
    while time.monotonic() < deadline:
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        head = await reader.readuntil(b"\\r\\n\\r\\n")
        length, close = 0, False
        for line in head.split(b"\\r\\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            if name.lower() == b"connection" and b"close" in value.lower():
                close = True
        if head.startswith(b"HTTP/1.0") and b"keep-alive" not in head.lower():
            close = True
        await reader.readexactly(length)
        counts[0] += 1
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()

async def main():
    counts = [0]
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(*(client(deadline, counts) for _ in range(clients)))
    print(counts[0] / (time.monotonic() - started))

asyncio.run(main())
'''


def start(name, folder, threads):
    script = folder / f"serve_{name}.py"
    script.write_text(textwrap.dedent(SERVERS[name]))
    env = dict(os.environ, PYTHONPATH=str(folder))
    proc = subprocess.Popen([sys.executable, str(script), str(threads)], stdout=subprocess.PIPE, env=env,
                            cwd=folder, text=True)
    port = int(proc.stdout.readline())
    return proc, port


def load(port, clients, seconds, folder):
    script = folder / "load.py"
    script.write_text(LOAD)
    out = subprocess.run([sys.executable, str(script), str(port), str(clients), str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores "
          f"(Python {sys.version.split()[0]}); {args.seconds:g} s per measurement")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "webserver.py").write_text(writefile_module("ps4_web_server", "webserver.py"))
        (folder / "webtools.py").write_bytes((SOURCE / "ps4_web_server" / "webtools.py").read_bytes())
        for name in SERVERS:
            proc, port = start(name, folder, args.threads)
            try:
                load(port, 1, 0.5, folder)  # warm up
                for clients in args.clients:
                    rates[name, clients] = load(port, clients, args.seconds, folder)
            finally:
                proc.kill()
                proc.wait(10)
    print(f"{'clients':>8} {'reference':>11} {'wsgiref':>11} {'gevent':>11}   ref/wsgiref  ref/gevent   (requests/s)")
    for clients in args.clients:
        ref, wsgi, gev = (rates[name, clients] for name in SERVERS)
        print(f"{clients:>8} {ref:>11.0f} {wsgi:>11.0f} {gev:>11.0f}   {ref / wsgi:>11.2f} {ref / gev:>11.2f}")
    low, high = min(args.clients), max(args.clients)
    print(f"targets: reference >= wsgiref with {low} client: "
          f"{'met' if rates['reference', low] >= rates['wsgiref', low] else 'NOT met'}; "
          f"several times (>= 3x) wsgiref with {high}: "
          f"{'met' if rates['reference', high] >= 3 * rates['wsgiref', high] else 'NOT met'}")


if __name__ == "__main__":
    main()
