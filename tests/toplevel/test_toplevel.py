"""The simulated top-level node over HTTP: directory, onboarding, exactly-once intake, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from registry.trust import Certificate, KeyStore, SigningKey, sign_registration
from toplevel import create_toplevel_app, open_root

from ..servers import ThreadedServer

BOOTSTRAP = "test-bootstrap"
OPERATOR = "test-operator"
OPS = {"Authorization": f"Bearer {OPERATOR}"}
KEY = {"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ"}


@pytest.fixture
def toplevel(tmp_path: Path) -> Iterator[httpx.Client]:
    app = create_toplevel_app(
        f"sqlite+aiosqlite:///{tmp_path / 'toplevel.db'}", BOOTSTRAP, operator_token=OPERATOR
    )
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _onboard(client: httpx.Client, code: str = "88.118") -> dict[str, str]:
    response = client.post(
        "/nodes",
        json={"nodeCode": code, "baseUrl": "http://127.0.0.1:8001", "publicKey": KEY},
        headers={"Authorization": f"Bearer {BOOTSTRAP}"},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _upsert(change_id: int, handle: str, url: str = "https://example.com/") -> dict:
    values = [{"index": 1, "type": "URL", "data": {"format": "string", "value": url}}]
    return {
        "id": change_id,
        "kind": "handle.upsert",
        "subject": handle,
        "payload": {"handle": handle, "values": values},
    }


def test_onboarding_puts_the_node_in_the_directory(toplevel: httpx.Client) -> None:
    _onboard(toplevel)
    entry = toplevel.get("/api/handles/0.NA/88.118").json()
    assert entry["responseCode"] == 1 and entry["handle"] == "0.NA/88.118"
    by_type = {v["type"]: v for v in entry["values"]}
    assert by_type["HS_SITE"]["data"] == {
        "format": "site",
        "value": {"baseUrl": "http://127.0.0.1:8001", "nodeCode": "88.118"},
    }
    assert by_type["HS_PUBKEY"]["index"] == 300 and by_type["HS_PUBKEY"]["data"]["value"] == KEY

    missing = toplevel.get("/api/handles/0.NA/88.119")
    assert missing.status_code == 404
    assert missing.json()["responseCode"] == 100 and missing.json()["handle"] == "0.NA/88.119"


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({}, {"nodeCode": "88.118", "baseUrl": "http://a", "publicKey": KEY}, 401, "Bearer"),
        (
            {"Authorization": "Bearer wrong"},
            {"nodeCode": "88.118", "baseUrl": "http://a", "publicKey": KEY},
            401,
            "bootstrap credential",
        ),
        (None, {"nodeCode": "77.1", "baseUrl": "http://a", "publicKey": KEY}, 400, "under 88"),
        (None, {"nodeCode": "88.1 x", "baseUrl": "http://a", "publicKey": KEY}, 400, "segment"),
        (None, {"nodeCode": "88.118", "baseUrl": "ftp://a", "publicKey": KEY}, 400, "baseUrl"),
        (None, {"nodeCode": "88.118", "baseUrl": "http://a", "publicKey": {}}, 400, "kty"),
        (
            None,
            {"nodeCode": "88.118", "baseUrl": "http://a", "publicKey": {**KEY, "d": "x"}},
            400,
            "private",
        ),
    ],
)
def test_bad_onboarding_is_refused_by_name(
    toplevel: httpx.Client, headers, body, status: int, message: str
) -> None:
    headers = {"Authorization": f"Bearer {BOOTSTRAP}"} if headers is None else headers
    response = toplevel.post("/nodes", json=body, headers=headers)
    assert response.status_code == status
    assert message in response.json()["message"]
    assert toplevel.get("/nodes", headers=OPS).json() == {"nodes": []}


def test_each_batch_applies_exactly_once_and_in_order(toplevel: httpx.Client) -> None:
    auth = _onboard(toplevel)
    first = {
        "seq": 1,
        "changes": [
            {"id": 1, "kind": "prefix.create", "subject": "88.118.8", "payload": {}},
            _upsert(2, "88.118.8/A", "https://example.com/1"),
        ],
    }
    assert toplevel.post("/nodes/88.118/batches", json=first, headers=auth).json() == {
        "seq": 1,
        "applied": True,
        "lastSeq": 1,
    }
    # A retried batch (the answer was lost) is acknowledged and not applied again.
    assert (
        toplevel.post("/nodes/88.118/batches", json=first, headers=auth).json()["applied"] is False
    )
    gap = toplevel.post("/nodes/88.118/batches", json={"seq": 3, "changes": []}, headers=auth)
    assert gap.status_code == 409 and "next expected is 2" in gap.json()["message"]
    second = {
        "seq": 2,
        "changes": [
            _upsert(3, "88.118.8/A", "https://example.com/2"),
            _upsert(4, "88.118.8/B"),
            {"id": 5, "kind": "handle.delete", "subject": "88.118.8/B", "payload": {}},
        ],
    }
    assert toplevel.post("/nodes/88.118/batches", json=second, headers=auth).json()["applied"]

    copy = toplevel.get("/copies/88.118.8/A", headers=OPS).json()
    assert copy["values"][0]["data"]["value"] == "https://example.com/2" and copy["batchSeq"] == 2
    assert toplevel.get("/copies/88.118.8/B", headers=OPS).status_code == 404
    journal = toplevel.get("/nodes/88.118/changes", headers=OPS).json()["changes"]
    assert [(c["batchSeq"], c["changeId"]) for c in journal] == [
        (1, 1),
        (1, 2),
        (2, 3),
        (2, 4),
        (2, 5),
    ]

    node = toplevel.get("/nodes/88.118", headers=OPS).json()
    assert node["lastSeq"] == 2 and node["batches"] == 2 and node["changes"] == 5
    assert node["prefixes"] == {"88.118.8": 1}
    homed = toplevel.get("/api/handles/0.na/88.118.8").json()
    site = next(v for v in homed["values"] if v["type"] == "HS_SITE")
    assert site["data"]["value"]["nodeCode"] == "88.118"


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"id": 9, "kind": "handle.rename", "subject": "88.118.8/A"}, 400, "unknown kind"),
        (
            {"id": 9, "kind": "handle.upsert", "subject": "88.119.1/A", "payload": {"values": []}},
            403,
            "not under node code",
        ),
        ({"id": 9, "kind": "prefix.create", "subject": "88.119.1"}, 403, "not under node code"),
        ({"id": 9, "kind": "handle.upsert", "subject": "88.118.8/A", "payload": {}}, 400, "values"),
        ({"id": 9, "kind": "handle.upsert", "subject": "88..8/A"}, 400, "empty segment"),
        ({"id": 0, "kind": "handle.delete", "subject": "88.118.8/A"}, 400, "id"),
    ],
)
def test_a_bad_change_rejects_the_whole_batch(
    toplevel: httpx.Client, change: dict, status: int, message: str
) -> None:
    auth = _onboard(toplevel)
    batch = {"seq": 1, "changes": [_upsert(1, "88.118.8/OK"), change]}
    response = toplevel.post("/nodes/88.118/batches", json=batch, headers=auth)
    assert response.status_code == status, response.text
    assert message in response.json()["message"]
    assert toplevel.get("/copies/88.118.8/OK", headers=OPS).status_code == 404
    assert toplevel.get("/nodes/88.118", headers=OPS).json()["lastSeq"] == 0


def test_sync_calls_need_the_node_token(toplevel: httpx.Client) -> None:
    _onboard(toplevel, "88.118")
    other = _onboard(toplevel, "88.119")
    batch = {"seq": 1, "changes": []}
    assert toplevel.post("/nodes/88.118/batches", json=batch).status_code == 401
    assert toplevel.post("/nodes/88.118/batches", json=batch, headers=other).status_code == 401


def test_statistics_are_kept(toplevel: httpx.Client) -> None:
    auth = _onboard(toplevel)
    figures = {"registrations": 12, "resolutions": 340, "cacheHitRatio": 0.75}
    assert toplevel.post("/nodes/88.118/stats", json=figures, headers=auth).status_code == 204
    stats = toplevel.get("/nodes/88.118", headers=OPS).json()["statistics"]
    assert {k: stats[k] for k in figures} == figures and stats["reportedAt"].endswith("Z")
    bad = toplevel.post("/nodes/88.118/stats", json={"cacheHitRatio": 3}, headers=auth)
    assert bad.status_code == 400 and "cacheHitRatio" in bad.json()["message"]


def test_fault_switches(toplevel: httpx.Client) -> None:
    assert toplevel.put("/faults", json={"errorRate": 1}, headers=OPS).json()["errorRate"] == 1
    failing = toplevel.get("/nodes", headers=OPS)
    assert failing.status_code == 503 and "injected" in failing.json()["message"]
    assert toplevel.get("/healthz").status_code == 200
    assert toplevel.put("/faults", json={"errorRate": 0, "latencyMs": 50}, headers=OPS).json() == {
        "latencyMs": 50,
        "errorRate": 0,
        "lostAnswerRate": 0.0,
        "refusingConnections": False,
        "canRefuseConnections": False,
    }
    assert toplevel.get("/nodes", headers=OPS).status_code == 200
    assert toplevel.put("/faults", json={"errorRate": 2}, headers=OPS).status_code == 400
    # Refusing connections needs the process runner, which owns the listening socket.
    refused = toplevel.put("/faults", json={"refuseConnectionsSeconds": 1}, headers=OPS)
    assert refused.status_code == 409 and "idnode toplevel" in refused.json()["message"]


def test_a_plugged_root_ca_certifies_onboarded_nodes(tmp_path: Path) -> None:
    def certify(code: str, jwk: dict, index: int) -> str:
        return f"certificate of {index}:{code} for {jwk['x']}"

    app = create_toplevel_app(f"sqlite+aiosqlite:///{tmp_path / 'tl.db'}", BOOTSTRAP, certify)
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as client:
        answer = client.post(
            "/nodes",
            json={"nodeCode": "88.118", "baseUrl": "http://127.0.0.1:8001", "publicKey": KEY},
            headers={"Authorization": f"Bearer {BOOTSTRAP}"},
        ).json()
        assert answer["certificate"] == "certificate of 300:88.118 for eA"
        values = client.get("/api/handles/0.NA/88.118").json()["values"]
        cert = next(v for v in values if v["type"] == "HS_CERT")
        assert cert["index"] == 400 and cert["data"]["value"] == answer["certificate"]


def test_the_root_ca_certifies_the_key_index_sent_and_serves_its_certificate(
    tmp_path: Path,
) -> None:
    root = open_root(tmp_path / "root")
    assert (tmp_path / "root" / "root.jws").read_text().strip() == root.root_certificate()
    app = create_toplevel_app(f"sqlite+aiosqlite:///{tmp_path / 'tl.db'}", BOOTSTRAP, root=root)
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as client:
        served = client.get("/root").json()
        assert served == {"id": "300:0.NA/88", "certificate": root.root_certificate()}
        bad_index = client.post(
            "/nodes",
            json={"nodeCode": "88.118", "baseUrl": "http://x", "publicKey": KEY, "keyIndex": 0},
            headers={"Authorization": f"Bearer {BOOTSTRAP}"},
        )
        assert bad_index.status_code == 400 and "keyIndex" in bad_index.text
        answer = client.post(
            "/nodes",
            json={"nodeCode": "88.118", "baseUrl": "http://x", "publicKey": KEY, "keyIndex": 301},
            headers={"Authorization": f"Bearer {BOOTSTRAP}"},
        ).json()
        assert answer["certificate"].count(".") == 2
        entry = client.get("/api/handles/0.NA/88.118").json()["values"]
        assert [v["index"] for v in entry if v["type"] == "HS_PUBKEY"] == [301]
    issued = Certificate.parse(answer["certificate"])
    assert issued.iss == "300:0.NA/88" and issued.sub == "301:0.NA/88.118"
    assert [g.as_dict() for g in issued.perms] == [
        {"handle": "0.NA/88.118", "perm": "derivedPrefixes"}
    ]


def test_without_a_root_ca_there_is_no_root_certificate(toplevel: httpx.Client) -> None:
    missing = toplevel.get("/root")
    assert missing.status_code == 404 and "without a root" in missing.json()["message"]


async def test_the_directory_keeps_each_keys_unexpired_certificate(tmp_path: Path) -> None:
    from registry.trust import KeyStore
    from toplevel import RootAuthority
    from toplevel.store import TopLevelStore

    root = RootAuthority.open(tmp_path / "root")
    keys = KeyStore(tmp_path / "keys")
    old, current, next_key = (keys.generate().kid for _ in range(3))
    jwk = {kid: keys.load(kid).public_jwk() for kid in (old, current, next_key)}
    store = TopLevelStore(f"sqlite+aiosqlite:///{tmp_path / 'tl.db'}")
    await store.open()
    try:

        async def onboard(kid: str, index: int, **lifetime: int) -> str:
            certificate = root.certify_node("88.118", jwk[kid], index, **lifetime)
            await store.register_node("88.118", "http://a", jwk[kid], "h", certificate, force=True)
            return certificate

        async def published() -> list[tuple[int, str]]:
            return [
                (row.value_index, row.certificate) for row in await store.certificates("88.118")
            ]

        expired = await onboard(old, 300, lifetime_seconds=60, now=int(time.time()) - 3600)
        assert await published() == []  # expired: never served
        first = await onboard(current, 301)
        assert await published() == [(401, first)]
        second = await onboard(next_key, 302)
        again = await onboard(current, 301)  # the same key re-certified keeps its index
        assert await published() == [(401, again), (402, second)]
        assert expired not in {token for _, token in await published()}
    finally:
        await store.close()


def _node_key(directory: Path) -> SigningKey:
    store = KeyStore(directory)
    store.generate()
    active = store.active()
    assert active is not None
    return active


def _private_batch() -> dict:
    values = [
        {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://e.com/"}},
        {
            "index": 2,
            "type": "PRICE",
            "data": {"format": "string", "value": "secret price"},
            "permissions": "1100",
        },
    ]
    change = {"id": 1, "kind": "handle.upsert", "subject": "88.118.8/S", "payload": {}}
    directory_change = {"id": 2, "kind": "handle.upsert", "subject": "0.NA/88.118.8"}
    return {
        "seq": 1,
        "changes": [
            {"id": 3, "kind": "prefix.create", "subject": "88.118.8", "payload": {}},
            {**change, "payload": {"values": values}},
            {**directory_change, "payload": {"values": values}},
        ],
    }


def test_the_read_api_serves_only_callers_who_may_read(toplevel: httpx.Client) -> None:
    own = _onboard(toplevel, "88.118")
    other = _onboard(toplevel, "88.119")
    shipped = toplevel.post("/nodes/88.118/batches", json=_private_batch(), headers=own)
    assert shipped.status_code == 200, shipped.text
    reads = ["/copies/88.118.8/S", "/nodes/88.118/changes", "/nodes/88.118", "/nodes", "/faults"]
    for path in reads:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            refused = toplevel.get(path, headers=headers)
            assert refused.status_code == 401, (path, refused.text)
            assert "token" in refused.json()["message"]

    # The operator and the record's own node read every value, permissions kept.
    for headers in (OPS, own):
        values = toplevel.get("/copies/88.118.8/S", headers=headers).json()["values"]
        assert [(v["index"], v.get("permissions")) for v in values] == [(1, None), (2, "1100")]
    # Another node reads the public values only, and none of the node's journal or summary.
    values = toplevel.get("/copies/88.118.8/S", headers=other).json()["values"]
    assert [v["index"] for v in values] == [1]
    for path in ("/nodes/88.118/changes", "/nodes/88.118"):
        forbidden = toplevel.get(path, headers=other)
        assert forbidden.status_code == 403 and "88.118" in forbidden.json()["message"]
    assert toplevel.get("/nodes/88.118/changes", headers=own).json()["changes"]
    assert toplevel.get("/nodes", headers=own).status_code == 401
    assert toplevel.put("/faults", json={"latencyMs": 5}, headers=own).status_code == 401


def test_the_public_directory_never_serves_a_shipped_value(toplevel: httpx.Client) -> None:
    auth = _onboard(toplevel)
    toplevel.post("/nodes/88.118/batches", json=_private_batch(), headers=auth).raise_for_status()
    entry = toplevel.get("/api/handles/0.NA/88.118.8")
    assert entry.status_code == 200
    assert "secret price" not in entry.text
    assert {v["type"] for v in entry.json()["values"]} == {"HS_ADMIN", "HS_SITE", "HS_PUBKEY"}
    assert toplevel.get("/api/handles/88.118.8/S").status_code == 404
    assert toplevel.get("/root").status_code == 404  # public, here without a root CA


def test_without_an_operator_token_the_switches_stay_shut(tmp_path: Path) -> None:
    app = create_toplevel_app(f"sqlite+aiosqlite:///{tmp_path / 'tl.db'}", BOOTSTRAP)
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as client:
        refused = client.put("/faults", json={"errorRate": 1}, headers=OPS)
        assert refused.status_code == 401
        assert "IDNODE_TOPLEVEL_OPERATOR_TOKEN" in refused.json()["message"]
        assert client.get("/nodes/88.118").status_code == 401


def _register(
    client: httpx.Client,
    key: dict,
    base_url: str = "http://127.0.0.1:8001",
    proof: str | None = None,
    token: str = BOOTSTRAP,
) -> httpx.Response:
    body = {"nodeCode": "88.118", "baseUrl": base_url, "publicKey": key, "keyIndex": 300}
    if proof is not None:
        body["proof"] = proof
    return client.post("/nodes", json=body, headers={"Authorization": f"Bearer {token}"})


def _site(client: httpx.Client) -> tuple[str, dict]:
    values = client.get("/api/handles/0.NA/88.118").json()["values"]
    by_type = {v["type"]: v["data"]["value"] for v in values}
    return by_type["HS_SITE"]["baseUrl"], by_type["HS_PUBKEY"]


def test_only_the_holder_of_the_current_key_re_registers(
    toplevel: httpx.Client, tmp_path: Path
) -> None:
    real = _node_key(tmp_path / "real")
    attacker = _node_key(tmp_path / "attacker")
    first = _register(toplevel, real.public_jwk())
    assert first.status_code == 201
    sync = {"Authorization": f"Bearer {first.json()['token']}"}

    evil = "http://127.0.0.1:6666"
    attempts = {
        "no proof": None,
        "signed by the new key": sign_registration(
            attacker, "88.118", evil, attacker.public_jwk(), 300
        ),
        "made for another request": sign_registration(
            real, "88.118", "http://127.0.0.1:8001", attacker.public_jwk(), 300
        ),
        "stale": sign_registration(
            real, "88.118", evil, attacker.public_jwk(), 300, now=int(time.time()) - 3600
        ),
        "garbage": "not.a.jws",
    }
    for name, proof in attempts.items():
        refused = _register(toplevel, attacker.public_jwk(), evil, proof)
        assert refused.status_code == 403, (name, refused.text)
        assert "proof" in refused.json()["message"], name
    # Nothing moved: the directory points at the real node, its sync token still works.
    assert _site(toplevel) == ("http://127.0.0.1:8001", real.public_jwk())
    batch = {"seq": 1, "changes": [_upsert(1, "88.118.8/A")]}
    assert toplevel.post("/nodes/88.118/batches", json=batch, headers=sync).status_code == 200

    # The real node re-keys with a proof from its current key; the proof works once.
    rotated = _node_key(tmp_path / "rotated")
    proof = sign_registration(real, "88.118", "http://127.0.0.1:8002", rotated.public_jwk(), 300)
    again = _register(toplevel, rotated.public_jwk(), "http://127.0.0.1:8002", proof)
    assert again.status_code == 200, again.text
    assert _site(toplevel) == ("http://127.0.0.1:8002", rotated.public_jwk())
    replayed = _register(toplevel, rotated.public_jwk(), "http://127.0.0.1:8002", proof)
    assert replayed.status_code == 403
    renewed = {"Authorization": f"Bearer {again.json()['token']}"}
    assert toplevel.post("/nodes/88.118/batches", json=batch, headers=renewed).status_code == 200

    # The operator re-registers a node that lost its key, without a proof.
    forced = _register(toplevel, real.public_jwk(), token=OPERATOR)
    assert forced.status_code == 200
    assert _site(toplevel) == ("http://127.0.0.1:8001", real.public_jwk())


def test_errors_answer_in_the_dialect_of_their_path_never_500(toplevel: httpx.Client) -> None:
    bad = toplevel.get("/api/handles/0.NA/88..1")
    assert bad.status_code == 400 and bad.json()["responseCode"] == 102
    assert bad.json()["handle"] == "0.NA/88..1" and "88..1" in bad.json()["message"]

    for path in ("/api/handlesX", "/api/handlesX/0.NA/88.118"):
        unknown = toplevel.get(path)
        assert unknown.status_code == 404, path
        assert (
            unknown.json()["responseCode"] == 100
            and "no such endpoint" in unknown.json()["message"]
        )

    plain = toplevel.get("/nowhere")
    assert plain.status_code == 404 and plain.json()["error"] == "NotFound"
    wrong_method = toplevel.delete("/nodes")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "MethodNotAllowed"
    unauthenticated = toplevel.post("/nodes/88.118/stats", json={})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"] == 'Basic realm="idnode", Bearer'
