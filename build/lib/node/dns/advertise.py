"""What this node publishes of its DNS frontend at the top-level node, for other nodes' referrals.

``IDNODE_DNS_ADVERTISE`` is ``NAME [ADDRESS ...]``: the name server other nodes refer to and
its addresses (their glue), for an operator behind NAT. Unset, the name is
``ns.<node code reversed>.<zone>`` at the bound DNS address; a wildcard bind (0.0.0.0, ::)
says nothing others can reach, so nothing is published then.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

import dns.exception
import dns.name

from registry import InvalidInput, Prefix

from ..settings import Settings

__all__ = ["dns_frontend", "parse_advertise"]

MAX_ADDRESSES = 8


def parse_advertise(text: str) -> tuple[str, list[str]]:
    """(name server, addresses) of an ``IDNODE_DNS_ADVERTISE`` text; ``InvalidInput`` naming why not."""
    words = text.split()
    if not words:
        raise InvalidInput("IDNODE_DNS_ADVERTISE is empty: give 'NAME [ADDRESS ...]'")
    try:
        name = dns.name.from_text(words[0]).to_text()
    except dns.exception.DNSException as exc:
        raise InvalidInput(f"IDNODE_DNS_ADVERTISE: {words[0]!r} is not a DNS name ({exc})") from exc
    if len(words) - 1 > MAX_ADDRESSES:
        raise InvalidInput(f"IDNODE_DNS_ADVERTISE: at most {MAX_ADDRESSES} addresses")
    addresses = []
    for word in words[1:]:
        try:
            addresses.append(str(ip_address(word)))
        except ValueError:
            raise InvalidInput(f"IDNODE_DNS_ADVERTISE: {word!r} is not an IP address") from None
    return name, addresses


def dns_frontend(settings: Settings) -> dict[str, Any] | None:
    """The ``dns`` member of this node's registration; ``None`` without a reachable frontend."""
    if not settings.dns_port:
        return None
    zone = dns.name.from_text(settings.dns_zone)
    if settings.dns_advertise:
        name, addresses = parse_advertise(settings.dns_advertise)
    else:
        try:
            bound = ip_address(settings.dns_host)
        except ValueError:
            return None  # a host name: which address others reach is the operator's to say
        if bound.is_unspecified:
            return None
        labels = [s.lower().encode() for s in reversed(Prefix.parse(settings.node_code).segments)]
        name = dns.name.Name([b"ns", *labels, *zone.labels]).to_text()
        addresses = [str(bound)]
    return {
        "zone": zone.to_text(),
        "nameServer": name,
        "addresses": addresses,
        "port": settings.dns_port,
    }
