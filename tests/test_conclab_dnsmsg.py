"""Tests for conclab.dnsmsg: hand-built DNS messages and the loopback toy resolver."""
import struct

import pytest

from conclab import dnsmsg

pytestmark = pytest.mark.timeout(60)


def test_query_layout_matches_rfc1035():
    q = dnsmsg.build_query("www.example.com", qid=0xABCD)
    assert q[:12] == bytes.fromhex("abcd 0100 0001 0000 0000 0000")
    assert q[12:] == b"\x03www\x07example\x03com\x00" + b"\x00\x01\x00\x01"


def test_encode_name_rejects_long_labels():
    with pytest.raises(ValueError):
        dnsmsg.encode_name("a" * 64 + ".example")


def test_response_round_trip_with_compression_pointer():
    q = dnsmsg.build_query("a.example")
    r = dnsmsg.parse_message(dnsmsg.build_response(q, ["10.0.0.1", "10.0.0.2"]))
    assert (r["qr"], r["aa"], r["tc"], r["rcode"]) == (1, 1, 0, 0)
    assert r["answers"] == [("a.example", "A", 60, "10.0.0.1"), ("a.example", "A", 60, "10.0.0.2")]


def test_large_answer_is_truncated_to_512_bytes():
    q = dnsmsg.build_query("big.example")
    reply = dnsmsg.build_response(q, [f"10.0.0.{i}" for i in range(100)], limit=512)
    assert len(reply) <= 512 and dnsmsg.parse_message(reply)["tc"] == 1


def test_unknown_name_is_nxdomain():
    q = dnsmsg.build_query("nope.example")
    assert dnsmsg.parse_message(dnsmsg.build_response(q, []))["rcode"] == 3


def test_resolver_falls_back_to_tcp_only_when_truncated():
    records = {"small.example": ["127.0.0.1"], "big.example": [f"10.0.1.{i}" for i in range(60)]}
    with dnsmsg.ToyDNSServer(records) as server:
        assert dnsmsg.resolve("small.example", server.udp_port, server.tcp_port) == (["127.0.0.1"], ["udp"])
        addresses, used = dnsmsg.resolve("big.example", server.udp_port, server.tcp_port)
        assert used == ["udp", "tcp"] and len(addresses) == 60
    assert [entry[0] for entry in server.log] == ["udp", "udp", "tcp"]


def test_tcp_messages_are_length_prefixed():
    import socket
    with dnsmsg.ToyDNSServer({"x.example": ["127.0.0.2"]}) as server:
        query = dnsmsg.build_query("x.example")
        with socket.create_connection(("127.0.0.1", server.tcp_port), timeout=5) as s:
            s.sendall(struct.pack(">H", len(query)) + query)
            (length,) = struct.unpack(">H", dnsmsg._recv_exact(s, 2))
            reply = dnsmsg._recv_exact(s, length)
        assert dnsmsg.parse_message(reply)["answers"][0][3] == "127.0.0.2"


def test_hexdump_shows_offsets_and_ascii():
    dump = dnsmsg.hexdump(b"\x03www\x00")
    assert dump.startswith("0000  03 77 77 77 00") and dump.endswith(".www.")
