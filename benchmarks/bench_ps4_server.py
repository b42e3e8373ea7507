"""ps4: requests per second of the reference server against wsgiref and gevent, same run.

    python benchmarks/bench_ps4_server.py [--apps hello waits] [--clients 1 10 100] [--seconds 3] [--threads 8]

Three servers serve the same app, each in a process of its own on 127.0.0.1: the
reference solution of ps4_web_server (its ``%%writefile webserver.py`` cell, one
process, --threads threads), wsgiref's ``simple_server`` (one thread, one request per
connection: it answers HTTP/1.0 style and closes), and gevent's ``pywsgi`` (greenlets,
after ``monkey.patch_all()``; with TCP_NODELAY, as pywsgi sends the headers and the body
in two writes that Nagle's algorithm would delay).  Two apps, each a 12-byte body with a
Content-Length:

* ``hello`` answers at once: the servers' own cost per request is all there is to
  measure, and no server has a wait to overlap with other work;
* ``waits`` first waits 1 ms (``time.sleep(0.001)``), the way an app waits for its
  database or another service: a server that serves one request at a time waits with it.

A load generator in another process keeps 1, 10 and 100 clients busy for --seconds
each: every client sends a request, reads the whole response and sends the next,
on one keep-alive connection while the server keeps it open (a new connection
otherwise).  It prints requests per second, the ratios reference/wsgiref and
reference/gevent, and each process's CPU per request (server and load generator
share the machine's cores).  Targets: the reference at least as fast as wsgiref
with one client, several times faster with 100.  A measurement, not a test: run it
on a quiet machine (it says the load average it started with).
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.assignments import SOURCE, writefile_module  # noqa: E402

APPS = {
    "hello": '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"hello, world"]
''',
    "waits": '''
import time
def app(environ, start_response):
    time.sleep(0.001)  # a query to a database, a call to another service
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"hello, world"]
''',
}
APP = "from app import app\n"

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
    print(counts[0], time.monotonic() - started)

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


def load(port, clients, seconds, folder, server):
    """(requests per second, server CPU s per request, load generator CPU s per request).
    The generator is the only child this process waits for meanwhile, so the change in
    RUSAGE_CHILDREN is its CPU time (its start-up included); the server still runs, and
    psutil reads its own."""
    script = folder / "load.py"
    script.write_text(LOAD)
    server_before = sum(psutil.Process(server.pid).cpu_times()[:2])
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, str(script), str(port), str(clients), str(seconds)],
                         capture_output=True, text=True, timeout=seconds + 60)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    count, elapsed = out.stdout.split()
    requests = max(1, int(count))
    server_cpu = sum(psutil.Process(server.pid).cpu_times()[:2]) - server_before
    load_cpu = (children.ru_utime - children_before.ru_utime) + (children.ru_stime - children_before.ru_stime)
    return requests / float(elapsed), server_cpu / requests, load_cpu / requests


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", nargs="+", choices=sorted(APPS), default=list(APPS))
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores "
          f"(Python {sys.version.split()[0]}); {args.seconds:g} s per measurement; reference with "
          f"{args.threads} threads")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "webserver.py").write_text(writefile_module("ps4_web_server", "webserver.py"))
        (folder / "webtools.py").write_bytes((SOURCE / "ps4_web_server" / "webtools.py").read_bytes())
        for app in args.apps:
            (folder / "app.py").write_text(textwrap.dedent(APPS[app]))
            rates = {}
            for name in SERVERS:
                proc, port = start(name, folder, args.threads)
                try:
                    load(port, 1, 0.5, folder, proc)  # warm up
                    for clients in args.clients:
                        rates[name, clients] = load(port, clients, args.seconds, folder, proc)
                finally:
                    proc.kill()
                    proc.wait(10)
            report(app, rates, args.clients)


def report(app, rates, clients_list):
    print(f"\napp {app!r}: requests/s (server CPU per request, load generator CPU per request, in µs)")
    print(f"{'clients':>8} {'reference':>19} {'wsgiref':>19} {'gevent':>19}   ref/wsgiref  ref/gevent")
    for clients in clients_list:
        cells = [f"{r:>7.0f} ({s * 1e6:>3.0f}, {g * 1e6:>3.0f})" for r, s, g in (rates[n, clients] for n in SERVERS)]
        ref, wsgi, gev = (rates[name, clients][0] for name in SERVERS)
        print(f"{clients:>8} {cells[0]:>19} {cells[1]:>19} {cells[2]:>19}   {ref / wsgi:>11.2f} {ref / gev:>11.2f}")
    low, high = min(clients_list), max(clients_list)
    ref_low, wsgi_low = rates["reference", low][0], rates["wsgiref", low][0]
    ref_high, wsgi_high = rates["reference", high][0], rates["wsgiref", high][0]
    print(f"targets ({app}): reference >= wsgiref with {low} client: {'met' if ref_low >= wsgi_low else 'NOT met'}; "
          f"several times (>= 3x) wsgiref with {high}: {'met' if ref_high >= 3 * wsgi_high else 'NOT met'}")


if __name__ == "__main__":
    main()
