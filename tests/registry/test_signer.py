"""Signing on the write path (RecordService + RecordSigner), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry import ADMIN, Handle, HandleValue, InvalidValue, Permissions, RecordService
from registry.codec import digest_value
from registry.storage import Database
from registry.trust.jose import read_jws

from .world import HANDLE, World
from .world import sample_values as _values


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
def records(db: Database, world: World) -> RecordService:
    service = RecordService(db)
    service.writer.set_sealer(world.signer)
    return service


async def test_every_write_path_stores_a_fresh_signature(records: RecordService, world: World):
    handle = Handle.parse(HANDLE)
    await records.put(ADMIN, handle, _values())
    stored = await records.get(handle)
    assert stored is not None
    assert [v.index for v in stored.values if v.type == "HS_SIGNATURE"] == [400]
    assert (await world.verify(stored.values)).trusted

    await records.put(
        ADMIN, handle, [HandleValue(3, "DESC", "string", "added")], indexes=[3], overwrite=False
    )
    await records.delete(ADMIN, handle, indexes=[2])
    stored = await records.get(handle)
    assert stored is not None
    assert [v.index for v in stored.values] == [1, 3, 400]
    verdict = await world.verify(stored.values)
    assert verdict.trusted and verdict.verified == (1, 3)

    minted = await records.mint(ADMIN, handle.prefix, "M", _values())
    minted_record = await records.get(minted)
    assert minted_record is not None
    assert any(v.type == "HS_SIGNATURE" for v in minted_record.values)


async def test_an_enterprise_pre_signed_record_is_verified_and_kept(
    records: RecordService, world: World, tmp_path: Path
):
    enterprise, cert = world.enterprise(tmp_path, "88.118.8")
    handle = Handle.parse(HANDLE)
    pre_signed = enterprise(handle, [*_values(), cert])
    await records.put(ADMIN, handle, pre_signed)
    stored = await records.get(handle)
    assert stored is not None
    signatures = {v.index for v in stored.values if v.type == "HS_SIGNATURE"}
    assert signatures == {400, 401}  # the enterprise's, then the node's
    verdict = await world.verify(stored.values)
    assert verdict.trusted, verdict.problems
    assert len(verdict.signers) == 2


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ("tamper", "tampered-value"),
        ("other-enterprise", "foreign-enterprise-key"),
        ("no-cert", "HS_CERT value in the same record"),
        ("foreign-issuer", "not issued by a key of this node"),
        ("garbage", "not a compact JWS"),
    ],
)
async def test_a_bad_enterprise_signature_is_refused_and_nothing_is_written(
    records: RecordService, world: World, tmp_path: Path, spoil: str, reason: str
):
    handle = Handle.parse(HANDLE)
    prefix = "88.118.9" if spoil == "other-enterprise" else "88.118.8"
    enterprise, cert = world.enterprise(tmp_path, prefix)
    values = enterprise(handle, [*_values(), cert])
    if spoil == "tamper":
        values = [
            HandleValue(1, "URL", "string", "https://evil") if v.index == 1 else v for v in values
        ]
    elif spoil == "no-cert":
        values = [v for v in values if v.type != "HS_CERT"]
    elif spoil == "garbage":
        values = [*_values(), HandleValue(400, "HS_SIGNATURE", "string", "a.b.c")]
    elif spoil == "foreign-issuer":
        stranger = World(tmp_path / "stranger")
        _, stranger_cert = stranger.enterprise(tmp_path / "stranger", "88.118.8")
        values = [stranger_cert if v.type == "HS_CERT" else v for v in values]
        values = enterprise(handle, [v for v in values if v.type != "HS_SIGNATURE"])
    with pytest.raises(InvalidValue, match=reason) as caught:
        await records.put(ADMIN, handle, values)
    assert "value index 400" in caught.value.message
    assert await records.get(handle) is None


async def test_changing_a_value_an_enterprise_signed_needs_a_new_signature(
    records: RecordService, world: World, tmp_path: Path
):
    enterprise, cert = world.enterprise(tmp_path, "88.118.8")
    handle = Handle.parse(HANDLE)
    await records.put(ADMIN, handle, enterprise(handle, [*_values(), cert]))
    with pytest.raises(InvalidValue, match="tampered-value"):
        await records.put(
            ADMIN, handle, [HandleValue(1, "URL", "string", "https://changed")], indexes=[1]
        )
    stored = await records.get(handle)
    assert stored is not None and (await world.verify(stored.values)).trusted


async def test_enterprise_prefix_and_credential_records_are_signed_too(db: Database, world: World):
    from registry import EnterpriseService, Prefix

    records = RecordService(db)
    records.writer.set_sealer(world.signer)
    enterprises = EnterpriseService(db, records, Prefix.parse("88.118"))
    _, credential = await enterprises.create("Acme", "88.118.8")
    for name in ("0.NA/88.118.8", "88.118.8/ADMIN"):
        record = await records.get(Handle.parse(name))
        assert record is not None
        assert any(v.type == "HS_SIGNATURE" for v in record.values), name
    await enterprises.revoke_credential(credential.username)


@pytest.mark.parametrize(
    "digests",
    [5, {"alg": "SHA-256", "digests": 5}, {"alg": "SHA-256", "digests": [7]}, {"alg": "MD5"}],
)
async def test_malformed_claims_from_a_certified_enterprise_key_are_a_clear_400(
    records: RecordService, world: World, tmp_path: Path, digests: object
):
    import time

    from registry.trust.jose import sign_jws

    enterprise, cert = world.enterprise(tmp_path, "88.118.8")
    key = enterprise.active
    now = int(time.time())
    claims = {"iss": enterprise.issuer, "sub": HANDLE, "iat": now, "nbf": now, "exp": now + 60}
    token = sign_jws(key.key, key.alg, key.kid, {**claims, "digests": digests})
    values = [*_values(), cert, HandleValue(400, "HS_SIGNATURE", "string", token)]
    with pytest.raises(InvalidValue, match="bad-signature"):
        await records.put(ADMIN, Handle.parse(HANDLE), values)


async def test_a_non_public_value_gets_its_own_non_public_signature_through_every_write(
    records: RecordService, world: World
):
    handle = Handle.parse(HANDLE)
    secret = HandleValue(5, "COST", "string", "41.20", permissions=Permissions.parse("1100"))
    await records.put(ADMIN, handle, [*_values(), secret])
    stored = await records.get(handle)
    assert stored is not None
    signatures = {v.index: v for v in stored.values if v.type == "HS_SIGNATURE"}
    assert [(i, str(s.permissions)) for i, s in signatures.items()] == [
        (400, "1110"),
        (401, "1100"),
    ]
    assert _signed(signatures[400]) == [1, 2] and _signed(signatures[401]) == [1, 2, 5]
    # The public signature carries no digest of the secret to test a guess of it against.
    assert digest_value(secret) not in signatures[400].value and "41.20" not in str(
        read_jws(signatures[400].value)
    )
    anonymous = await world.verify(stored.public().values)
    assert anonymous.trusted and anonymous.verified == (1, 2)
    assert "5" not in str(anonymous.as_dict())  # not even told a value at index 5 exists
    full = await world.verify(stored.values)
    assert full.trusted and full.verified == (1, 2, 5)

    # Rewritten, each signature keeps its index; once no value is private, the second goes.
    await records.put(ADMIN, handle, [HandleValue(3, "DESC", "string", "x")], indexes=[3])
    again = await records.get(handle)
    assert again is not None
    assert [v.index for v in again.values if v.type == "HS_SIGNATURE"] == [400, 401]
    assert (await world.verify(again.values)).verified == (1, 2, 3, 5)
    await records.delete(ADMIN, handle, indexes=[5])
    public_only = await records.get(handle)
    assert public_only is not None
    assert [v.index for v in public_only.values if v.type == "HS_SIGNATURE"] == [400]
    assert (await world.verify(public_only.values)).trusted


def _signed(signature: HandleValue) -> list[int]:
    return [entry["index"] for entry in read_jws(signature.value)[1]["digests"]["digests"]]
