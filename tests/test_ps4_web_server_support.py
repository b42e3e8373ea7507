"""webtools.py, the helper module ps4_web_server ships: its types, apps and clients."""
import json
import os
import pickle
import socket
import sys
import threading
import time
from wsgiref.util import setup_testing_defaults

import pytest

from tools.assignments import SOURCE

sys.path.insert(0, str(SOURCE / "ps4_web_server"))
import webtools  # noqa: E402


def environ(**values):
    env = {"QUERY_STRING": "", "SCRIPT_NAME": "", "PATH_INFO": "/"}
    env.update(values)
    setup_testing_defaults(env)
    return env


@pytest.fixture
def canned():
    """A server that answers every connection with fixed bytes, then (optionally) closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    replies, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.settimeout(5)
            data, close = replies.pop(0)
            conn.recv(65536)
            conn.sendall(data)
            if close:
                conn.close()
            else:
                threading.Timer(1, conn.close).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname(), replies
    stop.set()
    thread.join(5)
    listener.close()


def test_request_looks_headers_up_in_any_case():
    r = webtools.Request("GET", "/", "HTTP/1.1", [("Host", "a"), ("X-Rep", "1"), ("x-rep", "2")])
    assert r.header("HOST") == "a" and r.header("missing", "d") == "d"
    assert r.values("X-REP") == ["1", "2"] and r.body == b""


def test_http_error_carries_its_status():
    exc = webtools.HTTPError(431, "too long")
    assert exc.status == 431 and str(exc) == "431 Request Header Fields Too Large: too long"
    assert webtools.reason(404) == "Not Found" and webtools.reason(799) == "Unknown"


def test_apps_pass_wsgiref_validate_and_pickle_by_name():
    assert webtools.call_app(webtools.hello, environ())[2] == b"hello"
    body = webtools.call_app(webtools.echo, environ(REQUEST_METHOD="POST", CONTENT_LENGTH="2",
                                                    **{"wsgi.input": __import__("io").BytesIO(b"hi")}))[2]
    assert json.loads(body)["body"] == "hi"
    assert json.loads(webtools.call_app(webtools.info, environ())[2])["pid"] == os.getpid()
    assert webtools.call_app(webtools.stream, environ(QUERY_STRING="parts=a,b"))[2] == b"ab"
    assert webtools.call_app(webtools.sleepy, environ(QUERY_STRING="s=0"))[2] == b"awake"
    for app in (webtools.hello, webtools.info, webtools.sleepy, webtools.stream):
        assert pickle.loads(pickle.dumps(app)) is app


def test_bottle_site_routes():
    site = webtools.bottle_app()
    assert webtools.call_app(site, environ(PATH_INFO="/hello/x"))[2] == b"hello x"
    status, headers, body = webtools.call_app(site, environ(PATH_INFO="/items", QUERY_STRING="page=2"))
    assert ("X-Count", "3") in headers and json.loads(body)["page"] == "2"
    assert webtools.call_app(site, environ(PATH_INFO="/nowhere"))[0].startswith("404")


def test_gate_holds_requests_until_opened():
    gate, out = webtools.Gate(limit=5), []
    t = threading.Thread(target=lambda: out.append(webtools.call_app(gate, environ())[2]), daemon=True)
    t.start()
    assert gate.wait_entered(1, within=5)
    time.sleep(0.1)
    assert out == []
    gate.open()
    t.join(5)
    assert out == [b"passed"]
    gate.close()
    assert not gate._open


def test_crowd_counts_calls_at_once():
    crowd = webtools.Crowd(3, patience=2)
    threads = [threading.Thread(target=webtools.call_app, args=(crowd, environ()), daemon=True) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert crowd.met == 3 and crowd.most == 3
    alone = webtools.Crowd(2, patience=0.1)
    webtools.call_app(alone, environ())
    assert alone.met == 0 and alone.most == 1


def test_raw_client_reads_each_framing(canned):
    address, replies = canned
    replies.append((b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2;x\r\nde\r\n1\r\nf\r\n0\r\nT: 1\r\n\r\n"
                    b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nrest", True))
    with webtools.RawClient(address) as client:
        client.send(b"x")
        first, second = client.response(), client.response()
        head = client.response(head=True)
        last = client.response()
    assert (first.status, first.body, first.chunked) == (200, b"abc", False)
    assert (second.status, second.reason, second.body, second.chunked) == (201, "Created", b"def", True)
    assert second.raw.endswith(b"0\r\nT: 1\r\n\r\n") and second.header("transfer-encoding") == "chunked"
    assert head.body == b"" and last.body == b"rest" and last.raw.endswith(b"\r\n\r\nrest")


def test_raw_client_reports_a_silent_or_closing_server(canned):
    address, replies = canned
    replies.append((b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", True))
    with webtools.RawClient(address) as client:
        client.send(b"x")
        with pytest.raises(ConnectionError):
            client.response()
    replies.append((b"", False))
    with webtools.RawClient(address, timeout=0.3) as client:
        client.send(b"x")
        with pytest.raises(TimeoutError):
            client.response()
        assert not client.closed(within=0.2)
        assert client.closed(within=5)


def test_slow_client_sends_a_byte_at_a_time():
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    pieces = []

    def serve():
        conn, _ = listener.accept()
        with conn:
            while sum(map(len, pieces)) < 3:
                pieces.append(conn.recv(10))
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started = time.monotonic()
    slow = webtools.SlowClient(listener.getsockname(), b"abc", every=0.1)
    slow.start()
    try:
        assert slow.response().body == b"ok" and slow.sent == 3
        assert pieces == [b"a", b"b", b"c"] and time.monotonic() - started >= 0.3
    finally:
        slow.stop()
        thread.join(5)
        listener.close()


def test_get_sends_one_request_and_reads_its_response(canned):
    address, replies = canned
    replies.append((b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", True))
    assert webtools.get(address, "/x").status == 404


def test_browser_keeps_and_deletes_cookies():
    def app(environ, start_response):
        action = environ.get("test.action")
        headers = [("Content-Type", "text/plain"), ("Content-Length", "2")]
        if action:
            headers.append(("Set-Cookie", action))
        start_response("200 OK", headers)
        return [environ.get("HTTP_COOKIE", "").encode()[:2].ljust(2)]

    browser = webtools.Browser()
    browser.request(app, "a=1; Path=/; HttpOnly")
    browser.request(app, "b=2")
    assert browser.cookies == {"a": "1", "b": "2"}
    browser.request(app, "a=; Max-Age=0")
    assert browser.cookies == {"b": "2"} and browser.set_cookies == ["a=; Max-Age=0"]
    assert browser.request(webtools.session_app, scheme="https")[2] == {"session": None, "id": None}


def test_eventually_and_alive():
    assert webtools.eventually(lambda: 5) == 5
    started = time.monotonic()
    assert webtools.eventually(lambda: 0, within=0.2) == 0 and time.monotonic() - started < 2
    assert webtools.alive([os.getpid(), 2 ** 22 + 12345]) == [os.getpid()]


def test_raw_client_leftover_reads_to_the_end(canned):
    address, replies = canned
    replies.append((b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nextra bytes", True))
    with webtools.RawClient(address) as client:
        client.send(b"HEAD / HTTP/1.1\r\n\r\n")
        assert client.response(head=True).status == 200
        assert client.leftover(within=3) == b"extra bytes" and client.eof
    replies.append((b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", False))
    with webtools.RawClient(address) as client:
        client.send(b"x")
        client.response()
        started = time.monotonic()
        assert client.leftover(within=0.3) == b"" and time.monotonic() - started < 2
