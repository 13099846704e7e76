"""A referral to another node's DNS frontend: NS in authority, glue in additional, AA clear.

The owner of the delegation is the serving node's prefix under the zone (``88.118.8`` →
``8.118.88.<zone>``): the prefix labels are reversed so delegation follows the issuing hierarchy.
Nothing here performs I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from .._grammar import Prefix

__all__ = ["Referral", "delegated_owner", "refer"]


@dataclass(frozen=True, slots=True)
class Referral:
    """Where to ask instead: the delegated owner, its name server and that server's addresses."""

    owner: dns.name.Name
    name_server: dns.name.Name
    glue: tuple[str, ...]
    ttl: int


def delegated_owner(prefix: Prefix, zone: dns.name.Name) -> dns.name.Name:
    """The owner name of ``prefix``'s delegation under ``zone``."""
    return dns.name.Name(
        [*(segment.lower().encode() for segment in reversed(prefix.segments)), *zone.labels]
    )


def refer(query: dns.message.Message, referral: Referral, payload: int) -> dns.message.Message:
    """The referral answering ``query``: NOERROR, no answer, AA and RA clear (RFC 1034 4.3.2)."""
    response = dns.message.make_response(query, recursion_available=False, our_payload=payload)
    response.flags &= ~dns.flags.AA
    if query.edns >= 0:
        response.ednsflags |= query.ednsflags & dns.flags.DO
    response.authority.append(
        dns.rrset.from_text_list(
            referral.owner,
            referral.ttl,
            dns.rdataclass.IN,
            dns.rdatatype.NS,
            [referral.name_server.to_text()],
        )
    )
    response.additional.extend(_glue(referral.name_server, referral.ttl, referral.glue))
    return response


def _glue(name: dns.name.Name, ttl: int, addresses: Sequence[str]) -> list[dns.rrset.RRset]:
    by_type: dict[int, list[str]] = {}
    for text in addresses:
        kind = dns.rdatatype.A if isinstance(ip_address(text), IPv4Address) else dns.rdatatype.AAAA
        by_type.setdefault(kind, []).append(text)
    return [
        dns.rrset.from_text_list(name, ttl, dns.rdataclass.IN, kind, texts)
        for kind, texts in by_type.items()
    ]
