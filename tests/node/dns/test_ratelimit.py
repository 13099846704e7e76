"""Response-rate limiting per client network: a flood gets a few answers, slips and drops."""

from __future__ import annotations

import socket
import struct
import time

import dns.message

from node import Settings
from node.dns.ratelimit import ResponseRateLimit, network_of

from .dnshelp import dns_node, name_of


def test_networks_are_v4_slash_24_and_v6_slash_56() -> None:
    assert network_of("192.0.2.1") == network_of("192.0.2.254") != network_of("192.0.3.1")
    assert network_of("2001:db8:0:1::1") == network_of("2001:db8:0:ff::2")
    assert network_of("2001:db8:0:100::1") != network_of("2001:db8:0:1::1")


def test_over_the_limit_every_second_answer_slips_and_the_window_resets() -> None:
    now = [100.0]
    limit = ResponseRateLimit(3, clock=lambda: now[0])
    verdicts = [limit.allow("192.0.2.9") for _ in range(7)]
    assert verdicts == ["send"] * 3 + ["drop", "slip", "drop", "slip"]
    assert limit.allow("198.51.100.1") == "send"  # another network has its own budget
    now[0] += 1
    assert limit.allow("192.0.2.9") == "send"
    assert ResponseRateLimit(0).allow("192.0.2.9") == "send"


def test_a_udp_flood_is_limited_and_slipped_answers_are_truncated(settings: Settings) -> None:
    with dns_node(settings, dns_responses_per_second=5) as node:
        name = name_of("88.118.8/NOPE")
        queries = [dns.message.make_query(name, "URI") for _ in range(40)]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            for query in queries:
                sock.sendto(query.to_wire(), ("127.0.0.1", node.port))
            answers = []
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                try:
                    answers.append(sock.recv(4096))
                except TimeoutError:
                    break
        full = [a for a in answers if not a[2] & 0x02]
        slipped = [a for a in answers if a[2] & 0x02]
        # Within one second: five answers, then every second query slips (the flood may
        # straddle a second or two, so allow two more windows).
        assert 5 <= len(full) <= 15
        assert slipped and all(struct.unpack_from("!H", a, 6)[0] == 0 for a in slipped)
        assert len(answers) < len(queries)
        # TCP is not limited.
        assert node.query(name, "URI", tcp=True).rcode() == 3
