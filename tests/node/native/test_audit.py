"""Deletions over the native protocol reach the audit log as the identity that answered the
challenge, from the client's address (both backends)."""

from __future__ import annotations

import pytest

from loadtests import free_port
from node import Settings
from node.app import create_app
from node.native.admin_client import AdminClient, SecretKeyAuth
from node.native.client import HandleClient, HandleError
from registry import AuditService, EnterpriseService, HandleValue, Prefix, RecordService
from registry.codec.native import ResponseCode
from registry.storage import Database
from registry.trust import CipherKey

from ...servers import ThreadedServer

PASSWORD = "demo-password"
URL = HandleValue(1, "URL", "string", "https://example.com/n1")
EMAIL = HandleValue(2, "EMAIL", "string", "qa@example.com")


async def test_native_deletions_are_audited_as_the_identity(
    settings: Settings, db: Database
) -> None:
    enterprises = EnterpriseService(
        db, RecordService(db), Prefix.parse("88.118"), CipherKey("test-credential-key")
    )
    await enterprises.create("Acme", "88.118.8", password=PASSWORD)
    port = free_port()
    served = settings.model_copy(update={"handle_port": port})
    with ThreadedServer(create_app(served), settings=served):
        async with HandleClient("127.0.0.1", port, timeout=5.0) as client:
            admin = AdminClient(client, SecretKeyAuth("88.118.8/ADMIN", 300, PASSWORD.encode()))
            await admin.create("88.118.8/N1", [URL, EMAIL])
            await admin.create("88.118.8/N2", [URL])
            await admin.remove_values("88.118.8/N1", [2])
            await admin.delete("88.118.8/N2")
            with pytest.raises(HandleError) as missing:
                await admin.delete("88.118.8/N2")
            assert missing.value.code == ResponseCode.HANDLE_NOT_FOUND

    entries = (await AuditService(db).find()).entries
    native = [e for e in reversed(entries) if e.via == "native"]
    assert [(e.action, e.target, e.summary) for e in native] == [
        ("handle.delete_values", "88.118.8/N1", {"indexes": [2]}),
        ("handle.delete", "88.118.8/N2", {}),
    ]
    assert {(e.actor, e.role, e.client, e.request_id) for e in native} == {
        ("300:88.118.8/ADMIN", "enterprise", "127.0.0.1", None)
    }
