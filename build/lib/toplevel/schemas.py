"""Request bodies of the top-level node's API."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["BatchIn", "ChangeIn", "DnsFrontendIn", "FaultsIn", "NodeRegistration", "StatsIn"]

MAX_BATCH = 10_000


class DnsFrontendIn(BaseModel):
    """A node's DNS frontend, published in its directory entries for other nodes' referrals."""

    model_config = ConfigDict(extra="forbid")

    zone: str = Field(min_length=1, max_length=255, description="the zone it is authoritative for")
    nameServer: str = Field(min_length=1, max_length=255, description="its name server's name")
    addresses: list[str] = Field(
        default_factory=list, max_length=8, description="IPv4/IPv6 addresses (glue)"
    )
    port: int = Field(53, ge=1, le=65535)

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        try:
            return [str(ip_address(text)) for text in value]
        except ValueError as exc:
            raise ValueError(f"addresses must be IP addresses: {exc}") from exc


class NodeRegistration(BaseModel):
    """A secondary node onboarding: its code, where it is served, its public key (a JWK)."""

    model_config = ConfigDict(extra="forbid")

    nodeCode: str = Field(min_length=1, max_length=255)
    baseUrl: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$", max_length=2000)
    publicKey: dict[str, Any]
    keyIndex: int = Field(300, ge=1, le=2**31 - 1, description="the key's HS_PUBKEY index")
    proof: str | None = Field(
        None,
        max_length=16_384,
        description="re-registration only: a JWS over this request signed by the node's current key",
    )
    dns: DnsFrontendIn | None = Field(None, description="the node's DNS frontend, if it has one")


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int = Field(ge=1)
    kind: str
    subject: str = Field(min_length=1, max_length=300)
    payload: dict[str, Any] = Field(default_factory=dict)


class BatchIn(BaseModel):
    """One sync batch: the node's next sequence number and its changes in order."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1)
    changes: list[ChangeIn] = Field(max_length=MAX_BATCH)


class StatsIn(BaseModel):
    """A periodic statistics report; unknown figures are kept as sent."""

    model_config = ConfigDict(extra="allow")

    registrations: int | None = Field(None, ge=0)
    resolutions: int | None = Field(None, ge=0)
    cacheHitRatio: float | None = Field(None, ge=0, le=1)


class FaultsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latencyMs: int | None = Field(None, ge=0, le=60_000)
    errorRate: float | None = Field(None, ge=0, le=1)
    lostAnswerRate: float | None = Field(None, ge=0, le=1)
    refuseConnectionsSeconds: float | None = Field(None, gt=0, le=600)
