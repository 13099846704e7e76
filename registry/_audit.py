"""The audit log: who did which administrative action, when, from where, to what.

An action records itself with ``await audit(session, action, target, summary)`` (or
``tx.audit(...)`` in a ``RecordWriter`` transaction) in the transaction that does it: an action
that fails leaves no row, one that succeeds always has one. Who and from where come from the
running task's ``Actor`` (``registry._actor``), which each frontend sets once where it learns who
is calling. The log is append-only: nothing here updates or deletes a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from ._actor import current_actor
from ._errors import InvalidInput
from .storage.audit import AuditLog
from .storage.database import Database
from .storage.models import AuditRow

__all__ = [
    "AuditEntry",
    "AuditPage",
    "AuditService",
    "audit",
    "audit_many",
    "parse_moment",
]

MAX_AUDIT_PAGE = 1000
MAX_ENTRY_ID = 2**63 - 1  # a signed 64-bit integer, on both backends
# Summary keys whose values are never stored, whatever a caller passes.
_SECRET_WORDS = ("password", "secret", "token", "private", "cipher", "verifier")
_MASK = "***"


def _scrub(summary: Mapping[str, Any] | None) -> str:
    if not summary:
        return "{}"
    kept = {
        key: _MASK if any(word in key.lower() for word in _SECRET_WORDS) else value
        for key, value in summary.items()
    }
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS, default=str).decode()


def _row(action: str, target: str, summary: Mapping[str, Any] | None, at: datetime) -> dict:
    actor = current_actor()
    return {
        "at": at,
        "actor": actor.name[:300],
        "role": actor.role,
        "via": actor.via,
        "client": actor.client[:200] if actor.client else None,
        "request_id": actor.request_id,
        "action": action,
        "target": target[:300],
        "summary": _scrub(summary),
    }


async def audit(
    session: AsyncSession,
    action: str,
    target: str,
    summary: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Record ``action`` on ``target`` in ``session``'s transaction, as the current actor.

    ``summary`` says what changed, compactly; a key naming a password, secret, token or private
    key has its value masked.
    """
    await AuditLog(session).append([_row(action, target, summary, at or datetime.now(UTC))])


async def audit_many(
    session: AsyncSession,
    action: str,
    targets: list[str],
    summary: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """``audit`` for each of ``targets`` (a batch), in one statement."""
    if not targets:
        return
    first = _row(action, targets[0], summary, at or datetime.now(UTC))
    # The same actor, moment and summary for each: only the target differs.
    await AuditLog(session).append([{**first, "target": target[:300]} for target in targets])


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date or time (``2026-12-04``, ``2026-12-04T12:00:00Z``); UTC when no zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"{text!r} is not an ISO 8601 time such as 2026-12-04T12:00:00Z or 2026-12-04"
        ) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit log, as the API and the CLI show it."""

    id: int
    at: datetime
    actor: str
    role: str
    via: str
    client: str | None
    request_id: str | None
    action: str
    target: str
    summary: dict[str, Any]

    @classmethod
    def of(cls, row: AuditRow) -> AuditEntry:
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)  # SQLite keeps no zone
        return cls(
            row.id,
            at.astimezone(UTC),
            row.actor,
            row.role,
            row.via,
            row.client,
            row.request_id,
            row.action,
            row.target,
            orjson.loads(row.summary),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "actor": self.actor,
            "role": self.role,
            "via": self.via,
            "client": self.client,
            "request_id": self.request_id,
            "action": self.action,
            "target": self.target,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Entries newest first; ``next`` is the ``before`` of the following page (None: the last)."""

    entries: list[AuditEntry]
    next: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"entries": [e.as_dict() for e in self.entries], "next": self.next}


class AuditService:
    """Reads the audit log (the actions write it themselves, with ``audit``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> AuditPage:
        """Entries newest first, filtered (``target``: the target starts with it), at most
        ``limit`` (1 to 1000) with an id below ``before``."""
        if not 1 <= limit <= MAX_AUDIT_PAGE:
            raise InvalidInput(f"limit must be from 1 to {MAX_AUDIT_PAGE}, got {limit}")
        if before is not None and not 1 <= before <= MAX_ENTRY_ID:
            raise InvalidInput(f"before must be an entry id (1 to {MAX_ENTRY_ID}), got {before}")
        for name, value in (("actor", actor), ("action", action), ("target", target)):
            if value and "\x00" in value:
                raise InvalidInput(f"{name} must not contain the NUL character")
        if since is not None and until is not None and since >= until:
            raise InvalidInput("since must be earlier than until")
        async with self.db.read() as session:
            rows = await AuditLog(session).find(
                since=since,
                until=until,
                actor=actor or None,
                action=action or None,
                target=target or None,
                before=before,
                limit=limit + 1,
            )
        entries = [AuditEntry.of(row) for row in rows[:limit]]
        return AuditPage(entries, entries[-1].id if len(rows) > limit else None)
