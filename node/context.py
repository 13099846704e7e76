"""The services one running node holds, built in the lifespan and reached from requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from registry import (
    BatchService,
    CipherKey,
    Database,
    EnterpriseService,
    KeyWatchingSigner,
    LoginLimits,
    LoginThrottle,
    Prefix,
    RecordService,
    TemplateService,
    ensure_credential_key,
)
from resolver import CacheConfig, Resolver, build_resolver

from .keys import build_signer
from .settings import Settings

__all__ = ["NodeContext", "get_context"]


@dataclass
class NodeContext:
    settings: Settings
    db: Database
    records: RecordService
    enterprises: EnterpriseService
    resolver: Resolver
    signer: KeyWatchingSigner | None = None
    templates: TemplateService = field(init=False)
    batches: BatchService = field(init=False)

    def __post_init__(self) -> None:
        self.templates = TemplateService(self.db)
        self.batches = BatchService(self.db, self.records, self.templates)
        key = self.settings.credential_key
        if self.enterprises.cipher_key is None:
            # Unset, the node keeps a key of its own beside its signing keys, so credentials are
            # always issued with the verifier the SNMS cipher login needs.
            self.enterprises.cipher_key = (
                CipherKey(key.get_secret_value())
                if key is not None
                else ensure_credential_key(self.settings.keys_dir)
            )

    @classmethod
    def build(cls, settings: Settings) -> NodeContext:
        db = Database(
            settings.database_url,
            connect_timeout=settings.database_connect_timeout,
            statement_timeout=settings.database_statement_timeout,
        )
        records = RecordService(db)
        signer = build_signer(settings)
        records.writer.set_sealer(signer)
        throttle = LoginThrottle(
            LoginLimits(
                per_identity_client=settings.login_failures_per_identity_client,
                per_identity=settings.login_failures_per_identity,
                per_client=settings.login_failures_per_client,
            )
        )
        enterprises = EnterpriseService(
            db, records, Prefix.parse(settings.node_code), throttle=throttle
        )
        resolver = build_resolver(
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
        return cls(settings, db, records, enterprises, resolver, signer)

    async def close(self) -> None:
        await self.resolver.close()
        if self.signer is not None:
            self.signer.close()
        await self.db.dispose()


async def get_context(request: Request) -> NodeContext:
    """The running node's services (a FastAPI dependency)."""
    return request.app.state.node
