"""Per-enterprise quotas, as IDIS nodes enforce them, and their counting.

Four quotas (``QUOTA_KINDS``), each unlimited unless set:

- ``identifiers`` and ``prefixes``: counted in the database inside the write transaction that
  would go over, after its rows are in, under a lock on the enterprise's quota row, so
  concurrent writers of one enterprise cannot both slip under it and a refused batch writes
  nothing (the transaction rolls back);
- ``daily_registrations``: new identifiers per UTC day, a row per enterprise and day in
  ``quota_usage`` updated in the same transaction, so it is exact and survives restarts;
- ``daily_resolutions``: resolutions of the enterprise's identifiers per UTC day, counted in
  the ``limits`` storage (``RateCounters``), because a resolution writes nothing: per process in
  memory, node-wide with Redis.

Daily quotas reset at 00:00 UTC (``clock`` is injectable for tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta

from limits import RateLimitItemPerDay
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ._audit import audit
from ._errors import EntityNotFound, InvalidInput, QuotaExceeded
from ._ratelimit import ClientRate, RateCounters
from .storage.database import Database
from .storage.models import EnterpriseRow, PrefixRow, QuotaRow, QuotaUsageRow, RecordRow

__all__ = ["QUOTA_KINDS", "Quota", "QuotaService", "ResolutionLimits", "seconds_to_midnight"]

logger = logging.getLogger("idnode.quotas")

QUOTA_KINDS = ("daily_resolutions", "daily_registrations", "identifiers", "prefixes")
# The largest quota each column holds (BIGINT; prefixes an INTEGER).
QUOTA_MAX = {kind: 2**62 for kind in QUOTA_KINDS} | {"prefixes": 2**31 - 1}
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def seconds_to_midnight(now: datetime) -> int:
    """Seconds from ``now`` to the next 00:00 UTC, at least 1."""
    now = now.astimezone(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return max(1, int((midnight - now).total_seconds()))


@dataclass(frozen=True, slots=True)
class Quota:
    """An enterprise's quotas; None is no limit."""

    daily_resolutions: int | None = None
    daily_registrations: int | None = None
    identifiers: int | None = None
    prefixes: int | None = None

    def __post_init__(self) -> None:
        for name in QUOTA_KINDS:
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise InvalidInput(f"quota {name} must be a whole number ≥ 0 or null")
            if value is not None and value > QUOTA_MAX[name]:
                raise InvalidInput(f"quota {name} is at most {QUOTA_MAX[name]}")

    def as_dict(self) -> dict[str, int | None]:
        return asdict(self)

    def merged(self, changes: Mapping[str, int | None]) -> Quota:
        """This quota with ``changes`` applied (keys from ``QUOTA_KINDS``)."""
        unknown = set(changes) - set(QUOTA_KINDS)
        if unknown:
            raise InvalidInput(f"unknown quota {sorted(unknown)[0]!r}; known: {QUOTA_KINDS}")
        return Quota(**{**self.as_dict(), **changes})


def _row_quota(row: QuotaRow | None) -> Quota:
    if row is None:
        return Quota()
    return Quota(**{f.name: getattr(row, f.name) for f in fields(Quota)})


def _upsert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


class QuotaService:
    """Reads and sets quotas; the checks the record writer and the resolvers call."""

    def __init__(self, db: Database, counters: RateCounters, *, clock: Clock = _utc_now) -> None:
        self.db = db
        self.counters = counters
        self.clock = clock
        # prefix → (enterprise, daily resolutions): what ``check_resolution`` reads, no I/O.
        self._resolutions: dict[str, tuple[int, RateLimitItemPerDay]] = {}
        self._refresher: asyncio.Task[None] | None = None

    def day(self) -> str:
        return self.clock().astimezone(UTC).date().isoformat()

    async def get(self, enterprise_id: int) -> Quota:
        async with self.db.read() as session:
            if await session.get(EnterpriseRow, enterprise_id) is None:
                raise EntityNotFound(f"enterprise {enterprise_id} does not exist")
            return _row_quota(await session.get(QuotaRow, enterprise_id))

    async def set(self, enterprise_id: int, changes: Mapping[str, int | None]) -> Quota:
        """Apply ``changes`` to an enterprise's quotas; the quotas now in force."""
        async with self.db.write() as session:
            if await session.get(EnterpriseRow, enterprise_id) is None:
                raise EntityNotFound(f"enterprise {enterprise_id} does not exist")
            row = await session.get(QuotaRow, enterprise_id, with_for_update=True)
            quota = _row_quota(row).merged(changes)
            if row is None:
                row = QuotaRow(enterprise_id=enterprise_id)
                session.add(row)
            for name, value in quota.as_dict().items():
                setattr(row, name, value)
            await audit(session, "quota.set", await _audit_target(session, enterprise_id), changes)
        await self.load()
        return quota

    async def usage(self, enterprise_id: int) -> dict[str, int]:
        """What an enterprise uses of each quota now (resolutions: as this process counts)."""
        async with self.db.read() as session:
            if await session.get(EnterpriseRow, enterprise_id) is None:
                raise EntityNotFound(f"enterprise {enterprise_id} does not exist")
            usage = await session.get(QuotaUsageRow, (enterprise_id, self.day()))
            return {
                "daily_resolutions": self._resolved_today(enterprise_id),
                "daily_registrations": usage.registrations if usage is not None else 0,
                "identifiers": await _count_identifiers(session, enterprise_id),
                "prefixes": await _count_prefixes(session, enterprise_id),
            }

    async def load(self) -> None:
        """Read which prefixes have a daily resolution quota (at start and after a change)."""
        query = (
            select(PrefixRow.prefix, QuotaRow.enterprise_id, QuotaRow.daily_resolutions)
            .join(QuotaRow, QuotaRow.enterprise_id == PrefixRow.enterprise_id)
            .where(QuotaRow.daily_resolutions.is_not(None))
        )
        async with self.db.read() as session:
            rows = (await session.execute(query)).all()
        self._resolutions = {
            prefix: (enterprise, RateLimitItemPerDay(limit)) for prefix, enterprise, limit in rows
        }

    async def start(self, every: float = 30.0) -> None:
        """Load the resolution quotas, then reload them every ``every`` seconds in the
        background: a quota set through another worker or instance holds here within that."""
        if self._refresher is not None:
            return
        try:
            await self.load()
        except Exception:  # an unmigrated database: the first reload finds the table
            logger.warning("quotas: could not read the quotas table yet", exc_info=True)

        async def refresh() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.load()
                except Exception:
                    logger.warning("quotas: reloading the quotas failed", exc_info=True)

        self._refresher = asyncio.create_task(refresh(), name="idnode-quotas")

    async def stop(self) -> None:
        """Stop the background reload."""
        task, self._refresher = self._refresher, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def resolutions_limited(self) -> bool:
        """Whether any enterprise has a daily resolution quota (else the check is skipped)."""
        return bool(self._resolutions)

    def _resolved_today(self, enterprise_id: int) -> int:
        for enterprise, item in self._resolutions.values():
            if enterprise == enterprise_id:
                left = self.counters.remaining(
                    item, "quota-resolve", str(enterprise_id), self.day()
                )
                return item.amount - left
        return 0

    def check_resolution(self, handle: str) -> None:
        """Count one resolution of ``handle``; ``QuotaExceeded`` over its enterprise's quota."""
        prefix = handle.split("/", 1)[0].upper()
        entry = self._resolutions.get(prefix)
        if entry is None:
            return
        enterprise, item = entry
        if self.counters.hit(item, "quota-resolve", str(enterprise), self.day()) is not None:
            self._refuse(
                "daily_resolutions",
                f"enterprise {enterprise} is over its quota of {item.amount} resolutions a day",
                handle,
            )

    async def check_new_records(self, session: AsyncSession, added: Mapping[str, int]) -> None:
        """After ``added[prefix]`` new records went in: refuse what puts an enterprise over.

        Called by the record writer inside its transaction; raising rolls the whole write back.
        """
        query = (
            select(QuotaRow)
            .join(PrefixRow, PrefixRow.enterprise_id == QuotaRow.enterprise_id)
            .where(PrefixRow.prefix.in_(list(added)))
            .with_for_update(of=QuotaRow)
        )
        quotas = {row.enterprise_id: row for row in (await session.scalars(query)).unique()}
        if not quotas:
            return
        owners = dict(
            (
                await session.execute(
                    select(PrefixRow.prefix, PrefixRow.enterprise_id).where(
                        PrefixRow.prefix.in_(list(added))
                    )
                )
            ).all()
        )
        per_enterprise: Counter[int] = Counter()
        for prefix, count in added.items():
            if owners.get(prefix) in quotas:
                per_enterprise[owners[prefix]] += count
        for enterprise, count in per_enterprise.items():
            quota = quotas[enterprise]
            if quota.identifiers is not None:
                total = await _count_identifiers(session, enterprise)
                if total > quota.identifiers:
                    self._refuse(
                        "identifiers",
                        f"enterprise {enterprise} is over its quota of {quota.identifiers}"
                        f" identifiers ({total - count} registered, {count} more asked)",
                    )
            if quota.daily_registrations is not None:
                today = await self._count_registration(session, enterprise, count)
                if today > quota.daily_registrations:
                    self._refuse(
                        "daily_registrations",
                        f"enterprise {enterprise} is over its quota of"
                        f" {quota.daily_registrations} registrations a day"
                        f" ({today - count} today, {count} more asked)",
                    )

    async def check_new_prefix(self, session: AsyncSession, enterprise_id: int) -> None:
        """Before giving ``enterprise_id`` one more prefix: refuse it over its quota."""
        quota = await session.get(QuotaRow, enterprise_id, with_for_update=True)
        if quota is None or quota.prefixes is None:
            return
        held = await _count_prefixes(session, enterprise_id)
        if held >= quota.prefixes:
            self._refuse(
                "prefixes",
                f"enterprise {enterprise_id} holds {held} prefixes, its quota is {quota.prefixes}",
            )

    async def _count_registration(self, session: AsyncSession, enterprise: int, n: int) -> int:
        table = QuotaUsageRow.__table__
        statement = _upsert(session)(table).values(
            enterprise_id=enterprise, day=self.day(), registrations=n
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.enterprise_id, table.c.day],
            set_={"registrations": table.c.registrations + n},
        ).returning(table.c.registrations)
        return int((await session.execute(statement)).scalar_one())

    def _refuse(self, kind: str, message: str, handle: str | None = None) -> None:
        self.counters.rejected[kind] += 1
        daily = kind.startswith("daily_")
        raise QuotaExceeded(
            message + (", until 00:00 UTC" if daily else ""),
            kind=kind,
            retry_after=seconds_to_midnight(self.clock()) if daily else None,
            handle=handle,
        )


class ResolutionLimits:
    """What every frontend checks before answering an anonymous resolution: the client's rate,
    then the daily resolution quota of the handle's enterprise."""

    def __init__(self, rate: ClientRate, quotas: QuotaService) -> None:
        self.rate = rate
        self.quotas = quotas

    @property
    def active(self) -> bool:
        """False while nothing limits resolutions: frontends then skip ``check`` entirely."""
        return self.rate.active or self.quotas.resolutions_limited

    def check(self, client: str, handle: str) -> None:
        """Count one resolution of ``handle`` by ``client``; ``RateLimited`` when refused."""
        self.rate.check(client)
        self.quotas.check_resolution(handle)


async def _count_identifiers(session: AsyncSession, enterprise_id: int) -> int:
    owned = select(PrefixRow.prefix).where(PrefixRow.enterprise_id == enterprise_id)
    query = select(func.count()).select_from(RecordRow).where(RecordRow.prefix.in_(owned))
    return int((await session.execute(query)).scalar_one())


async def _count_prefixes(session: AsyncSession, enterprise_id: int) -> int:
    query = select(func.count()).where(PrefixRow.enterprise_id == enterprise_id)
    return int((await session.execute(query)).scalar_one())


async def _audit_target(session: AsyncSession, enterprise_id: int) -> str:
    """The enterprise's first prefix (what its other audit entries name), else its id."""
    first = await session.scalar(
        select(PrefixRow.prefix)
        .where(PrefixRow.enterprise_id == enterprise_id)
        .order_by(PrefixRow.created_at, PrefixRow.prefix)
        .limit(1)
    )
    return first if first is not None else f"enterprise:{enterprise_id}"
