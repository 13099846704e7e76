"""Rate limits and quotas as every HTTP dialect answers them: 429, Retry-After, the codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from node import Settings, create_app

from ..servers import ThreadedServer
from .helpers import ADMIN_HEADERS, PRODUCT_TEMPLATE, basic_auth, create_enterprise

RECORD = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/"}]}


def snms_item(handle: str) -> dict[str, Any]:
    value = {"index": 2000, "type": "productName", "data": {"format": "string", "value": "M"}}
    return {"handle": handle, "templateVersion": "1.0", "value": [value]}


def start(settings: Settings, **overrides: Any) -> ThreadedServer:
    return ThreadedServer(create_app(settings.model_copy(update=overrides)))


@pytest.fixture
def limited(settings: Settings) -> Iterator[ThreadedServer]:
    """A node allowing each client 3 anonymous resolutions a minute."""
    with start(settings, rate_limit_resolve="3/minute") as server:
        yield server


def set_quotas(url: str, enterprise: int, **quotas: int | None) -> dict[str, Any]:
    response = httpx.put(
        f"{url}/admin/enterprises/{enterprise}/quotas", json=quotas, headers=ADMIN_HEADERS
    )
    assert response.status_code == 200, response.text
    return response.json()


def enterprise_id(url: str) -> int:
    listed = httpx.get(f"{url}/admin/enterprises", headers=ADMIN_HEADERS).json()
    return listed[-1]["id"]


def assert_retry_after(response: httpx.Response, low: int, high: int) -> None:
    assert response.status_code == 429, response.text
    assert low <= int(response.headers["Retry-After"]) <= high


# Each anonymous resolution path: (path, how its refusal reads).
RESOLUTION_PATHS = [
    pytest.param("/api/handles/88.118.8/r", "rest", id="handle-rest-hot-path"),
    pytest.param("/api/handles/88.118.8/r?index=1", "rest", id="handle-rest-endpoint"),
    pytest.param("/88.118.8/r?noredirect", "page", id="human-page"),
]


@pytest.mark.parametrize(("path", "dialect"), RESOLUTION_PATHS)
def test_a_client_over_its_resolution_rate_gets_429_and_retry_after(
    limited: ThreadedServer, path: str, dialect: str
) -> None:
    acme = create_enterprise(limited.url, "Acme", "88.118.8")
    httpx.put(f"{limited.url}/api/handles/88.118.8/r", json=RECORD, auth=basic_auth(acme))
    with httpx.Client(base_url=limited.url, timeout=30) as client:
        answers = [client.get(path) for _ in range(4)]
        # An authenticated reader is not an anonymous one: no rate applies to it.
        owner = client.get("/api/handles/88.118.8/r", auth=basic_auth(acme))
    assert [a.status_code for a in answers[:3]] == [200] * 3
    refused = answers[3]
    assert_retry_after(refused, 1, 60)
    if dialect == "rest":
        assert refused.json()["responseCode"] == 3
        assert refused.json()["handle"] == "88.118.8/r"
        assert "too many resolve requests" in refused.json()["message"]
    else:
        assert "too many resolve requests" in refused.text
    assert owner.status_code == 200


def test_daily_resolution_quota_on_rest_and_its_use_in_the_admin_api(
    node_server: ThreadedServer,
) -> None:
    url = node_server.url
    acme = create_enterprise(url, "Acme", "88.118.8")
    httpx.put(f"{url}/api/handles/88.118.8/r", json=RECORD, auth=basic_auth(acme))
    answer = set_quotas(url, enterprise_id(url), daily_resolutions=2)
    assert answer["quotas"]["daily_resolutions"] == 2
    with httpx.Client(base_url=url, timeout=30) as client:
        codes = [client.get("/api/handles/88.118.8/r").status_code for _ in range(3)]
        refused = client.get("/api/handles/88.118.8/r")
        # Another enterprise's identifiers are not counted against Acme.
        other = client.get("/api/handles/88.118/none")
    assert codes == [200, 200, 429]
    assert_retry_after(refused, 1, 86400)
    assert refused.json()["responseCode"] == 3
    assert "2 resolutions a day" in refused.json()["message"]
    assert other.status_code == 404
    usage = httpx.get(
        f"{url}/admin/enterprises/{enterprise_id(url)}/quotas", headers=ADMIN_HEADERS
    ).json()["usage"]
    assert usage["daily_resolutions"] == 2
    metrics = httpx.get(f"{url}/metrics", headers=ADMIN_HEADERS).text
    assert 'idnode_limit_rejections_total{kind="daily_resolutions"} 2.0' in metrics


def test_identifier_quota_on_rest_snms_and_batches_writes_nothing_over_it(
    node_server: ThreadedServer,
) -> None:
    url = node_server.url
    acme = create_enterprise(url, "Acme", "88.118.8")
    ent = enterprise_id(url)
    with httpx.Client(base_url=url, timeout=60) as client:
        token = client.post(
            "/identity/token", json={"username": acme["username"], "password": acme["password"]}
        ).json()["data"]["token"]
        auth = {"Authorization": token}
        assert (
            client.post("/snms/api/v5/template", json=PRODUCT_TEMPLATE, headers=auth).json()[
                "status"
            ]
            == 1
        )
        # The prefix's credentials record (88.118.8/ADMIN) is one identifier already.
        used = client.get(f"/admin/enterprises/{ent}/quotas", headers=ADMIN_HEADERS).json()
        held = used["usage"]["identifiers"]
        set_quotas(url, ent, identifiers=held + 2)
        first = client.put("/api/handles/88.118.8/a", json=RECORD, auth=basic_auth(acme))
        batch = [snms_item(f"88.118.8/b{i}") for i in range(3)]
        over = client.post("/identityv2/data/batchCreate", json=batch, headers=auth)
        fits = client.post("/identityv2/data", json=snms_item("88.118.8/c"), headers=auth)
        rest_over = client.put("/api/handles/88.118.8/d", json=RECORD, auth=basic_auth(acme))
        single = client.post("/identityv2/data", json=snms_item("88.118.8/e"), headers=auth)
        # Replacing an existing record adds no identifier: allowed at the quota.
        replaced = client.put("/api/handles/88.118.8/a", json=RECORD, auth=basic_auth(acme))
        written = [client.get(f"/api/handles/88.118.8/b{i}").status_code for i in range(3)]
    assert first.status_code == 201
    # The batch would go over: refused whole, with SNMS's 604 and no Retry-After.
    assert over.status_code == 429 and "Retry-After" not in over.headers
    assert over.json()["status"] == 604 and over.json()["data"] is None
    assert written == [404, 404, 404]
    assert fits.json()["status"] == 1
    assert rest_over.status_code == 429 and rest_over.json()["responseCode"] == 3
    assert "identifiers" in rest_over.json()["message"]
    assert single.status_code == 429 and single.json()["status"] == 604
    assert replaced.status_code == 200


def test_daily_registration_quota_answers_603_with_retry_after(
    node_server: ThreadedServer,
) -> None:
    url = node_server.url
    acme = create_enterprise(url, "Acme", "88.118.8")
    set_quotas(url, enterprise_id(url), daily_registrations=1)
    with httpx.Client(base_url=url, timeout=60) as client:
        token = client.post(
            "/identity/token", json={"username": acme["username"], "password": acme["password"]}
        ).json()["data"]["token"]
        auth = {"Authorization": token}
        client.post("/snms/api/v5/template", json=PRODUCT_TEMPLATE, headers=auth)
        ok = client.post("/identityv2/data", json=snms_item("88.118.8/x"), headers=auth)
        refused = client.post("/identityv2/data", json=snms_item("88.118.8/y"), headers=auth)
        rest = client.put("/api/handles/88.118.8/z", json=RECORD, auth=basic_auth(acme))
    assert ok.json()["status"] == 1
    assert refused.json()["status"] == 603
    assert_retry_after(refused, 1, 86400)
    assert_retry_after(rest, 1, 86400)
    assert rest.json()["responseCode"] == 3


def test_prefix_quota_on_the_admin_api(node_server: ThreadedServer) -> None:
    url = node_server.url
    create_enterprise(url, "Acme", "88.118.8")
    ent = enterprise_id(url)
    set_quotas(url, ent, prefixes=2)
    prefixes = f"{url}/admin/enterprises/{ent}/prefixes"
    second = httpx.post(prefixes, json={}, headers=ADMIN_HEADERS)
    third = httpx.post(prefixes, json={}, headers=ADMIN_HEADERS)
    assert second.status_code == 201
    assert third.status_code == 429 and "Retry-After" not in third.headers
    assert third.json()["error"] == "QuotaExceeded"
    listed = httpx.get(f"{url}/admin/enterprises", headers=ADMIN_HEADERS).json()
    assert len(listed[-1]["prefixes"]) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"identifiers": -1}, "greater than or equal to 0"),
        ({"bananas": 3}, "bananas"),
        ({"prefixes": "many"}, "integer"),
    ],
)
def test_bad_quota_bodies_are_400(node_server: ThreadedServer, body: dict, message: str) -> None:
    create_enterprise(node_server.url, "Acme", "88.118.8")
    response = httpx.put(
        f"{node_server.url}/admin/enterprises/{enterprise_id(node_server.url)}/quotas",
        json=body,
        headers=ADMIN_HEADERS,
    )
    assert response.status_code == 400 and message in response.text


def test_quotas_of_an_unknown_enterprise_are_404(node_server: ThreadedServer) -> None:
    response = httpx.put(
        f"{node_server.url}/admin/enterprises/999/quotas", json={}, headers=ADMIN_HEADERS
    )
    assert response.status_code == 404


def test_quotas_are_the_administrators_alone(node_server: ThreadedServer) -> None:
    acme = create_enterprise(node_server.url, "Acme", "88.118.8")
    response = httpx.put(
        f"{node_server.url}/admin/enterprises/1/quotas",
        json={"identifiers": 10**9},
        auth=basic_auth(acme),
    )
    assert response.status_code == 403


def test_redis_storage_shares_the_resolution_rate_between_nodes(settings: Settings) -> None:
    """Two node processes' worth of counting over one Redis: the rate holds across both."""
    redis_url = "redis://127.0.0.1:6379/15"
    from limits.storage import storage_from_string

    storage_from_string(redis_url).reset()
    overrides = {"rate_limit_resolve": "3/minute", "rate_limit_storage": redis_url}
    with start(settings, **overrides) as one, start(settings, **overrides) as two:
        create_enterprise(one.url, "Acme", "88.118.8")
        codes = [
            httpx.get(f"{server.url}/api/handles/88.118.8/none").status_code
            for server in (one, two, one, two)
        ]
    storage_from_string(redis_url).reset()
    assert codes == [404, 404, 404, 429]


def test_random_quota_bodies_get_200_or_400_never_a_500(node_server: ThreadedServer) -> None:
    import random

    create_enterprise(node_server.url, "Acme", "88.118.8")
    rng = random.Random(20)
    names = ["daily_resolutions", "daily_registrations", "identifiers", "prefixes", "x", ""]
    samples: list[Any] = [None, 0, 1, -1, 2**63, 1.5, "7", "", [], {}, True, "\x00", 10**40]
    url = f"{node_server.url}/admin/enterprises/1/quotas"
    with httpx.Client(timeout=30, headers=ADMIN_HEADERS) as client:
        for _ in range(150):
            body: Any = {rng.choice(names): rng.choice(samples) for _ in range(rng.randint(0, 4))}
            if rng.random() < 0.1:
                body = rng.choice(samples)
            response = client.put(url, json=body)
            assert response.status_code in (200, 400), (body, response.text)
