"""The node's sealer in registry: it signs with the key store's active key and follows rotations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from registry import Handle, HandleValue, InvalidValue
from registry.trust import KeyStore, KeyWatchingSigner

HANDLE = Handle.parse("88.118.8/JXDY2106023")
URL = HandleValue(1, "URL", "string", "https://example.com/")


def _sealer(store: KeyStore) -> KeyWatchingSigner:
    return KeyWatchingSigner(store, "88.118", lifetime_seconds=3600, recheck_seconds=0)


def test_without_a_key_values_pass_unsigned_and_a_signature_is_refused(tmp_path: Path) -> None:
    sealer = _sealer(KeyStore(tmp_path / "keys"))
    assert sealer.signer is None
    assert sealer(HANDLE, [URL]) == [URL]
    forged = HandleValue(400, "HS_SIGNATURE", "string", "x.y.z")
    with pytest.raises(InvalidValue, match="no signing key yet"):
        sealer(HANDLE, [URL, forged])


def test_a_generated_then_rotated_key_signs_without_a_new_sealer(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    sealer = _sealer(store)
    first = store.generate()
    assert sealer.signer is not None and sealer.signer.active.kid == first.kid
    assert [v.type for v in sealer(HANDLE, [URL])] == ["URL", "HS_SIGNATURE"]

    second = store.rotate()
    # The sealer notices the key index's mtime change; two writes may share one file-system tick.
    index = tmp_path / "keys" / "keys.json"
    os.utime(index, ns=(index.stat().st_atime_ns, index.stat().st_mtime_ns + 1_000_000))
    assert sealer.signer is not None and sealer.signer.active.kid == second.kid


async def test_a_batch_is_sealed_in_the_caller_without_a_pool(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.generate()
    sealed = await _sealer(store).seal_many([(HANDLE, [URL])])
    assert len(sealed) == 1 and isinstance(sealed[0], str) and "HS_SIGNATURE" in sealed[0]
