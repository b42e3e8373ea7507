"""DNS messages by hand (RFC 1035), and a toy resolver that lives on loopback.

The course never contacts a real DNS server.  Instead:

* :func:`build_query` packs a query exactly as RFC 1035 §4.1 lays it out
  (12-byte header, QNAME as length-prefixed labels, QTYPE, QCLASS), and
  :func:`parse_message` unpacks queries and answers;
* :class:`ToyDNSServer` answers A queries from a dict, over UDP **and** TCP,
  on 127.0.0.1 with ports chosen by the kernel.  Over UDP an answer larger
  than 512 bytes is cut and flagged TC ("truncated", RFC 1035 §4.2.1); over TCP
  each message is preceded by a two-byte length (RFC 1035 §4.2.2, RFC 7766);
* :func:`resolve` is a stub resolver that asks over UDP and retries over TCP
  when the answer comes back truncated: the reason DNS needs TCP at all.
"""
from __future__ import annotations

import contextlib
import ipaddress
import socket
import socketserver
import struct
import threading

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "AXFR": 252}
UDP_LIMIT = 512  # RFC 1035 §2.3.4: UDP messages are 512 bytes or less (without EDNS0)


def encode_name(name: str) -> bytes:
    """QNAME: each label as one length byte plus its bytes, ended by a zero byte."""
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise ValueError(f"label {label!r} must be 1..63 bytes")
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def build_query(name: str, qtype: str = "A", qid: int = 0x1234, recursion_desired: bool = True) -> bytes:
    """A DNS query message: header (ID, flags, QDCOUNT=1, AN/NS/AR=0) + one question."""
    flags = 0x0100 if recursion_desired else 0  # RD bit
    header = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack(">HH", QTYPES[qtype], 1)  # class IN


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    """Decode a (possibly compressed, RFC 1035 §4.1.4) name; return (name, offset after it)."""
    labels, jumped, end = [], False, offset
    for _ in range(128):  # a bound against pointer loops
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if not jumped:
                end = offset + 2
            offset, jumped = struct.unpack(">H", data[offset:offset + 2])[0] & 0x3FFF, True
            continue
        if length == 0:
            return ".".join(labels), (end if jumped else offset + 1)
        labels.append(data[offset + 1:offset + 1 + length].decode("ascii"))
        offset += 1 + length
    raise ValueError("name too long or looping")


def parse_message(data: bytes) -> dict:
    """Unpack header flags, questions and A/AAAA answers of a DNS message."""
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", data[:12])
    msg = {"id": qid, "qr": flags >> 15, "opcode": (flags >> 11) & 0xF, "aa": (flags >> 10) & 1,
           "tc": (flags >> 9) & 1, "rd": (flags >> 8) & 1, "ra": (flags >> 7) & 1,
           "rcode": flags & 0xF, "questions": [], "answers": []}
    offset = 12
    names = {v: k for k, v in QTYPES.items()}
    for _ in range(qd):
        name, offset = _read_name(data, offset)
        qtype, qclass = struct.unpack(">HH", data[offset:offset + 4])
        offset += 4
        msg["questions"].append((name, names.get(qtype, qtype)))
    for _ in range(an):
        name, offset = _read_name(data, offset)
        rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", data[offset:offset + 10])
        offset += 10
        rdata = data[offset:offset + rdlen]
        offset += rdlen
        value = str(ipaddress.ip_address(rdata)) if rtype in (1, 28) else rdata
        msg["answers"].append((name, names.get(rtype, rtype), ttl, value))
    return msg


def build_response(query: bytes, addresses: list[str], ttl: int = 60, limit: int | None = None) -> bytes:
    """Answer ``query`` with A records; cut to ``limit`` bytes with TC=1 if it would not fit."""
    qid, qflags = struct.unpack(">HH", query[:4])
    question_end = 12
    _, question_end = _read_name(query, 12)
    question = query[12:question_end + 4]
    rcode = 0 if addresses else 3  # NXDOMAIN when we know nothing
    records = [struct.pack(">HHHIH", 0xC00C, 1, 1, ttl, 4) + socket.inet_aton(a) for a in addresses]
    tc = 0
    if limit is not None:
        room = (limit - 12 - len(question)) // 16  # each compressed A record is 16 bytes
        if len(records) > room:
            records, tc = records[:max(room, 0)], 1
    flags = 0x8000 | 0x0400 | (tc << 9) | (qflags & 0x0100) | 0x0080 | rcode  # QR AA TC RD RA
    header = struct.pack(">HHHHHH", qid, flags, 1, len(records), 0, 0)
    return header + question + b"".join(records)


def hexdump(data: bytes, width: int = 16) -> str:
    """Offset, hex bytes and printable ASCII, like ``xxd``."""
    lines = []
    for i in range(0, len(data), width):
        row = data[i:i + width]
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{i:04x}  {row.hex(' '):<{width * 3}} {text}")
    return "\n".join(lines)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed mid-message")
        buf += chunk
    return buf


class ToyDNSServer:
    """Authoritative answers for a few names, over UDP and TCP on loopback.

    ``records`` maps a name to a list of IPv4 addresses.  ``udp_port`` and
    ``tcp_port`` are chosen by the kernel; ``log`` records ``(transport, name,
    truncated)`` per query.  Use it as a context manager.
    """

    def __init__(self, records: dict[str, list[str]]):
        self.records = {k.rstrip(".").lower(): v for k, v in records.items()}
        self.log: list[tuple[str, str, bool]] = []
        toy = self

        class UDP(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                sock.sendto(toy.answer(data, "udp"), self.client_address)

        class TCP(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(5)
                (length,) = struct.unpack(">H", _recv_exact(self.request, 2))
                reply = toy.answer(_recv_exact(self.request, length), "tcp")
                self.request.sendall(struct.pack(">H", len(reply)) + reply)

        class ThreadingTCP(socketserver.ThreadingTCPServer):
            daemon_threads = True

        self._udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), UDP)
        self._udp.daemon_threads = True
        self._tcp = ThreadingTCP(("127.0.0.1", 0), TCP)
        self.udp_port = self._udp.server_address[1]
        self.tcp_port = self._tcp.server_address[1]
        self._threads = []

    def answer(self, query: bytes, transport: str) -> bytes:
        name = parse_message(query)["questions"][0][0].lower()
        reply = build_response(query, self.records.get(name, []),
                               limit=UDP_LIMIT if transport == "udp" else None)
        self.log.append((transport, name, bool(parse_message(reply)["tc"])))
        return reply

    def __enter__(self):
        for srv in (self._udp, self._tcp):
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc):
        for srv in (self._udp, self._tcp):
            srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join(timeout=5)


def query_udp(query: bytes, port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> bytes:
    """Send one datagram, receive one datagram."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query, (host, port))
        return s.recvfrom(65535)[0]


def query_tcp(query: bytes, port: int, host: str = "127.0.0.1", timeout: float = 2.0) -> bytes:
    """Send a length-prefixed message on a TCP connection, read the length-prefixed reply."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(struct.pack(">H", len(query)) + query)
        (length,) = struct.unpack(">H", _recv_exact(s, 2))
        return _recv_exact(s, length)


def resolve(name: str, udp_port: int, tcp_port: int, host: str = "127.0.0.1") -> tuple[list[str], list[str]]:
    """Stub resolver: UDP first, TCP if the UDP answer is truncated.

    Returns ``(addresses, transports used)``.
    """
    query = build_query(name)
    reply = parse_message(query_udp(query, udp_port, host))
    used = ["udp"]
    if reply["tc"]:
        reply = parse_message(query_tcp(query, tcp_port, host))
        used.append("tcp")
    return [a[3] for a in reply["answers"] if a[1] == "A"], used
