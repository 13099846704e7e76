"""Authenticated resolutions over HTTP: a proven password is not verified again, its caller still
sees what it owns, and a revocation on one instance holds at once on another sharing PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from registry import _enterprises

from ..conftest import ADMIN_TOKEN
from ..databases import fresh_database, migrate
from ..servers import NodeProcess, ThreadedServer
from .helpers import ADMIN_HEADERS, PRODUCT_TEMPLATE, basic_auth, create_enterprise

VALUES = {
    "values": [
        {"index": 1, "type": "URL", "data": "https://example.com/"},
        {"index": 3, "type": "SECRET", "data": "s3cret", "permissions": "1100"},
    ]
}
PATH = "/api/handles/88.118.8/LINE-1"


def _types(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [value["type"] for value in response.json()["values"]]


def test_a_proven_password_resolves_without_scrypt_and_sees_what_it_owns(
    node_server: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = create_enterprise(node_server.url, "Acme", "88.118.8")
    other = create_enterprise(node_server.url, "Other", "88.118.9")
    scrypts: list[str] = []
    real = _enterprises.verify_secret

    def counting(password: str, stored: str) -> bool:
        scrypts.append(password)
        return real(password, stored)

    monkeypatch.setattr(_enterprises, "verify_secret", counting)
    with httpx.Client(base_url=node_server.url, timeout=30) as client:
        assert client.put(PATH, json=VALUES, auth=basic_auth(acme)).status_code == 201
        for _ in range(5):
            assert _types(client.get(PATH, auth=basic_auth(acme))) == ["URL", "SECRET"]
            assert _types(client.get(PATH, auth=basic_auth(other))) == ["URL"]
            assert _types(client.get(PATH)) == ["URL"]
        assert scrypts == [acme["password"], other["password"]]
        # A wrong password is refused every time, each refusal verified afresh.
        wrong = {**acme, "password": acme["password"] + "x"}
        for _ in range(2):
            refused = client.get(PATH, auth=basic_auth(wrong))
            assert refused.status_code == 401
            assert refused.json()["responseCode"] == 402
        assert scrypts[2:] == [wrong["password"]] * 2
        # Revoked here: refused at once, without a cached answer.
        revoked = client.delete(
            f"/admin/credentials/{quote(acme['username'], safe='')}", headers=ADMIN_HEADERS
        )
        assert revoked.status_code == 204
        assert client.get(PATH, auth=basic_auth(acme)).status_code == 401


def test_a_remembered_token_resolves_on_the_hot_path_until_revoked(
    node_server: ThreadedServer,
) -> None:
    acme = create_enterprise(node_server.url, "Acme", "88.118.8")
    with httpx.Client(base_url=node_server.url, timeout=30) as client:
        assert client.put(PATH, json=VALUES, auth=basic_auth(acme)).status_code == 201
        login = {"username": acme["username"], "password": acme["password"]}
        token = client.post("/identity/token", json=login).json()["data"]["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        for _ in range(3):
            assert _types(client.get(PATH, headers=bearer)) == ["URL", "SECRET"]
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert _types(client.get(PATH, headers=admin)) == ["URL", "SECRET"]
        client.delete(
            f"/admin/credentials/{quote(acme['username'], safe='')}", headers=ADMIN_HEADERS
        )
        assert client.get(PATH, headers=bearer).status_code == 401


@pytest.fixture
async def postgres_url(tmp_path: Path) -> AsyncIterator[str]:
    """A migrated PostgreSQL database that two instances share."""
    async with fresh_database("postgresql", tmp_path) as url:
        yield await migrate(url)


@pytest.mark.slow
def test_a_revocation_on_one_instance_holds_at_once_on_another(
    postgres_url: str, tmp_path: Path
) -> None:
    env = {
        "IDNODE_DATABASE_URL": postgres_url,
        "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN,
        "IDNODE_KEYS_DIR": str(tmp_path / "keys"),
    }
    with NodeProcess(env) as one, NodeProcess(env) as two:
        acme = create_enterprise(one.url, "Acme", "88.118.8")
        auth = basic_auth(acme)
        with httpx.Client(timeout=30) as client:
            assert client.put(one.url + PATH, json=VALUES, auth=auth).status_code == 201
            # Instance two proves the password and remembers it.
            for _ in range(3):
                assert _types(client.get(two.url + PATH, auth=auth)) == ["URL", "SECRET"]
            revoked = client.delete(
                f"{one.url}/admin/credentials/{quote(acme['username'], safe='')}",
                headers=ADMIN_HEADERS,
            )
            assert revoked.status_code == 204
            # The NOTIFY was sent before the revocation was acknowledged; it reaches two within
            # its delivery time, and from then on two never answers the revoked credential.
            acknowledged = time.monotonic()
            while client.get(two.url + PATH, auth=auth).status_code == 200:
                assert time.monotonic() - acknowledged < 1.0, "two still honours the credential"
                time.sleep(0.01)
            # (Refusals count as failed logins: past ten, 429 rather than 401.)
            for _ in range(5):
                assert client.get(two.url + PATH, auth=auth).status_code == 401
            assert client.put(two.url + PATH, json=VALUES, auth=auth).status_code in (401, 429)


@pytest.mark.slow
def test_a_console_password_change_on_one_instance_holds_at_once_on_another(
    postgres_url: str, tmp_path: Path
) -> None:
    env = {
        "IDNODE_DATABASE_URL": postgres_url,
        "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN,
        "IDNODE_KEYS_DIR": str(tmp_path / "keys"),
    }
    with NodeProcess(env) as one, NodeProcess(env) as two:
        acme = create_enterprise(one.url, "Acme", "88.118.8")
        auth = basic_auth(acme)
        with httpx.Client(timeout=30) as client, httpx.Client(base_url=one.url) as browser:
            assert client.put(one.url + PATH, json=VALUES, auth=auth).status_code == 201
            for _ in range(3):
                assert _types(client.get(two.url + PATH, auth=auth)) == ["URL", "SECRET"]
            form = browser.get("/console/login")
            login = {"username": acme["username"], "password": acme["password"]}
            assert (
                browser.post("/console/login", data={**login, "csrf": _csrf(form.text)}).status_code
                == 303
            )
            page = browser.get("/console/credentials")
            new = "a-new-password-2"
            changed = browser.post(
                "/console/credentials/password",
                data={
                    "csrf": _csrf(page.text),
                    "current": acme["password"],
                    "new": new,
                    "repeat": new,
                },
            )
            assert changed.status_code == 303, changed.text
            acknowledged = time.monotonic()
            while client.get(two.url + PATH, auth=auth).status_code == 200:
                assert time.monotonic() - acknowledged < 1.0, "two still takes the old password"
                time.sleep(0.01)
            renewed = basic_auth({**acme, "password": new})
            assert _types(client.get(two.url + PATH, auth=renewed)) == ["URL", "SECRET"]


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page[:2000]
    return found.group(1)


@pytest.mark.slow
def test_a_revoked_snms_token_is_refused_at_once_by_another_instances_hot_writes(
    postgres_url: str, tmp_path: Path
) -> None:
    env = {
        "IDNODE_DATABASE_URL": postgres_url,
        "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN,
        "IDNODE_KEYS_DIR": str(tmp_path / "keys"),
    }
    with NodeProcess(env) as one, NodeProcess(env) as two:
        acme = create_enterprise(one.url, "Acme", "88.118.8")
        with httpx.Client(timeout=30) as client:
            login = {"username": acme["username"], "password": acme["password"]}
            token = client.post(one.url + "/identity/token", json=login).json()["data"]["token"]
            headers = {"Authorization": token}
            created = client.post(
                one.url + "/snms/api/v5/template", json=PRODUCT_TEMPLATE, headers=headers
            )
            assert created.json()["status"] == 1, created.text

            def register(n: int) -> httpx.Response:
                value = {"index": 2000, "type": "productName", "data": "Motor"}
                body = {"handle": f"88.118.8/S{n}", "templateVersion": "1.0", "value": [value]}
                return client.post(two.url + "/identityv2/data", json=body, headers=headers)

            # Instance two proves the token once, then answers its writes on the hot path.
            for n in range(3):
                assert register(n).json()["status"] == 1
            revoked = client.delete(
                f"{one.url}/admin/credentials/{quote(acme['username'], safe='')}",
                headers=ADMIN_HEADERS,
            )
            assert revoked.status_code == 204
            acknowledged = time.monotonic()
            n = 3
            while (answer := register(n)).json()["status"] == 1:
                assert time.monotonic() - acknowledged < 1.0, "two still honours the token"
                time.sleep(0.01)
                n += 1
            assert answer.status_code == 401 and answer.json()["status"] == -1
            assert register(n + 1).json()["status"] == -1
