"""Credentials over HTTP: issue, use, revoke; tokens die with their credential."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from .helpers import ADMIN_HEADERS, basic_auth, create_enterprise

GOOD = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/"}]}


def test_issue_use_and_revoke_a_second_credential(node_server) -> None:
    create_enterprise(node_server.url, "Acme", "88.118.8")
    with httpx.Client(base_url=node_server.url, timeout=30) as client:
        issued = client.post(
            "/admin/credentials", json={"prefix": "88.118.8"}, headers=ADMIN_HEADERS
        )
        assert issued.status_code == 201
        second = issued.json()
        assert second["username"] == "301:88.118.8/ADMIN"
        assert (
            client.put("/api/handles/88.118.8/a", json=GOOD, auth=basic_auth(second)).status_code
            == 201
        )

        revoked = client.delete(
            f"/admin/credentials/{quote(second['username'], safe='')}", headers=ADMIN_HEADERS
        )
        assert revoked.status_code == 204
        refused = client.put("/api/handles/88.118.8/b", json=GOOD, auth=basic_auth(second))
        assert refused.status_code == 401
        assert client.get("/api/handles/88.118.8/b").status_code == 404

        # The ADMIN handle no longer lists the revoked identity's key index.
        admin = client.get("/api/handles/88.118.8/ADMIN", headers=ADMIN_HEADERS).json()["values"]
        assert 301 not in [v["index"] for v in admin]
