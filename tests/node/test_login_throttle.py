"""Logins: unknown identities cost what known ones do; failures are throttled with 429."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from node import Settings, create_app
from registry import LoginLimits, LoginThrottle, TooManyAttempts, _enterprises
from registry.trust import cipher_password
from registry.trust.cipher import CHINA_TIME, CipherKey

from ..servers import ThreadedServer
from .helpers import ADMIN_HEADERS, basic_auth, create_enterprise

GOOD = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/"}]}
UNKNOWN = {"username": "399:88.118.8/ADMIN", "password": "guess"}


@pytest.fixture
def strict(settings: Settings) -> Iterator[ThreadedServer]:
    """A node that allows 3 failures per identity and client, 6 per identity."""
    limits = {
        "login_failures_per_identity_client": "3/minute",
        "login_failures_per_identity": "6/minute",
    }
    with ThreadedServer(create_app(settings.model_copy(update=limits))) as server:
        yield server


def client_from(url: str, address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any of 127.0.0.0/8)."""
    return httpx.Client(
        base_url=url, timeout=30, transport=httpx.HTTPTransport(local_address=address)
    )


def test_an_unknown_identity_pays_the_scrypt_a_known_one_does(
    node_server: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = create_enterprise(node_server.url, "Acme", "88.118.8")
    verified: list[str] = []
    real = _enterprises.verify_secret

    def spy(password: str, stored: str) -> bool:
        verified.append(stored)
        return real(password, stored)

    monkeypatch.setattr(_enterprises, "verify_secret", spy)
    with httpx.Client(base_url=node_server.url, timeout=30) as client:
        basic = client.put("/api/handles/88.118.8/a", json=GOOD, auth=basic_auth(UNKNOWN))
        token = client.post("/identity/token", json=UNKNOWN)
        known = client.post("/identity/token", json={**UNKNOWN, "username": acme["username"]})
    assert basic.status_code == token.status_code == known.status_code == 401
    assert len(verified) == 3
    assert all(stored.startswith("scrypt$16384$8$1$") for stored in verified)


def test_an_unknown_identity_opens_a_cipher_verifier_as_a_known_one_does(
    node_server: ThreadedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme = create_enterprise(node_server.url, "Acme", "88.118.8")
    opened: list[str] = []
    real = CipherKey.check

    def spy(self: CipherKey, username: str, stored: str | None, given: str, now=None) -> bool:
        opened.append(username)
        return real(self, username, stored, given, now)

    monkeypatch.setattr(CipherKey, "check", spy)
    with httpx.Client(base_url=node_server.url, timeout=30) as client:
        unknown = client.post("/identity/token/v1", json={**UNKNOWN, "password": "0" * 64})
        known = client.post(
            "/identity/token/v1", json={"username": acme["username"], "password": "0" * 64}
        )
    assert unknown.status_code == known.status_code == 401
    assert opened == [UNKNOWN["username"], acme["username"]]


def test_failed_basic_logins_are_throttled_with_429_in_handle_json(
    strict: ThreadedServer,
) -> None:
    acme = create_enterprise(strict.url, "Acme", "88.118.8")
    wrong = {**acme, "password": "wrong"}
    with client_from(strict.url, "127.0.0.2") as attacker:
        statuses = [
            attacker.put("/api/handles/88.118.8/a", json=GOOD, auth=basic_auth(wrong)).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 401]
        throttled = attacker.put("/api/handles/88.118.8/a", json=GOOD, auth=basic_auth(wrong))
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["retry-after"]) <= 60
        body = throttled.json()
        assert body["responseCode"] == 402 and body["handle"] == "88.118.8/a"
        assert "too many failed logins" in body["message"]
        # While throttled, even the right password is not checked from there.
        right = attacker.put("/api/handles/88.118.8/a", json=GOOD, auth=basic_auth(acme))
        assert right.status_code == 429
    # The owner, from another address, is not locked out by the attacker's failures.
    with client_from(strict.url, "127.0.0.1") as owner:
        assert (
            owner.put("/api/handles/88.118.8/a", json=GOOD, auth=basic_auth(acme)).status_code
            == 201
        )


def test_guessed_bearer_tokens_are_throttled_per_client_and_the_admin_token_with_them(
    strict: ThreadedServer,
) -> None:
    """A bearer token names no identity: guesses (at the admin token, most of all) are counted
    per client, the admin token included, and never node-wide, so guessing from many
    addresses locks no one else out."""
    admin = ADMIN_HEADERS
    path = "/admin/enterprises"
    with client_from(strict.url, "127.0.0.3") as attacker:
        statuses = [
            attacker.get(path, headers={"Authorization": f"Bearer guess-{n}"}).status_code
            for n in range(3)
        ]
        assert statuses == [401, 401, 401]
        throttled = attacker.get(path, headers={"Authorization": "Bearer guess-3"})
        assert throttled.status_code == 429, throttled.text
        assert 1 <= int(throttled.headers["retry-after"]) <= 60
        assert "too many failed logins for a bearer token" in throttled.text
        # While throttled, not even the right token is taken from there (hot path included).
        assert attacker.get(path, headers=admin).status_code == 429
        assert attacker.get("/api/handles/88.118.8/none", headers=admin).status_code == 429
    # Two more addresses guess (7 failures in all: over the 6 per identity of a Basic login).
    for address in ("127.0.0.4", "127.0.0.5"):
        with client_from(strict.url, address) as other:
            for n in range(2):
                assert other.get(path, headers={"Authorization": f"Bearer x{n}"}).status_code == 401
    with client_from(strict.url, "127.0.0.1") as operator:
        assert operator.get(path, headers=admin).status_code == 200


def test_failed_snms_logins_are_throttled_with_429_in_the_envelope(
    strict: ThreadedServer,
) -> None:
    acme = create_enterprise(strict.url, "Acme", "88.118.8")
    with client_from(strict.url, "127.0.0.3") as attacker:
        for _ in range(3):
            refused = attacker.post(
                "/identity/token/v1", json={"username": acme["username"], "password": "0" * 64}
            )
            assert refused.status_code == 401
        throttled = attacker.post(
            "/identity/token", json={"username": acme["username"], "password": acme["password"]}
        )
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) >= 1
        assert throttled.json()["status"] == -1 and throttled.json()["data"] is None
        assert "retry after" in throttled.json()["message"]
    # Guessing from many addresses: the identity's own limit (6) stops it everywhere.
    for address in ("127.0.0.4", "127.0.0.5"):
        with client_from(strict.url, address) as other:
            for _ in range(3):
                other.post("/identity/token", json={"username": acme["username"], "password": "x"})
    with client_from(strict.url, "127.0.0.1") as owner:
        today = datetime.now(UTC).astimezone(CHINA_TIME).date()
        login = {"username": acme["username"], "password": cipher_password(acme["password"], today)}
        assert owner.post("/identity/token/v1", json=login).status_code == 429
        # Other identities are not affected.
        beta = create_enterprise(strict.url, "Beta", "88.118.9")
        ok = owner.post("/identity/token", json={k: beta[k] for k in ("username", "password")})
        assert ok.json()["status"] == 1, ok.text
    assert httpx.get(f"{strict.url}/admin/enterprises", headers=ADMIN_HEADERS).status_code == 200


def test_a_success_forgets_the_clients_typos() -> None:
    throttle = LoginThrottle(LoginLimits(per_identity_client="3/minute"))
    for _ in range(2):
        throttle.failed("300:88.118.8/ADMIN", "10.0.0.1")
    throttle.succeeded("300:88.118.8/ADMIN", "10.0.0.1")
    for _ in range(2):
        throttle.failed("300:88.118.8/ADMIN", "10.0.0.1")
    throttle.check("300:88.118.8/ADMIN", "10.0.0.1")
    throttle.failed("300:88.118.8/ADMIN", "10.0.0.1")
    with pytest.raises(TooManyAttempts) as raised:
        throttle.check("300:88.118.8/ADMIN", "10.0.0.1")
    assert 1 <= raised.value.retry_after <= 60


def test_one_client_spraying_many_identities_is_throttled() -> None:
    throttle = LoginThrottle(LoginLimits(per_client="5/minute"))
    for index in range(5):
        throttle.check(f"{300 + index}:88.118.8/ADMIN", "10.0.0.9")
        throttle.failed(f"{300 + index}:88.118.8/ADMIN", "10.0.0.9")
    with pytest.raises(TooManyAttempts):
        throttle.check("399:88.118.8/ADMIN", "10.0.0.9")
    throttle.check("399:88.118.8/ADMIN", "10.0.0.10")
