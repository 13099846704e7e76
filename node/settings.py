"""Settings, from the environment (``IDNODE_*``) through pydantic-settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Everything an operator can set; each field is ``IDNODE_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="IDNODE_", extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///./var/idnode.db",
        description="sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )
    node_code: str = Field("88.118", description="this secondary node's code")
    admin_token: SecretStr | None = Field(
        None, description="bearer token of the node administrator"
    )
    public_url: str = Field("http://127.0.0.1:8000", description="the base URL clients reach us at")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="largest accepted request body")
    token_lifetime_seconds: int = Field(24 * 3600, ge=60, description="lifetime of bearer tokens")
    toplevel_url: str | None = Field(
        None,
        description="the top-level node, for recursive resolution through its prefix directory",
    )
    cache_max_entries: int = Field(1_000_000, ge=1, description="most answers the cache holds")
    cache_max_bytes: int = Field(
        800 * 1024 * 1024, ge=1024, description="most bytes the cached answers may take"
    )
    cache_max_ttl: float = Field(86400, ge=0, description="cap on a cached answer's lifetime (s)")
    cache_negative_ttl: float = Field(5, ge=0, description="how long a not-found is remembered (s)")
    cache_stale_seconds: float = Field(
        3600, ge=0, description="oldest cached answer served while storage is unreachable (s)"
    )
    upstream_timeout: float = Field(
        5, gt=0, description="timeout of requests to the top-level and other nodes (s)"
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
