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


def test_a_revoked_credential_is_replaced_at_once_under_a_fresh_index(node_server) -> None:
    first = create_enterprise(node_server.url, "Acme", "88.118.2")
    with httpx.Client(base_url=node_server.url, timeout=30) as client:
        login = {"username": first["username"], "password": first["password"]}
        old_token = client.post("/identity/token", json=login).json()["data"]["token"]
        revoked = client.delete(
            f"/admin/credentials/{quote(first['username'], safe='')}", headers=ADMIN_HEADERS
        )
        assert revoked.status_code == 204

        issued = client.post(
            "/admin/credentials", json={"prefix": "88.118.2"}, headers=ADMIN_HEADERS
        )
        assert issued.status_code == 201, issued.text
        replacement = issued.json()
        assert replacement["username"] == "301:88.118.2/ADMIN"
        assert (
            client.put(
                "/api/handles/88.118.2/a", json=GOOD, auth=basic_auth(replacement)
            ).status_code
            == 201
        )

        # The revoked secret and its token never work again, under either name.
        assert (
            client.put("/api/handles/88.118.2/b", json=GOOD, auth=basic_auth(first)).status_code
            == 401
        )
        reused = {"username": replacement["username"], "password": first["password"]}
        assert client.post("/identity/token", json=reused).status_code == 401
        assert client.post("/identity/token", json=login).status_code == 401
        stale = client.get(
            "/snms/api/v5/template?prefix=88.118.2", headers={"Authorization": old_token}
        )
        assert stale.status_code == 401

        # Revoking the replacement too frees nothing for reuse: the next is 302.
        client.delete(
            f"/admin/credentials/{quote(replacement['username'], safe='')}", headers=ADMIN_HEADERS
        )
        again = client.post(
            "/admin/credentials", json={"prefix": "88.118.2"}, headers=ADMIN_HEADERS
        )
        assert again.status_code == 201 and again.json()["username"] == "302:88.118.2/ADMIN"
        admin = client.get("/api/handles/88.118.2/ADMIN", headers=ADMIN_HEADERS).json()["values"]
        assert [v["index"] for v in admin if v["type"] == "HS_SECKEY"] == [302]
