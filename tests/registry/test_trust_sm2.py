"""SM2-with-SM3 signatures and certificates: all-SM2 and mixed chains, SM3 digests, forgeries."""

from __future__ import annotations

import base64
import contextlib
import pickle
import random
import time
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from registry import Handle, HandleValue, InvalidValue, decode_values
from registry.trust import RecordSigner, SealingPool, check_public_jwk, verify_record
from registry.trust.jose import BadSignature, read_jws, sign_jws, verify_jws
from registry.trust.sealing import MIN_POOLED_ITEMS
from toplevel import RootAuthority

from .world import HANDLE, World
from .world import sample_values as _values


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def test_an_all_sm2_chain_with_an_enterprise_is_trusted(tmp_path: Path):
    world = World(tmp_path, "SM2")
    enterprise, cert = world.enterprise(tmp_path, "88.118.8", alg="SM2")
    values = enterprise(Handle.parse(HANDLE), [*_values(), cert])
    signature = next(v for v in values if v.type == "HS_SIGNATURE")
    header, claims = read_jws(signature.value)
    assert header["alg"] == "SM2256"
    assert claims["digests"]["alg"] == "SM3"
    for token in (world.root.root_certificate(), world.node_cert, cert.value):
        assert read_jws(token)[0]["alg"] == "SM2256"
        assert _claims(token)["publicKey"]["crv"] == "SM2"
    verdict = await world.verify(values)
    assert verdict.trusted, verdict.problems
    assert verdict.signers == ("300:0.NA/88.118.8 → 300:0.NA/88.118 → 300:0.NA/88",)


@pytest.mark.parametrize(
    ("chain", "leaf"), [("ES256", "SM2"), ("SM2", "ES256"), ("SM2", "Ed25519")]
)
async def test_mixed_chains_are_trusted(tmp_path: Path, chain: str, leaf: str):
    world = World(tmp_path, chain)
    enterprise, cert = world.enterprise(tmp_path, "88.118.8", alg=leaf)
    verdict = await world.verify(enterprise(Handle.parse(HANDLE), [*_values(), cert]))
    assert verdict.trusted, verdict.problems


async def test_an_sm2_node_under_an_es256_root_is_trusted(tmp_path: Path):
    world = World(tmp_path, "SM2")
    world.root = RootAuthority.open(tmp_path / "p256-root", alg="ES256")
    world.node_cert = world.root.certify_node("88.118", world.node.public_jwk(), 300)
    world.publish_node(world.node_cert)
    verdict = await world.verify(world.signer(Handle.parse(HANDLE), _values()))
    assert verdict.trusted, verdict.problems


async def test_a_forged_sm2_link_is_refused(tmp_path: Path):
    world = World(tmp_path, "SM2")
    # Another SM2 key, claiming to be the root (same id, same kid header), certifies the node.
    forger = World._key(tmp_path / "forger", "SM2")
    root_kid = read_jws(world.node_cert)[0]["kid"]
    forged = sign_jws(forger.key, "SM2256", root_kid, _claims(world.node_cert))
    world.publish_node(forged)
    verdict = await world.verify(world.signer(Handle.parse(HANDLE), _values()))
    assert verdict.codes == {"bad-certificate"}
    assert "does not verify" in verdict.problems[0].message


async def test_a_tampered_value_under_sm3_digests_is_named(tmp_path: Path):
    world = World(tmp_path, "SM2")
    signed = world.signer(Handle.parse(HANDLE), _values())
    evil = [replace(v, value="https://evil.example") if v.index == 1 else v for v in signed]
    verdict = await world.verify(evil)
    assert verdict.codes == {"tampered-value"}


async def test_sm3_digests_are_an_option_for_other_keys_too(tmp_path: Path):
    world = World(tmp_path, "ES256")
    signer = RecordSigner("88.118", world.node, digest_alg="SM3")
    signed = signer(Handle.parse(HANDLE), _values())
    signature = next(v for v in signed if v.type == "HS_SIGNATURE")
    assert _claims(signature.value)["digests"]["alg"] == "SM3"
    assert (await world.verify(signed)).trusted
    with pytest.raises(InvalidValue, match="digest algorithm"):
        RecordSigner("88.118", world.node, digest_alg="MD5")


def test_jws_bad_input_is_refused_with_its_reason(tmp_path: Path):
    world = World(tmp_path, "SM2")
    key, jwk = world.node.key, world.node.public_jwk()
    token = sign_jws(key, "SM2256", world.node.kid, {"sub": HANDLE})
    assert verify_jws(token, jwk) == {"sub": HANDLE}
    header, payload, signature = token.split(".")
    other = base64.urlsafe_b64encode(b'{"sub":"88.118.8/OTHER"}').rstrip(b"=").decode()
    with pytest.raises(BadSignature, match="does not verify"):
        verify_jws(f"{header}.{other}.{signature}", jwk)
    with pytest.raises(BadSignature, match="not a DER SM2 signature"):
        verify_jws(f"{header}.{payload}.{signature[:-20]}", jwk)
    p256 = World._key(tmp_path / "p256").public_jwk()
    with pytest.raises(BadSignature, match="SM2 needs both"):
        verify_jws(token, p256)
    with pytest.raises(InvalidValue, match="not on the curve"):
        verify_jws(token, {**jwk, "crv": "P-256"})
    with pytest.raises(InvalidValue, match="unsupported curve 'SM9'"):
        check_public_jwk({**jwk, "crv": "SM9"})
    with pytest.raises(InvalidValue, match="not a point on the SM2 curve"):
        check_public_jwk({**jwk, "y": jwk["x"]})


def test_the_sdk_jwk_form_is_accepted(tmp_path: Path):
    world = World(tmp_path, "SM2")
    spki = world.node.key.public.spki()
    sdk = {"kty": "SM2", "d": base64.urlsafe_b64encode(spki).rstrip(b"=").decode()}
    assert check_public_jwk(sdk) == sdk
    token = sign_jws(world.node.key, "SM2256", world.node.kid, {"a": 1})
    assert verify_jws(token, sdk) == {"a": 1}
    with pytest.raises(InvalidValue, match="SubjectPublicKeyInfo"):
        check_public_jwk({"kty": "SM2", "d": sdk["d"][:-10]})


def test_an_sm2_signer_pickles_with_its_key(tmp_path: Path):
    world = World(tmp_path, "SM2")
    copy = pickle.loads(pickle.dumps(world.signer))
    assert copy.active.kid == world.node.kid and copy.digest_alg == "SM3"


async def test_a_pooled_sm2_batch_is_trusted(tmp_path: Path):
    world = World(tmp_path, "SM2")
    items = [
        (Handle.parse(f"88.118.8/P{n}"), [HandleValue(1, "URL", "string", f"https://e.x/{n}")])
        for n in range(2 * MIN_POOLED_ITEMS)
    ]
    pool = SealingPool(2)
    try:
        sealed = await pool.seal(world.signer, items)
    finally:
        pool.close()
    root = world.root.root_certificate()
    for (handle, _), text in zip(items, sealed, strict=True):
        assert isinstance(text, str)
        verdict = await verify_record(str(handle), decode_values(text), root, world.fetch)
        assert verdict.trusted, verdict.problems


def test_mutated_sm2_tokens_and_jwks_are_refused_never_crash(tmp_path: Path):
    """Bounded fuzz: a mutated SM2 JWS or JWK raises BadSignature or InvalidValue only."""
    rng = random.Random(16)
    world = World(tmp_path, "SM2")
    jwk = world.node.public_jwk()
    token = sign_jws(world.node.key, "SM2256", world.node.kid, {"sub": HANDLE})
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        chars = list(token)
        for _ in range(rng.randint(1, 3)):
            chars[rng.randrange(len(chars))] = rng.choice(alphabet)
        mutated_jwk = dict(jwk)
        member = rng.choice(["x", "y", "crv", "kty"])
        mutated_jwk[member] = rng.choice([jwk["x"][:-2], jwk["y"], "SM2", "EC", "", 5])
        for candidate, key in (("".join(chars), jwk), (token, mutated_jwk)):
            with contextlib.suppress(BadSignature, InvalidValue):
                verify_jws(candidate, key)
