"""A record's public values as RRsets, and the response built for one question."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from registry import HandleValue, Permissions
from registry.codec.dns_answers import ZoneInfo, record_sets, render, respond, to_rrsets
from registry.codec.dns_wire import answer_from_cache, error_response, screen

ZONE = dns.name.from_text("idis.internal.")
OWNER = dns.name.from_text("99c48m9i64o3cc1i6c._1.8.118.88.idis.internal.")


def value(
    index: int, type_: str, data: object, *, ttl: int = 86400, fmt: str = "string"
) -> HandleValue:
    return HandleValue(index, type_, fmt, data, ttl)


def by_type(values: list[HandleValue]) -> dict[str, dns.rrset.RRset]:
    rrsets = to_rrsets(OWNER, record_sets(values, ZONE))
    return {dns.rdatatype.to_text(r.rdtype): r for r in rrsets}


def test_each_kind_of_value_gets_its_record_type_and_the_smallest_ttl() -> None:
    sets = by_type(
        [
            value(1, "URL", "https://a.example/1", ttl=500),
            value(2, "url", "https://b.example/2", ttl=900),
            value(3, "EMAIL", "qa@example.com"),
            value(4, "DNS.AAAA", "2001:db8::7", ttl=60),
            value(5, "DNS.MX", "10 mail", ttl=60),
        ]
    )
    assert sorted(sets) == ["AAAA", "MX", "NAPTR", "TXT", "URI"]
    assert sets["URI"].ttl == 500 and len(sets["URI"]) == 2
    assert sorted(r.priority for r in sets["URI"]) == [1, 2]
    assert sets["MX"][0].exchange == dns.name.from_text("mail.idis.internal.")
    assert [r.strings for r in sets["TXT"]] == [(b"EMAIL=qa@example.com",)]


def test_reserved_binary_and_unservable_values_are_left_out() -> None:
    sets = by_type(
        [
            value(100, "HS_ADMIN", {"handle": "x", "index": 1}, fmt="admin"),
            value(400, "HS_SIGNATURE", "eyJ..."),
            value(6, "BLOB", "AAEC", fmt="base64"),
            value(7, "DNS.SOA", "a. b. 1 2 3 4 5"),
            value(8, "DNS.CNAME", "elsewhere."),
            value(9, "DNS.A", "not an address"),
            value(10, "DNS.NOSUCHTYPE", "x"),
        ]
    )
    assert sets == {}


def test_long_text_is_cut_into_255_byte_strings() -> None:
    (txt,) = to_rrsets(OWNER, record_sets([value(1, "NOTE", "中" * 200)], ZONE))
    strings = txt[0].strings
    assert all(len(s) <= 255 for s in strings)
    assert b"".join(strings).decode() == "NOTE=" + "中" * 200


def test_naptr_picks_a_delimiter_the_url_lacks() -> None:
    sets = by_type([value(1, "URL", "https://a.example/x!y")])
    assert sets["NAPTR"][0].regexp == b"|^.*$|https://a.example/x!y|"


def test_responses_nxdomain_nodata_any() -> None:
    zone = ZoneInfo(ZONE, ZONE)
    query = dns.message.make_query(OWNER, "URI")
    nx = respond(query, zone, 7, None, 1232)
    assert nx.rcode() == dns.rcode.NXDOMAIN and nx.authority[0][0].serial == 7
    assert nx.authority[0].ttl == 60 and nx.flags & dns.flags.AA
    nodata = respond(query, zone, 7, [], 1232)
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer and nodata.authority
    sets = record_sets([value(1, "EMAIL", "a@b"), value(2, "URL", "https://x")], ZONE)
    any_answer = respond(dns.message.make_query(OWNER, "ANY"), zone, 7, sets, 1232)
    assert [r.rdtype for r in any_answer.answer] == [dns.rdatatype.URI]


def test_screen_keys_ignore_case_and_the_cache_echoes_the_question() -> None:
    lower = dns.message.make_query(OWNER, "URI", use_edns=0).to_wire()
    upper_query = dns.message.make_query(OWNER.to_text().upper(), "URI", use_edns=0)
    upper = upper_query.to_wire()
    a, b = screen(lower, False), screen(upper, False)
    assert a is not None and b is not None and a.key == b.key and a.limit == 1232
    cached = lower[:2] + b"\x84\x00" + lower[4:]
    answer = answer_from_cache(upper, cached[2:12], cached[b.question_end :], b.question_end)
    assert answer[:2] == upper[:2] and answer[12 : b.question_end] == upper[12 : b.question_end]
    # A query with another qtype whose code differs only by 0x20 is another key.
    other = dns.message.make_query(OWNER, 97).to_wire()
    assert (
        screen(other, False).key != screen(dns.message.make_query(OWNER, 65).to_wire(), False).key
    )


def test_error_responses_echo_and_never_answer_responses() -> None:
    query = dns.message.make_query(OWNER, "URI", use_edns=0).to_wire()
    formerr = error_response(query, dns.rcode.FORMERR)
    assert formerr[2] & 0x80 and formerr[3] & 0xF == 1
    assert formerr[12 : len(query) - 11] == query[12 : len(query) - 11]
    assert error_response(b"\x00" * 11, 1) is None
    assert error_response(query[:2] + b"\x80" + query[3:], 1) is None
    badvers = dns.message.from_wire(error_response(query, 16))
    assert badvers.rcode() == dns.rcode.BADVERS


def test_private_values_are_the_callers_to_filter() -> None:
    # record_rrsets serves what it is given; the engine passes record.public().values.
    private = HandleValue(1, "SECRET", "string", "x", 60, None, Permissions.parse("1100"))
    assert not private.permissions.public_read


def test_rendered_answers_read_back_as_dnspython_builds_them() -> None:
    zone = ZoneInfo(ZONE, ZONE)
    sets = record_sets([value(1, "URL", "https://x", ttl=50), value(2, "EMAIL", "a@b")], ZONE)
    soa = zone.soa_rdata(9)
    for text, rdtype, found, rcode in [
        (OWNER.to_text().upper(), "URI", sets, dns.rcode.NOERROR),
        (OWNER.to_text(), "AAAA", sets, dns.rcode.NOERROR),
        (OWNER.to_text(), "URI", None, dns.rcode.NXDOMAIN),
        (OWNER.to_text(), "ANY", sets, dns.rcode.NOERROR),
    ]:
        for edns in (None, 0):
            query = dns.message.make_query(text, rdtype, use_edns=edns, want_dnssec=edns == 0)
            wire = query.to_wire()
            end = screen(wire, False).question_end
            zone_offset = end - 4 - len(ZONE.to_wire())
            out = render(wire, end, zone_offset, found, soa, zone.negative_ttl, 1232)
            mine = dns.message.from_wire(out)
            theirs = respond(query, zone, 9, found, 1232)
            assert mine.id == query.id and mine.rcode() == rcode
            assert out[12:end] == wire[12:end]
            assert mine.flags == theirs.flags
            assert mine.answer == theirs.answer and mine.authority == theirs.authority
            assert [r.ttl for r in mine.authority] == [r.ttl for r in theirs.authority]
            assert mine.edns == theirs.edns and mine.ednsflags == theirs.ednsflags
    # Too big: TC, nothing but the question (and OPT).
    query = dns.message.make_query(OWNER, "URI").to_wire()
    end = screen(query, False).question_end
    small = render(query, end, 0, sets, soa, 60, len(query) + 5)
    assert small[2] & 0x02 and small[6:10] == b"\0\0\0\0" and small[12:] == query[12:]
