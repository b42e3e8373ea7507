"""Tests for conclab.net: TCP state watching, the loopback site, the raw HTTP client."""
import socket
import sys

import pytest

from conclab import net
from support import free_port

pytestmark = pytest.mark.timeout(60)
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP table via ss or /proc")


@linux_only
def test_close_sequence_states_client_closes_first():
    with net.TcpPair() as pair:
        assert pair.states() == {"client": "ESTABLISHED", "server": "ESTABLISHED"}
        pair.client.shutdown(socket.SHUT_WR)
        assert pair.wait(client="FIN-WAIT-2", server="CLOSE-WAIT") == {
            "client": "FIN-WAIT-2", "server": "CLOSE-WAIT"}
        pair.server.close()
        assert pair.wait(client="TIME-WAIT", server="CLOSED") == {"client": "TIME-WAIT", "server": "CLOSED"}


@linux_only
def test_the_client_port_is_one_no_other_connection_is_given():
    """04.02 binds the client's old port after the close: a port from the ephemeral range
    could meanwhile be handed to any other program's connection (the suite's, on a busy
    machine), and the bind would fail for a reason the lecture does not talk about."""
    low, high = net.ephemeral_range()
    assert low <= high
    with net.TcpPair() as pair:
        assert pair.client_port < low, (pair.client_port, low)
        others = [socket.create_connection(("127.0.0.1", pair.port), timeout=5) for _ in range(50)]
        try:
            assert all(o.getsockname()[1] >= low for o in others), "the system picks ports from the ephemeral range"
        finally:
            for other in others:
                other.close()


@linux_only
def test_server_closing_first_puts_the_server_side_in_time_wait():
    with net.TcpPair() as pair:
        pair.server.close()
        pair.wait(client="CLOSE-WAIT")
        pair.client.close()
        assert pair.wait(server="TIME-WAIT") == {"client": "CLOSED", "server": "TIME-WAIT"}


@linux_only
def test_proc_parser_agrees_with_ss():
    with net.TcpPair() as pair:
        via_proc = {(c.local, c.remote, c.state) for c in net._via_proc(pair.port)}
        assert (pair.client_port, pair.port, "ESTABLISHED") in via_proc
        assert (pair.port, 0, "LISTEN") in via_proc


def test_ss_rows_without_a_port_are_kept_with_port_zero(monkeypatch):
    """`ss` prints "*" for a port a socket does not have (a listener's peer; under the suite's
    load once a local one too, which made 04.02 raise in JupyterLab): such a row is port 0."""
    import subprocess

    lines = ["ESTAB      0 0 127.0.0.1:5001  127.0.0.1:40000 timer:(keepalive,1min59sec,0)",
             "LISTEN     0 5   0.0.0.0:40000       0.0.0.0:*",
             "TIME-WAIT  0 0 127.0.0.1:40000  127.0.0.1:5001 timer:(timewait,59sec,0)",
             "SYN-SENT   0 1   0.0.0.0:*       127.0.0.1:40000"]
    monkeypatch.setattr(net.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, "\n".join(lines), ""))
    assert net._via_ss(40000) == [net.Conn(5001, 40000, "ESTABLISHED", 119.0), net.Conn(40000, 0, "LISTEN"),
                                  net.Conn(40000, 5001, "TIME-WAIT", 59.0), net.Conn(0, 40000, "SYN-SENT")]


@linux_only
def test_time_wait_timer_is_at_most_sixty_seconds():
    import shutil
    if not shutil.which("ss"):
        pytest.skip("needs ss for timers")
    with net.TcpPair() as pair:
        pair.client.close()
        pair.wait(server="CLOSE-WAIT")
        pair.server.close()
        pair.wait(client="TIME-WAIT")
        rows = [c for c in net.tcp_table(pair.port) if c.state == "TIME-WAIT"]
        assert rows and 0 < rows[0].timer <= 60


@linux_only
def test_syn_sent_is_caught_behind_a_full_accept_queue():
    counts = net.catch_syn_sent(attempts=2)
    assert counts.get("SYN-SENT", 0) >= 1


def test_tiny_png_is_a_png():
    data = net.tiny_png()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")


def test_find_resources_in_document_order():
    assert net.find_resources(net.INDEX_HTML.decode()) == ["/style.css", "/app.js", "/logo.png"]


def test_format_request_has_host_and_blank_line():
    raw = net.format_request("GET", "/x", "127.0.0.1:80", {"Accept": "*/*"})
    assert raw == b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:80\r\nAccept: */*\r\n\r\n"


def test_read_response_chunked_and_close_delimited():
    import io
    chunked = io.BytesIO(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert net.read_response(chunked).body == b"abcde"
    closed = io.BytesIO(b"HTTP/1.0 200 OK\r\nX: 1\r\n\r\nuntil close")
    r = net.read_response(closed)
    assert (r.status, r.body, r.header("x")) == (200, b"until close", "1")


def test_keep_alive_reuses_one_connection():
    with net.serve_site() as server:
        fetched = net.fetch_page(server.port)
        assert [f.path for f in fetched] == ["/", "/style.css", "/app.js", "/logo.png"]
        assert all(f.status == 200 for f in fetched)
        assert len({f.client_port for f in fetched}) == 1
        assert len({port for port, _, _ in server.log}) == 1


def test_without_keep_alive_every_request_opens_a_connection():
    with net.serve_site() as server:
        fetched = net.fetch_page(server.port, keep_alive=False)
        assert len({f.client_port for f in fetched}) == 4


def test_raw_connection_two_requests_and_404():
    with net.serve_site() as server, net.RawHTTPConnection(port=server.port) as conn:
        assert conn.request("/style.css").body == b"h1 { color: darkred; }\n"
        missing = conn.request("/nope")
        assert missing.status == 404
        assert len(conn.sent) == 2


def test_draw_sequence_draws_arrows_and_states():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = net.draw_sequence([(">", "SYN", "SYN-SENT", ""), ("<x", "ACK", "", "LAST-ACK"), ("", "", "A", "B")])
    texts = [t.get_text() for t in ax.texts]
    assert {"SYN", "ACK", "SYN-SENT", "LAST-ACK", "X lost", "client", "server"} <= set(texts)
    plt.close(ax.figure)


def test_client_hello_shows_sni_and_alpn_in_clear():
    hello = net.capture_client_hello("www.example.com", alpn=("h2", "http/1.1"))
    assert hello[0] == 22 and hello[5] == 1  # TLS handshake record, ClientHello
    assert b"www.example.com" in hello and b"http/1.1" in hello


@linux_only
def test_wait_states_for_named_sockets():
    with net.TcpPair() as pair:
        roles = {"client": (pair.client_port, pair.port), "listener": (pair.port, 0)}
        assert net.wait_states(pair.port, roles, client="ESTABLISHED") == {
            "client": "ESTABLISHED", "listener": "LISTEN"}


@linux_only
@pytest.mark.parametrize("first", ["client", "server"])
def test_close_first_puts_the_first_closer_in_time_wait(first):
    pair = net.close_first(first)
    other = "server" if first == "client" else "client"
    assert pair.states() == {first: "TIME-WAIT", other: "CLOSED"}


@linux_only
def test_rebind_needs_so_reuseaddr_on_old_and_new_socket():
    # Linux: the TIME-WAIT socket keeps the SO_REUSEADDR flag of the socket it came from
    results = {}
    for old in (False, True):
        for new in (False, True):
            pair = net.close_first("server", reuse=old)
            results[old, new] = net.try_bind(pair.port, reuse=new)
    assert results == {(False, False): "EADDRINUSE", (False, True): "EADDRINUSE",
                       (True, False): "EADDRINUSE", (True, True): "ok"}


def test_try_bind_on_a_free_port():
    assert net.try_bind(free_port()) == "ok"


def test_draw_sequence_delayed_and_late_segments():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = net.draw_sequence([("d>", "seq=1000", "", ""), ("l>", "old seq=1000", "", "")])
    assert "... delayed" in [t.get_text() for t in ax.texts]
    plt.close(ax.figure)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_INFO segment counters are Linux's")
def test_close_segments_counts_a_fin_and_an_ack_on_the_closing_side():
    counts = net.close_segments(peer_delay=0.3)
    assert counts == {"client": 2, "server": 2}, "FIN + last ACK; ACK, then FIN after the delay"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_INFO segment counters are Linux's")
def test_close_segments_never_exceeds_two_per_side_without_losses():
    counts = net.close_segments(peer_delay=0.0)
    assert counts["client"] == 2 and counts["server"] in (1, 2)   # 1: FIN rode on the ACK


def test_close_model_with_and_without_time_wait():
    steps, outcome = net.close_model(time_wait=True)
    assert any(a == "x>" for a, *_ in steps) and "clean" in outcome
    assert steps[-2][0] == ">" and "ACK again" in steps[-2][1]
    steps, outcome = net.close_model(time_wait=False)
    assert steps[-1][1].startswith("RST") and "error" in outcome
    steps, outcome = net.close_model(lose_last_ack=False)
    assert not any(a == "x>" for a, *_ in steps) and steps[-1][3] == "CLOSED"
