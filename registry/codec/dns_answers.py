"""What a record says in DNS: RRsets from its public values, and the response to one question.

A record's public values become RRsets at its owner name (``record_rrsets``):

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
``respond`` turns a question and what is known at its name into the response message: data,
NODATA or NXDOMAIN with the SOA (negative TTL = min(SOA TTL, SOA minimum), RFC 9077), a
minimal ANY (RFC 8482). Nothing here performs I/O.
"""

from __future__ import annotations

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
import dns.rdtypes.ANY.NS
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.ANY.URI
import dns.rdtypes.IN.NAPTR
import dns.rrset

from .._values import HandleValue

__all__ = ["MAX_TTL", "ZoneInfo", "record_rrsets", "respond"]

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

    def soa(self, serial: int, *, negative: bool = False) -> dns.rrset.RRset:
        """The SOA RRset; with ``negative`` its TTL is the negative-caching TTL (RFC 9077)."""
        rdata = dns.rdtypes.ANY.SOA.SOA(
            IN,
            dns.rdatatype.SOA,
            self.nameserver,
            dns.name.Name((b"hostmaster", *self.origin.labels)),
            serial & 0xFFFFFFFF,
            self.refresh,
            self.retry,
            self.expire,
            self.minimum,
        )
        ttl = min(self.ttl, self.minimum) if negative else self.ttl
        return dns.rrset.from_rdata_list(self.origin, ttl, [rdata])

    def apex(self, serial: int) -> list[dns.rrset.RRset]:
        """SOA and NS at the apex."""
        ns = dns.rdtypes.ANY.NS.NS(IN, dns.rdatatype.NS, self.nameserver)
        return [self.soa(serial), dns.rrset.from_rdata_list(self.origin, self.ttl, [ns])]


def record_rrsets(
    owner: dns.name.Name,
    values: Iterable[HandleValue],
    origin: dns.name.Name,
    max_ttl: int = MAX_TTL,
) -> list[dns.rrset.RRset]:
    """The RRsets the public ``values`` of a record give at ``owner`` (callers pass only public ones)."""
    sets: dict[int, tuple[list[dns.rdata.Rdata], int]] = {}

    def add(rdtype: int, rdata: dns.rdata.Rdata, ttl: int) -> None:
        rdatas, smallest = sets.get(rdtype, ([], max_ttl))
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
                add(passed.rdtype, passed, value.ttl)
        elif not kind.startswith("HS_"):
            add(dns.rdatatype.TXT, _txt(f"{value.type}={value.value}"), value.ttl)
    return [
        dns.rrset.from_rdata_list(owner, ttl, rdatas) for rdatas, ttl in sets.values() if rdatas
    ]


def _uri(url: str, rank: int) -> dns.rdata.Rdata:
    return dns.rdtypes.ANY.URI.URI(IN, dns.rdatatype.URI, min(rank, 65535), 1, url.encode())


def _naptr(url: str, rank: int) -> dns.rdata.Rdata | None:
    delimiter = next((d for d in _DELIMITERS if d not in url), None)
    if delimiter is None or "\\" in url:
        return None
    regexp = f"{delimiter}^.*${delimiter}{url}{delimiter}".encode()
    if len(regexp) > 255:
        return None
    return dns.rdtypes.IN.NAPTR.NAPTR(
        IN, dns.rdatatype.NAPTR, 100, min(rank, 65535), b"u", b"IDIS+url", regexp, dns.name.root
    )


def _txt(text: str) -> dns.rdata.Rdata:
    raw = text.encode()
    pieces = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return dns.rdtypes.ANY.TXT.TXT(IN, dns.rdatatype.TXT, pieces)


def _passed(type_text: str, text: str, origin: dns.name.Name) -> dns.rdata.Rdata | None:
    try:
        rdtype = dns.rdatatype.from_text(type_text)
        if rdtype in _NOT_PASSED or dns.rdatatype.is_metatype(rdtype):
            return None
        return dns.rdata.from_text(IN, rdtype, text, origin=origin, relativize=False)
    except (dns.exception.DNSException, ValueError, TypeError):
        # Stored rdata a DNS client cannot read is left out rather than served broken.
        return None


def respond(
    query: dns.message.Message,
    zone: ZoneInfo,
    serial: int,
    rrsets: Sequence[dns.rrset.RRset] | None,
    payload: int,
) -> dns.message.Message:
    """The response to ``query``'s one question given the RRsets at its name.

    ``rrsets`` is ``None`` when the name does not exist (NXDOMAIN), possibly empty (an empty
    non-terminal or a record without DNS data: NODATA). ``payload`` is the EDNS payload we offer.
    """
    response = dns.message.make_response(query, recursion_available=False, our_payload=payload)
    response.flags |= dns.flags.AA
    question = query.question[0]
    if rrsets is None:
        response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(zone.soa(serial, negative=True))
        return response
    found = _select(rrsets, question.rdtype)
    if not found:
        response.authority.append(zone.soa(serial, negative=True))
    for rrset in found:
        answer = dns.rrset.RRset(question.name, rrset.rdclass, rrset.rdtype)
        answer.update(rrset)
        response.answer.append(answer)
    return response


def _select(rrsets: Sequence[dns.rrset.RRset], rdtype: int) -> list[dns.rrset.RRset]:
    if rdtype == dns.rdatatype.ANY:
        # RFC 8482: one RRset is enough; the URL when there is one.
        for preferred in _PREFERRED:
            for rrset in rrsets:
                if rrset.rdtype == preferred:
                    return [rrset]
        return list(rrsets[:1])
    return [rrset for rrset in rrsets if rrset.rdtype == rdtype]
