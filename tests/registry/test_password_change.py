"""An enterprise changes its own password: every login form takes the new one at once, the old
one and the credential's tokens stop working (both backends)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from registry import (
    ADMIN,
    EnterpriseService,
    Handle,
    InvalidInput,
    Prefix,
    RecordService,
    TooManyAttempts,
    Unauthenticated,
)
from registry.storage import Database
from registry.trust import CipherKey
from registry.trust.cipher import cipher_days

USERNAME = "300:88.118.8/ADMIN"


def _cipher(password: str) -> str:
    inner = hashlib.sha256(password.encode()).hexdigest()
    return hashlib.sha256((inner + cipher_days()[0].isoformat()).encode()).hexdigest()


@pytest.fixture
async def service(db: Database) -> EnterpriseService:
    service = EnterpriseService(db, RecordService(db), Prefix.parse("88.118"), CipherKey("k"))
    await service.create("Acme", "88.118.8", password="old-password-1")
    return service


async def test_the_new_password_opens_every_login_and_the_old_none(
    service: EnterpriseService,
) -> None:
    principal = await service.authenticate(USERNAME, "old-password-1")
    token, _ = await service.issue_token(principal, timedelta(hours=1))
    await service.change_password(principal, "old-password-1", "new-password-2")
    assert (await service.authenticate(USERNAME, "new-password-2")).username == USERNAME
    assert (await service.authenticate_cipher(USERNAME, _cipher("new-password-2"))).prefixes
    native = await service.native_credential(300, Handle.parse("88.118.8/ADMIN"))
    assert native is not None and native.secret == "new-password-2"
    with pytest.raises(Unauthenticated):
        await service.authenticate(USERNAME, "old-password-1")
    with pytest.raises(Unauthenticated):
        await service.authenticate_cipher(USERNAME, _cipher("old-password-1"))
    with pytest.raises(Unauthenticated):
        await service.principal_for_token(token)


@pytest.mark.parametrize(
    ("current", "new", "problem"),
    [
        ("old-password-1", "short", InvalidInput),
        ("old-password-1", "x" * 201, InvalidInput),
        ("old-password-1", "new\npassword-2", InvalidInput),
        ("old-password-1", "old-password-1", InvalidInput),
        ("wrong-password", "new-password-2", Unauthenticated),
    ],
)
async def test_refused_changes_leave_the_password(
    service: EnterpriseService, current: str, new: str, problem: type[Exception]
) -> None:
    principal = await service.authenticate(USERNAME, "old-password-1")
    with pytest.raises(problem):
        await service.change_password(principal, current, new)
    assert (await service.authenticate(USERNAME, "old-password-1")).username == USERNAME


async def test_a_wrong_current_password_counts_as_a_failed_login(
    service: EnterpriseService,
) -> None:
    principal = await service.authenticate(USERNAME, "old-password-1")
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await service.change_password(principal, "guess", "new-password-2")
    with pytest.raises(TooManyAttempts):
        await service.change_password(principal, "old-password-1", "new-password-2")


async def test_the_operator_has_no_password_to_change(service: EnterpriseService) -> None:
    with pytest.raises(Unauthenticated):
        await service.change_password(ADMIN, "a", "new-password-2")
