"""Tests for conclab.wsgi_demo: apps, middleware, the minimal server, servers in subprocesses."""
import http.client
import io
import sys

import pytest

from conclab import wsgi_demo as w

pytestmark = pytest.mark.timeout(90)


def call(app, path="/", method="GET", body=b"", query=""):
    """Call a WSGI app directly (no server) and return (status, headers, body)."""
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": query,
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    result = app(environ, start_response)
    data = b"".join(result)
    if hasattr(result, "close"):
        result.close()
    return seen["status"], seen["headers"], data


def get(port, path="/", method="GET", body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body)
    resp = conn.getresponse()
    out = resp.status, dict(resp.getheaders()), resp.read()
    conn.close()
    return out


def test_hello_app_contract():
    status, headers, body = call(w.hello_app)
    assert status == "200 OK" and body == b"Hello, WSGI!\n"
    assert ("Content-Length", str(len(body))) in headers


def test_middleware_adds_header_and_logs():
    app = w.RequestLog(w.add_header(w.hello_app, "X-Served-By", "conclab"))
    status, headers, _ = call(app, "/a")
    assert ("X-Served-By", "conclab") in headers
    assert app.records == [("GET", "/a", "200 OK")]


def test_route_moves_prefix_to_script_name():
    seen = {}

    def spy(environ, start_response):
        seen.update(SCRIPT_NAME=environ["SCRIPT_NAME"], PATH_INFO=environ["PATH_INFO"])
        return w.hello_app(environ, start_response)
    app = w.route({"/api": spy})
    call(app, "/api/users/7")
    assert seen == {"SCRIPT_NAME": "/api", "PATH_INFO": "/users/7"}
    assert call(app, "/other")[0] == "404 Not Found"


def test_echo_reads_exactly_content_length():
    assert call(w.echo_app, method="POST", body=b"abc")[2] == b"abc"


@pytest.mark.parametrize("make", ["mini", "wsgiref"])
def test_servers_call_close_on_the_iterable(make):
    app = w.TrackedBody()
    ctx = w.serving(w.MiniWSGIServer(app)) if make == "mini" else w.serve_wsgiref(app)
    with ctx as server:
        assert get(server.server_port)[2] == b"part one, part two\n"
    assert app.events[-1] == "server called close()"


def test_mini_server_environ_and_post():
    with w.serving(w.MiniWSGIServer(w.route({"/env": w.environ_app, "/echo": w.echo_app}))) as server:
        status, _, body = get(server.server_port, "/env/x?a=1")
        text = body.decode()
        assert status == 200
        for line in ("PATH_INFO = '/x'", "SCRIPT_NAME = '/env'", "QUERY_STRING = 'a=1'",
                     "REQUEST_METHOD = 'GET'", "wsgi.version = (1, 0)"):
            assert line in text
        assert get(server.server_port, "/echo", "POST", b"payload")[2] == b"payload"


def test_mini_server_answers_500_when_the_app_raises():
    def broken(environ, start_response):
        raise RuntimeError("boom")
    server = w.MiniWSGIServer(broken)
    with w.serving(server):
        assert get(server.server_port)[0] == 500
    assert isinstance(server.errors[0], RuntimeError)


def test_threaded_server_overlaps_sleeps_single_does_not():
    # generous bounds on 0.4 s sleeps: overlap vs none, not speed
    with w.serve_wsgiref(w.slow_app, threaded=True) as server:
        r = w.timed_requests(server.server_port, n=4, path="/?delay=0.4")
        assert [x[2] for x in r] == [200] * 4
        assert max(x[1] for x in r) < 4 * 0.4
    with w.serve_wsgiref(w.slow_app) as server:
        r = w.timed_requests(server.server_port, n=3, path="/?delay=0.4")
        assert max(x[1] for x in r) >= 3 * 0.4 - 0.05


def test_gevent_server_in_subprocess_overlaps_requests():
    with w.server_process("gevent") as port:
        r = w.timed_requests(port, n=4, path="/?delay=0.4")
        assert [x[2] for x in r] == [200] * 4
        assert max(x[1] for x in r) < 4 * 0.4
        assert len({x[3].split("pid=")[1] for x in r}) == 1  # one process


@pytest.mark.skipif(sys.platform == "win32", reason="prefork needs os.fork")
def test_prefork_workers_are_separate_processes():
    with w.server_process("prefork", workers=2) as port:
        r = w.timed_requests(port, n=4, path="/?delay=0.4")
        assert [x[2] for x in r] == [200] * 4
        assert len({x[3].split("pid=")[1] for x in r}) == 2


def test_server_process_reports_a_failed_start():
    with pytest.raises(RuntimeError):
        with w.server_process("gevent", app="no-such-app", timeout=20):
            pass


def test_front_proxy_serves_static_and_forwards_the_rest():
    app = w.RequestLog(w.route({"/hello": w.hello_app}))
    with w.serve_wsgiref(app, threaded=True) as upstream:
        with w.serving(w.FrontProxy(upstream.server_port, {"logo.txt": b"LOGO"})) as proxy:
            status, headers, body = get(proxy.server_port, "/static/logo.txt")
            assert (status, body, headers["Via"]) == (200, b"LOGO", "1.1 front-proxy")
            assert get(proxy.server_port, "/hello")[2] == b"Hello, WSGI!\n"
            assert get(proxy.server_port, "/static/missing")[0] == 404
    assert [r[1] for r in app.records] == ["/hello"]  # static requests never reach the app
    assert [r[0] for r in proxy.log] == ["static", "proxied", "static"]


def test_servers_declare_their_concurrency_flags():
    def flags(port):
        text = get(port)[2].decode()
        return ("wsgi.multithread = True" in text, "wsgi.multiprocess = True" in text)
    with w.serve_wsgiref(w.environ_app) as server:
        assert flags(server.server_port) == (False, False)
    with w.serve_wsgiref(w.environ_app, threaded=True) as server:
        assert flags(server.server_port) == (True, False)


def test_blocking_app_serialises_a_gevent_server():
    with w.server_process("gevent", app="blocking") as port:
        r = w.timed_requests(port, n=3, path="/?delay=0.4")
        assert [x[2] for x in r] == [200] * 3
        assert max(x[1] for x in r) >= 3 * 0.4 - 0.05  # greenlets could not overlap a real block


def test_pictures_draw():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = w.draw_web_path()
    assert any("middleware" in t.get_text() for t in ax.texts)
    plt.close(ax.figure)
    ax = w.plot_requests({"a": [(0.0, 0.5, 200, ""), (0.1, 0.6, 200, "")], "b": [(0.0, 1.0, None, "x")]})
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    plt.close(ax.figure)


def test_check_with_validator_reports_pass_and_failures():
    def returns_str(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["text"]

    def forgets_start_response(environ, start_response):
        return [b"body"]
    assert w.check_with_validator(w.hello_app) == "passes"
    assert w.check_with_validator(returns_str).startswith("fails: Iterator yielded non-bytestring")
    assert w.check_with_validator(forgets_start_response).startswith("fails:")


def test_fetch_returns_status_headers_body():
    with w.serve_wsgiref(w.hello_app) as server:
        status, headers, body = w.fetch(server.server_port, "/")
    assert (status, headers["Content-Length"], body) == (200, "13", b"Hello, WSGI!\n")
