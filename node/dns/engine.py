"""One DNS query in, its answer out: the fast path from ready bytes, the full path through dnspython.

``DnsEngine.cached`` answers a plain query from the cache or says it cannot; ``DnsEngine.answer``
parses the query, looks the identifier up through the node's resolver (cache, storage, or the
serving node for another node's prefix) and renders the response within the size the client
may receive. Every error maps to an RCODE here, in one table; nothing raises out of ``answer``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from time import monotonic

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from registry import Handle, InvalidIdentifier, NodeError, Unavailable
from registry.codec import (
    Ancestor,
    Apex,
    Identifier,
    handle_to_name,
    place_of,
)
from registry.codec.dns_answers import ZoneInfo, record_rrsets, respond
from registry.codec.dns_wire import (
    EDNS_PAYLOAD,
    MIN_PAYLOAD,
    QR,
    TC,
    answer_from_cache,
    cache_key,
    error_response,
    screen,
)
from resolver import Resolver

from .cache import AnswerCache

__all__ = ["DnsEngine"]

logger = logging.getLogger("idnode.dns")

BADVERS = 16
# Longest a ready answer is kept although nothing was written: bounds how stale the serial in a
# negative answer, or an answer bridged from another node, can get.
MAX_CACHED_SECONDS = 300.0
_REFUSED_TYPES = {dns.rdatatype.AXFR, dns.rdatatype.IXFR}
_NOT_IMPLEMENTED_TYPES = {dns.rdatatype.MAILA, dns.rdatatype.MAILB}
_CACHED_RCODES = {dns.rcode.NOERROR, dns.rcode.NXDOMAIN}


class DnsEngine:
    """Answers DNS queries for ``zone`` from ``resolver``; invalidated with it."""

    def __init__(
        self,
        resolver: Resolver,
        zone: dns.name.Name,
        *,
        cache: AnswerCache | None = None,
        clock: type[time.monotonic] | None = None,
    ) -> None:
        self.resolver = resolver
        self.zone = ZoneInfo(zone, zone)
        self.origin = zone
        self.cache = cache or AnswerCache()
        self.serial = int(time.time())
        self._apex_owner = zone.to_wire().lower()
        resolver.on_invalidate(self.invalidate)

    def invalidate(self, handles: Sequence[str] | None) -> None:
        """Forget the answers for ``handles`` (all when ``None``); the SOA serial moves on."""
        self.serial = max(self.serial + 1, int(time.time()))
        if handles is None:
            self.cache.clear()
            return
        owners = [self._apex_owner]
        for text in handles:
            try:
                owners.append(handle_to_name(Handle.parse(text), self.origin).to_wire().lower())
            except InvalidIdentifier:
                continue  # a handle without a DNS name has no cached DNS answer
        self.cache.forget(owners)

    def cached(self, wire: bytes, tcp: bool) -> bytes | None:
        """The ready answer to ``wire``, or ``None`` (then ``answer`` it)."""
        key = cache_key(wire)
        if key is None:
            return None
        hit = (self.cache.tcp if tcp else self.cache.udp).get(key)
        if hit is None or hit[2] < monotonic():
            return None
        return answer_from_cache(wire, hit[0], hit[1], hit[3])

    async def answer(self, wire: bytes, tcp: bool) -> bytes | None:
        """The answer to ``wire``, or ``None`` when it must not be answered (too short, a response)."""
        if len(wire) < 12 or wire[2] & QR:
            return None
        opcode = (wire[2] >> 3) & 0xF
        if opcode != dns.opcode.QUERY:
            return error_response(wire, dns.rcode.NOTIMP)
        if wire[4:6] != b"\x00\x01":
            return error_response(wire, dns.rcode.FORMERR)
        try:
            query = dns.message.from_wire(wire)
        except (dns.exception.DNSException, ValueError, IndexError):
            return error_response(wire, dns.rcode.FORMERR)
        if query.edns > 0:
            return error_response(wire, BADVERS)
        if not query.question:
            return error_response(wire, dns.rcode.FORMERR)
        if query.question[0].rdtype in _REFUSED_TYPES:
            return error_response(wire, dns.rcode.REFUSED)  # no zone transfers
        if query.answer or query.authority:
            return error_response(wire, dns.rcode.FORMERR)
        generation = self.cache.generation
        screened = screen(wire, tcp)
        rcode, rrsets = await self._lookup(query.question[0])
        if rcode != dns.rcode.NOERROR:
            return error_response(wire, rcode)
        if query.edns >= 0:
            limit = 65535 if tcp else min(max(query.payload, MIN_PAYLOAD), EDNS_PAYLOAD)
        else:
            limit = 65535 if tcp else MIN_PAYLOAD
        response = respond(query, self.zone, self.serial, rrsets, EDNS_PAYLOAD)
        try:
            out = response.to_wire(max_size=limit, prefer_truncation=True)
        except dns.exception.DNSException:
            return error_response(wire, dns.rcode.SERVFAIL)
        if screened is not None and response.rcode() in _CACHED_RCODES and not out[2] & TC:
            ttl = min(
                (rrset.ttl for rrset in [*response.answer, *response.authority]),
                default=MAX_CACHED_SECONDS,
            )
            expires = time.monotonic() + min(ttl, MAX_CACHED_SECONDS)
            self.cache.put(
                tcp, screened.key, screened.owner, out, expires, screened.question_end, generation
            )
        return out

    async def _lookup(self, question: dns.rrset.RRset) -> tuple[int, list[dns.rrset.RRset] | None]:
        """(RCODE, the RRsets at the name or ``None`` when it does not exist)."""
        rdtype = question.rdtype
        if question.rdclass != dns.rdataclass.IN:
            return dns.rcode.REFUSED, None
        if rdtype in _NOT_IMPLEMENTED_TYPES:
            return dns.rcode.NOTIMP, None
        if rdtype == 0 or (dns.rdatatype.is_metatype(rdtype) and rdtype != dns.rdatatype.ANY):
            return dns.rcode.FORMERR, None
        try:
            place = place_of(question.name, self.origin)
        except ValueError:
            return dns.rcode.REFUSED, None  # not our zone; no recursion
        if isinstance(place, Apex):
            return dns.rcode.NOERROR, self.zone.apex(self.serial)
        if isinstance(place, Ancestor):
            return dns.rcode.NOERROR, []
        if not isinstance(place, Identifier):
            return dns.rcode.NOERROR, None
        try:
            resolution = await self.resolver.lookup(place.handle)
        except Unavailable as exc:
            logger.warning("DNS answer for %s unavailable: %s", place.handle, exc.message)
            return dns.rcode.SERVFAIL, None
        except NodeError as exc:
            logger.warning("DNS answer for %s failed: %s", place.handle, exc.message)
            return dns.rcode.SERVFAIL, None
        record = resolution.record()
        if record is None:
            return dns.rcode.NOERROR, None
        owner = handle_to_name(place.handle, self.origin)
        return dns.rcode.NOERROR, record_rrsets(owner, record.public().values, self.origin)
