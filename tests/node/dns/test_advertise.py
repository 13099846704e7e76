"""What a node publishes of its DNS frontend: IDNODE_DNS_ADVERTISE, or the bound address."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from node import Settings
from node.dns.advertise import dns_frontend, parse_advertise
from registry import InvalidInput


def _settings(**changes: object) -> Settings:
    base = {
        "database_url": "sqlite+aiosqlite:///unused.db",
        "node_code": "88.118",
        "admin_token": SecretStr("x"),
        "dns_zone": "ID.Example.",
        "dns_port": 5353,
    }
    return Settings(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "published"),
    [
        ({"dns_port": 0}, None),
        ({"dns_host": "0.0.0.0"}, None),
        ({"dns_host": "::"}, None),
        ({"dns_host": "localhost"}, None),
        (
            {},
            {
                "zone": "ID.Example.",
                "nameServer": "ns.118.88.ID.Example.",
                "addresses": ["127.0.0.1"],
                "port": 5353,
            },
        ),
        (
            {"dns_host": "0.0.0.0", "dns_advertise": "ns1.example.com. 192.0.2.1 2001:DB8::1"},
            {
                "zone": "ID.Example.",
                "nameServer": "ns1.example.com.",
                "addresses": ["192.0.2.1", "2001:db8::1"],
                "port": 5353,
            },
        ),
        (
            {"dns_advertise": "ns1.example.com"},
            {
                "zone": "ID.Example.",
                "nameServer": "ns1.example.com.",
                "addresses": [],
                "port": 5353,
            },
        ),
    ],
)
def test_what_is_published(changes: dict, published: dict | None) -> None:
    assert dns_frontend(_settings(**changes)) == published


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ns1.example.com. ns2.example.com.", "'ns2.example.com.' is not an IP address"),
        ("ns1.example.com. 300.1.1.1", "'300.1.1.1' is not an IP address"),
        ("a" * 64 + ".example.", "is not a DNS name"),
        ("ns1.example.com. " + " ".join(["192.0.2.1"] * 9), "at most 8 addresses"),
    ],
)
def test_a_bad_advertise_is_refused_by_name(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_advertise(text)
    assert problem in raised.value.message
    assert "IDNODE_DNS_ADVERTISE" in raised.value.message
