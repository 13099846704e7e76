"""Verified credentials are remembered without scrypt or reads, never for a wrong secret, keyed
so a dump holds no secret, and forgotten at once by any change, here or in another process."""

from __future__ import annotations

import base64
import hashlib
import pickle
import time
from datetime import timedelta
from pathlib import Path

import pytest

from registry import (
    EnterpriseService,
    Prefix,
    Principal,
    RecordService,
    Role,
    TooManyAttempts,
    Unauthenticated,
    _enterprises,
)
from registry._credential_cache import VerifiedCredentials, stamp_file_for, touches_credentials
from registry._throttle import LoginLimits, LoginThrottle
from registry.storage import Database
from registry.storage.repository import Credentials

from ..databases import migrate

PASSWORD = "demo-password-1"
USER = "300:88.118.8/ADMIN"


def _service(db: Database, **options: object) -> EnterpriseService:
    return EnterpriseService(db, RecordService(db), Prefix.parse("88.118"), **options)  # type: ignore[arg-type]


@pytest.fixture
def scrypts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every scrypt verification the enterprise service runs, by the password tried."""
    calls: list[str] = []
    real = _enterprises.verify_secret

    def counting(password: str, stored: str) -> bool:
        calls.append(password)
        return real(password, stored)

    monkeypatch.setattr(_enterprises, "verify_secret", counting)
    return calls


async def test_a_proven_password_is_not_verified_again(db: Database, scrypts: list[str]) -> None:
    service = _service(db)
    await service.create("Acme", "88.118.8", password=PASSWORD)
    first = await service.authenticate(USER, PASSWORD, client="c")
    assert scrypts == [PASSWORD]
    for _ in range(5):
        assert await service.authenticate(USER, PASSWORD, client="c") == first
        assert service.remembered(USER, PASSWORD, client="c") == first
    assert scrypts == [PASSWORD]
    # Another spelling of the same identity is the same entry.
    assert await service.authenticate("300:88.118.8/ADMIN", PASSWORD) == first
    assert first.prefixes == frozenset({"88.118.8"})


async def test_a_wrong_password_is_never_served_from_the_cache(
    db: Database, scrypts: list[str]
) -> None:
    service = _service(db)
    await service.create("Acme", "88.118.8", password=PASSWORD)
    await service.authenticate(USER, PASSWORD)
    for wrong in (PASSWORD + "x", PASSWORD[:-1], "", PASSWORD.upper()):
        assert service.remembered(USER, wrong) is None
        with pytest.raises(Unauthenticated):
            await service.authenticate(USER, wrong)
    assert scrypts == [PASSWORD, PASSWORD + "x", PASSWORD[:-1], "", PASSWORD.upper()]
    # The right password for another identity is not this one's.
    assert service.remembered("301:88.118.8/ADMIN", PASSWORD) is None


async def test_failures_are_throttled_as_before_and_lock_out_even_a_remembered_password(
    db: Database,
) -> None:
    throttle = LoginThrottle(LoginLimits(per_identity_client="2/minute"))
    service = _service(db, throttle=throttle)
    await service.create("Acme", "88.118.8", password=PASSWORD)
    await service.authenticate(USER, PASSWORD, client="c")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await service.authenticate(USER, "wrong", client="c")
    with pytest.raises(TooManyAttempts):
        await service.authenticate(USER, PASSWORD, client="c")
    with pytest.raises(TooManyAttempts):
        service.remembered(USER, PASSWORD, client="c")
    # Another client is not locked out by these.
    assert service.remembered(USER, PASSWORD, client="d") is not None


async def test_revocation_and_a_new_prefix_take_effect_at_once(
    db: Database, scrypts: list[str]
) -> None:
    service = _service(db)
    info, _ = await service.create("Acme", "88.118.8", password=PASSWORD)
    await service.authenticate(USER, PASSWORD)
    await service.allocate_prefix(info.id, "88.118.9")
    widened = await service.authenticate(USER, PASSWORD)
    assert widened.prefixes == frozenset({"88.118.8", "88.118.9"})
    await service.revoke_credential(USER)
    assert service.remembered(USER, PASSWORD) is None
    with pytest.raises(Unauthenticated):
        await service.authenticate(USER, PASSWORD)
    assert len(scrypts) == 3


async def test_a_token_is_remembered_until_revoked(db: Database) -> None:
    service = _service(db)
    await service.create("Acme", "88.118.8", password=PASSWORD)
    principal = await service.authenticate(USER, PASSWORD)
    token, _ = await service.issue_token(principal, timedelta(hours=1))
    assert service.remembered_token(token) is None
    assert await service.principal_for_token(token) == principal
    assert service.remembered_token(token) == principal
    await service.revoke_credential(USER)
    assert service.remembered_token(token) is None
    with pytest.raises(Unauthenticated):
        await service.principal_for_token(token)


def test_a_token_is_not_remembered_past_its_expiry() -> None:
    now = [1000.0]
    cache = VerifiedCredentials(clock=lambda: now[0])
    principal = Principal(Role.ENTERPRISE, USER, 1, frozenset({"88.118.8"}))
    key = cache.key("token", "", "t")
    cache.put(key, principal, cache.generation, expires=1010.0)
    assert cache.get(key) == principal
    now[0] = 1010.0
    assert cache.get(key) is None


def test_an_answer_read_before_a_change_is_not_remembered_after_it() -> None:
    cache = VerifiedCredentials()
    principal = Principal(Role.ENTERPRISE, USER, 1, frozenset({"88.118.8"}))
    key = cache.key("basic", USER, PASSWORD)
    generation = cache.generation
    cache.changed(["88.118.8/ADMIN"])
    cache.put(key, principal, generation)
    assert cache.get(key) is None


@pytest.mark.parametrize(
    ("handles", "forgets"),
    [
        (["88.118.8/ADMIN"], True),
        (["88.118.8/LINE-1", "0.NA/88.118.9"], True),
        (["0.na/88.118.9"], True),
        (None, True),
        (["88.118.8/LINE-1", "88.118.8/ADMINISTRATION"], False),
        ([], False),
    ],
)
def test_which_invalidations_forget_every_credential(
    handles: list[str] | None, forgets: bool
) -> None:
    cache = VerifiedCredentials()
    key = cache.key("basic", USER, PASSWORD)
    cache.put(key, Principal(Role.ENTERPRISE, USER), cache.generation)
    cache.changed(handles)
    assert (cache.get(key) is None) is forgets
    assert touches_credentials("88.118.8/ADMIN")


async def test_a_dump_of_the_cache_holds_no_password_hash_or_token(db: Database) -> None:
    service = _service(db)
    await service.create("Acme", "88.118.8", password=PASSWORD)
    principal = await service.authenticate(USER, PASSWORD)
    token, _ = await service.issue_token(principal, timedelta(hours=1))
    await service.principal_for_token(token)
    async with db.read() as session:
        row = await Credentials(session).by_username(USER)
    assert row is not None
    dump = pickle.dumps(service.verified.dump()) + repr(service.verified.dump()).encode()
    assert len(service.verified) == 2
    secrets = [PASSWORD, token, row.secret_hash, *row.secret_hash.split("$")[4:]]
    for secret in secrets:
        for form in (secret.encode(), base64.b64encode(secret.encode())):
            assert form not in dump
    # The keys are HMACs under a key of the process: not the SHA-256 of anything presented.
    for key, _ in service.verified.dump():
        for text in (f"basic\0{USER}\0{PASSWORD}", f"token\0\0{token}", PASSWORD, token):
            assert key != hashlib.sha256(text.encode()).digest()


async def test_two_processes_on_one_sqlite_file_forget_through_the_stamp_file(
    tmp_path: Path, scrypts: list[str]
) -> None:
    url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'node.db'}")
    one, two = Database(url), Database(url)
    try:
        assert stamp_file_for(one) == tmp_path / "node.db-credentials"
        first, second = _service(one), _service(two)
        await first.create("Acme", "88.118.8", password=PASSWORD)
        await second.authenticate(USER, PASSWORD)
        assert second.remembered(USER, PASSWORD) is not None
        await first.revoke_credential(USER)
        # No invalidation reached ``second``'s process: only the stamp file tells it.
        assert second.remembered(USER, PASSWORD) is None
        with pytest.raises(Unauthenticated):
            await second.authenticate(USER, PASSWORD)
    finally:
        await one.dispose()
        await two.dispose()


def test_no_stamp_file_on_postgresql_or_in_memory() -> None:
    assert stamp_file_for(Database("sqlite+aiosqlite:///:memory:")) is None
    assert stamp_file_for(Database("postgresql+asyncpg://u@127.0.0.1/x")) is None


async def test_a_remembered_header_is_throttled_and_a_token_header_dies_with_its_token(
    db: Database,
) -> None:
    now = [time.time()]
    throttle = LoginThrottle(LoginLimits(per_identity_client="1/minute"))
    service = _service(db, throttle=throttle, verified=VerifiedCredentials(clock=lambda: now[0]))
    await service.create("Acme", "88.118.8", password=PASSWORD)
    principal = await service.authenticate(USER, PASSWORD, client="c")
    basic = b"Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode())
    assert service.remembered_header(basic, client="c") is None
    service.remember_header(basic, principal, service.verified.generation)
    assert service.remembered_header(basic, client="c") == principal
    token, _ = await service.issue_token(principal, timedelta(hours=1))
    await service.principal_for_token(token)
    bearer = f"Bearer {token}".encode()
    service.remember_header(bearer, principal, service.verified.generation, token=token)
    assert service.remembered_header(bearer) == principal
    # One failure locks this identity out from "c", remembered header or not.
    with pytest.raises(Unauthenticated):
        await service.authenticate(USER, "wrong", client="c")
    with pytest.raises(TooManyAttempts):
        service.remembered_header(basic, client="c")
    now[0] += 3700
    assert service.remembered_header(bearer) is None
