"""Request and response models of the node administration API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AuditEntryOut",
    "AuditPageOut",
    "CredentialCreate",
    "CredentialOut",
    "EnterpriseCreate",
    "EnterpriseCreated",
    "EnterpriseOut",
    "KeyCreate",
    "KeyOut",
    "PrefixCreate",
    "QuotaOut",
    "QuotaUpdate",
]


class EnterpriseCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    prefix: str | None = Field(None, description="e.g. 88.118.8; the next free one when omitted")


class PrefixCreate(BaseModel):
    prefix: str | None = None


class CredentialCreate(BaseModel):
    prefix: str


class KeyCreate(BaseModel):
    prefix: str = Field(description="the enterprise prefix, e.g. 88.118.8")
    public_key: str = Field(
        alias="publicKey",
        max_length=16_384,
        description="an RSA, DSA or SM2 public key in PEM (SubjectPublicKeyInfo)",
    )


class KeyOut(BaseModel):
    username: str = Field(description="the identity the key proves, e.g. 301:88.118.8/ADMIN")
    prefix: str


class CredentialOut(BaseModel):
    username: str
    password: str
    prefix: str


class EnterpriseOut(BaseModel):
    id: int
    name: str
    prefixes: list[str]
    credentials: list[str]


class EnterpriseCreated(BaseModel):
    enterprise: EnterpriseOut
    credential: CredentialOut


class AuditEntryOut(BaseModel):
    id: int
    at: str = Field(description="when, ISO 8601 UTC")
    actor: str = Field(description="admin, an enterprise credential, operator:<login>, node")
    role: str = Field(description="admin, enterprise, operator or node")
    via: str = Field(description="http, native, cli or node")
    client: str | None = Field(description="the client's address (the host, for the CLI)")
    request_id: str | None = Field(description="the HTTP request's X-Request-ID")
    action: str = Field(description="e.g. enterprise.create, credential.revoke, handle.delete")
    target: str = Field(description="what it acted on: a prefix, a handle")
    summary: dict[str, Any] = Field(description="what changed, without secrets")


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next: int | None = Field(description="pass as before= for the next page; null on the last")


class QuotaUpdate(BaseModel):
    """Quotas to change; a field left out stays as it is, ``null`` removes the limit."""

    model_config = ConfigDict(extra="forbid")

    daily_resolutions: int | None = Field(None, ge=0, le=2**62, description="resolutions a UTC day")
    daily_registrations: int | None = Field(
        None, ge=0, le=2**62, description="new identifiers a UTC day"
    )
    identifiers: int | None = Field(None, ge=0, le=2**62, description="identifiers held at once")
    prefixes: int | None = Field(None, ge=0, le=2**31 - 1, description="prefixes held at once")


class QuotaOut(BaseModel):
    """An enterprise's quotas (``null``: no limit) and what it uses of each today."""

    enterprise: int
    quotas: dict[str, int | None]
    usage: dict[str, int]
