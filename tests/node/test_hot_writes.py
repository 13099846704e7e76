"""Single registrations answered by the hot path: the same answers as the app's endpoints."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from node import Settings, create_app
from node import hot as hot_module
from node.hot import HotPath

from ..servers import ThreadedServer
from .helpers import ADMIN_HEADERS, PRODUCT_TEMPLATE, basic_auth, create_enterprise

COMPARED_HEADERS = ("content-type", "x-content-type-options", "retry-after", "content-length")
JSON = {"Content-Type": "application/json"}


def _values(tag: str) -> dict[str, Any]:
    return {"values": [{"index": 1, "type": "URL", "data": f"https://example.com/{tag}"}]}


def _snms(handle: str, name: str = "Motor") -> dict[str, Any]:
    values = [{"index": 2000, "type": "productName", "data": {"format": "string", "value": name}}]
    return {"handle": handle, "templateVersion": "1.0", "value": values}


def _exchange(url: str, tag: str, acme: dict, other: dict) -> list[tuple[int, str, list]]:
    """The same writes, good and bad, through Handle REST and SNMS; ``tag`` keeps handles apart."""
    answers = []
    with httpx.Client(base_url=url, timeout=30) as client:
        token = client.post(
            "/identity/token", json={"username": acme["username"], "password": acme["password"]}
        ).json()["data"]["token"]
        # Proven once through the app; from then on the hot path knows these callers.
        client.get("/api/handles/88.118.8/NONE", auth=basic_auth(acme))
        client.get("/api/handles/88.118.8/NONE", auth=basic_auth(other))
        client.get("/identityv2/data/detail?handle=88.118.8/NONE", headers={"Authorization": token})
        bearer = {"Authorization": f"Bearer {token}"}
        bare = {"Authorization": token}
        path = f"/api/handles/88.118.8/{tag}-1"
        requests: list[tuple[str, str, dict[str, Any]]] = [
            ("PUT", path, {"json": _values(tag), "headers": ADMIN_HEADERS}),
            ("PUT", path, {"json": _values(tag + "b"), "headers": ADMIN_HEADERS}),
            ("PUT", f"/api/handles/88.118.8/{tag}-2", {"json": _values(tag), "auth": acme}),
            ("PUT", f"/api/handles/88.118.8/{tag}-3", {"json": _values(tag), "auth": other}),
            ("PUT", "/api/handles/88.118.8/ADMIN", {"json": _values(tag), "auth": acme}),
            ("PUT", f"/api/handles/88..118/{tag}", {"json": _values(tag), "headers": ADMIN_HEADERS}),
            ("PUT", f"/api/handles/88.118.8/{tag}%FF", {"json": _values(tag), "auth": acme}),
            ("PUT", path, {"content": b"{not json", "headers": {**ADMIN_HEADERS, **JSON}}),
            ("PUT", path, {"content": b"x", "headers": {**ADMIN_HEADERS, "Content-Type": "text/plain"}}),
            ("PUT", path, {"json": {"values": [{"index": 0, "type": "URL", "data": "x"}]}, "headers": ADMIN_HEADERS}),
            ("PUT", path, {"json": {"handle": "88.118.8/OTHER", **_values(tag)}, "headers": ADMIN_HEADERS}),
            ("PUT", path, {"content": b"", "headers": {**ADMIN_HEADERS, **JSON}}),
            ("PUT", path, {"content": b"[" + b" " * 2_000_000 + b"]", "headers": {**ADMIN_HEADERS, **JSON}}),
            ("POST", "/identityv2/data", {"json": _snms(f"88.118.8/{tag}-S1"), "headers": bare}),
            ("POST", "/identityv2/data", {"json": _snms(f"88.118.8/{tag}-S1"), "headers": bearer}),
            ("POST", "/identityv2/data", {"json": _snms(f"88.118.8/{tag}-S2", "x" * 21), "headers": bare}),
            ("POST", "/identityv2/data", {"json": {**_snms(f"88.118.8/{tag}-S3"), "templateVersion": "9"}, "headers": bare}),
            ("POST", "/identityv2/data", {"json": _snms(f"88.118.9/{tag}-S4"), "headers": bare}),
            ("POST", "/identityv2/data", {"json": {"handle": 5}, "headers": bare}),
            ("POST", "/identityv2/data", {"content": b"[]", "headers": {**bare, **JSON}}),
            ("POST", "/identityv2/data", {"json": _snms(f"88.118.8/{tag}-S5"), "headers": ADMIN_HEADERS}),
        ]  # fmt: skip
        for method, target, options in requests:
            if "auth" in options:
                options = {**options, "auth": basic_auth(options["auth"])}
            response = client.request(method, target, **options)
            headers = [response.headers.get(name) for name in COMPARED_HEADERS]
            body = response.text.replace(tag, "TAG")
            answers.append((response.status_code, body, headers))
        stored = client.get(f"/api/handles/88.118.8/{tag}-S1").json()
        answers.append((200, str(stored["values"][0]["data"]).replace(tag, "TAG"), []))
    return answers


def test_hot_writes_answer_as_the_app_does(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered_hot: list[str] = []
    real = hot_module.hot_write

    async def counting(scope: Any, *args: Any) -> int:
        answered_hot.append(scope["path"])
        return await real(scope, *args)

    monkeypatch.setattr(hot_module, "hot_write", counting)
    with ThreadedServer(create_app(settings)) as plain:
        acme = create_enterprise(plain.url, "Acme", "88.118.8")
        other = create_enterprise(plain.url, "Other", "88.118.9")
        token = httpx.post(
            plain.url + "/identity/token",
            json={"username": acme["username"], "password": acme["password"]},
        ).json()["data"]["token"]
        created = httpx.post(
            plain.url + "/snms/api/v5/template",
            json=PRODUCT_TEMPLATE,
            headers={"Authorization": token},
        )
        assert created.json()["status"] == 1, created.text
        expected = _exchange(plain.url, "Tqq01", acme, other)  # same length: same content-length
    assert answered_hot == []
    with ThreadedServer(HotPath(create_app(settings))) as hot:
        answered = _exchange(hot.url, "Tzz02", acme, other)
    # Every write with a known caller was answered by the hot path (the oversized body too).
    assert len(answered_hot) == 21
    for position, (got, wanted) in enumerate(zip(answered, expected, strict=True)):
        assert got == wanted, position
    statuses = [status for status, _, _ in expected]
    assert statuses[:4] == [201, 200, 201, 403]
    assert statuses[13:15] == [200, 409]
