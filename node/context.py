"""The services one running node holds: opened together, closed in reverse, reached from requests."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from starlette.requests import Request

from registry import (
    AuditService,
    BatchService,
    ClientRate,
    EnterpriseService,
    ImportService,
    LoginLimits,
    LoginThrottle,
    Prefix,
    QuotaService,
    RateCounters,
    RecordCatalog,
    RecordService,
    ResolutionLimits,
    TemplateService,
    open_storage,
)
from registry.storage import Database
from registry.trust import CipherKey, KeyWatchingSigner, ensure_credential_key
from resolver import CacheConfig, Resolver, build_resolver

from .keys import build_signer
from .settings import Settings

__all__ = ["NodeContext", "RunningSync", "SyncOpener", "get_context"]


class RunningSync(Protocol):
    """What the node asks of its running sync (``node.sync.SyncWorker``): its figures."""

    async def status(self) -> dict[str, Any]: ...


# Opens sync for an opened context, yielding its worker (None when the settings ask for none).
# Passed in rather than imported: sync is built on the context, not the other way round.
SyncOpener = Callable[["NodeContext"], AbstractAsyncContextManager[RunningSync | None]]


class NodeContext:
    """A node's database, signer, resolver and sync, as one async context manager.

    ``async with NodeContext(settings) as context:`` opens them in that order; leaving closes
    whatever was opened in reverse order, also when opening failed halfway. ``listen`` starts the
    resolver's cross-process invalidation listener; ``sync`` opens the outbox shipper last.
    """

    db: Database
    signer: KeyWatchingSigner | None
    records: RecordService
    enterprises: EnterpriseService
    templates: TemplateService
    batches: BatchService
    audit: AuditService
    imports: ImportService
    catalog: RecordCatalog
    resolver: Resolver
    limits: RateCounters
    quotas: QuotaService
    resolution_limits: ResolutionLimits

    def __init__(
        self, settings: Settings, *, listen: bool = False, sync: SyncOpener | None = None
    ) -> None:
        self.settings = settings
        self.sync: RunningSync | None = None
        self._listen = listen
        self._open_sync = sync
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> NodeContext:
        settings = self.settings
        async with AsyncExitStack() as stack:
            self.db = _database(settings)
            stack.push_async_callback(self.db.dispose)
            self.signer = build_signer(settings)
            if self.signer is not None:
                stack.callback(self.signer.close)
            self.records = RecordService(self.db)
            self.records.writer.set_sealer(self.signer)
            self.limits = RateCounters(open_storage(settings.rate_limit_storage))
            self.quotas = QuotaService(self.db, self.limits)
            self.records.writer.quota_check = self.quotas.check_new_records
            self.resolution_limits = ResolutionLimits(
                ClientRate("resolve", settings.rate_limit_resolve, self.limits), self.quotas
            )
            self.enterprises = _enterprises(settings, self.db, self.records, self.limits)
            self.enterprises.quotas = self.quotas
            stack.callback(self.enterprises.verified.close)
            self.templates = TemplateService(self.db)
            self.batches = BatchService(self.db, self.records, self.templates)
            self.audit = AuditService(self.db)
            self.imports = ImportService(
                self.db, self.batches, self.templates, Path(settings.imports_dir)
            )
            stack.push_async_callback(self.imports.close)
            self.catalog = RecordCatalog(self.db)
            self.resolver = _resolver(settings, self.records)
            # Credential and prefix changes, here or (over NOTIFY) elsewhere, forget proven ones.
            self.resolver.on_invalidate(self.enterprises.verified.changed)
            # Registered before it starts: a listener that fails to start is still closed.
            stack.push_async_callback(self.resolver.close)
            if self._listen:
                await self.resolver.start()
                await self.quotas.start()
                stack.push_async_callback(self.quotas.stop)
            if self._open_sync is not None:
                self.sync = await stack.enter_async_context(self._open_sync(self))
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._stack.aclose()


def _database(settings: Settings) -> Database:
    return Database(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout,
        statement_timeout=settings.database_statement_timeout,
    )


def _enterprises(
    settings: Settings, db: Database, records: RecordService, limits: RateCounters
) -> EnterpriseService:
    throttle = LoginThrottle(
        LoginLimits(
            per_identity_client=settings.login_failures_per_identity_client,
            per_identity=settings.login_failures_per_identity,
            per_client=settings.login_failures_per_client,
        ),
        limits.storage,
        limits.rejected,
    )
    enterprises = EnterpriseService(
        db, records, Prefix.parse(settings.node_code), throttle=throttle
    )
    if enterprises.cipher_key is None:
        key = settings.credential_key
        # Unset, the node keeps a key of its own beside its signing keys, so credentials are
        # always issued with the verifier the SNMS cipher login needs.
        sealing = "SM4" if settings.crypto_profile == "gm" else "AES"
        enterprises.cipher_key = (
            CipherKey(key.get_secret_value(), sealing)
            if key is not None
            else ensure_credential_key(settings.keys_dir, sealing)
        )
    return enterprises


def _resolver(settings: Settings, records: RecordService) -> Resolver:
    return build_resolver(
        records,
        database_url=settings.database_url,
        node_code=Prefix.parse(settings.node_code),
        toplevel_url=settings.toplevel_url,
        config=CacheConfig(
            max_entries=settings.cache_max_entries,
            max_bytes=settings.cache_max_bytes,
            max_ttl=settings.cache_max_ttl,
            negative_ttl=settings.cache_negative_ttl,
            stale_seconds=settings.cache_stale_seconds,
        ),
        upstream_timeout=settings.upstream_timeout,
        upstream_max_bytes=settings.upstream_max_bytes,
        upstream_deadline=settings.upstream_deadline,
    )


async def get_context(request: Request) -> NodeContext:
    """The running node's services (a FastAPI dependency)."""
    return request.app.state.node
