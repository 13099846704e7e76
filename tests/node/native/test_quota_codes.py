"""Rate limits and quotas on the native protocol: 3 (busy) for a rate, 603–605 for quotas."""

from __future__ import annotations

import httpx
import pytest

from node.native.client import HandleClient, HandleError
from node.native.dispatch import error_code
from registry import QuotaExceeded, RateLimited, TooManyAttempts
from registry.codec.native import ResponseCode

from .conftest import NodeFactory
from .native_nodes import ADMIN, NativeNode, value

TRANSPORTS = [pytest.param(False, id="tcp"), pytest.param(True, id="udp")]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (RateLimited("slow", retry_after=1), ResponseCode.SERVER_TOO_BUSY),
        (QuotaExceeded("x", kind="daily_resolutions", retry_after=9), 603),
        (QuotaExceeded("x", kind="daily_registrations", retry_after=9), 603),
        (QuotaExceeded("x", kind="identifiers", retry_after=None), 604),
        (QuotaExceeded("x", kind="prefixes", retry_after=None), 605),
        (TooManyAttempts("x", retry_after=9), ResponseCode.AUTHENTICATION_FAILED),
    ],
)
def test_each_limit_has_its_native_code(error: Exception, code: int) -> None:
    assert error_code(error) == code


@pytest.mark.parametrize("udp", TRANSPORTS)
async def test_a_client_over_its_resolution_rate_gets_busy(
    native_node_factory: NodeFactory, udp: bool
) -> None:
    with native_node_factory(rate_limit_resolve="2/minute") as node:
        node.put("88.118/widget", [value(1, "URL", "https://one/")])
        async with HandleClient("127.0.0.1", node.port, udp=udp) as client:
            await client.resolve("88.118/widget")
            await client.resolve("88.118/widget")
            with pytest.raises(HandleError) as refused:
                await client.resolve("88.118/widget")
    assert refused.value.code == ResponseCode.SERVER_TOO_BUSY
    assert "too many resolve requests" in refused.value.message


async def test_the_daily_resolution_quota_answers_603(native_node: NativeNode) -> None:
    created = httpx.post(
        f"{native_node.url}/admin/enterprises",
        json={"name": "Acme", "prefix": "88.118.8"},
        headers=ADMIN,
    )
    enterprise = created.json()["enterprise"]["id"]
    native_node.put("88.118.8/widget", [value(1, "URL", "https://one/")])
    quota = httpx.put(
        f"{native_node.url}/admin/enterprises/{enterprise}/quotas",
        json={"daily_resolutions": 1},
        headers=ADMIN,
    )
    assert quota.status_code == 200
    async with HandleClient("127.0.0.1", native_node.port) as client:
        await client.resolve("88.118.8/widget")
        with pytest.raises(HandleError) as refused:
            await client.resolve("88.118.8/widget")
    assert refused.value.code == 603
    assert "1 resolutions a day" in refused.value.message
