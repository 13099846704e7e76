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
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from registry import Handle, InvalidIdentifier, NodeError, Unavailable
from registry.codec import Ancestor, Apex, Identifier, handle_to_name
from registry.codec.dns_answers import WireSet, ZoneInfo, record_sets, render, respond, select
from registry.codec.dns_names import place_of_labels
from registry.codec.dns_referral import Referral, delegated_owner, refer
from registry.codec.dns_wire import (
    EDNS_PAYLOAD,
    MIN_PAYLOAD,
    QR,
    TC,
    Screened,
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
    ) -> None:
        self.resolver = resolver
        self.zone = ZoneInfo(zone, zone)
        self.origin = zone
        self.cache = cache or AnswerCache()
        self.serial = int(time.time())
        self._apex_owner = zone.to_wire().lower()
        self._zone_labels = [label.lower() for label in zone.labels if label]
        self._zone_length = len(zone.to_wire())
        self._soa_cached = (-1, b"")
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
        screened = screen(wire, tcp)
        if screened is not None:
            return await self._answer_plain(wire, tcp, screened)
        try:
            query = dns.message.from_wire(wire)
        except (dns.exception.DNSException, ValueError, IndexError):
            return error_response(wire, dns.rcode.FORMERR)
        if query.edns > 0:
            return error_response(wire, BADVERS)
        if not query.question:
            return error_response(wire, dns.rcode.FORMERR)
        question = query.question[0]
        if question.rdtype in _REFUSED_TYPES:
            return error_response(wire, dns.rcode.REFUSED)  # no zone transfers
        if query.answer or query.authority:
            return error_response(wire, dns.rcode.FORMERR)
        labels = [label.lower() for label in question.name.labels if label]
        rcode, sets = await self._lookup(question.rdclass, question.rdtype, labels)
        if rcode != dns.rcode.NOERROR:
            return error_response(wire, rcode)
        if query.edns >= 0:
            limit = 65535 if tcp else min(max(query.payload, MIN_PAYLOAD), EDNS_PAYLOAD)
        else:
            limit = 65535 if tcp else MIN_PAYLOAD
        if isinstance(sets, Referral):
            response = refer(query, sets, EDNS_PAYLOAD)
        else:
            response = respond(query, self.zone, self.serial, sets, EDNS_PAYLOAD)
        try:
            return response.to_wire(max_size=limit, prefer_truncation=True)
        except dns.exception.DNSException:
            return error_response(wire, dns.rcode.SERVFAIL)

    async def _answer_plain(self, wire: bytes, tcp: bool, screened: Screened) -> bytes | None:
        """A plain query (what clients send): answered and rendered without dnspython."""
        end = screened.question_end
        rdtype = wire[end - 4] << 8 | wire[end - 3]
        if rdtype in _REFUSED_TYPES:
            return error_response(wire, dns.rcode.REFUSED)  # no zone transfers
        generation = self.cache.generation
        serial = self.serial
        rcode, sets = await self._lookup(
            wire[end - 2] << 8 | wire[end - 1], rdtype, _labels(screened.owner)
        )
        if rcode != dns.rcode.NOERROR:
            return error_response(wire, rcode)
        if isinstance(sets, Referral):
            return self._refer(wire, tcp, screened, sets, generation)
        negative_ttl = self.zone.negative_ttl
        out = render(
            wire,
            end,
            end - 4 - self._zone_length,
            sets,
            self._soa(serial),
            negative_ttl,
            screened.limit,
        )
        if not out[2] & TC:
            ttl = min((found[1] for found in select(sets or [], rdtype)), default=negative_ttl)
            expires = monotonic() + min(ttl, MAX_CACHED_SECONDS)
            self.cache.put(tcp, screened.key, screened.owner, out, expires, end, generation)
        return out

    def _refer(
        self, wire: bytes, tcp: bool, screened: Screened, referral: Referral, generation: int
    ) -> bytes:
        """A referral to a plain query, rendered by dnspython and cached as bytes like answers."""
        query = dns.message.from_wire(wire)
        try:
            out = refer(query, referral, EDNS_PAYLOAD).to_wire(
                max_size=screened.limit, prefer_truncation=True
            )
        except dns.exception.DNSException:
            return error_response(wire, dns.rcode.SERVFAIL)
        if not out[2] & TC:
            expires = monotonic() + min(referral.ttl, MAX_CACHED_SECONDS)
            end = screened.question_end
            self.cache.put(tcp, screened.key, screened.owner, out, expires, end, generation)
        return out

    async def _referral(self, handle: Handle) -> Referral | None:
        """A referral for another node's ``handle`` when that node publishes a DNS frontend
        for this zone; ``None`` to bridge it. Raises ``NodeError`` when the directory fails."""
        upstream = self.resolver.upstream
        if upstream is None or self.resolver.is_local(handle):
            return None
        delegation = await upstream.delegation_of(handle.prefix)
        if delegation is None:
            return None
        try:
            if dns.name.from_text(delegation.zone) != self.origin:
                return None
            name_server = dns.name.from_text(delegation.name_server)
        except (dns.exception.DNSException, ValueError):
            return None  # a published name that is not a name: bridge instead
        owner = delegated_owner(delegation.prefix, self.origin)
        ttl = max(0, min(delegation.ttl, self.zone.ttl))
        return Referral(owner, name_server, delegation.addresses, ttl)

    def _soa(self, serial: int) -> bytes:
        if self._soa_cached[0] != serial:
            self._soa_cached = (serial, self.zone.soa_rdata(serial))
        return self._soa_cached[1]

    async def _lookup(
        self, rdclass: int, rdtype: int, labels: list[bytes]
    ) -> tuple[int, list[WireSet] | Referral | None]:
        """(RCODE, the RRsets at the name or ``None`` when it does not exist, or a referral).

        ``labels``: the question's name, lower-cased, leftmost first, without the root.
        """
        if rdclass != dns.rdataclass.IN:
            return dns.rcode.REFUSED, None
        if rdtype in _NOT_IMPLEMENTED_TYPES:
            return dns.rcode.NOTIMP, None
        if rdtype == 0 or (dns.rdatatype.is_metatype(rdtype) and rdtype != dns.rdatatype.ANY):
            return dns.rcode.FORMERR, None
        depth = len(self._zone_labels)
        if len(labels) < depth or labels[len(labels) - depth :] != self._zone_labels:
            return dns.rcode.REFUSED, None  # not our zone; no recursion
        place = place_of_labels(labels[: len(labels) - depth])
        if isinstance(place, Apex):
            return dns.rcode.NOERROR, self.zone.apex(self.serial)
        if isinstance(place, Ancestor):
            return dns.rcode.NOERROR, []
        if not isinstance(place, Identifier):
            return dns.rcode.NOERROR, None
        try:
            referral = await self._referral(place.handle)
            if referral is not None:
                return dns.rcode.NOERROR, referral
            resolution = await self.resolver.lookup(place.handle, batched=True)
        except Unavailable as exc:
            logger.warning("DNS answer for %s unavailable: %s", place.handle, exc.message)
            return dns.rcode.SERVFAIL, None
        except NodeError as exc:
            logger.warning("DNS answer for %s failed: %s", place.handle, exc.message)
            return dns.rcode.SERVFAIL, None
        record = resolution.record()
        if record is None:
            return dns.rcode.NOERROR, None
        return dns.rcode.NOERROR, record_sets(record.public().values, self.origin)


def _labels(owner: bytes) -> list[bytes]:
    """The labels of a name in uncompressed wire form, without the root."""
    labels = []
    offset = 0
    while owner[offset]:
        length = owner[offset]
        labels.append(owner[offset + 1 : offset + 1 + length])
        offset += length + 1
    return labels
