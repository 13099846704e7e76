"""The gm profile end to end: SM2 keys from the CLI, SM2-signed writes, ``idnode verify``, openssl."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from node import Settings, create_app
from node.context import NodeContext
from node.keys import build_signer
from node.trust import certify_enterprise, publish_keys, verify_handle
from node.trust.identity import ensure_key
from registry import Handle, HandleValue
from registry.trust import CHINA_TIME, KeyStore, RecordSigner, cipher_password
from registry.trust.jose import read_jws, sign_jws
from toplevel import RootAuthority

from ..servers import ThreadedServer
from .helpers import basic_auth, create_enterprise

HANDLE = "88.118.8/GM0001"


def _cli(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "IDNODE_DATABASE_URL": settings.database_url,
        "IDNODE_KEYS_DIR": settings.keys_dir,
        "IDNODE_NODE_CODE": settings.node_code,
        "IDNODE_CRYPTO_PROFILE": "gm",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "node", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the openssl command is missing")
        pytest.skip("the openssl command is missing")
    return path


def test_keys_generate_and_rotate_sm2_with_a_passphrase(tmp_path: Path):
    keyed = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
        keys_dir=str(tmp_path / "keys"),
    )
    secret = {"IDNODE_KEY_PASSPHRASE": "s3cret pass"}
    first = json.loads(_cli(keyed, "keys", "generate", "--json", **secret).stdout)
    assert first["alg"] == "SM2256" and first["active"]
    rotated = json.loads(_cli(keyed, "keys", "rotate", "--alg", "SM2", "--json", **secret).stdout)
    assert rotated["alg"] == "SM2256" and rotated["index"] == 301
    pem = Path(keyed.keys_dir) / f"{rotated['kid']}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert pem.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert KeyStore(keyed.keys_dir, "s3cret pass").load(rotated["kid"]).alg == "SM2256"
    # OpenSSL reads the key with the same passphrase, and finds the SM2 curve in it.
    text = subprocess.run(
        [_openssl(), "pkey", "-in", str(pem), "-passin", "pass:s3cret pass", "-noout", "-text"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert text.returncode == 0, text.stderr
    assert "SM2" in text.stdout
    es256 = json.loads(_cli(keyed, "keys", "rotate", "--alg", "ES256", "--json", **secret).stdout)
    assert es256["alg"] == "ES256"


def test_the_gm_profile_makes_the_nodes_first_key_sm2(tmp_path: Path):
    gm = Settings(keys_dir=str(tmp_path / "keys"), crypto_profile="gm")
    assert ensure_key(gm).alg == "SM2256"
    standard = Settings(keys_dir=str(tmp_path / "other"))
    assert ensure_key(standard).alg == "ES256"


def test_root_init_and_certify_make_an_all_sm2_chain(settings: Settings, tmp_path: Path):
    keyed = settings.model_copy(update={"keys_dir": str(tmp_path / "keys")})
    assert _cli(keyed, "keys", "generate").returncode == 0
    init = json.loads(_cli(keyed, "root", "init", "--dir", str(tmp_path / "root"), "--json").stdout)
    root_text = Path(init["root"]).read_text()
    assert json.loads(base64.urlsafe_b64decode(root_text.split(".")[0] + "=="))["alg"] == "SM2256"
    certify = _cli(keyed, "keys", "certify", "--root-dir", str(tmp_path / "root"))
    assert certify.returncode == 0, certify.stderr
    verified = _cli(keyed, "verify", "0.NA/88.118", "--root", init["root"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "chain 300:0.NA/88.118 → 300:0.NA/88" in verified.stdout


@pytest.fixture
async def sm2_settings(settings: Settings, tmp_path: Path) -> Settings:
    """A gm-profile node whose SM2 key is certified by an SM2 root, published at 0.NA/88.118."""
    gm = settings.model_copy(update={"keys_dir": str(tmp_path / "keys"), "crypto_profile": "gm"})
    root = RootAuthority.open(tmp_path / "root", alg="SM2")
    (tmp_path / "root.jws").write_text(root.root_certificate())
    active = ensure_key(gm)
    store = KeyStore(gm.keys_dir)
    store.set_certificate(
        active.kid, root.certify_node("88.118", active.public_jwk(), active.info.index)
    )
    async with NodeContext(gm) as context:
        await publish_keys(context.records, gm)
    return gm


@pytest.fixture
def sm2_node(sm2_settings: Settings) -> Iterator[ThreadedServer]:
    with ThreadedServer(create_app(sm2_settings)) as server:
        yield server


async def test_an_sm2_signed_record_verifies_with_idnode_and_with_openssl(
    sm2_node: ThreadedServer, sm2_settings: Settings, tmp_path: Path
):
    credential = create_enterprise(sm2_node.url, "Acme", "88.118.8")
    response = httpx.put(
        f"{sm2_node.url}/api/handles/{quote(HANDLE)}",
        json={"values": [{"index": 1, "type": "URL", "data": "https://example.com/gm"}]},
        auth=basic_auth(credential),
    )
    assert response.status_code == 201, response.text
    verified = _cli(
        sm2_settings, "verify", HANDLE, "--url", sm2_node.url, "--root", str(tmp_path / "root.jws")
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith(f"TRUSTED {HANDLE}")

    # The README's recipe: the JWS signing input and its DER signature, checked by openssl.
    answer = httpx.get(f"{sm2_node.url}/api/handles/{HANDLE}", params={"type": "HS_SIGNATURE"})
    token = answer.json()["values"][0]["data"]["value"]
    signing_input, _, signature = token.rpartition(".")
    (tmp_path / "signed.txt").write_text(signing_input)
    (tmp_path / "sig.der").write_bytes(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    )
    key_file = next(Path(sm2_settings.keys_dir).glob("*.pem"))
    openssl = _openssl()
    public = subprocess.run(
        [openssl, "pkey", "-in", str(key_file), "-pubout", "-out", str(tmp_path / "node.pub.pem")],
        capture_output=True,
        check=False,
    )
    assert public.returncode == 0, public.stderr
    check = subprocess.run(
        [
            openssl,
            "dgst",
            "-sm3",
            "-verify",
            str(tmp_path / "node.pub.pem"),
            "-sigopt",
            "distid:1234567812345678",
            "-signature",
            str(tmp_path / "sig.der"),
            str(tmp_path / "signed.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0 and "Verified OK" in check.stdout, check.stdout + check.stderr


async def test_a_gm_node_seals_cipher_verifiers_with_sm4_and_cipher_login_works(
    sm2_node: ThreadedServer, sm2_settings: Settings
):
    credential = create_enterprise(sm2_node.url, "Acme", "88.118.8")
    today = datetime.now(UTC).astimezone(CHINA_TIME).date()
    login = httpx.post(
        f"{sm2_node.url}/identity/token/v1",
        json={
            "username": credential["username"],
            "password": cipher_password(credential["password"], today),
        },
    )
    assert login.json()["status"] == 1, login.text
    engine = create_async_engine(sm2_settings.database_url)
    try:
        async with engine.connect() as connection:
            stored = (
                (await connection.execute(text("SELECT cipher_verifier FROM credentials")))
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()
    assert stored and all(s.startswith("sm4gcm1$") for s in stored)


async def test_an_enterprise_submits_sm2_signed_values_and_a_forged_sm2_link_is_refused(
    sm2_node: ThreadedServer, sm2_settings: Settings, tmp_path: Path
):
    credential = create_enterprise(sm2_node.url, "Acme", "88.118.8")
    keys = KeyStore(tmp_path / "acme")
    keys.generate("SM2")
    acme = keys.active()
    assert acme is not None
    # The enterprise presents its key as the IDIS SDK writes it: {"kty": "SM2", "d": X.509}.
    spki = acme.key.public.spki()
    sdk_jwk = {"kty": "SM2", "d": base64.urlsafe_b64encode(spki).rstrip(b"=").decode()}
    cert = certify_enterprise(sm2_settings, "88.118.8", sdk_jwk)
    values = [
        HandleValue(1, "URL", "string", "https://acme.example/gm/1"),
        HandleValue(450, "HS_CERT", "string", cert),
    ]
    signed = RecordSigner("88.118.8", acme)(Handle.parse(HANDLE), values)
    response = httpx.put(
        f"{sm2_node.url}/api/handles/{quote(HANDLE)}",
        json={"values": [v.to_json() for v in signed]},
        auth=basic_auth(credential),
    )
    assert response.status_code == 201, response.text
    root = (tmp_path / "root.jws").read_text()
    verdict = await verify_handle(HANDLE, root, url=sm2_node.url)
    assert verdict.trusted, verdict.problems

    # A certificate for the same key made by another SM2 key posing as the node is refused.
    forger = KeyStore(tmp_path / "forger")
    forger.generate("SM2")
    forging = forger.active()
    assert forging is not None
    header, claims = read_jws(cert)
    forged_cert = sign_jws(forging.key, "SM2256", header["kid"], claims)
    forged = RecordSigner("88.118.8", acme)(
        Handle.parse("88.118.8/GM-FORGED"),
        [values[0], HandleValue(450, "HS_CERT", "string", forged_cert)],
    )
    refused = httpx.put(
        f"{sm2_node.url}/api/handles/88.118.8/GM-FORGED",
        json={"values": [v.to_json() for v in forged]},
        auth=basic_auth(credential),
    )
    assert refused.status_code == 400, refused.text
    assert "does not verify" in refused.json()["message"]
    assert httpx.get(f"{sm2_node.url}/api/handles/88.118.8/GM-FORGED").status_code == 404


def test_the_gm_profile_signs_sm3_digests_even_with_a_key_kept_from_before(tmp_path: Path):
    keys = tmp_path / "keys"
    KeyStore(keys).generate("ES256")
    for profile, digest in (("gm", "SM3"), ("standard", "SHA-256")):
        settings = Settings(keys_dir=str(keys), crypto_profile=profile, sealing_processes=0)
        signer = build_signer(settings)
        assert signer is not None
        signed = signer(Handle.parse(HANDLE), [HandleValue(1, "URL", "string", "https://e.x")])
        token = next(v.value for v in signed if v.type == "HS_SIGNATURE")
        assert read_jws(token)[1]["digests"]["alg"] == digest
