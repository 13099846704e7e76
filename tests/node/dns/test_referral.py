"""Another node's identifiers over DNS: a referral when that node publishes a DNS frontend for
the same zone, the bridged answer when it publishes none or another zone's."""

from __future__ import annotations

import time
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import httpx
import pytest
from pydantic import SecretStr

from node import Settings, create_app
from toplevel import create_toplevel_app

from ...conftest import ADMIN_TOKEN
from ...databases import migrate
from ...servers import ThreadedServer
from ..helpers import ADMIN_HEADERS, basic_auth, create_enterprise
from .dnshelp import ZONE, dns_node, free_dns_port, name_of

BOOTSTRAP = "dns-referral-bootstrap"


def _settings(url: str, node_code: str, **changes: object) -> Settings:
    return Settings(
        database_url=url, node_code=node_code, admin_token=SecretStr(ADMIN_TOKEN), **changes
    )


def _directory_entry(top: str, prefix: str, base_url: str, dns: dict | None = None) -> None:
    site: dict = {"baseUrl": base_url, "nodeCode": prefix}
    if dns is not None:
        site["dns"] = dns
    body = {
        "values": [
            {"index": 1, "type": "HS_SITE", "ttl": 600, "data": {"format": "site", "value": site}}
        ]
    }
    response = httpx.put(f"{top}/api/handles/0.NA/{prefix}", json=body, headers=ADMIN_HEADERS)
    assert response.status_code in (200, 201), response.text


def _register(base_url: str, enterprise: str, prefix: str) -> None:
    credential = create_enterprise(base_url, enterprise, prefix)
    body = {"values": [{"index": 1, "type": "URL", "data": f"https://{prefix}.example/ONE"}]}
    response = httpx.put(
        f"{base_url}/api/handles/{prefix}/ONE", json=body, auth=basic_auth(credential)
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
async def test_referral_to_a_node_publishing_dns_and_bridge_to_one_without(
    settings: Settings, tmp_path: Path
) -> None:
    top_url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'top'}.db")
    b_url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'b'}.db")
    c_url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'c'}.db")
    b_port = free_dns_port()
    b_settings = _settings(b_url, "88.119", dns_port=b_port, dns_zone=ZONE)
    with (
        ThreadedServer(create_app(_settings(top_url, "88"))) as top,
        ThreadedServer(create_app(b_settings)) as node_b,
        ThreadedServer(create_app(_settings(c_url, "88.120"))) as node_c,
    ):
        _register(node_b.url, "Bee", "88.119.5")
        _register(node_c.url, "Sea", "88.120.7")
        published = {
            "zone": ZONE.upper(),
            "nameServer": "ns1.119.88." + ZONE,
            "addresses": ["127.0.0.1", "::1"],
            "port": b_port,
        }
        _directory_entry(top.url, "88.119", node_b.url, published)
        _directory_entry(top.url, "88.120", node_c.url)
        with dns_node(settings, toplevel_url=top.url) as node_a:
            name = name_of("88.119.5/ONE")
            for tcp in (False, True):
                referral = node_a.query(name, "URI", tcp=tcp)
                assert referral.rcode() == dns.rcode.NOERROR
                assert not referral.flags & dns.flags.AA
                assert not referral.answer
                (ns,) = referral.authority
                assert ns.rdtype == dns.rdatatype.NS
                assert ns.name == dns.name.from_text("119.88." + ZONE)
                assert [r.target for r in ns] == [dns.name.from_text("ns1.119.88." + ZONE)]
                glue = {(r.name, r.rdtype, r[0].address) for r in referral.additional}
                assert glue == {
                    (ns[0].target, dns.rdatatype.A, "127.0.0.1"),
                    (ns[0].target, dns.rdatatype.AAAA, "::1"),
                }
                assert referral.question[0].name.to_text() == name.to_text()
            # A mixed-case query is answered from the cache with its own case echoed back.
            shouted = dns.name.from_text(name.to_text().upper())
            again = node_a.query(shouted, "URI")
            assert again.question[0].name.to_text() == shouted.to_text()
            assert again.authority == referral.authority
            # A query only the full parser takes (a stray AA bit) is referred the same way.
            odd = dns.message.make_query(name, "URI", use_edns=0)
            odd.flags |= dns.flags.AA
            parsed = dns.query.udp(odd, "127.0.0.1", port=node_a.port, timeout=10)
            assert parsed.rcode() == dns.rcode.NOERROR and not parsed.flags & dns.flags.AA
            assert parsed.authority == referral.authority and not parsed.answer
            # Following the referral: B's own DNS frontend answers the URI, authoritatively.
            query = dns.message.make_query(name, "URI")
            answer = dns.query.udp(query, "127.0.0.1", port=b_port, timeout=10)
            assert answer.rcode() == dns.rcode.NOERROR
            assert answer.flags & dns.flags.AA
            assert answer.answer[0][0].target == b"https://88.119.5.example/ONE"
            # C publishes no DNS frontend: A bridges its answer through the resolver.
            bridged = node_a.query(name_of("88.120.7/ONE"), "URI")
            assert bridged.rcode() == dns.rcode.NOERROR
            assert bridged.flags & dns.flags.AA
            assert bridged.answer[0][0].target == b"https://88.120.7.example/ONE"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_another_zone_is_bridged_and_a_failing_directory_is_servfail(
    settings: Settings, tmp_path: Path
) -> None:
    top_url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'top'}.db")
    b_url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'b'}.db")
    with (
        ThreadedServer(create_app(_settings(b_url, "88.119"))) as node_b,
    ):
        _register(node_b.url, "Bee", "88.119.5")
        top = ThreadedServer(create_app(_settings(top_url, "88")))
        top.__enter__()
        stopped = False
        try:
            other = {"zone": "other.example.", "nameServer": "ns.other.example.", "port": 53}
            _directory_entry(top.url, "88.119", node_b.url, other)
            with dns_node(settings, toplevel_url=top.url) as node_a:
                bridged = node_a.query(name_of("88.119.5/ONE"), "URI")
                assert bridged.rcode() == dns.rcode.NOERROR
                assert bridged.answer[0][0].target == b"https://88.119.5.example/ONE"
                top.__exit__(None, None, None)
                stopped = True
                down = node_a.query(name_of("88.121.5/ONE"), "URI", tcp=True)
                assert down.rcode() == dns.rcode.SERVFAIL
        finally:
            if not stopped:
                top.__exit__(None, None, None)


def _published(top: str, prefix: str, timeout: float = 60) -> dict:
    """The HS_SITE value of ``0.NA/<prefix>`` once the prefix is listed (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{top}/api/handles/0.NA/{prefix}", timeout=10)
        if response.status_code == 200:
            site = next(v for v in response.json()["values"] if v["type"] == "HS_SITE")
            return site["data"]["value"]
        if time.monotonic() > deadline:
            raise AssertionError(f"0.NA/{prefix} never reached the directory: {response.text}")
        time.sleep(0.1)


def _published_dns(top: str, prefix: str, timeout: float = 60) -> dict:
    """The HS_SITE value of ``0.NA/<prefix>`` once it carries a DNS frontend (bounded wait)."""
    deadline = time.monotonic() + timeout
    while "dns" not in (site := _published(top, prefix)):
        if time.monotonic() > deadline:
            raise AssertionError(f"0.NA/{prefix} never published a DNS frontend: {site}")
        time.sleep(0.1)
    return site


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
async def test_a_node_registers_its_dns_frontend_and_others_refer_to_it(
    settings: Settings, tmp_path: Path
) -> None:
    b_url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'b'}.db")
    top_app = create_toplevel_app(f"sqlite+aiosqlite:///{tmp_path / 'top.db'}", BOOTSTRAP)
    b_port = free_dns_port()
    with ThreadedServer(top_app) as top:
        b_settings = _settings(
            b_url,
            "88.119",
            dns_port=b_port,
            dns_zone=ZONE,
            toplevel_url=top.url,
            toplevel_bootstrap_token=SecretStr(BOOTSTRAP),
            keys_dir=str(tmp_path / "keys-b"),
            sync_idle_seconds=0.1,
        )
        # First without a DNS frontend: registered, nothing about DNS published.
        with ThreadedServer(create_app(b_settings.model_copy(update={"dns_port": 0}))):
            assert "dns" not in _published(top.url, "88.119")
        # Restarted with one: the node registers again (its proof signed by its key) with it.
        with ThreadedServer(create_app(b_settings)) as node_b:
            site = _published_dns(top.url, "88.119")
            assert site["baseUrl"] == b_settings.public_url
            assert site["dns"] == {
                "zone": ZONE,
                "nameServer": "ns.119.88." + ZONE,
                "addresses": ["127.0.0.1"],
                "port": b_port,
            }
            _register(node_b.url, "Bee", "88.119.5")
            # The enterprise prefix, once synced, is a directory entry of its own: the
            # delegation's owner follows it.
            assert _published(top.url, "88.119.5")["dns"] == site["dns"]
            with dns_node(settings, toplevel_url=top.url) as node_a:
                name = name_of("88.119.5/ONE")
                referral = node_a.query(name, "URI")
                assert referral.rcode() == dns.rcode.NOERROR
                assert not referral.flags & dns.flags.AA and not referral.answer
                (ns,) = referral.authority
                assert ns.name == dns.name.from_text("5.119.88." + ZONE)
                server = ns[0].target
                (glue,) = referral.additional
                assert (glue.name, glue.rdtype) == (server, dns.rdatatype.A)
                query = dns.message.make_query(name, "URI")
                answer = dns.query.udp(query, glue[0].address, port=b_port, timeout=10)
                assert answer.rcode() == dns.rcode.NOERROR
                assert answer.answer[0][0].target == b"https://88.119.5.example/ONE"
