"""The ``idnode backup`` and ``idnode restore`` commands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry import Conflict, InvalidInput

if TYPE_CHECKING:
    from registry.storage import Database

    from ..settings import Settings

__all__ = ["add_backup_commands"]

_KEYS = "keys/"
# Not state: the key generation lock, and files being written (".name.<pid>.tmp").
_SKIPPED = (".",)


def _emit(args: argparse.Namespace, result: Any, text: str) -> None:
    print(json.dumps(result, ensure_ascii=False) if args.json else text)


def _note(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(f"idnode: note: {text}", file=sys.stderr)


def _database(settings: Settings) -> Database:
    from registry.storage import Database

    return Database(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout,
        statement_timeout=settings.database_statement_timeout,
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("idnode")
    except PackageNotFoundError:
        return "unknown"


def _key_files(directory: Path) -> list[Path]:
    """The keys directory's files: signing keys and their index, credential and sealing keys."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith(_SKIPPED))


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> None:
    from migrations.runner import current_revisions, require_schema

    from .archive import BackupWriter, Manifest
    from .database import dump_database

    target = Path(args.file)
    if target.exists() and not args.overwrite:
        raise Conflict(f"{target} exists; pass --overwrite to replace it")
    db = _database(settings)
    writer = BackupWriter(target)
    try:
        await require_schema(db)
        revisions = await current_revisions(db)
        tables = await dump_database(db, writer)
        keys = _key_files(Path(settings.keys_dir))
        for path in keys:
            writer.add_file(_KEYS + path.name, path)
        manifest = Manifest(
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            node_code=settings.node_code,
            database="sqlite" if db.is_sqlite else "postgresql",
            revisions=revisions,
            tables=tables,
            idnode=_version(),
        )
        writer.finish(manifest)
    except BaseException:
        writer.abandon()
        raise
    finally:
        await db.dispose()
    rows = sum(t["rows"] for t in tables.values())
    if settings.credential_key is not None:
        _note(args, "IDNODE_CREDENTIAL_KEY is set, so it is not in the backup: keep it with it")
    if settings.key_passphrase is not None:
        _note(args, "the signing keys are encrypted with IDNODE_KEY_PASSPHRASE: keep it too")
    result = {
        "file": str(target),
        "database": _safe_url(settings.database_url),
        "revisions": revisions,
        "tables": {name: t["rows"] for name, t in tables.items()},
        "keyFiles": [p.name for p in keys],
    }
    _emit(
        args,
        result,
        f"backed up {rows} row(s) in {len(tables)} table(s) and {len(keys)} key file(s)"
        f" to {target}",
    )


async def cmd_restore(args: argparse.Namespace, settings: Settings) -> None:
    from migrations.runner import current_revisions, downgrade, upgrade

    from .archive import BackupReader
    from .database import load_database, node_is_empty

    reader = BackupReader(args.file)
    try:
        # Checked whole before the database is opened (which makes a SQLite file).
        reader.verify()
        manifest = reader.manifest
        names = _key_names(manifest.files)
    except BaseException:
        reader.close()
        raise
    db = _database(settings)
    try:
        keys_dir = Path(settings.keys_dir)
        if manifest.node_code != settings.node_code and not args.force:
            raise Conflict(
                f"the backup is of node {manifest.node_code} but IDNODE_NODE_CODE is"
                f" {settings.node_code}; set it, or pass --force"
            )
        schema = await current_revisions(db)
        full = await node_is_empty(db) if schema else []
        present = _key_files(keys_dir)
        # The credential and sealing keys a first start (or idnode migrate) makes are not the
        # node's: while the database is empty nothing is sealed with them.
        signing = [p for p in present if p.name == "keys.json" or p.suffix == ".pem"]
        if (full or signing) and not args.force:
            held = [f"rows in {', '.join(full)}"] if full else []
            held += [f"signing keys in {keys_dir}"] if signing else []
            raise Conflict(
                f"the node is not empty ({'; '.join(held)}): restore into an empty node,"
                " or pass --force to replace what is there"
            )
        _require_known(manifest.revisions)
        if schema:
            # Empty (or --force): the rows go into the schema as it was when they were read.
            await downgrade(db, "base")
        for path in present:
            path.unlink()
        for revision in manifest.revisions:
            await upgrade(db, revision)
        loaded = await load_database(db, reader)
        await upgrade(db, "head")
        revisions = await current_revisions(db)
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name in names:
            _write_private(keys_dir / name, reader.read(_KEYS + name))
    finally:
        reader.close()
        await db.dispose()
    result = {
        "file": str(args.file),
        "database": _safe_url(settings.database_url),
        "created": manifest.created,
        "revisions": revisions,
        "tables": loaded,
        "keyFiles": names,
    }
    _emit(
        args,
        result,
        f"restored {sum(loaded.values())} row(s) in {len(loaded)} table(s) and {len(names)}"
        f" key file(s) from {args.file} (taken {manifest.created}); the schema is at"
        f" {', '.join(revisions)}",
    )


def _key_names(files: dict[str, str]) -> list[str]:
    names = [name[len(_KEYS) :] for name in files if name.startswith(_KEYS)]
    for name in names:
        if not name or "/" in name or "\\" in name or name.startswith(_SKIPPED):
            raise InvalidInput(f"the backup holds a key file named {name!r}, which is refused")
    return sorted(names)


def _require_known(revisions: list[str]) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from migrations.runner import alembic_config

    if not revisions:
        raise InvalidInput("the backup names no schema revision")
    scripts = ScriptDirectory.from_config(alembic_config())
    for revision in revisions:
        try:
            found = scripts.get_revision(revision)
        except CommandError:
            found = None
        if found is None:
            raise InvalidInput(
                f"the backup was taken at schema revision {revision}, which this idnode does"
                " not know (taken by a newer idnode?)"
            )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def add_backup_commands(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``idnode backup`` and ``idnode restore`` to the subcommands ``sub``."""
    backup = add(
        sub,
        "backup",
        cmd_backup,
        "write the database, signing keys and credential key to one archive (zip, with a"
        " manifest of SHA-256 checksums); the node may keep serving",
    )
    backup.add_argument("file", help="the archive to write")
    backup.add_argument("--overwrite", action="store_true", help="replace an existing file")
    restore = add(
        sub,
        "restore",
        cmd_restore,
        "restore an archive of idnode backup into an empty node (stopped), then migrate it",
    )
    restore.add_argument("file", help="the archive to read")
    restore.add_argument(
        "--force",
        action="store_true",
        help="replace the node's database and key files, and accept another node code",
    )
