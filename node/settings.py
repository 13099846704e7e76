"""Settings, from the environment (``IDNODE_*``) through pydantic-settings."""

from __future__ import annotations

import io
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from registry import InvalidInput, parse_limit

__all__ = ["CONFIG_ENV", "DATABASE_SCHEMES", "Settings", "config_file_values", "get_settings"]

# The config file: TOML (``name = value``, the settings' names in lower case) when it ends in
# .toml, else a .env file (``IDNODE_NAME=value`` lines). The environment overrides it.
CONFIG_ENV = "IDNODE_CONFIG"

# The drivers idnode ships with: asyncio ones, for SQLite and PostgreSQL.
DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")


class Settings(BaseSettings):
    """Everything an operator can set; each field is ``IDNODE_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="IDNODE_", extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///./var/idnode.db",
        description="sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )
    database_connect_timeout: float = Field(
        5, gt=0, description="longest wait for a new PostgreSQL connection (s)"
    )
    database_statement_timeout: float = Field(
        15,
        gt=0,
        description="longest wait for a PostgreSQL statement, or for a free pooled connection;"
        " a hung database answers 503 after it (s)",
    )
    node_code: str = Field("88.118", description="this secondary node's code")
    admin_token: SecretStr | None = Field(
        None, description="bearer token of the node administrator"
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="the base URL clients reach us at, published as the node's site at the"
        " top-level node",
    )
    allow_loopback_public_url: bool = Field(
        False,
        description="let serve bind a non-loopback host while the public URL is a loopback one"
        " (other machines would be sent to themselves)",
    )
    proxy_headers: bool = Field(
        False,
        description="behind a reverse proxy: take the client's address and scheme from its"
        " X-Forwarded-For and X-Forwarded-Proto (only from IDNODE_FORWARDED_ALLOW_IPS)",
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1",
        description="proxies whose X-Forwarded-* headers are trusted: comma-separated addresses"
        " or networks (10.0.0.0/8), or '*' for any",
    )
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="largest accepted request body")
    keep_alive_seconds: int = Field(
        75,
        ge=1,
        description="how long an idle client connection stays open; longer than the idle expiry"
        " of client pools and load balancers (httpx 5 s, AWS ALB 60 s), so the client closes"
        " first and never sends a request into a connection the node is closing",
    )
    http_max_header_bytes: int = Field(
        32 * 1024,
        ge=1024,
        description="largest request line and headers together; more is 431 (nginx: 4 x 8k)",
    )
    http_max_headers: int = Field(100, ge=1, description="most request headers; more is 431")
    http_header_timeout: float = Field(
        20, gt=0, description="time to send the request line and headers; then 408 (s)"
    )
    http_body_timeout: float = Field(
        30, gt=0, description="longest pause while sending a request body; then 408 (s)"
    )
    http_max_connections: int = Field(
        1000,
        ge=1,
        description="most open client connections (kept under the open-file limit); past it"
        " the longest-idle connection is closed",
    )
    token_lifetime_seconds: int = Field(24 * 3600, ge=60, description="lifetime of bearer tokens")
    credential_key: SecretStr | None = Field(
        None,
        description="node secret sealing SNMS cipher-login verifiers; unset: credential.key in"
        " the keys directory, made on first start",
    )
    login_failures_per_identity_client: str = Field(
        "10/minute", description="failed logins one client may make for one identity"
    )
    login_failures_per_identity: str = Field(
        "100/minute", description="failed logins for one identity, from any client"
    )
    login_failures_per_client: str = Field(
        "100/minute", description="failed logins from one client, for any identity"
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="where rate limits and daily resolution quotas count: memory:// (per"
        " process: each worker counts apart) or redis://host:6379 (shared by every worker)",
    )
    rate_limit_resolve: str | None = Field(
        None,
        description="anonymous resolutions one client may make, e.g. '1000/second';"
        " unset: no limit",
    )
    console_session_minutes: int = Field(
        480,
        ge=1,
        le=7 * 24 * 60,
        description="how long a console login lasts (the session cookie and its server-side"
        " token expire together) (min)",
    )
    console_secure_cookies: bool = Field(
        False,
        description="mark console cookies Secure even on plain-HTTP requests (behind a TLS"
        " proxy); requests that arrive over https get Secure cookies regardless",
    )
    max_batch_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="largest accepted SNMS batch request body"
    )
    keys_dir: str = Field("./var/keys", description="directory of the node's signing keys (PEM)")
    imports_dir: str = Field(
        "./var/imports",
        description="directory of import jobs' status files, shared by the node's workers",
    )
    key_passphrase: SecretStr | None = Field(
        None, description="passphrase that encrypts the private keys (PKCS#8)"
    )
    sign_records: bool = Field(True, description="sign every write when the node has a key")
    crypto_profile: Literal["standard", "gm"] = Field(
        "standard",
        description="'gm' for China's commercial cryptography: new keys SM2 (signing SM3"
        " digests), secrets at rest sealed with SM4-GCM; 'standard': ES256, SHA-256, AES-GCM",
    )
    signature_lifetime_seconds: int = Field(
        365 * 86400, ge=60, description="validity of the HS_SIGNATURE values the node makes"
    )
    sealing_processes: int = Field(
        1,
        ge=0,
        le=64,
        description="processes beside the node's own that sign batches (0: sign in the node's)",
    )
    key_recheck_seconds: float = Field(
        1.0, ge=0, description="how often a running node looks for a rotated key"
    )
    trust_root_file: str | None = Field(
        None,
        description="the root certificate (JWS) that idnode verify and the record page's"
        " signature mark trust (the page falls back to the top-level node's /root)",
    )
    trust_max_chain: int = Field(4, ge=1, description="most certificates a verified chain may hold")
    toplevel_url: str | None = Field(
        None,
        description="base URL of the top-level node: sync ships to it (off when unset) and"
        " recursive resolution reads its prefix directory",
    )
    toplevel_bootstrap_token: SecretStr | None = Field(
        None, description="credential for onboarding at the top-level node (and its own setting)"
    )
    toplevel_operator_token: SecretStr | None = Field(
        None,
        description="the simulated top-level node's operator token: its read API and fault"
        " switches (idnode toplevel)",
    )
    toplevel_root_dir: str = Field(
        "./var/root", description="the top-level node's root CA key directory (idnode toplevel)"
    )
    sync_batch_size: int = Field(500, ge=1, le=10_000, description="outbox rows per sync batch")
    sync_idle_seconds: float = Field(1.0, gt=0, description="outbox poll interval when idle")
    sync_backoff_max_seconds: float = Field(30.0, gt=0, description="longest retry delay")
    ready_max_sync_lag_seconds: float = Field(
        600,
        ge=0,
        description="/readyz answers 503 while sync is on and the oldest unshipped outbox row is"
        " older than this (s; 0: sync not checked)",
    )
    stats_interval_seconds: float = Field(60.0, gt=0, description="statistics report interval")
    sync_flush_seconds: float = Field(
        5.0, ge=0, description="on shutdown, how long to keep shipping what is left"
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="log lines as text, or 'json': one JSON object per line"
    )
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field(
        "info", description="least severe level logged (idnode serve --log-level overrides it)"
    )
    access_log: bool = Field(True, description="one log line per HTTP request (uvicorn's)")
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
    upstream_max_bytes: int = Field(
        1024 * 1024, ge=1024, description="largest answer read from another node; more is a 503"
    )
    upstream_deadline: float = Field(
        10, gt=0, description="longest a recursive resolution may take in all (s); then a 503"
    )
    handle_port: int = Field(
        2641, ge=0, le=65535, description="TCP and UDP port of the native Handle protocol (0: off)"
    )
    handle_host: str = Field("127.0.0.1", description="address the native Handle protocol binds")
    handle_site_address: str | None = Field(
        None,
        description="IP address the node's HS_SITE advertises (default: the bound address,"
        " or 127.0.0.1 when that is 0.0.0.0 or ::)",
    )
    handle_max_connections: int = Field(
        1000,
        ge=1,
        description="most open native-protocol TCP connections; past it the longest idle is closed",
    )
    handle_idle_seconds: float = Field(
        60,
        gt=0,
        description="a native-protocol TCP connection that completes no request this long is closed (s)",
    )
    handle_max_message_bytes: int = Field(
        262_144, ge=1024, le=262_144, description="largest native-protocol message accepted"
    )
    handle_reuse_port: bool = Field(
        False, description="bind the native port with SO_REUSEPORT (set by serve --workers > 1)"
    )
    dns_port: int = Field(
        0, ge=0, le=65535, description="UDP and TCP port of the DNS frontend (0: no DNS frontend)"
    )
    dns_host: str = Field("127.0.0.1", description="address the DNS frontend listens on")
    dns_zone: str = Field(
        "idis.internal.",
        description="zone the DNS frontend is authoritative for; identifiers are named below it",
    )
    dns_advertise: str | None = Field(
        None,
        description="name server and addresses other nodes' DNS frontends refer to, as"
        " 'NAME [ADDRESS ...]' (default: ns.<node code reversed>.<zone> at the bound DNS address)",
    )
    dns_responses_per_second: int = Field(
        2000, ge=0, description="UDP responses per second per client /24 or /56 (0: no limit)"
    )
    gc_threshold: int = Field(
        50_000, ge=0, description="allocations between young-generation GC runs (0: Python's 700)"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the config file (``IDNODE_CONFIG``)."""
        path = _config_path()
        if path is None:
            return init_settings, env_settings
        config_file_values()  # a missing file or an unknown name is refused, not ignored
        if path.suffix == ".toml":
            return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, path)
        return init_settings, env_settings, DotEnvSettingsSource(settings_cls, env_file=path)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"unsupported database URL scheme {scheme or value.split(':', 1)[0]!r}"
                f" (use {' or '.join(DATABASE_SCHEMES)})"
            )
        return value

    @field_validator(
        "login_failures_per_identity_client",
        "login_failures_per_identity",
        "login_failures_per_client",
        "rate_limit_resolve",
    )
    @classmethod
    def _rate_limit(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            parse_limit(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from exc
        return value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def _config_path() -> Path | None:
    value = os.environ.get(CONFIG_ENV)
    return Path(value) if value else None


def config_file_values() -> dict[str, Any]:
    """The settings the config file sets, by field name (empty without a config file).

    Raises ``InvalidInput`` for a file that cannot be read or parsed, or a name that is no setting.
    """
    path = _config_path()
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            written: dict[str, Any] = tomllib.loads(text)
        else:
            written = dotenv_values(stream=io.StringIO(text))
    except OSError as exc:
        raise InvalidInput(f"cannot read the config file {path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the config file {path} cannot be parsed: {exc}") from exc
    unknown = [name for name in written if _field_of(name, path) not in Settings.model_fields]
    if unknown:
        raise InvalidInput(f"the config file {path} sets unknown settings: {', '.join(unknown)}")
    return {_field_of(name, path): value for name, value in written.items()}


def _field_of(name: str, path: Path) -> str:
    """The field a name in the config file sets: itself in TOML, less ``IDNODE_`` in .env."""
    if path.suffix == ".toml":
        return name
    return name[len("IDNODE_") :].lower() if name.upper().startswith("IDNODE_") else ""


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
