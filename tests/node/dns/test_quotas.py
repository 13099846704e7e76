"""A daily resolution quota holds over DNS too: past it, the enterprise's names are REFUSED."""

from __future__ import annotations

import dns.rcode
import httpx
import pytest

from node import Settings

from ..helpers import ADMIN_HEADERS
from .dnshelp import dns_node, name_of

HANDLE = "88.118.8/Q1"


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_the_daily_resolution_quota_refuses_over_dns(settings: Settings, tcp: bool) -> None:
    with dns_node(settings) as node:
        node.put(HANDLE, [{"index": 1, "type": "URL", "data": "https://example.com/"}])
        # Cached before the quota is set: the ready answer must not bypass the count.
        assert node.query(name_of(HANDLE), "TXT", tcp=tcp).rcode() == dns.rcode.NOERROR
        quota = httpx.put(
            f"{node.url}/admin/enterprises/1/quotas",
            json={"daily_resolutions": 2},
            headers=ADMIN_HEADERS,
        )
        assert quota.status_code == 200, quota.text
        codes = [node.query(name_of(HANDLE), "TXT", tcp=tcp).rcode() for _ in range(3)]
        # HTTP resolutions share the count.
        http = httpx.get(f"{node.url}/api/handles/{HANDLE}")
    assert codes == [dns.rcode.NOERROR, dns.rcode.NOERROR, dns.rcode.REFUSED]
    assert http.status_code == 429
