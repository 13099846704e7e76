"""Signing and verification against a local root: trusted chains, and every rejection named."""

from __future__ import annotations

import base64
import time
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from registry import Handle, HandleValue, InvalidValue
from registry.codec import digest_value
from registry.trust import (
    ALGORITHMS,
    Grant,
    KeyStore,
    RecordSigner,
    issue_certificate,
    verify_record,
)
from toplevel import RootAuthority

from .world import HANDLE, NODE_KEYS, World
from .world import sample_values as _values


def _sign(world: World, values: list[HandleValue] | None = None) -> list[HandleValue]:
    return world.signer(Handle.parse(HANDLE), values or _values())


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _with_claims(token: str, claims: dict) -> str:
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


@pytest.mark.parametrize("alg", ALGORITHMS)
async def test_a_node_signed_record_is_trusted_through_the_chain(tmp_path: Path, alg: str):
    world = World(tmp_path, alg)
    signed = _sign(world)
    signature = next(v for v in signed if v.type == "HS_SIGNATURE")
    assert signature.index == 400
    claims = _claims(signature.value)
    assert claims["iss"] == "300:0.NA/88.118" and claims["sub"] == HANDLE
    assert claims["nbf"] <= claims["iat"] < claims["exp"]
    assert claims["digests"]["alg"] == ("SM3" if alg == "SM2256" else "SHA-256")
    assert [d["index"] for d in claims["digests"]["digests"]] == [1, 2]
    verdict = await world.verify(signed)
    assert verdict.trusted, verdict.problems
    assert verdict.verified == (1, 2)
    assert verdict.signers == ("300:0.NA/88.118 → 300:0.NA/88",)


def test_signature_takes_the_next_free_index_when_400_is_taken(tmp_path: Path):
    world = World(tmp_path)
    taken = [*_values(), HandleValue(400, "DESC", "string", "occupied")]
    signed = _sign(world, taken)
    assert [v.index for v in signed if v.type == "HS_SIGNATURE"] == [401]


def test_re_sealing_refreshes_the_one_node_signature(tmp_path: Path):
    world = World(tmp_path)
    first = _sign(world)
    changed = [replace(v, value="https://example.com/p/2") if v.index == 1 else v for v in first]
    second = _sign(world, changed)
    signatures = [v for v in second if v.type == "HS_SIGNATURE"]
    assert len(signatures) == 1 and signatures[0].index == 400


async def test_rejects_a_tampered_value(tmp_path: Path):
    world = World(tmp_path)
    signed = [replace(v, value="https://evil.example") if v.index == 1 else v for v in _sign(world)]
    verdict = await world.verify(signed)
    assert not verdict.trusted
    assert verdict.codes == {"tampered-value"}
    assert "value index 1" in verdict.problems[0].message


async def test_rejects_a_tampered_digest_list(tmp_path: Path):
    world = World(tmp_path)
    evil = HandleValue(1, "URL", "string", "https://evil.example")
    signed = [evil if v.index == 1 else v for v in _sign(world)]
    signature = next(v for v in signed if v.type == "HS_SIGNATURE")
    claims = _claims(signature.value)
    claims["digests"]["digests"][0]["digest"] = digest_value(evil)
    forged = replace(signature, value=_with_claims(signature.value, claims))
    verdict = await world.verify([forged if v.index == 400 else v for v in signed])
    assert not verdict.trusted
    assert "bad-signature" in verdict.codes
    assert "digest list" in verdict.problems[0].message


async def test_rejects_a_tampered_certificate(tmp_path: Path):
    world = World(tmp_path)
    claims = _claims(world.node_cert)
    claims["perms"] = [{"handle": "0.NA/88", "perm": "everything"}]
    world.publish_node(_with_claims(world.node_cert, claims))
    verdict = await world.verify(_sign(world))
    assert verdict.codes == {"bad-certificate"}


async def test_rejects_an_expired_certificate(tmp_path: Path):
    world = World(tmp_path)
    old = int(time.time()) - 10 * 86400
    expired = world.root.certify_node(
        "88.118", world.node.public_jwk(), 300, lifetime_seconds=86400, now=old
    )
    world.publish_node(expired)
    verdict = await world.verify(_sign(world))
    assert verdict.codes == {"expired-certificate"}
    assert "expired at" in verdict.problems[0].message


async def test_rejects_a_chain_to_another_root(tmp_path: Path):
    world = World(tmp_path)
    other = RootAuthority.open(tmp_path / "other-root")
    verdict = await world.verify(_sign(world), root=other.root_certificate())
    assert verdict.codes == {"wrong-root"}


async def test_rejects_a_chain_over_the_length_limit(tmp_path: Path):
    world = World(tmp_path)
    enterprise, cert = world.enterprise(tmp_path, "88.118.8")
    values = enterprise(Handle.parse(HANDLE), [*_values(), cert])
    assert (await world.verify(values, max_chain=2)).trusted
    verdict = await world.verify(values, max_chain=1)
    assert verdict.codes == {"chain-too-long"}


async def test_rejects_perms_that_do_not_cover_the_handle(tmp_path: Path):
    world = World(tmp_path)
    narrow = world.root.issue_certificate(
        "300:0.NA/88.118", world.node.public_jwk(), [Grant("0.NA/88.119", "derivedPrefixes")]
    )
    world.publish_node(narrow)
    verdict = await world.verify(_sign(world))
    assert verdict.codes == {"perms-not-covering"}
    assert "do not cover 88.118.8/JXDY2106023" in verdict.problems[0].message


async def test_rejects_a_certificate_granting_more_than_its_issuer_holds(tmp_path: Path):
    world = World(tmp_path)
    key = World._key(tmp_path / "greedy")
    greedy = issue_certificate(
        world.node.key,
        world.node.alg,
        f"300:{NODE_KEYS}",
        "300:0.NA/88.118.8",
        key.public_jwk(),
        [Grant("0.NA/88", "derivedPrefixes")],
        lifetime_seconds=86400,
    )
    values = RecordSigner("88.118.8", key)(
        Handle.parse(HANDLE), [*_values(), HandleValue(450, "HS_CERT", "string", greedy)]
    )
    verdict = await world.verify(values)
    assert verdict.codes == {"perms-not-covering"}


async def test_rejects_a_value_signed_by_another_enterprises_key(tmp_path: Path):
    world = World(tmp_path)
    other, cert = world.enterprise(tmp_path, "88.118.9")
    values = other(Handle.parse(HANDLE), [*_values(), cert])
    verdict = await world.verify(values)
    assert verdict.codes == {"foreign-enterprise-key"}
    assert "another enterprise's key 300:0.NA/88.118.9" in verdict.problems[0].message


async def test_rejects_an_unsigned_record_and_a_value_added_after_signing(tmp_path: Path):
    world = World(tmp_path)
    assert (await world.verify(_values())).codes == {"no-signature"}
    extra = [*_sign(world), HandleValue(3, "URL", "string", "https://added.example")]
    verdict = await world.verify(extra)
    assert verdict.codes == {"unsigned-value"}


async def test_a_reader_who_sees_only_some_values_verifies_those(tmp_path: Path):
    world = World(tmp_path)
    partial = [v for v in _sign(world) if v.index != 2]
    verdict = await world.verify(partial)
    assert verdict.trusted and verdict.verified == (1,)


async def test_values_signed_by_a_rotated_key_stay_verifiable(tmp_path: Path):
    world = World(tmp_path)
    old_signed = _sign(world)
    store = KeyStore(tmp_path / "node")
    store.rotate("ES256")
    new = store.active()
    assert new is not None and new.info.index == 301
    new_cert = world.root.certify_node("88.118", new.public_jwk(), 301)
    world.records[NODE_KEYS] = [
        *world.records[NODE_KEYS],
        HandleValue(301, "HS_PUBKEY", "key", new.public_jwk()),
        HandleValue(401, "HS_CERT", "string", new_cert),
    ]
    new_signed = RecordSigner("88.118", new, [world.node])(Handle.parse(HANDLE), _values())
    assert _claims(new_signed[-1].value)["iss"] == "301:0.NA/88.118"
    assert (await world.verify(old_signed)).trusted
    assert (await world.verify(new_signed)).trusted


async def test_the_root_certificate_must_be_self_signed(tmp_path: Path):
    world = World(tmp_path)
    with pytest.raises(InvalidValue, match="self-signed"):
        await verify_record(HANDLE, _sign(world), world.node_cert, world.fetch)


async def test_the_certificate_of_the_signing_key_is_found_among_several_for_one_key_id(
    tmp_path: Path,
):
    # The key at 300 was replaced (its store rebuilt): two certificates name 300:0.NA/88.118,
    # with keys that carry no kid to sort them by. Each signature verifies with its own.
    world = World(tmp_path)
    old_signed = _sign(world)
    old_cert = world.root.certify_node("88.118", _without_kid(world.node.public_jwk()), 300)
    new = World._key(tmp_path / "rebuilt")
    assert new.info.index == 300
    new_cert = world.root.certify_node("88.118", _without_kid(new.public_jwk()), 300)
    world.publish_node(old_cert, new_cert)
    new_signed = RecordSigner("88.118", new)(Handle.parse(HANDLE), _values())
    for signed in (old_signed, new_signed):
        verdict = await world.verify(signed)
        assert verdict.trusted, verdict.problems


def _without_kid(jwk: dict) -> dict:
    return {name: value for name, value in jwk.items() if name != "kid"}
