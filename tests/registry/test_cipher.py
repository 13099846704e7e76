"""The SNMS cipher login: verifiers sealed under the node's key, checked by day."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from registry.trust import CipherKey, cipher_password


def test_cipher_password_is_the_documented_formula() -> None:
    inner = hashlib.sha256(b"secret").hexdigest()
    expected = hashlib.sha256((inner + "2026-11-23").encode()).hexdigest()
    assert cipher_password("secret", date(2026, 11, 23)) == expected


def test_check_accepts_the_day_in_china_and_refuses_others() -> None:
    key = CipherKey("node key")
    stored = key.seal("300:88.118.8/ADMIN", "secret")
    assert "secret" not in stored and hashlib.sha256(b"secret").hexdigest() not in stored
    # 2026-11-22 20:00 UTC is already 2026-11-23 in China.
    now = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    good = cipher_password("secret", date(2026, 11, 23))
    assert key.check("300:88.118.8/ADMIN", stored, good, now)
    assert key.check("300:88.118.8/ADMIN", stored, good.upper(), now)
    assert not key.check(
        "300:88.118.8/ADMIN", stored, cipher_password("secret", date(2026, 11, 20)), now
    )
    assert not key.check(
        "300:88.118.8/ADMIN", stored, cipher_password("other", date(2026, 11, 23)), now
    )


def test_a_verifier_opens_only_for_its_username_and_key() -> None:
    key = CipherKey("node key")
    stored = key.seal("300:88.118.8/ADMIN", "secret")
    now = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    good = cipher_password("secret", date(2026, 11, 23))
    assert not key.check("301:88.118.8/ADMIN", stored, good, now)
    assert not CipherKey("another key").check("300:88.118.8/ADMIN", stored, good, now)
    assert not key.check("300:88.118.8/ADMIN", None, good, now)
    assert not key.check("300:88.118.8/ADMIN", "aesgcm1$!!", good, now)
