"""The shared error dialects: each path prefix answers in its own shape, never a bare 500 page."""

from __future__ import annotations

import httpx
import orjson
import pytest
from fastapi import FastAPI

from httpapi import handle_dialect, install_error_handlers, plain_dialect
from registry import Forbidden, InvalidInput, NodeError, NotFound, TooManyAttempts, codec


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/api/handles/{handle:path}")
    async def resolve(handle: str) -> None:
        if handle == "boom":
            raise RuntimeError("a bug")
        raise NotFound(f"{handle} is not here")

    @app.get("/admin/forbidden")
    async def forbidden() -> None:
        raise Forbidden("not yours")

    @app.get("/admin/slow-down")
    async def slow_down() -> None:
        raise TooManyAttempts("too many failed logins", retry_after=7)

    @app.get("/admin/number")
    async def number(n: int) -> int:
        return n

    install_error_handlers(app, {"/api/handles": handle_dialect, "/": plain_dialect})
    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_handle_rest_prefix_answers_with_the_codecs_response_code(client):
    response = await client.get("/api/handles/88.118.8/X")
    assert response.status_code == 404
    body = orjson.loads(response.content)
    assert body == {
        "responseCode": codec.error_code(NotFound("x")),
        "handle": "88.118.8/X",
        "message": "88.118.8/X is not here",
    }


async def test_other_prefixes_answer_in_plain_json_with_retry_and_auth_headers(client):
    response = await client.get("/admin/forbidden")
    assert response.status_code == 403
    assert response.json() == {"error": "Forbidden", "message": "not yours"}
    response = await client.get("/admin/slow-down")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


async def test_validation_errors_name_the_field(client):
    response = await client.get("/admin/number", params={"n": "seven"})
    assert response.status_code == 400
    assert response.json()["error"] == InvalidInput.__name__
    assert "n:" in response.json()["message"]


async def test_unknown_paths_and_methods_answer_in_the_prefixes_dialect(client):
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"
    response = await client.delete("/admin/forbidden")
    assert response.status_code == 405
    assert response.json()["error"] == "MethodNotAllowed"


async def test_a_bug_answers_500_in_the_dialect_and_closes_the_connection(client):
    response = await client.get("/api/handles/boom")
    assert response.status_code == 500
    assert response.headers["Connection"] == "close"
    body = orjson.loads(response.content)
    assert body["responseCode"] == codec.error_code(NodeError("internal"))
    assert "a bug" not in body["message"]
