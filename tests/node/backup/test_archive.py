"""The backup archive read back: hand-picked bad manifests, and a bounded fuzz of damaged bytes.

Whatever the file holds, reading and verifying it either succeeds or raises ``InvalidInput``
(one line for the operator), never another exception. Seeded, so a failure replays.
"""

from __future__ import annotations

import io
import json
import random
import re
import time
import zipfile
from pathlib import Path

import pytest

from node.backup.archive import FORMAT, MANIFEST, BackupReader, BackupWriter, Manifest
from registry import InvalidInput

SEED = 20
CASES = 400
BUDGET_SECONDS = 20.0


def _archive(path: Path) -> bytes:
    writer = BackupWriter(path)
    with writer.member("db/records.jsonl") as out:
        out.write(b'[1, "88.118.8/a", {"$bytes": "AP8="}]\n' * 20)
    with writer.member("keys/credential.key") as out:
        out.write(b"secret\n")
    writer.finish(Manifest("2026-01-01T00:00:00+00:00", "88.118", "sqlite", ["0003"]))
    return path.read_bytes()


def _read(path: Path) -> Manifest:
    reader = BackupReader(path)
    try:
        reader.verify()
        return reader.manifest
    finally:
        reader.close()


def test_an_archive_round_trips_with_its_checksums(tmp_path: Path) -> None:
    _archive(tmp_path / "a.zip")
    manifest = _read(tmp_path / "a.zip")
    assert manifest.format == FORMAT and manifest.revisions == ["0003"]
    assert set(manifest.files) == {"db/records.jsonl", "keys/credential.key"}
    assert not list(tmp_path.glob(".*.tmp"))  # written under a temporary name, then renamed


def _with_manifest(path: Path, source: Path, manifest: bytes) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w") as new:
        for item in old.infolist():
            new.writestr(item, manifest if item.filename == MANIFEST else old.read(item))


BAD_MANIFESTS = {
    b"not json": "is not JSON",
    b"[]": "not an idnode backup this version reads (format None)",
    b'{"format": "idnode-backup/9"}': "format 'idnode-backup/9'",
    json.dumps({"format": FORMAT}).encode(): "the backup's manifest is incomplete",
    json.dumps(
        {
            "format": FORMAT,
            "created": "x",
            "nodeCode": "88.118",
            "database": "sqlite",
            "revisions": ["0003"],
            "tables": {},
            "files": {"db/records.jsonl": "0" * 64},
        }
    ).encode(): "holds keys/credential.key, which its manifest omits",
    json.dumps(
        {
            "format": FORMAT,
            "created": "x",
            "nodeCode": "88.118",
            "database": "sqlite",
            "revisions": ["0003"],
            "tables": {},
            "files": {"db/records.jsonl": "0" * 64, "keys/credential.key": "0" * 64},
        }
    ).encode(): "db/records.jsonl fails its checksum",
}


@pytest.mark.parametrize("manifest", list(BAD_MANIFESTS), ids=range(len(BAD_MANIFESTS)))
def test_a_bad_manifest_is_named(tmp_path: Path, manifest: bytes) -> None:
    _archive(tmp_path / "good.zip")
    _with_manifest(tmp_path / "bad.zip", tmp_path / "good.zip", manifest)
    with pytest.raises(InvalidInput, match=re.escape(BAD_MANIFESTS[manifest])):
        _read(tmp_path / "bad.zip")


def test_damaged_bytes_are_refused_as_invalid_input_and_nothing_else(tmp_path: Path) -> None:
    good = _archive(tmp_path / "good.zip")
    rng = random.Random(SEED)
    target = tmp_path / "damaged.zip"
    deadline = time.monotonic() + BUDGET_SECONDS
    outcomes = {"refused": 0, "read": 0}
    for _ in range(CASES):
        if time.monotonic() > deadline:
            break
        data = bytearray(good)
        kind = rng.randrange(3)
        if kind == 0:  # flipped bytes
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif kind == 1:  # cut short
            del data[rng.randrange(len(data)) :]
        else:  # a stretch overwritten with noise
            start = rng.randrange(len(data))
            data[start : start + rng.randint(1, 64)] = rng.randbytes(rng.randint(1, 64))
        target.write_bytes(bytes(data))
        try:
            _read(target)
            outcomes["read"] += 1
        except InvalidInput as exc:
            assert "\n" not in exc.message
            outcomes["refused"] += 1
    assert outcomes["refused"] > CASES // 2, outcomes


def test_a_zip_of_something_else_is_not_a_backup(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as other:
        other.writestr("readme.txt", "hello")
    (tmp_path / "other.zip").write_bytes(buffer.getvalue())
    with pytest.raises(InvalidInput, match=re.escape("is not an idnode backup (no manifest.json)")):
        _read(tmp_path / "other.zip")
