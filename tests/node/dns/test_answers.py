"""The DNS frontend answers identifiers from the node's records, over UDP and TCP, on both backends."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import httpx
import pytest

from node import Settings, create_app

from ...servers import ThreadedServer
from .dnshelp import ZONE, DnsNode, dns_node, free_dns_port, name_of

HANDLE = "88.118.8/JXDY2106023"
VALUES = [
    {"index": 1, "type": "URL", "data": "https://example.com/p/1", "ttl": 600},
    {"index": 2, "type": "EMAIL", "data": "qa@example.com", "ttl": 300},
    {"index": 3, "type": "SECRET", "data": "s3cret", "permissions": "1100"},
    {"index": 4, "type": "DNS.A", "data": "192.0.2.7", "ttl": 120},
    {"index": 5, "type": "URL", "data": "https://mirror.example.com/p/1"},
]


@pytest.fixture
def node(settings: Settings) -> Iterator[DnsNode]:
    with dns_node(settings) as running:
        running.put(HANDLE, VALUES)
        yield running


def _texts(message: dns.message.Message) -> list[str]:
    return sorted(rdata.to_text() for rrset in message.answer for rdata in rrset)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_answers_from_the_record(node: DnsNode, tcp: bool) -> None:
    name = name_of(HANDLE)
    uri = node.query(name, "URI", tcp=tcp)
    assert uri.rcode() == dns.rcode.NOERROR
    assert uri.flags & dns.flags.AA and not uri.flags & dns.flags.RA
    assert _texts(uri) == ['1 1 "https://example.com/p/1"', '2 1 "https://mirror.example.com/p/1"']
    assert uri.answer[0].ttl == 600
    assert _texts(node.query(name, "TXT", tcp=tcp)) == ['"EMAIL=qa@example.com"']
    assert _texts(node.query(name, "A", tcp=tcp)) == ["192.0.2.7"]
    assert _texts(node.query(name, "NAPTR", tcp=tcp)) == [
        '100 1 "u" "IDIS+url" "!^.*$!https://example.com/p/1!" .',
        '100 2 "u" "IDIS+url" "!^.*$!https://mirror.example.com/p/1!" .',
    ]
    any_answer = node.query(name, "ANY", tcp=tcp)
    assert len(any_answer.answer) == 1 and any_answer.answer[0].rdtype == dns.rdatatype.URI
    for rdtype in ("TXT", "ANY", "URI", "NAPTR", "A"):
        assert "s3cret" not in node.query(name, rdtype, tcp=tcp).to_text()


def _negative(message: dns.message.Message, rcode: int) -> None:
    assert message.rcode() == rcode
    assert message.flags & dns.flags.AA
    assert not message.answer
    soa = message.authority[0]
    assert soa.rdtype == dns.rdatatype.SOA and soa.name == dns.name.from_text(ZONE)
    assert soa.ttl == min(3600, soa[0].minimum)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_negative_answers_carry_the_soa(node: DnsNode, tcp: bool) -> None:
    _negative(node.query(name_of("88.118.8/UNKNOWN"), "URI", tcp=tcp), dns.rcode.NXDOMAIN)
    _negative(node.query(name_of(HANDLE), "AAAA", tcp=tcp), dns.rcode.NOERROR)
    # Every ancestor of a real name is an empty non-terminal: NODATA, never NXDOMAIN; a long
    # suffix spans three labels, so the marker with its last one or two is an ancestor too.
    node.put("88.118.8/" + "L" * 100, VALUES[:1])
    for name in (name_of(HANDLE), name_of("88.118.8/" + "L" * 100)):
        ancestor = name.parent()
        while ancestor != dns.name.from_text(ZONE):
            _negative(node.query(ancestor, "URI", tcp=tcp), dns.rcode.NOERROR)
            ancestor = ancestor.parent()
    _negative(node.query(f"zz._1.8.118.88.{ZONE}", "URI", tcp=tcp), dns.rcode.NXDOMAIN)


def test_apex_refusals_and_no_recursion(node: DnsNode) -> None:
    soa = node.query(ZONE, "SOA")
    assert soa.rcode() == dns.rcode.NOERROR and soa.answer[0].rdtype == dns.rdatatype.SOA
    serial = soa.answer[0][0].serial
    ns = node.query(ZONE, "NS", tcp=True)
    assert ns.answer[0].rdtype == dns.rdatatype.NS
    assert node.query("example.com.", "A").rcode() == dns.rcode.REFUSED
    assert node.query(ZONE, "AXFR", tcp=True).rcode() == dns.rcode.REFUSED
    assert node.query(ZONE, "IXFR", tcp=True).rcode() == dns.rcode.REFUSED
    node.put("88.118.8/SERIAL", VALUES[:1])
    assert node.query(ZONE, "SOA").answer[0][0].serial > serial


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_mixed_case_questions_are_echoed_from_the_cache_too(node: DnsNode, tcp: bool) -> None:
    name = name_of(HANDLE).to_text()
    for spelling in (
        name,
        name.upper(),
        "".join(c.upper() if i % 3 else c for i, c in enumerate(name)),
    ):
        for _ in range(2):  # the second comes from the cache of ready answers
            query = dns.message.make_query(spelling, "URI")
            send = dns.query.tcp if tcp else dns.query.udp
            wire = query.to_wire()
            answer = send(query, "127.0.0.1", port=node.port, timeout=10)
            raw = answer.to_wire()
            assert answer.id == query.id
            assert raw[12 : len(wire)] == wire[12:]  # no EDNS: the question ends the query
            assert answer.question[0].name.to_text() == spelling
            assert _texts(answer)[0] == '1 1 "https://example.com/p/1"'


def test_truncation_then_tcp(node: DnsNode) -> None:
    many = [{"index": i, "type": f"NOTE{i}", "data": "x" * 200} for i in range(1, 13)]
    node.put("88.118.8/BIG", many)
    name = name_of("88.118.8/BIG")
    plain = dns.message.make_query(name, "TXT", use_edns=False)
    small = dns.query.udp(plain, "127.0.0.1", port=node.port, timeout=10, ignore_trailing=True)
    assert small.flags & dns.flags.TC
    assert len(small.to_wire()) <= 512
    edns = dns.query.udp(
        dns.message.make_query(name, "TXT", use_edns=0, payload=4096),
        "127.0.0.1",
        port=node.port,
        timeout=10,
    )
    assert edns.flags & dns.flags.TC and len(edns.to_wire()) <= 1232
    full, used_tcp = dns.query.udp_with_fallback(plain, "127.0.0.1", port=node.port, timeout=10)
    assert used_tcp and not full.flags & dns.flags.TC
    assert len(_texts(full)) == 12


def test_a_write_through_http_changes_the_next_answer(node: DnsNode) -> None:
    name = name_of(HANDLE)
    for tcp in (False, True):
        assert _texts(node.query(name, "URI", tcp=tcp))[0] == '1 1 "https://example.com/p/1"'
    node.put(HANDLE, [{"index": 1, "type": "URL", "data": "https://example.com/p/2"}])
    for tcp in (False, True):
        assert _texts(node.query(name, "URI", tcp=tcp)) == ['1 1 "https://example.com/p/2"']
    # A name remembered as NXDOMAIN exists once registered.
    new = name_of("88.118.8/NEW")
    assert node.query(new, "URI").rcode() == dns.rcode.NXDOMAIN
    node.put("88.118.8/NEW", VALUES[:1])
    assert _texts(node.query(new, "URI")) == ['1 1 "https://example.com/p/1"']


def _dig(node: DnsNode, *args: str) -> str:
    dig = shutil.which("dig")
    assert dig, "dig is missing: `make dns-tools` installs it"
    done = subprocess.run(
        [dig, "@127.0.0.1", "-p", str(node.port), "+tries=1", "+time=5", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def test_dig_over_udp_and_tcp(node: DnsNode) -> None:
    name = name_of(HANDLE).to_text()
    both = ['1 1 "https://example.com/p/1"', '2 1 "https://mirror.example.com/p/1"']
    for args in (["URI", name], ["+tcp", "URI", name.upper()]):
        assert sorted(_dig(node, "+short", *args).strip().split("\n")) == both
    nx = _dig(node, "URI", name_of("88.118.8/NOPE").to_text())
    assert "status: NXDOMAIN" in nx and "SOA" in nx
    assert "flags: qr aa rd;" in _dig(node, "+tcp", "TXT", name)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_write_on_one_instance_changes_the_dns_answer_of_another(settings: Settings) -> None:
    with dns_node(settings) as first:
        second_port = free_dns_port()
        second_settings = settings.model_copy(update={"dns_port": second_port, "dns_zone": ZONE})
        with ThreadedServer(create_app(second_settings)):
            second = DnsNode(first.url, second_port, first.credential)
            first.put(
                "88.118.8/SHARED", [{"index": 1, "type": "URL", "data": "https://a.example/1"}]
            )
            name = name_of("88.118.8/SHARED")
            assert _texts(second.query(name, "URI")) == ['1 1 "https://a.example/1"']
            first.put(
                "88.118.8/SHARED", [{"index": 1, "type": "URL", "data": "https://a.example/2"}]
            )
            deadline = time.monotonic() + 10
            while _texts(second.query(name, "URI")) != ['1 1 "https://a.example/2"']:
                assert time.monotonic() < deadline, "the other instance kept its old answer"
                time.sleep(0.05)


def test_the_record_page_shows_the_dns_name(node: DnsNode) -> None:
    page = httpx.get(f"{node.url}/{HANDLE}?noredirect", timeout=30)
    assert page.status_code == 200
    assert f'DNS: <span class="mono">{name_of(HANDLE).to_text()}</span>' in page.text
