"""Another node's identifiers over DNS: bridged through the recursive resolver, SERVFAIL when down."""

from __future__ import annotations

from pathlib import Path

import dns.rcode
import httpx
import pytest
from pydantic import SecretStr

from node import Settings, create_app

from ...conftest import ADMIN_TOKEN
from ...databases import migrate
from ...servers import ThreadedServer
from ..helpers import ADMIN_HEADERS, basic_auth, create_enterprise
from .dnshelp import dns_node, name_of


def _settings(url: str, node_code: str) -> Settings:
    return Settings(database_url=url, node_code=node_code, admin_token=SecretStr(ADMIN_TOKEN))


def _directory_entry(top: str, prefix: str, base_url: str, node_code: str) -> None:
    site = {"baseUrl": base_url, "nodeCode": node_code}
    body = {"values": [{"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": site}}]}
    response = httpx.put(f"{top}/api/handles/0.NA/{prefix}", json=body, headers=ADMIN_HEADERS)
    assert response.status_code in (200, 201), response.text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_other_nodes_identifiers_are_bridged_and_fail_as_servfail(
    settings: Settings, tmp_path: Path
) -> None:
    top_url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'top'}.db")
    b_url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'b'}.db")
    with ThreadedServer(create_app(_settings(top_url, "88"))) as top:
        node_b = ThreadedServer(create_app(_settings(b_url, "88.119")))
        node_b.__enter__()
        stopped = False
        try:
            b_credential = create_enterprise(node_b.url, "Bee", "88.119.5")
            for suffix in ("ONE", "TWO"):
                body = {
                    "values": [{"index": 1, "type": "URL", "data": f"https://b.example/{suffix}"}]
                }
                response = httpx.put(
                    f"{node_b.url}/api/handles/88.119.5/{suffix}",
                    json=body,
                    auth=basic_auth(b_credential),
                )
                assert response.status_code == 201, response.text
            _directory_entry(top.url, "88.119", node_b.url, "88.119")
            with dns_node(settings, toplevel_url=top.url) as node_a:
                one = node_a.query(name_of("88.119.5/ONE"), "URI")
                assert one.rcode() == dns.rcode.NOERROR
                assert one.answer[0][0].target == b"https://b.example/ONE"
                missing = node_a.query(name_of("88.119.5/NONE"), "URI")
                assert missing.rcode() == dns.rcode.NXDOMAIN
                node_b.__exit__(None, None, None)
                stopped = True
                down = node_a.query(name_of("88.119.5/TWO"), "URI", tcp=True)
                assert down.rcode() == dns.rcode.SERVFAIL
        finally:
            if not stopped:
                node_b.__exit__(None, None, None)
