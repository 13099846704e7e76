"""The audit log over HTTP and the CLI: every administrative action of a running node, who did
it, from where and in which request; read back with ``GET /admin/audit`` and ``idnode admin
audit`` (both backends)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from node import Settings, create_app
from node.logging_setup import RequestId
from registry.trust import KeyStore

from .. import commands
from ..servers import ThreadedServer
from .helpers import ADMIN_HEADERS, basic_auth, create_enterprise

TEMPLATE = {
    "prefix": "88.118.8",
    "version": "1.0",
    "items": [{"name": "productName", "idType": "productName", "idIndex": 2000}],
}


@pytest.fixture
def node(settings: Settings) -> Iterator[ThreadedServer]:
    """A node with a signing key (an enterprise certificate needs one), every request given an
    id as ``idnode serve`` gives it."""
    KeyStore(settings.keys_dir).generate()
    with ThreadedServer(RequestId(create_app(settings))) as server:
        yield server


def _audit(url: str, **params: object) -> dict:
    response = httpx.get(f"{url}/admin/audit", params=params, headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()


def _admin_entries(url: str) -> list[dict]:
    """The entries of requests (not of the node itself), oldest first."""
    return [e for e in reversed(_audit(url, limit=1000)["entries"]) if e["via"] == "http"]


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_each_admin_request_is_one_entry_with_its_request_id(
    node: ThreadedServer, settings: Settings
) -> None:
    url = node.url
    secrets: list[str] = []

    def admin(method: str, path: str, rid: str, **kwargs: object) -> httpx.Response:
        headers = {**ADMIN_HEADERS, "X-Request-ID": rid}
        response = httpx.request(method, f"{url}{path}", headers=headers, **kwargs)  # type: ignore[arg-type]
        assert response.status_code in (200, 201, 204), response.text
        return response

    created = admin(
        "POST", "/admin/enterprises", "r-1", json={"name": "Acme", "prefix": "88.118.8"}
    )
    secrets.append(created.json()["credential"]["password"])
    enterprise = created.json()["enterprise"]["id"]
    admin("POST", f"/admin/enterprises/{enterprise}/prefixes", "r-2", json={"prefix": "88.118.9"})
    issued = admin("POST", "/admin/credentials", "r-3", json={"prefix": "88.118.8"}).json()
    secrets.append(issued["password"])
    key = admin(
        "POST", "/admin/credentials/keys", "r-4", json={"prefix": "88.118.8", "publicKey": _pem()}
    )
    admin("DELETE", f"/admin/credentials/{issued['username']}", "r-5")
    store = KeyStore(settings.keys_dir)
    enterprise_jwk = store.load(store.list()[0].kid).public_jwk()
    admin(
        "POST",
        "/admin/trust/enterprise-certificates",
        "r-6",
        json={"prefix": "88.118.8", "publicKey": enterprise_jwk},
    )
    quotas = {"identifiers": 1000, "daily_resolutions": None}
    admin("PUT", f"/admin/enterprises/{enterprise}/quotas", "r-7", json=quotas)

    entries = _admin_entries(url)
    assert [(e["request_id"], e["action"], e["target"]) for e in entries] == [
        ("r-1", "enterprise.create", "88.118.8"),
        ("r-2", "prefix.allocate", "88.118.9"),
        ("r-3", "credential.issue", "88.118.8/ADMIN"),
        ("r-4", "credential.add_key", "88.118.8/ADMIN"),
        ("r-5", "credential.revoke", "88.118.8/ADMIN"),
        ("r-6", "key.certify_enterprise", "0.NA/88.118.8"),
        ("r-7", "quota.set", "88.118.8"),
    ]
    assert entries[6]["summary"] == quotas
    assert entries[3]["summary"]["username"] == key.json()["username"]
    assert entries[4]["summary"]["username"] == issued["username"]
    assert {(e["actor"], e["role"], e["via"], e["client"]) for e in entries} == {
        ("admin", "admin", "http", "127.0.0.1")
    }
    log = httpx.get(f"{url}/admin/audit", headers=ADMIN_HEADERS).text
    assert all(secret not in log for secret in secrets)


def test_enterprise_actions_over_snms_and_handle_rest_name_the_credential(
    node: ThreadedServer,
) -> None:
    url = node.url
    acme = create_enterprise(url, "Acme", "88.118.8")
    with httpx.Client(base_url=url) as client:
        login = {"username": acme["username"], "password": acme["password"]}
        token = client.post("/identity/token", json=login).json()["data"]["token"]
        snms = {"Authorization": token, "X-Request-ID": "snms-1"}
        for method in ("POST", "PUT"):
            answer = client.request(method, "/snms/api/v5/template", json=TEMPLATE, headers=snms)
            assert answer.json()["status"] == 1, answer.text
        body = {"values": [{"index": 1, "type": "URL", "data": "https://example.com"}]}
        for suffix in ("A", "B", "C", "D"):
            put = client.put(f"/api/handles/88.118.8/{suffix}", json=body, auth=basic_auth(acme))
            assert put.status_code == 201, put.text
        assert client.delete("/api/handles/88.118.8/A", auth=basic_auth(acme)).status_code == 200
        single = client.request(
            "DELETE", "/identityv2/data", params={"handle": "88.118.8/B"}, headers=snms
        )
        assert single.json()["status"] == 1, single.text
        batch = client.request(
            "DELETE",
            "/identityv2/data/batchDelete",
            json=["88.118.8/C", "88.118.8/GONE"],
            headers=snms,
        )
        assert batch.json()["status"] == 1, batch.text
        deleted = client.request(
            "DELETE",
            "/snms/api/v5/template",
            params={"prefix": "88.118.8", "version": "1.0"},
            headers=snms,
        )
        assert deleted.json()["status"] == 1, deleted.text
    entries = [e for e in _admin_entries(url) if e["actor"] == acme["username"]]
    assert [(e["action"], e["target"]) for e in entries] == [
        ("template.create", "88.118.8"),
        ("template.update", "88.118.8"),
        ("handle.delete", "88.118.8/A"),
        ("handle.delete", "88.118.8/B"),
        ("handle.delete", "88.118.8/C"),
        ("template.delete", "88.118.8"),
    ]
    assert {(e["role"], e["via"], e["client"]) for e in entries} == {
        ("enterprise", "http", "127.0.0.1")
    }
    assert entries[0]["request_id"] == "snms-1" and entries[2]["request_id"] != "snms-1"


def test_refused_and_failed_admin_requests_leave_no_entry(node: ThreadedServer) -> None:
    url = node.url
    create_enterprise(url, "Acme", "88.118.8")
    before = _admin_entries(url)
    refused = [
        httpx.post(
            f"{url}/admin/enterprises",
            json={"name": "X", "prefix": "88.119.1"},
            headers=ADMIN_HEADERS,
        ),
        httpx.post(
            f"{url}/admin/enterprises",
            json={"name": "X", "prefix": "88.118.8"},
            headers=ADMIN_HEADERS,
        ),
        httpx.post(f"{url}/admin/enterprises/99/prefixes", json={}, headers=ADMIN_HEADERS),
        httpx.post(f"{url}/admin/credentials", json={"prefix": "88.118.7"}, headers=ADMIN_HEADERS),
        httpx.delete(f"{url}/admin/credentials/399:88.118.8/ADMIN", headers=ADMIN_HEADERS),
        httpx.post(f"{url}/admin/enterprises", json={"name": "X"}),
        httpx.delete(f"{url}/api/handles/88.118.8/NONE", headers=ADMIN_HEADERS),
    ]
    assert [r.status_code for r in refused] == [400, 409, 404, 404, 404, 401, 404]
    assert _admin_entries(url) == before


def test_only_the_admin_token_reads_the_log(node: ThreadedServer) -> None:
    acme = create_enterprise(node.url, "Acme", "88.118.8")
    assert httpx.get(f"{node.url}/admin/audit").status_code == 401
    forbidden = httpx.get(f"{node.url}/admin/audit", auth=basic_auth(acme))
    assert forbidden.status_code == 403


def test_the_api_filters_and_pages(node: ThreadedServer) -> None:
    url = node.url
    for n in range(1, 6):
        create_enterprise(url, f"E{n}", f"88.118.{n}")
    acme = create_enterprise(url, "Acme", "88.118.10")
    httpx.post(f"{url}/admin/credentials", json={"prefix": "88.118.10"}, headers=ADMIN_HEADERS)

    assert [e["target"] for e in _audit(url, target="88.118.1")["entries"]] == [
        "88.118.10/ADMIN",
        "88.118.10",
        "88.118.1",
    ]
    assert [e["target"] for e in _audit(url, action="credential.issue")["entries"]] == [
        "88.118.10/ADMIN"
    ]
    assert len(_audit(url, actor="admin")["entries"]) == 7
    assert _audit(url, actor=acme["username"])["entries"] == []
    assert _audit(url, since="2999-01-01")["entries"] == []
    assert len(_audit(url, until="2999-01-01T00:00:00Z")["entries"]) == 7

    seen: list[str] = []
    page = _audit(url, limit=3, action="enterprise.create")
    while True:
        seen += [e["target"] for e in page["entries"]]
        if page["next"] is None:
            break
        page = _audit(url, limit=3, action="enterprise.create", before=page["next"])
    assert seen == ["88.118.10", "88.118.5", "88.118.4", "88.118.3", "88.118.2", "88.118.1"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "ISO 8601"),
        ({"limit": 0}, "limit must be from 1 to 1000"),
        ({"limit": 5000}, "limit must be from 1 to 1000"),
        ({"before": -1}, "before must be an entry id"),
        ({"since": "2026-12-02", "until": "2026-12-01"}, "since must be earlier than until"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_bad_filters_are_400s_that_say_why(
    node_server: ThreadedServer, params: dict, message: str
) -> None:
    response = httpx.get(f"{node_server.url}/admin/audit", params=params, headers=ADMIN_HEADERS)
    assert response.status_code in (400, 422), response.text
    assert message in response.json()["message"]


def _idnode(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"IDNODE_DATABASE_URL": settings.database_url, "IDNODE_NODE_CODE": "88.118"}
    result = commands.idnode(env, *args)
    assert result.returncode == 0, result.stderr
    return result


def test_the_cli_records_the_operator_and_prints_the_log(settings: Settings) -> None:
    import getpass

    created = json.loads(
        _idnode(settings, "admin", "enterprise", "create", "--name", "Acme", "--json").stdout
    )
    _idnode(settings, "admin", "credential", "revoke", "--username", created["username"])

    printed = json.loads(_idnode(settings, "admin", "audit", "--json").stdout)
    assert printed["next"] is None
    assert [(e["action"], e["target"]) for e in printed["entries"]] == [
        ("credential.revoke", "88.118.1/ADMIN"),
        ("enterprise.create", "88.118.1"),
    ]
    assert {(e["actor"], e["role"], e["via"]) for e in printed["entries"]} == {
        (f"operator:{getpass.getuser()}", "operator", "cli")
    }
    assert created["password"] not in json.dumps(printed)

    text = _idnode(settings, "admin", "audit", "--action", "enterprise.create").stdout
    (line,) = text.splitlines()
    fields = line.split("\t")
    assert fields[0] == str(printed["entries"][1]["id"])
    assert fields[3:5] == ["enterprise.create", "88.118.1"]
    assert fields[2].startswith(f"operator:{getpass.getuser()} (cli ")
    assert json.loads(fields[5])["credential"] == created["username"]

    paged = _idnode(settings, "admin", "audit", "--limit", "1").stdout.splitlines()
    assert paged[-1] == f"(more: --before {printed['entries'][0]['id']})"
    assert _idnode(settings, "admin", "audit", "--actor", "nobody").stdout.strip() == (
        "no audit entries"
    )
    bad = commands.idnode(
        {"IDNODE_DATABASE_URL": settings.database_url}, "admin", "audit", "--since", "soon"
    )
    assert bad.returncode == 1 and "ISO 8601" in bad.stderr


def test_publishing_the_node_keys_is_recorded_once_per_command(settings: Settings) -> None:
    store = KeyStore(settings.keys_dir)
    store.generate()
    env = {"IDNODE_KEYS_DIR": settings.keys_dir}
    published = commands.idnode(
        {"IDNODE_DATABASE_URL": settings.database_url, **env}, "keys", "publish", "--json"
    )
    assert published.returncode == 0, published.stderr
    entries = json.loads(_idnode(settings, "admin", "audit", "--json").stdout)["entries"]
    assert [(e["action"], e["target"], e["role"]) for e in entries] == [
        ("keys.publish", "0.NA/88.118", "operator")
    ]
    assert entries[0]["summary"] == {"indexes": [store.list()[0].index]}


FUZZ_SEED = 20
FUZZ_CASES = 150
FUZZ_BUDGET_SECONDS = 30.0
FUZZ_NAMES = ("since", "until", "actor", "action", "target", "before", "limit", "x")
FUZZ_VALUES = (
    "",
    "0",
    "-1",
    "1",
    "9" * 40,
    str(2**63),
    "2026-12-04",
    "2026-12-04T25:00:00Z",
    "2026-12-04T12:00:00+99:00",
    "\x00",
    "a\x00b",
    "٣",
    "88.118.8/",
    "%",
    "_",
    "'; DROP TABLE audit_log; --",
    "x" * 5000,
    "\ud7ff\ue000",
)


def test_fuzzed_filters_never_get_a_500(node_server: ThreadedServer) -> None:
    import random
    import time

    rng = random.Random(FUZZ_SEED)
    create_enterprise(node_server.url, "Acme", "88.118.8")
    started = time.monotonic()
    with httpx.Client(base_url=node_server.url, headers=ADMIN_HEADERS) as client:
        for _ in range(FUZZ_CASES):
            if time.monotonic() - started > FUZZ_BUDGET_SECONDS:
                break
            params = {
                rng.choice(FUZZ_NAMES): rng.choice(FUZZ_VALUES) for _ in range(rng.randint(1, 4))
            }
            response = client.get("/admin/audit", params=params)
            assert response.status_code in (200, 400, 422), (params, response.text)
            if response.status_code != 200:
                assert response.json()["message"], params
