"""The backup archive: a zip file of members, and a manifest naming each with its SHA-256."""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from registry import InvalidInput

__all__ = ["FORMAT", "MANIFEST", "BackupReader", "BackupWriter", "Manifest"]

FORMAT = "idnode-backup/1"
MANIFEST = "manifest.json"
_CHUNK = 1 << 20
# What zipfile raises reading a damaged archive (a bad header, a cut stream, a broken deflate,
# a flag bit saying "encrypted").
_DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, RuntimeError)


@dataclass
class Manifest:
    """What an archive holds: its members' checksums and what they were taken from."""

    created: str
    node_code: str
    database: str  # the dialect the rows were read from: sqlite or postgresql
    revisions: list[str]  # the schema's Alembic revisions when the rows were read
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # name: columns, rows
    files: dict[str, str] = field(default_factory=dict)  # member name: SHA-256
    idnode: str = ""
    format: str = FORMAT

    def as_dict(self) -> dict[str, Any]:
        """The manifest as written in the archive."""
        return {
            "format": self.format,
            "idnode": self.idnode,
            "created": self.created,
            "nodeCode": self.node_code,
            "database": self.database,
            "revisions": self.revisions,
            "tables": self.tables,
            "files": self.files,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        """A manifest read back; ``InvalidInput`` for one this idnode cannot read."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else None
            raise InvalidInput(f"not an idnode backup this version reads (format {found!r})")
        try:
            return cls(
                created=str(data["created"]),
                node_code=str(data["nodeCode"]),
                database=str(data["database"]),
                revisions=[str(r) for r in data["revisions"]],
                tables=dict(data["tables"]),
                files={str(k): str(v) for k, v in dict(data["files"]).items()},
                idnode=str(data.get("idnode", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"the backup's manifest is incomplete ({exc})") from exc


class _Hashing:
    """A binary member being written, hashed as it goes."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.sha.update(data)
        self.raw.write(data)


class BackupWriter:
    """Writes an archive to ``path``: under a temporary name, renamed into place when complete."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._zip = zipfile.ZipFile(self._tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self.files: dict[str, str] = {}

    def member(self, name: str) -> _Member:
        """A context manager writing member ``name`` (bytes), its checksum kept for the manifest."""
        return _Member(self, name)

    def add_file(self, name: str, source: Path) -> None:
        """Copy the file ``source`` in as member ``name``."""
        with self.member(name) as out, source.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                out.write(chunk)

    def finish(self, manifest: Manifest) -> None:
        """Write the manifest and put the archive in place."""
        manifest.files = dict(self.files)
        text = json.dumps(manifest.as_dict(), indent=2, ensure_ascii=False) + "\n"
        self._zip.writestr(MANIFEST, text)
        self._zip.close()
        with self._tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self._tmp, self.path)

    def abandon(self) -> None:
        """Drop the unfinished archive."""
        self._zip.close()
        self._tmp.unlink(missing_ok=True)


class _Member:
    def __init__(self, writer: BackupWriter, name: str) -> None:
        self.writer = writer
        self.name = name

    def __enter__(self) -> _Hashing:
        info = zipfile.ZipInfo(self.name)
        info.compress_type = zipfile.ZIP_DEFLATED
        self._raw = self.writer._zip.open(info, "w", force_zip64=True)
        self._hashing = _Hashing(self._raw)
        return self._hashing

    def __exit__(self, *exc: object) -> None:
        self._raw.close()
        self.writer.files[self.name] = self._hashing.sha.hexdigest()


class BackupReader:
    """Reads an archive; ``verify()`` checks every member against the manifest before use."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
            raw = self._zip.read(MANIFEST)
        except FileNotFoundError as exc:
            raise InvalidInput(f"no backup at {self.path}") from exc
        except OSError as exc:
            raise InvalidInput(f"cannot read the backup {self.path}: {exc.strerror}") from exc
        except zipfile.BadZipFile as exc:
            raise InvalidInput(f"{self.path} is not an idnode backup (not a zip archive)") from exc
        except _DAMAGED as exc:
            raise InvalidInput(f"the backup {self.path} is damaged: {MANIFEST}: {exc}") from exc
        except KeyError as exc:
            raise InvalidInput(f"{self.path} is not an idnode backup (no {MANIFEST})") from exc
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput(f"the backup's {MANIFEST} is not JSON: {exc}") from exc
        self.manifest = Manifest.from_dict(data)

    def close(self) -> None:
        """Close the archive."""
        self._zip.close()

    def verify(self) -> None:
        """Raise ``InvalidInput`` unless each member is present, listed and matches its checksum."""
        names = set(self._zip.namelist()) - {MANIFEST}
        listed = set(self.manifest.files)
        if missing := sorted(listed - names):
            raise InvalidInput(f"the backup {self.path} is damaged: {missing[0]} is missing")
        if extra := sorted(names - listed):
            raise InvalidInput(f"the backup {self.path} holds {extra[0]}, which its manifest omits")
        for name in sorted(listed):
            sha = hashlib.sha256()
            try:
                with self._zip.open(name) as handle:
                    while chunk := handle.read(_CHUNK):
                        sha.update(chunk)
            except (*_DAMAGED, OSError) as exc:
                raise InvalidInput(f"the backup {self.path} is damaged: {name}: {exc}") from exc
            if sha.hexdigest() != self.manifest.files[name]:
                raise InvalidInput(f"the backup {self.path} is damaged: {name} fails its checksum")

    def read(self, name: str) -> bytes:
        """The whole of member ``name``."""
        return self._zip.read(name)

    def lines(self, name: str) -> Iterator[bytes]:
        """Member ``name`` line by line."""
        with self._zip.open(name) as handle:
            yield from handle
