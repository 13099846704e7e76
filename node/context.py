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
    Prefix,
    RecordService,
    TemplateService,
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
        if key is not None and self.enterprises.cipher_key is None:
            self.enterprises.cipher_key = CipherKey(key.get_secret_value())

    @classmethod
    def build(cls, settings: Settings) -> NodeContext:
        db = Database(settings.database_url)
        records = RecordService(db)
        signer = build_signer(settings)
        records.set_sealer(signer)
        enterprises = EnterpriseService(db, records, Prefix.parse(settings.node_code))
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
