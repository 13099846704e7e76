"""Signed records end to end: a real node signs writes; ``idnode verify`` checks them over HTTP."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from node import Settings, create_app
from node.context import NodeContext
from node.trust import certify_enterprise, publish_keys, verify_handle
from registry import Handle, HandleValue
from registry.trust import KeyStore, RecordSigner
from toplevel import RootAuthority

from ..commands import idnode
from ..servers import ThreadedServer
from .helpers import ADMIN_HEADERS, basic_auth, create_enterprise

HANDLE = "88.118.8/JXDY2106023"


@pytest.fixture
def root(tmp_path: Path) -> RootAuthority:
    return RootAuthority.open(tmp_path / "root")


@pytest.fixture
async def trusted_settings(settings: Settings, tmp_path: Path, root: RootAuthority) -> Settings:
    """A node with a certified ES256 key, published at 0.NA/88.118."""
    trusted = settings.model_copy(update={"keys_dir": str(tmp_path / "keys")})
    store = KeyStore(trusted.keys_dir)
    info = store.generate()
    active = store.active()
    assert active is not None
    store.set_certificate(info.kid, root.certify_node("88.118", active.public_jwk(), info.index))
    async with NodeContext(trusted) as context:
        await publish_keys(context.records, trusted)
    return trusted


@pytest.fixture
def trusted_node(trusted_settings: Settings) -> Iterator[ThreadedServer]:
    with ThreadedServer(create_app(trusted_settings)) as server:
        yield server


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "IDNODE_DATABASE_URL": settings.database_url,
        "IDNODE_KEYS_DIR": settings.keys_dir,
        "IDNODE_NODE_CODE": settings.node_code,
    }
    return idnode(env, *args)


def _put(url: str, credential: dict, handle: str, values: list[dict]) -> httpx.Response:
    return httpx.put(
        f"{url}/api/handles/{quote(handle)}",
        json={"values": values},
        auth=basic_auth(credential),
    )


async def test_a_write_through_the_handle_api_is_signed_and_verifies(
    trusted_node: ThreadedServer, trusted_settings: Settings, root: RootAuthority
):
    credential = create_enterprise(trusted_node.url, "Acme", "88.118.8")
    response = _put(
        trusted_node.url,
        credential,
        HANDLE,
        [{"index": 1, "type": "URL", "data": "https://example.com/p/1"}],
    )
    assert response.status_code == 201, response.text
    answer = httpx.get(f"{trusted_node.url}/api/handles/{HANDLE}").json()
    signature = next(v for v in answer["values"] if v["type"] == "HS_SIGNATURE")
    assert signature["index"] == 400 and signature["data"]["format"] == "string"
    certs = httpx.get(f"{trusted_node.url}/api/handles/0.NA/88.118", params={"type": "HS_CERT"})
    assert certs.json()["values"][0]["type"] == "HS_CERT"

    verdict = await verify_handle(HANDLE, root.root_certificate(), url=trusted_node.url)
    assert verdict.trusted, verdict.problems
    assert verdict.verified == (1,)


async def test_idnode_verify_prints_a_verdict_and_exits_0_only_when_trusted(
    trusted_node: ThreadedServer, trusted_settings: Settings, root: RootAuthority, tmp_path: Path
):
    credential = create_enterprise(trusted_node.url, "Acme", "88.118.8")
    _put(trusted_node.url, credential, HANDLE, [{"index": 1, "type": "URL", "data": "https://a"}])
    root_file = tmp_path / "root.jws"
    root_file.write_text(root.root_certificate())
    ok = _cli(
        trusted_settings, "verify", HANDLE, "--url", trusted_node.url, "--root", str(root_file)
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"TRUSTED {HANDLE}")

    other = tmp_path / "other.jws"
    other.write_text(RootAuthority.open(tmp_path / "other").root_certificate())
    bad = _cli(
        trusted_settings,
        "verify",
        HANDLE,
        "--url",
        trusted_node.url,
        "--root",
        str(other),
        "--json",
    )
    assert bad.returncode == 2
    verdict = json.loads(bad.stdout)
    assert verdict["trusted"] is False
    assert [p["code"] for p in verdict["problems"]] == ["wrong-root"]

    missing = _cli(
        trusted_settings,
        "verify",
        "88.118.8/NOPE",
        "--url",
        trusted_node.url,
        "--root",
        str(root_file),
    )
    assert missing.returncode == 2 and "[not-found]" in missing.stdout
    no_root = _cli(trusted_settings, "verify", HANDLE, "--url", trusted_node.url)
    assert no_root.returncode == 1 and "--root FILE" in no_root.stderr


async def test_an_enterprise_may_submit_values_signed_with_its_certified_key(
    trusted_node: ThreadedServer, trusted_settings: Settings, root: RootAuthority, tmp_path: Path
):
    credential = create_enterprise(trusted_node.url, "Acme", "88.118.8")
    other_credential = create_enterprise(trusted_node.url, "Other", "88.118.9")
    del other_credential
    keys = KeyStore(tmp_path / "acme")
    keys.generate("Ed25519")
    acme = keys.active()
    assert acme is not None
    cert = certify_enterprise(trusted_settings, "88.118.8", acme.public_jwk())
    values = [
        HandleValue(1, "URL", "string", "https://acme.example/p/1"),
        HandleValue(450, "HS_CERT", "string", cert),
    ]
    signed = RecordSigner("88.118.8", acme)(Handle.parse(HANDLE), values)
    response = _put(trusted_node.url, credential, HANDLE, [v.to_json() for v in signed])
    assert response.status_code == 201, response.text
    verdict = await verify_handle(HANDLE, root.root_certificate(), url=trusted_node.url)
    assert verdict.trusted, verdict.problems
    assert {s.split(" → ")[0] for s in verdict.signers} == {"300:0.NA/88.118.8", "300:0.NA/88.118"}

    # The same values, certified for another enterprise's prefix, are refused with a reason.
    foreign_cert = certify_enterprise(trusted_settings, "88.118.9", acme.public_jwk())
    foreign = RecordSigner("88.118.9", acme)(
        Handle.parse("88.118.8/X2"),
        [values[0], HandleValue(450, "HS_CERT", "string", foreign_cert)],
    )
    refused = _put(trusted_node.url, credential, "88.118.8/X2", [v.to_json() for v in foreign])
    assert refused.status_code == 400
    assert refused.json()["responseCode"] == 202
    assert "another enterprise's key" in refused.json()["message"]
    assert httpx.get(f"{trusted_node.url}/api/handles/88.118.8/X2").status_code == 404


def test_keys_commands_generate_list_and_rotate(tmp_path: Path):
    # Key commands touch no storage, so this runs once rather than per database backend.
    keyed = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        keys_dir=str(tmp_path / "keys"),
    )
    first = json.loads(_cli(keyed, "keys", "generate", "--json").stdout)
    assert first["alg"] == "ES256" and first["index"] == 300 and first["active"]
    rotated = json.loads(_cli(keyed, "keys", "rotate", "--alg", "EdDSA", "--json").stdout)
    assert rotated["alg"] == "Ed25519" and rotated["index"] == 301
    listed = json.loads(_cli(keyed, "keys", "list", "--json").stdout)["keys"]
    assert [(k["kid"], k["active"]) for k in listed] == [
        (first["kid"], False),
        (rotated["kid"], True),
    ]
    bad = _cli(keyed, "keys", "generate", "--alg", "HS256")
    assert bad.returncode == 1 and "unsupported signing algorithm" in bad.stderr


def test_root_init_and_certify_publish_a_chain_that_verifies_locally(
    settings: Settings, tmp_path: Path
):
    keyed = settings.model_copy(update={"keys_dir": str(tmp_path / "keys")})
    assert _cli(keyed, "keys", "generate").returncode == 0
    init = json.loads(_cli(keyed, "root", "init", "--dir", str(tmp_path / "root"), "--json").stdout)
    assert init["id"] == "300:0.NA/88"
    certify = _cli(keyed, "keys", "certify", "--root-dir", str(tmp_path / "root"))
    assert certify.returncode == 0, certify.stderr
    verified = _cli(keyed, "verify", "0.NA/88.118", "--root", init["root"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "chain 300:0.NA/88.118 → 300:0.NA/88" in verified.stdout


def test_admin_api_lists_keys_and_certifies_enterprise_keys(
    trusted_node: ThreadedServer, tmp_path: Path
):
    url = trusted_node.url
    assert httpx.get(f"{url}/admin/trust/keys").status_code == 401
    keys = httpx.get(f"{url}/admin/trust/keys", headers=ADMIN_HEADERS).json()["keys"]
    assert [(k["alg"], k["index"], k["active"], k["certified"]) for k in keys] == [
        ("ES256", 300, True, True)
    ]
    create_enterprise(url, "Acme", "88.118.8")
    store = KeyStore(tmp_path / "acme")
    store.generate()
    active = store.active()
    assert active is not None
    jwk = active.public_jwk()

    def certify(body: dict) -> httpx.Response:
        return httpx.post(
            f"{url}/admin/trust/enterprise-certificates", json=body, headers=ADMIN_HEADERS
        )

    created = certify({"prefix": "88.118.8", "publicKey": jwk})
    assert created.status_code == 201, created.text
    assert created.json()["handle"] == "0.NA/88.118.8"
    published = httpx.get(f"{url}/api/handles/0.NA/88.118.8").json()["values"]
    assert {v["type"] for v in published} >= {"HS_ADMIN", "HS_PUBKEY", "HS_CERT", "HS_SIGNATURE"}

    unallocated = certify({"prefix": "88.118.77", "publicKey": jwk})
    assert unallocated.status_code == 404 and "not allocated" in unallocated.text
    outside = certify({"prefix": "88.119.8", "publicKey": jwk})
    assert outside.status_code in (400, 404)
    not_a_key = certify({"prefix": "88.118.8", "publicKey": {"kty": "EC", "crv": "P-256"}})
    assert not_a_key.status_code == 400 and "JWK" in not_a_key.text
    private = certify({"prefix": "88.118.8", "publicKey": {**jwk, "d": jwk["x"]}})
    assert private.status_code == 400 and "private members" in private.text


async def test_a_running_node_signs_with_a_key_generated_or_rotated_after_it_started(
    settings: Settings, tmp_path: Path, root: RootAuthority
):
    keyed = settings.model_copy(
        update={"keys_dir": str(tmp_path / "keys"), "key_recheck_seconds": 0.0}
    )
    with ThreadedServer(create_app(keyed)) as server:
        credential = create_enterprise(server.url, "Acme", "88.118.8")

        def issuer_of(handle: str) -> str | None:
            _put(server.url, credential, handle, [{"index": 1, "type": "URL", "data": "https://a"}])
            values = httpx.get(f"{server.url}/api/handles/{handle}").json()["values"]
            token = next((v["data"]["value"] for v in values if v["type"] == "HS_SIGNATURE"), None)
            if token is None:
                return None
            payload = token.split(".")[1]
            return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["iss"]

        assert issuer_of("88.118.8/BEFORE") is None
        unverifiable = _put(
            server.url,
            credential,
            "88.118.8/PRESIGNED",
            [{"index": 400, "type": "HS_SIGNATURE", "data": "a.b.c"}],
        )
        assert unverifiable.status_code == 400 and "no signing key" in unverifiable.text
        store = KeyStore(keyed.keys_dir)
        store.generate()
        assert issuer_of("88.118.8/FIRST") == "300:0.NA/88.118"
        store.rotate("Ed25519")
        assert issuer_of("88.118.8/ROTATED") == "301:0.NA/88.118"


def test_verify_names_an_unreachable_node_and_exits_1(tmp_path: Path, root: RootAuthority):
    from ..servers import free_port

    unused = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    root_file = tmp_path / "root.jws"
    root_file.write_text(root.root_certificate())
    url = f"http://127.0.0.1:{free_port()}"
    result = _cli(unused, "verify", HANDLE, "--url", url, "--root", str(root_file))
    assert result.returncode == 1
    assert f"cannot reach {url}" in result.stderr


def _signatures(url: str, handle: str, auth: httpx.Auth | None = None) -> list[dict]:
    answer = httpx.get(f"{url}/api/handles/{quote(handle)}", auth=auth, timeout=30)
    assert answer.status_code == 200, answer.text
    return [v for v in answer.json()["values"] if v["type"] == "HS_SIGNATURE"]


def _signed_indexes(signature: dict) -> list[int]:
    payload = signature["data"]["value"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return [entry["index"] for entry in claims["digests"]["digests"]]


SECRET = {"index": 5, "type": "COST", "data": "cost price 41.20", "permissions": "1100"}


async def test_a_non_public_value_is_signed_only_by_a_non_public_signature(
    trusted_node: ThreadedServer, trusted_settings: Settings, root: RootAuthority, tmp_path: Path
):
    credential = create_enterprise(trusted_node.url, "Acme", "88.118.8")
    url_value = {"index": 1, "type": "URL", "data": "https://example.com/p/1"}
    response = _put(trusted_node.url, credential, HANDLE, [url_value, SECRET])
    assert response.status_code == 201, response.text

    # Anonymous: one signature, over the public value alone; nothing to test a guess against.
    public = _signatures(trusted_node.url, HANDLE)
    assert [(s["index"], _signed_indexes(s)) for s in public] == [(400, [1])]
    anonymous = await verify_handle(HANDLE, root.root_certificate(), url=trusted_node.url)
    assert anonymous.trusted and anonymous.verified == (1,), anonymous.problems

    # The owner also reads the non-public signature (admin read only), which covers every value.
    owner = _signatures(trusted_node.url, HANDLE, basic_auth(credential))
    assert [(s["index"], _signed_indexes(s)) for s in owner] == [(400, [1]), (401, [1, 5])]
    assert httpx.get(f"{trusted_node.url}/api/handles/{HANDLE}?index=401").json()["values"] == []
    full = await verify_handle(
        HANDLE,
        root.root_certificate(),
        url=trusted_node.url,
        credential=(credential["username"], credential["password"]),
    )
    assert full.trusted and full.verified == (1, 5), full.problems

    root_file = tmp_path / "root.jws"
    root_file.write_text(root.root_certificate())
    args = ("verify", HANDLE, "--url", trusted_node.url, "--root", str(root_file))
    printed = _cli(trusted_settings, *args)
    assert printed.returncode == 0 and "values [1] verified" in printed.stdout, printed.stdout
    os.environ["IDNODE_VERIFY_SECRET"] = credential["password"]
    try:
        as_owner = _cli(trusted_settings, *args, "--user", credential["username"])
    finally:
        del os.environ["IDNODE_VERIFY_SECRET"]
    assert as_owner.returncode == 0, as_owner.stdout + as_owner.stderr
    assert "values [1, 5] verified" in as_owner.stdout


async def test_a_batch_sealed_in_the_sealing_process_keeps_non_public_values_out_of_public_signatures(
    trusted_node: ThreadedServer, root: RootAuthority
):
    credential = create_enterprise(trusted_node.url, "Acme", "88.118.8")
    login = httpx.post(
        f"{trusted_node.url}/identity/token",
        json={"username": credential["username"], "password": credential["password"]},
    )
    token = login.json()["data"]["token"]
    items = [  # 20: more than a batch the node seals itself
        {
            "handle": f"88.118.8/B{n}",
            "value": [
                {"index": 1, "type": "URL", "data": f"https://example.com/{n}"},
                {"index": 5, "type": "COST", "data": f"{n}.00", "auth": "1100"},
            ],
        }
        for n in range(20)
    ]
    created = httpx.post(
        f"{trusted_node.url}/identityv2/data/batchCreate",
        json=items,
        headers={"Authorization": token},
        timeout=60,
    ).json()
    assert created["status"] == 1 and {i["msg"] for i in created["data"]} == {"success"}, created
    for handle in ("88.118.8/B0", "88.118.8/B19"):
        assert [_signed_indexes(s) for s in _signatures(trusted_node.url, handle)] == [[1]]
        owner = _signatures(trusted_node.url, handle, basic_auth(credential))
        assert [_signed_indexes(s) for s in owner] == [[1], [1, 5]]
        full = await verify_handle(
            handle,
            root.root_certificate(),
            url=trusted_node.url,
            credential=(credential["username"], credential["password"]),
        )
        assert full.trusted and full.verified == (1, 5), full.problems
