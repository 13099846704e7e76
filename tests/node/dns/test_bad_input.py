"""Bad DNS packets: each gets the right RCODE or is dropped; a bounded fuzz finds no crash.

Invariants checked on every answer: it is a response (QR=1) with the query's id, it never
exceeds the size the query allows, and it echoes the question bytes exactly when it has one.
A response (QR=1) is never answered.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import time
from collections.abc import Iterator

import dns.message
import dns.rcode
import pytest

from migrations.runner import upgrade
from node import Settings
from registry.storage import Database

from .dnshelp import ZONE, DnsNode, dns_node, name_of

HANDLE = "88.118.8/FUZZ"
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
BADVERS = 16
DROP = None


@pytest.fixture(scope="module")
def node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DnsNode]:
    # One node on SQLite for the whole module: the packets, not the storage, are the point.
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('dnsfuzz')}/fuzz.db"

    async def migrate() -> None:
        db = Database(url)
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(migrate())
    settings = Settings(
        database_url=url,
        node_code="88.118",
        admin_token="test-admin-token",
        credential_key="test-credential-key",
        keys_dir=str(tmp_path_factory.mktemp("keys")),
    )
    with dns_node(settings, dns_responses_per_second=0) as running:
        running.put(HANDLE, [{"index": 1, "type": "URL", "data": "https://example.com/f"}])
        yield running


def header(
    id_: int = 0x1234,
    flags: int = 0x0100,
    qd: int = 1,
    an: int = 0,
    ns: int = 0,
    ar: int = 0,
) -> bytes:
    return struct.pack("!HHHHHH", id_, flags, qd, an, ns, ar)


def question(name: bytes | None = None, qtype: int = 256, qclass: int = 1) -> bytes:
    return (name if name is not None else NAME) + struct.pack("!HH", qtype, qclass)


def opt(payload: int = 1232, version: int = 0, rdata: bytes = b"") -> bytes:
    return b"\x00" + struct.pack("!HHBBHH", 41, payload, 0, version, 0, len(rdata)) + rdata


NAME = name_of(HANDLE).to_wire()
LOOP = b"\xc0\x0c"  # a pointer to itself
FORWARD = b"\xc0\x20" + b"\x00" * 40
CASES: list[tuple[str, bytes, int | None]] = [
    ("empty", b"", DROP),
    ("shorter than a header", b"\x12\x34\x01\x00\x00\x01", DROP),
    ("a response", header(flags=0x8100) + question(), DROP),
    ("opcode STATUS", header(flags=0x1100) + question(), NOTIMP),
    ("opcode NOTIFY", header(flags=0x2000) + question(), NOTIMP),
    ("opcode UPDATE", header(flags=0x2800) + question(), NOTIMP),
    ("no question", header(qd=0), FORMERR),
    ("two questions", header(qd=2) + question() + question(), FORMERR),
    ("counts beyond the packet", header(an=5) + question(), FORMERR),
    ("question cut short", header() + NAME[:10], FORMERR),
    ("trailing junk", header() + question() + b"junk", FORMERR),
    ("pointer loop", header() + question(LOOP), FORMERR),
    ("forward pointer", header() + question(FORWARD), FORMERR),
    ("label longer than 63", header() + question(b"\x40" + b"a" * 64 + b"\x00"), FORMERR),
    ("label type 0x80", header() + question(b"\x80abc\x00"), FORMERR),
    ("name longer than 255", header() + question(b"\x3f" + b"a" * 63) * 1 + b"", FORMERR),
    ("two OPT records", header(ar=2) + question() + opt() + opt(), FORMERR),
    ("OPT in the answer section", header(an=1) + question() + opt(), FORMERR),
    ("EDNS version 1", header(ar=1) + question() + opt(version=1), BADVERS),
    ("class CH", header() + question(qclass=3), REFUSED),
    ("class ANY", header() + question(qclass=255), REFUSED),
    ("qtype 0", header() + question(qtype=0), FORMERR),
    ("AXFR over UDP", header() + question(qtype=252), REFUSED),
    ("IXFR", header() + question(qtype=251), REFUSED),
    ("MAILB", header() + question(qtype=253), NOTIMP),
    ("outside the zone", header() + question(b"\x07example\x03com\x00"), REFUSED),
    (
        "non-canonical base32",
        header() + question(b"\x02zz\x02_1\x018\x03118\x0288" + NAME[-15:]),
        NXDOMAIN,
    ),
    ("payload below 512", header(ar=1) + question() + opt(payload=100), NOERROR),
    ("a plain query", header() + question(), NOERROR),
    ("mixed case", header() + question(NAME.upper()), NOERROR),
]


def _long_name() -> bytes:
    return b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"


CASES[15] = ("name longer than 255", header() + question(_long_name()), FORMERR)


def _limit(packet: bytes) -> int:
    parsed_payload = 512
    try:
        query = dns.message.from_wire(packet)
        if query.edns >= 0:
            parsed_payload = min(max(query.payload, 512), 1232)
    except Exception:
        pass
    return parsed_payload


def _question_end(packet: bytes) -> int | None:
    offset = 12
    while offset < len(packet):
        length = packet[offset]
        if length == 0:
            end = offset + 5
            return end if end <= len(packet) else None
        if length > 63:
            return None
        offset += length + 1
    return None


def check_answer(packet: bytes, answer: bytes, tcp: bool = False) -> None:
    """The invariants every answer keeps."""
    assert len(answer) >= 12
    assert answer[:2] == packet[:2], "the id is echoed"
    assert answer[2] & 0x80, "QR is set"
    assert not packet[2] & 0x80 if len(packet) > 2 else True, "a response was answered"
    if not tcp:
        assert len(answer) <= _limit(packet), "the advertised size is exceeded"
    qdcount = struct.unpack_from("!H", answer, 4)[0]
    if qdcount:
        end = _question_end(packet)
        assert end is not None
        assert answer[12:end] == packet[12:end], "the question is echoed byte for byte"


def rcode_of(answer: bytes) -> int:
    low = answer[3] & 0xF
    message_arcount = struct.unpack_from("!H", answer, 10)[0]
    if message_arcount:
        try:
            parsed = dns.message.from_wire(answer)
            return parsed.rcode()
        except Exception:
            return low
    return low


def udp_exchange(port: int, packet: bytes, wait: float) -> list[bytes]:
    """Send ``packet``; every datagram that comes back within ``wait`` seconds."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(packet, ("127.0.0.1", port))
        answers = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                answers.append(sock.recv(65535))
            except TimeoutError:
                break
            # One answer came: wait only briefly for a second one that must not come.
            deadline = min(deadline, time.monotonic() + 0.1)
        return answers


@pytest.mark.parametrize(("case", "packet", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_bad_packet_gets_its_rcode_or_is_dropped(
    node: DnsNode, case: str, packet: bytes, expected: int | None
) -> None:
    answers = udp_exchange(node.port, packet, 0.5 if expected is DROP else 5.0)
    if expected is DROP:
        assert answers == []
        return
    assert len(answers) == 1, case
    check_answer(packet, answers[0])
    assert rcode_of(answers[0]) == expected, case
    # Over TCP the same packet gets the same RCODE.
    tcp = tcp_exchange(node.port, [packet])
    assert len(tcp) == 1
    check_answer(packet, tcp[0], tcp=True)
    assert rcode_of(tcp[0]) == expected


def tcp_exchange(port: int, packets: list[bytes], expect: int | None = None) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"".join(struct.pack("!H", len(p)) + p for p in packets))
        answers = []
        want = len(packets) if expect is None else expect
        buffer = b""
        while len(answers) < want:
            chunk = sock.recv(65535)
            if not chunk:
                break
            buffer += chunk
            while len(buffer) >= 2 and len(buffer) >= 2 + struct.unpack_from("!H", buffer)[0]:
                size = struct.unpack_from("!H", buffer)[0]
                answers.append(buffer[2 : 2 + size])
                buffer = buffer[2 + size :]
        return answers


def test_tcp_pipelined_queries_all_get_answers(node: DnsNode) -> None:
    packets = [struct.pack("!H", i) + header()[2:] + question() for i in range(20)]
    answers = tcp_exchange(node.port, packets)
    assert sorted(a[:2] for a in answers) == sorted(p[:2] for p in packets)
    for answer in answers:
        packet = next(p for p in packets if p[:2] == answer[:2])
        check_answer(packet, answer, tcp=True)


def test_tcp_length_zero_partial_frames_and_idle_close(node: DnsNode) -> None:
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as sock:
        sock.sendall(b"\x00\x00")
        assert sock.recv(10) == b""  # a zero-length message ends the connection
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as sock:
        sock.sendall(b"\xff\xff" + b"x" * 100)  # announces 65535, sends 100, then leaves
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as sock:
        sock.sendall(b"\x00")  # half a length
    # The server still answers.
    assert len(tcp_exchange(node.port, [header() + question()])) == 1


def _mutate(rng: random.Random, packet: bytes) -> bytes:
    data = bytearray(packet)
    for _ in range(rng.randint(1, 4)):
        action = rng.random()
        if action < 0.5 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif action < 0.7:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        elif action < 0.85 and data:
            del data[rng.randrange(len(data)) :]
        else:
            data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
    return bytes(data)


SEEDS = [
    header() + question(),
    header(ar=1) + question() + opt(),
    header(ar=1) + question(qtype=16) + opt(payload=4096),
    header() + question(name_of(HANDLE).parent().to_wire()),
    header() + question(dns.name.from_text(ZONE).to_wire(), qtype=6),
]


def test_fuzz_random_and_mutated_packets(node: DnsNode) -> None:
    rng = random.Random(18)
    sent: dict[bytes, bytes] = {}
    deadline = time.monotonic() + 20
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        answers: list[bytes] = []

        def drain() -> None:
            while True:
                try:
                    answers.append(sock.recv(65535))
                except BlockingIOError:
                    return

        for number in range(1500):
            if time.monotonic() > deadline:
                break
            if rng.random() < 0.25:
                packet = bytes(rng.randrange(256) for _ in range(rng.randint(0, 80)))
            else:
                packet = _mutate(rng, rng.choice(SEEDS))
            if len(packet) >= 2:
                # A distinct id per packet says which packet an answer belongs to.
                packet = struct.pack("!H", number) + packet[2:]
                sent[packet[:2]] = packet
            sock.sendto(packet, ("127.0.0.1", node.port))
            if number % 20 == 0:
                time.sleep(0.005)
                drain()
        time.sleep(1.0)
        drain()
    assert len(sent) >= 200
    assert answers, "some fuzzed packets are still good queries"
    for answer in answers:
        check_answer(sent[answer[:2]], answer)
    # TCP: a burst of mutated frames on one connection, then the server still answers.
    packets = [_mutate(rng, rng.choice(SEEDS)) for _ in range(200)]
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as sock:
        sock.sendall(b"".join(struct.pack("!H", len(p)) + p for p in packets if p))
    alive = tcp_exchange(node.port, [header() + question()])
    assert rcode_of(alive[0]) == NOERROR
