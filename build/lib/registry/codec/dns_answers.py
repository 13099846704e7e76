"""What a record says in DNS: RRsets from its public values, and the response to one question.

A record's public values become RRsets at its owner name (``record_sets``, each an rdata type,
a TTL and the rdata in wire form, built by hand: dnspython's rdata objects cost more than the
rest of an answer):

- ``URL`` values → **URI** (RFC 7553: priority = rank by index from 1, weight 1, the URL) and
  **NAPTR** for ONS-style clients (RFC 3403: order 100, preference = rank, flags ``u``,
  service ``IDIS+url``, regexp ``!^.*$!<url>!``, replacement ``.``);
- ``DNS.<TYPE>`` values → their own type, the value read as zone-file rdata relative to the zone
  (as Handle.Net's DNS interface does); types that only a zone's apex or a delegation may hold
  (SOA, NS, CNAME, DNAME) and meta-types are left out;
- every other public ``string`` value but the reserved ``HS_`` types (admin, keys,
  signatures, certificates) → one **TXT** record ``<type>=<value>`` (RFC 1464), cut into
  strings of 255 bytes. Binary formats are not served.

Each RRset's TTL is the smallest of its values' (RFC 2181 wants one TTL per set), capped.
``render`` writes the response to a plain query (one uncompressed question, at most an OPT
record) straight to bytes: data, NODATA or NXDOMAIN with the SOA (negative TTL = min(SOA TTL,
SOA minimum), RFC 9077), a minimal ANY (RFC 8482), TC and no records when it does not fit.
``respond`` builds the same as a dnspython message for the queries dnspython had to parse.
Nothing here performs I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from .._values import HandleValue
from .dns_wire import EDNS_PAYLOAD

__all__ = ["MAX_TTL", "WireSet", "ZoneInfo", "record_sets", "render", "respond", "to_rrsets"]

MAX_TTL = 86400
IN = dns.rdataclass.IN
_NOT_PASSED = {
    dns.rdatatype.SOA,
    dns.rdatatype.NS,
    dns.rdatatype.CNAME,
    dns.rdatatype.DNAME,
    dns.rdatatype.OPT,
}
_DELIMITERS = "!|~#^"
# Order of the RRsets a minimal ANY picks from: the URL first.
_PREFERRED = (dns.rdatatype.URI, dns.rdatatype.TXT, dns.rdatatype.NAPTR)


# (rdata type, TTL, rdata in wire form): one RRset, its owner implied.
WireSet = tuple[int, int, list[bytes]]
_RR = struct.Struct("!HHIH")  # type, class, TTL, rdata length
_COUNTS = struct.Struct("!HHHH")
_SOA_TIMERS = struct.Struct("!IIIII")
_OPT = struct.Struct("!BHHBBHH")


@dataclass(frozen=True, slots=True)
class ZoneInfo:
    """The zone's apex data: origin, name server, SOA timers (seconds)."""

    origin: dns.name.Name
    nameserver: dns.name.Name
    ttl: int = 3600
    refresh: int = 3600
    retry: int = 600
    expire: int = 604800
    minimum: int = 60

    @property
    def negative_ttl(self) -> int:
        return min(self.ttl, self.minimum)

    def soa_rdata(self, serial: int) -> bytes:
        hostmaster = dns.name.Name((b"hostmaster", *self.origin.labels))
        return (
            self.nameserver.to_wire()
            + hostmaster.to_wire()
            + _SOA_TIMERS.pack(
                serial & 0xFFFFFFFF, self.refresh, self.retry, self.expire, self.minimum
            )
        )

    def apex(self, serial: int) -> list[WireSet]:
        """SOA and NS at the apex."""
        return [
            (dns.rdatatype.SOA, self.ttl, [self.soa_rdata(serial)]),
            (dns.rdatatype.NS, self.ttl, [self.nameserver.to_wire()]),
        ]

    def soa(self, serial: int) -> dns.rrset.RRset:
        """The SOA RRset of a negative answer (its TTL the negative-caching TTL)."""
        (rrset,) = to_rrsets(
            self.origin, [(dns.rdatatype.SOA, self.negative_ttl, [self.soa_rdata(serial)])]
        )
        return rrset


def record_sets(
    values: Iterable[HandleValue], origin: dns.name.Name, max_ttl: int = MAX_TTL
) -> list[WireSet]:
    """The RRsets the public ``values`` of a record give (callers pass only public ones)."""
    sets: dict[int, tuple[list[bytes], int]] = {}

    def add(rdtype: int, rdata: bytes, ttl: int) -> None:
        rdatas, smallest = sets.get(rdtype, ([], max_ttl))
        if rdata not in rdatas:
            rdatas.append(rdata)
        sets[rdtype] = (rdatas, min(smallest, max(ttl, 0)))

    rank = 0
    for value in sorted(values, key=lambda v: v.index):
        if value.format != "string" or not isinstance(value.value, str):
            continue
        kind = value.type.upper()
        if kind == "URL":
            rank += 1
            add(dns.rdatatype.URI, _uri(value.value, rank), value.ttl)
            naptr = _naptr(value.value, rank)
            if naptr is not None:
                add(dns.rdatatype.NAPTR, naptr, value.ttl)
        elif kind.startswith("DNS."):
            passed = _passed(kind[4:], value.value, origin)
            if passed is not None:
                add(passed[0], passed[1], value.ttl)
        elif not kind.startswith("HS_"):
            add(dns.rdatatype.TXT, _txt(f"{value.type}={value.value}"), value.ttl)
    return [(rdtype, ttl, rdatas) for rdtype, (rdatas, ttl) in sets.items()]


def _strings(*texts: bytes) -> bytes:
    return b"".join(bytes([len(text)]) + text for text in texts)


def _uri(url: str, rank: int) -> bytes:
    return struct.pack("!HH", min(rank, 65535), 1) + url.encode()


def _naptr(url: str, rank: int) -> bytes | None:
    delimiter = next((d for d in _DELIMITERS if d not in url), None)
    if delimiter is None or "\\" in url:
        return None
    regexp = f"{delimiter}^.*${delimiter}{url}{delimiter}".encode()
    if len(regexp) > 255:
        return None
    # order, preference, flags, service, regexp, replacement (the root)
    return struct.pack("!HH", 100, min(rank, 65535)) + _strings(b"u", b"IDIS+url", regexp) + b"\0"


def _txt(text: str) -> bytes:
    raw = text.encode()
    return _strings(*([raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]))


def _passed(type_text: str, text: str, origin: dns.name.Name) -> tuple[int, bytes] | None:
    try:
        rdtype = dns.rdatatype.from_text(type_text)
        if rdtype in _NOT_PASSED or dns.rdatatype.is_metatype(rdtype):
            return None
        rdata = dns.rdata.from_text(IN, rdtype, text, origin=origin, relativize=False)
        return rdtype, rdata.to_wire()
    except (dns.exception.DNSException, ValueError, TypeError):
        # Stored rdata a DNS client cannot read is left out rather than served broken.
        return None


def to_rrsets(owner: dns.name.Name, sets: Iterable[WireSet]) -> list[dns.rrset.RRset]:
    """The wire-form sets as dnspython RRsets at ``owner``."""
    return [
        dns.rrset.from_rdata_list(
            owner, ttl, [dns.rdata.from_wire(IN, rdtype, rdata, 0, len(rdata)) for rdata in rdatas]
        )
        for rdtype, ttl, rdatas in sets
    ]


def select(sets: Sequence[WireSet], rdtype: int) -> list[WireSet]:
    """The sets that answer ``rdtype``: that type's, or for ANY one set, the URL's if any."""
    if rdtype == dns.rdatatype.ANY:
        # RFC 8482: one RRset is enough.
        for preferred in _PREFERRED:
            for found in sets:
                if found[0] == preferred:
                    return [found]
        return list(sets[:1])
    return [found for found in sets if found[0] == rdtype]


def render(
    query: bytes,
    question_end: int,
    zone_offset: int,
    sets: Sequence[WireSet] | None,
    soa: bytes,
    negative_ttl: int,
    limit: int,
) -> bytes:
    """The answer to a plain query (header, one question, optional OPT) as bytes.

    ``sets`` are the RRsets at the question's name (``None``: NXDOMAIN); ``zone_offset`` is where
    the zone's name starts inside the question (the SOA's owner points there); ``soa`` the SOA's
    rdata for a negative answer; ``limit`` the size the client can receive.
    """
    rdtype = query[question_end - 4] << 8 | query[question_end - 3]
    rcode = dns.rcode.NXDOMAIN if sets is None else dns.rcode.NOERROR
    found = select(sets, rdtype) if sets else []
    records = [
        b"\xc0\x0c" + _RR.pack(kind, IN, ttl, len(rdata)) + rdata
        for kind, ttl, rdatas in found
        for rdata in rdatas
    ]
    authority = b""
    if not records:
        authority = (
            struct.pack("!H", 0xC000 | zone_offset)
            + _RR.pack(dns.rdatatype.SOA, IN, negative_ttl, len(soa))
            + soa
        )
    opt = b""
    if len(query) > question_end:
        do = query[question_end + 7] & 0x80
        opt = _OPT.pack(0, dns.rdatatype.OPT, EDNS_PAYLOAD, 0, 0, do << 8, 0)
    flags = bytes([0x80 | 0x04 | (query[2] & 0x01), (query[3] & 0x10) | rcode])
    body = b"".join(records)
    counts = _COUNTS.pack(1, len(records), 1 if authority else 0, 1 if opt else 0)
    answer = query[:2] + flags + counts + query[12:question_end] + body + authority + opt
    if len(answer) <= limit:
        return answer
    # Too big for the client: TC and no records, so it asks again over TCP.
    flags = bytes([flags[0] | 0x02, flags[1]])
    counts = _COUNTS.pack(1, 0, 0, 1 if opt else 0)
    return query[:2] + flags + counts + query[12:question_end] + opt


def respond(
    query: dns.message.Message,
    zone: ZoneInfo,
    serial: int,
    sets: Sequence[WireSet] | None,
    payload: int,
) -> dns.message.Message:
    """The response to ``query``'s one question as a dnspython message (queries it parsed).

    ``sets`` is ``None`` when the name does not exist (NXDOMAIN), possibly empty (an empty
    non-terminal or a record without DNS data: NODATA). ``payload`` is the EDNS payload we offer.
    """
    response = dns.message.make_response(query, recursion_available=False, our_payload=payload)
    response.flags |= dns.flags.AA
    if query.edns >= 0:
        response.ednsflags |= query.ednsflags & dns.flags.DO  # copied, RFC 3225
    question = query.question[0]
    if sets is None:
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(zone.soa(serial))
        return response
    found = select(sets, question.rdtype)
    if not found:
        response.authority.append(zone.soa(serial))
    response.answer.extend(to_rrsets(question.name, found))
    return response
