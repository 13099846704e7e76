"""The sealing pool: batches signed in worker processes, as the signer in the caller signs them."""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from registry import (
    Handle,
    HandleAlreadyExists,
    HandleValue,
    InvalidValue,
    Permissions,
    decode_values,
    encode_values,
)
from registry.trust import RecordSigner, SealingPool, seal_each, verify_record
from registry.trust.jose import read_jws
from registry.trust.sealing import MIN_POOLED_ITEMS

from .world import World

BATCH = 3 * MIN_POOLED_ITEMS


@pytest.fixture
async def pool() -> AsyncIterator[SealingPool]:
    pool = SealingPool(2)
    try:
        yield pool
    finally:
        pool.close()


def _items(count: int, prefix: str = "88.118.8") -> list[tuple[Handle, list[HandleValue]]]:
    return [
        (
            Handle.parse(f"{prefix}/P{n}"),
            [
                HandleValue(1, "URL", "string", f"https://example.com/p/{n}", timestamp="t"),
                HandleValue(2, "DESC", "string", "pump", timestamp="t"),
            ],
        )
        for n in range(count)
    ]


async def _trusted(world: World, handle: Handle, text: str) -> bool:
    root = world.root.root_certificate()
    verdict = await verify_record(str(handle), decode_values(text), root, world.fetch)
    return verdict.trusted


async def test_a_pooled_batch_is_signed_as_the_caller_would_sign_it(
    pool: SealingPool, tmp_path: Path
):
    world = World(tmp_path)
    items = _items(BATCH)
    sealed = await pool.seal(world.signer, items)
    assert len(sealed) == len(items)
    for (handle, values), text in zip(items, sealed, strict=True):
        assert isinstance(text, str)
        stored = decode_values(text)
        assert [v.index for v in stored] == [1, 2, 400]
        assert stored[:2] == tuple(values)
        _, claims = read_jws(stored[2].value)
        assert claims["sub"] == str(handle) and claims["iss"] == "300:0.NA/88.118"
        assert await _trusted(world, handle, text)


async def test_an_item_the_signer_refuses_comes_back_as_its_error(
    pool: SealingPool, tmp_path: Path
):
    world = World(tmp_path)
    items = _items(BATCH)
    bad_handle, bad_values = items[5]
    forged = HandleValue(400, "HS_SIGNATURE", "string", "a.b.c", timestamp="t")
    items[5] = (bad_handle, [*bad_values, forged])
    sealed = await pool.seal(world.signer, items)
    refused = sealed[5]
    assert isinstance(refused, InvalidValue)
    assert refused.handle == str(bad_handle)
    assert "value index 400" in refused.message and "not a compact JWS" in refused.message
    assert all(isinstance(text, str) for n, text in enumerate(sealed) if n != 5)


async def test_a_rotated_key_signs_the_next_batch(pool: SealingPool, tmp_path: Path):
    world = World(tmp_path)
    first = await pool.seal(world.signer, _items(BATCH))
    rotated = RecordSigner("88.118", World._key(tmp_path / "rotated"), [world.node])
    second = await pool.seal(rotated, _items(BATCH))

    def kid(text: str | Exception) -> str:
        assert isinstance(text, str)
        header, _ = read_jws(decode_values(text)[-1].value)
        return header["kid"]

    assert {kid(text) for text in first} == {world.node.kid}
    assert {kid(text) for text in second} == {rotated.active.kid}


async def test_a_killed_process_does_not_fail_the_batch_and_the_pool_recovers(
    pool: SealingPool, tmp_path: Path
):
    world = World(tmp_path)
    await pool.seal(world.signer, _items(BATCH))
    executor = pool._executor
    assert executor is not None
    for pid in list(executor._processes):
        os.kill(pid, signal.SIGKILL)
    sealed = await pool.seal(world.signer, _items(BATCH))
    assert all(isinstance(text, str) for text in sealed)
    assert await _trusted(world, _items(1)[0][0], sealed[0])  # type: ignore[arg-type]
    again = await pool.seal(world.signer, _items(BATCH))
    assert pool._executor is not None and pool._executor is not executor
    assert all(isinstance(text, str) for text in again)


async def test_small_batches_give_the_same_answers_as_sealing_each(
    pool: SealingPool, tmp_path: Path
):
    world = World(tmp_path)
    items = _items(MIN_POOLED_ITEMS - 1)
    sealed = await pool.seal(world.signer, items)
    assert (
        [decode_values(text)[:2] for text in sealed]
        == [  # type: ignore[arg-type]
            decode_values(text)[:2]  # type: ignore[arg-type]
            for text in seal_each(world.signer, items)
        ]
    )
    assert pool._executor is None  # no process started for them


def test_node_errors_cross_processes_intact():
    error = HandleAlreadyExists("handle 88.118.8/X already exists", handle="88.118.8/X")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is HandleAlreadyExists
    assert (copy.message, copy.handle) == (error.message, error.handle)


def test_a_signer_pickles_with_its_keys(tmp_path: Path):
    world = World(tmp_path)
    rotated = RecordSigner("88.118", World._key(tmp_path / "rotated"), [world.node])
    copy = pickle.loads(pickle.dumps(rotated))
    assert copy.issuer == rotated.issuer and copy.node_handle == rotated.node_handle
    assert set(copy._node_keys) == {world.node.kid, rotated.active.kid}
    assert copy.active.public_jwk() == rotated.active.public_jwk()


def _varied_records(world: World, tmp_path: Path) -> list[tuple[Handle, list[HandleValue]]]:
    """Records of every shape the stored-form path must seal as ``__call__`` does."""
    enterprise, cert = world.enterprise(tmp_path, "88.118.9")
    signed_by_enterprise = enterprise(
        Handle.parse("88.118.9/E1"),
        [HandleValue(1, "URL", "string", "https://e.example/1", timestamp="t"), cert],
    )
    return [
        _items(1)[0],
        (  # every data format, a long string, private and short-lived values, no timestamps
            Handle.parse("88.118.8/FORMATS"),
            [
                HandleValue(1, "URL", "string", "x" * 500, ttl=60),
                HandleValue(2, "BLOB", "base64", "aGVsbG8=", permissions=Permissions.parse("1100")),
                HandleValue(3, "RAW", "hex", "00ff"),
                HandleValue(
                    100,
                    "HS_ADMIN",
                    "admin",
                    {"handle": "0.NA/88.118.8", "index": 200, "permissions": "011111110011"},
                ),
                HandleValue(4, "HS_VLIST", "vlist", [{"handle": "88.118.8/A", "index": 300}]),
                HandleValue(400, "TAKEN", "string", "index 400 is not free"),
            ],
        ),
        (Handle.parse("88.118.8/EMPTY"), []),
        # Carries the node's own signature: refreshed, through __call__.
        (Handle.parse("88.118.8/P0"), list(world.signer(*_items(1)[0]))),
        # Carries an enterprise's: verified and kept, through __call__.
        (Handle.parse("88.118.9/E1"), signed_by_enterprise),
    ]


@pytest.mark.parametrize("alg", ["Ed25519", "ES256"])
def test_sealing_the_stored_form_stores_what_sealing_values_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, alg: str
):
    world = World(tmp_path, alg)
    # One clock for both, so Ed25519's deterministic signatures must come out byte for byte.
    monkeypatch.setattr("registry.trust.signer.time.time", lambda: 1_800_000_000.5)
    for handle, values in _varied_records(world, tmp_path):
        from_stored = world.signer.seal_stored(str(handle), encode_values(values))
        from_values = encode_values(world.signer(handle, values))
        if alg == "Ed25519":
            assert from_stored == from_values
        # ES256 signatures are randomised: each value must agree but for the signature bytes.
        pairs = zip(decode_values(from_stored), decode_values(from_values), strict=True)
        for ours, theirs in pairs:
            if ours.type == "HS_SIGNATURE" and ours != theirs:
                assert read_jws(ours.value) == read_jws(theirs.value)
                assert replace(ours, value="") == replace(theirs, value="")
            else:
                assert ours == theirs


def test_a_refused_stored_record_raises_what_sealing_its_values_raises(tmp_path: Path):
    world = World(tmp_path)
    handle, values = _items(1)[0]
    forged = [*values, HandleValue(400, "HS_SIGNATURE", "string", "a.b.c", timestamp="t")]
    with pytest.raises(InvalidValue) as from_values:
        world.signer(handle, forged)
    with pytest.raises(InvalidValue) as from_stored:
        world.signer.seal_stored(str(handle), encode_values(forged))
    assert from_stored.value.message == from_values.value.message
