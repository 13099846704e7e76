"""Request and response models of the node administration API."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "CredentialCreate",
    "CredentialOut",
    "EnterpriseCreate",
    "EnterpriseCreated",
    "EnterpriseOut",
    "PrefixCreate",
]


class EnterpriseCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    prefix: str | None = Field(None, description="e.g. 88.118.8; the next free one when omitted")


class PrefixCreate(BaseModel):
    prefix: str | None = None


class CredentialCreate(BaseModel):
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
