"""Batch import of a CSV or Excel file against a template: a dry run, then a resumable job.

The file's header row names its columns; a column maps to a template item (by the item's name,
idType or idIndex, or as the caller maps it) or holds the identifier (``suffix`` or ``handle``).
A dry run checks every row with the template's compiled schema and lists the problems (row,
column, message) without writing. An import is a job: rows go in chunks through
``BatchService.create_many`` (the fast batch path and the one record writer); rows that break a
rule are skipped and listed. A job's id is the digest of what it imports, so posting the same
upload again finds the running job, and after a restart runs it again safely: a row already
registered with the same data is counted as such, one registered with other data is a conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ._batch import MAX_BATCH_ITEMS, BatchService, RecordDraft
from ._errors import EntityNotFound, HandleAlreadyExists, InvalidInput, NodeError
from ._grammar import Handle, Prefix
from ._principal import Principal
from ._tables import read_rows
from ._templates import FIRST_ITEM_INDEX, TEMPLATE_INDEX, Template, TemplateItem, TemplateService
from ._values import HandleValue, decode_values
from .storage.database import Database
from .storage.repository import Records

__all__ = ["ColumnPlan", "ImportJob", "ImportService", "RowError", "plan_columns"]

CHUNK_ROWS = 1000
# A status file not touched for this long belongs to a job whose process is gone.
STALE_SECONDS = 120
_JOB_ID = re.compile(r"[0-9a-f]{8,64}")
MAX_LISTED_ERRORS = 1000
MAX_JOBS = 64
HANDLE_COLUMNS = ("suffix", "handle")


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row of a file was not (or would not be) registered."""

    row: int
    column: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """Which column holds the identifier and which hold which template items."""

    handle_column: int
    full_handle: bool
    items: tuple[tuple[int, TemplateItem], ...]
    header: tuple[str, ...]
    ignored: tuple[str, ...]


def plan_columns(
    template: Template, header: Sequence[str], mapping: Mapping[str, str]
) -> ColumnPlan:
    """Map a header row to the template; ``mapping`` (column → item) overrides the names."""
    keys: dict[str, TemplateItem] = {}
    for item in template.items:
        if item.enabled:
            for key in (item.name, item.id_type, str(item.id_index)):
                keys.setdefault(key, item)
    for column in mapping:
        if column not in header:
            raise InvalidInput(f"the mapping names the column {column!r}, which the file lacks")
    handle_column, full_handle = -1, False
    items: list[tuple[int, TemplateItem]] = []
    used: set[int] = set()
    ignored: list[str] = []
    for position, name in enumerate(header):
        target = mapping.get(name, name)
        if target.lower() in HANDLE_COLUMNS and handle_column < 0:
            handle_column, full_handle = position, target.lower() == "handle"
            continue
        item = keys.get(target)
        if item is None:
            if name in mapping:
                raise InvalidInput(
                    f"column {name!r} is mapped to {target!r}, which is no item of template"
                    f" {template.version}"
                )
            ignored.append(name)
            continue
        if item.id_index in used:
            raise InvalidInput(f"two columns map to the item {item.name!r}")
        used.add(item.id_index)
        items.append((position, item))
    if handle_column < 0:
        raise InvalidInput("the file needs a 'suffix' column (or a 'handle' column)")
    missing = [
        i.name for i in template.items if i.enabled and i.required and i.id_index not in used
    ]
    if missing:
        raise InvalidInput(f"no column for the required items {', '.join(map(repr, missing))}")
    return ColumnPlan(handle_column, full_handle, tuple(items), tuple(header), tuple(ignored))


def draft_of(
    template: Template, prefix: Prefix, plan: ColumnPlan, number: int, cells: Sequence[str]
) -> RecordDraft | RowError:
    """The record a row asks for, or the first problem of the row."""
    handle_name = plan.header[plan.handle_column]
    raw = cells[plan.handle_column] if plan.handle_column < len(cells) else ""
    if not raw:
        return RowError(number, handle_name, "the identifier is empty")
    try:
        handle = Handle.parse(raw if plan.full_handle else f"{prefix}/{raw}")
    except NodeError as exc:
        return RowError(number, handle_name, exc.message)
    if handle.prefix != prefix:
        return RowError(number, handle_name, f"{handle} is not under the prefix {prefix}")
    values: list[HandleValue] = []
    instance: dict[str, Any] = {}
    columns: dict[str, str] = {}
    for position, item in plan.items:
        text = cells[position] if position < len(cells) else ""
        columns[str(item.id_index)] = plan.header[position]
        if text:
            values.append(HandleValue(item.id_index, item.id_type, "string", text))
            instance[str(item.id_index)] = item.rules.coerce(text)
    problem = template.validator()(instance)
    if problem is not None:
        message = template.describe(problem)
        item = template.item_at(int(problem.key)) if problem.key.isdigit() else None
        if problem.rule == "required" and item is not None:
            message = f"item {item.name!r} (value index {item.id_index}) is required"
        return RowError(number, columns.get(problem.key, ""), message)
    return RecordDraft(handle, tuple(values), template.version)


def _take(rows: Iterator[tuple[int, list[str]]], count: int) -> list[tuple[int, list[str]]]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= count:
            break
    return chunk


@dataclass
class ImportJob:
    """One import: where it is, what it found, and the rows that were not registered."""

    id: str
    prefix: Prefix
    template: Template
    plan: ColumnPlan
    path: Path
    kind: str
    state: str = "queued"
    total: int = 0
    done: int = 0
    registered: int = 0
    already_registered: int = 0
    conflicts: int = 0
    failed: int = 0
    message: str = ""
    errors: list[RowError] = field(default_factory=list)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def refuse(self, error: RowError, *, conflict: bool = False) -> None:
        if conflict:
            self.conflicts += 1
        else:
            self.failed += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(error)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "updatedAt": time.time(),
            "prefix": str(self.prefix),
            "templateVersion": self.template.version,
            "state": self.state,
            "total": self.total,
            "done": self.done,
            "registered": self.registered,
            "alreadyRegistered": self.already_registered,
            "conflicts": self.conflicts,
            "failed": self.failed,
            "message": self.message,
            "errors": [error.to_json() for error in self.errors],
        }


class ImportService:
    """Dry runs and import jobs of CSV and Excel files for an enterprise's prefix."""

    def __init__(
        self, db: Database, batches: BatchService, templates: TemplateService, directory: Path
    ) -> None:
        self.db = db
        self.batches = batches
        self.templates = templates
        # Status files, so every worker of the node (and the node after a restart) can answer.
        self.directory = directory
        self.jobs: dict[str, ImportJob] = {}

    def _status_path(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.json"

    def _save(self, job: ImportJob) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self._status_path(job.id)
        spare = target.with_suffix(f".{os.getpid()}.tmp")
        spare.write_bytes(orjson.dumps(job.to_json()))
        os.replace(spare, target)

    def _load(self, job_id: str) -> dict[str, Any] | None:
        try:
            status = orjson.loads(self._status_path(job_id).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        if not isinstance(status, dict):
            return None
        if status.get("state") in ("queued", "running") and (
            time.time() - status.get("updatedAt", 0) > STALE_SECONDS
        ):
            status["state"] = "interrupted"
            status["message"] = "the node stopped during this import; post the file again to resume"
        return status

    async def _prepare(
        self,
        principal: Principal,
        prefix: str,
        version: str,
        mapping: Mapping[str, str],
        path: Path,
        kind: str,
    ) -> tuple[Prefix, Template, ColumnPlan]:
        parsed = Prefix.parse(prefix)
        principal.require_owner(parsed)
        template = await self.templates.get(principal, str(parsed), version)
        rows = read_rows(path, kind)
        try:
            header = await asyncio.to_thread(next, rows, None)
        finally:
            rows.close()
        if header is None:
            raise InvalidInput("the file is empty: a header row was expected")
        return parsed, template, plan_columns(template, header[1], mapping)

    async def dry_run(
        self,
        principal: Principal,
        prefix: str,
        version: str,
        mapping: Mapping[str, str],
        path: Path,
        kind: str,
    ) -> dict[str, Any]:
        """Check every row; nothing is written."""
        parsed, template, plan = await self._prepare(
            principal, prefix, version, mapping, path, kind
        )
        return await asyncio.to_thread(_check_all, template, parsed, plan, path, kind)

    async def start(
        self,
        principal: Principal,
        prefix: str,
        version: str,
        mapping: Mapping[str, str],
        path: Path,
        kind: str,
        digest: str,
    ) -> dict[str, Any]:
        """Start importing (or find the running import of the same upload)."""
        parsed, template, plan = await self._prepare(
            principal, prefix, version, mapping, path, kind
        )
        running = self.jobs.get(digest)
        if running is not None and running.state in ("queued", "running"):
            path.unlink(missing_ok=True)
            return running.to_json()
        elsewhere = self._load(digest)
        if elsewhere is not None and elsewhere["state"] in ("queued", "running"):
            # Running in another worker: the same upload is not imported twice at once.
            path.unlink(missing_ok=True)
            return elsewhere
        job = ImportJob(digest, parsed, template, plan, path, kind)
        self.jobs.pop(digest, None)
        self.jobs[digest] = job
        while len(self.jobs) > MAX_JOBS:
            oldest = next(iter(self.jobs))
            if self.jobs[oldest].state in ("queued", "running"):
                break
            del self.jobs[oldest]
        self._save(job)
        job.task = asyncio.create_task(self._run(principal, job))
        return job.to_json()

    def get(self, principal: Principal, job_id: str) -> dict[str, Any]:
        """The status of a job of the caller's prefixes."""
        job = self.jobs.get(job_id)
        status = job.to_json() if job is not None else None
        if status is None and _JOB_ID.fullmatch(job_id):
            status = self._load(job_id)
        if status is None:
            raise EntityNotFound(f"import {job_id} is not known")
        principal.require_owner(Prefix.parse(status["prefix"]))
        return status

    async def close(self) -> None:
        """Stop running jobs (their uploads are removed; posting the file again resumes)."""
        for job in self.jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job.task
            job.path.unlink(missing_ok=True)

    async def _run(self, principal: Principal, job: ImportJob) -> None:
        try:
            job.state = "running"
            job.total = await asyncio.to_thread(_count, job.path, job.kind)
            self._save(job)
            rows = read_rows(job.path, job.kind)
            try:
                await asyncio.to_thread(next, rows, None)  # the header
                while chunk := await asyncio.to_thread(_take, rows, CHUNK_ROWS):
                    await self._chunk(principal, job, chunk)
                    job.done += len(chunk)
                    self._save(job)
            finally:
                rows.close()
            job.state = "done"
        except NodeError as exc:
            job.state, job.message = "failed", exc.message
        except asyncio.CancelledError:
            job.state, job.message = "failed", "the node stopped; post the file again to resume"
            raise
        finally:
            job.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self._save(job)

    async def _chunk(
        self, principal: Principal, job: ImportJob, chunk: Sequence[tuple[int, list[str]]]
    ) -> None:
        drafts: list[RecordDraft] = []
        numbers: list[int] = []
        for number, cells in chunk:
            draft = draft_of(job.template, job.prefix, job.plan, number, cells)
            if isinstance(draft, RowError):
                job.refuse(draft)
            else:
                drafts.append(draft)
                numbers.append(number)
        column = job.plan.header[job.plan.handle_column]
        existing: list[tuple[int, RecordDraft]] = []
        for start in range(0, len(drafts), MAX_BATCH_ITEMS):
            part = drafts[start : start + MAX_BATCH_ITEMS]
            results = await self.batches.create_many(principal, part)
            for number, draft, error in zip(numbers[start:], part, results, strict=False):
                if error is None:
                    job.registered += 1
                elif (
                    isinstance(error, HandleAlreadyExists) and "more than once" not in error.message
                ):
                    existing.append((number, draft))
                else:
                    job.refuse(RowError(number, column, error.message))
        if existing:
            stored = await self._stored([str(draft.handle) for _, draft in existing])
            for number, draft in existing:
                key = str(draft.handle)
                if stored.get(key) == _items(draft.values, draft.template_version):
                    job.already_registered += 1
                else:
                    job.refuse(
                        RowError(number, column, f"{key} is registered already with other data"),
                        conflict=True,
                    )

    async def _stored(self, handles: Sequence[str]) -> dict[str, Any]:
        async with self.db.read() as session:
            texts = await Records(session).get_values_texts(handles)
        found: dict[str, Any] = {}
        for key, text in texts.items():
            values = decode_values(text)
            version = next((v.value for v in values if v.index == TEMPLATE_INDEX), None)
            found[key] = _items(values, version)
        return found


def _items(values: Sequence[HandleValue], version: str | None) -> tuple[str | None, frozenset[Any]]:
    """What makes two registrations of a row the same: the version and the item values."""
    return version, frozenset(
        (v.index, v.type, v.value) for v in values if v.index >= FIRST_ITEM_INDEX
    )


def _count(path: Path, kind: str) -> int:
    return max(sum(1 for _ in read_rows(path, kind)) - 1, 0)


def _check_all(
    template: Template, prefix: Prefix, plan: ColumnPlan, path: Path, kind: str
) -> dict[str, Any]:
    errors: list[dict[str, Any]] = []
    total = failed = 0
    rows = read_rows(path, kind)
    next(rows, None)
    for number, cells in rows:
        total += 1
        result = draft_of(template, prefix, plan, number, cells)
        if isinstance(result, RowError):
            failed += 1
            if len(errors) < MAX_LISTED_ERRORS:
                errors.append(result.to_json())
    if not total:
        raise InvalidInput("the file has a header row but no data rows")
    return {
        "rows": total,
        "valid": total - failed,
        "failed": failed,
        "errors": errors,
        "columns": {plan.header[p]: item.name for p, item in plan.items},
        "ignoredColumns": list(plan.ignored),
    }
