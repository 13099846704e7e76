"""Rate limits and quotas on the native protocol: 3 (busy) for a rate, 603–605 for quotas."""

from __future__ import annotations

import httpx
import pytest

from loadtests import free_port
from node import Settings
from node.app import create_app
from node.native.admin_client import AdminClient, SecretKeyAuth
from node.native.client import HandleClient, HandleError
from node.native.dispatch import error_code
from registry import (
    EnterpriseService,
    HandleValue,
    Prefix,
    QuotaExceeded,
    RateLimited,
    RecordService,
    TooManyAttempts,
)
from registry.codec.native import ResponseCode
from registry.storage import Database
from registry.trust import CipherKey

from ...servers import ThreadedServer
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


@pytest.mark.parametrize(
    ("quota", "code"),
    [
        pytest.param({"daily_registrations": 0}, 603, id="daily-registrations"),
        pytest.param({"identifiers": 0}, 604, id="identifiers"),
    ],
)
async def test_a_native_create_over_a_quota_gets_its_idis_code(
    settings: Settings, db: Database, quota: dict[str, int], code: int
) -> None:
    service = EnterpriseService(
        db, RecordService(db), Prefix.parse("88.118"), CipherKey("test-credential-key")
    )
    info, _ = await service.create("Acme", "88.118.8", password="demo-password")
    port = free_port()
    served = settings.model_copy(update={"handle_port": port})
    with ThreadedServer(create_app(served), settings=served) as server:
        async with httpx.AsyncClient(base_url=server.url, headers=ADMIN) as http:
            answer = await http.put(f"/admin/enterprises/{info.id}/quotas", json=quota)
            assert answer.status_code == 200, answer.text
        async with HandleClient("127.0.0.1", port, timeout=5.0) as client:
            admin = AdminClient(client, SecretKeyAuth("88.118.8/ADMIN", 300, b"demo-password"))
            with pytest.raises(HandleError) as refused:
                await admin.create("88.118.8/N1", [HandleValue(1, "URL", "string", "https://x/")])
        async with httpx.AsyncClient(base_url=server.url) as http:
            written = await http.get("/api/handles/88.118.8/N1")
    assert refused.value.code == code
    assert written.status_code == 404
