"""Request and response models of the node administration API."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "CredentialCreate",
    "CredentialOut",
    "EnterpriseCreate",
    "EnterpriseCreated",
    "EnterpriseOut",
    "KeyCreate",
    "KeyOut",
    "PrefixCreate",
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
