"""The one Handle REST client: what another server answers becomes values, None or Unavailable."""

from __future__ import annotations

import httpx
import pytest

from registry import Unavailable
from resolver import HandleRestClient

BASE = "http://node.example"
GOOD = {
    "responseCode": 1,
    "handle": "88.118.8/A",
    "values": [
        {"index": 2, "type": "DESC", "data": "two", "timestamp": "2026-01-01T00:00:00Z"},
        {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://a.example"}},
    ],
}


def _client(handler: httpx.MockTransport, **options: object) -> HandleRestClient:
    return HandleRestClient(httpx.AsyncClient(transport=handler), **options)  # type: ignore[arg-type]


async def test_values_come_back_in_the_order_sent_with_their_timestamps() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=GOOD)

    client = _client(httpx.MockTransport(answer), headers={"X-Idnode-Forwarded": "1"})
    values = await client.fetch_values(BASE + "/", "88.118.8/A B")
    assert values is not None
    assert [(v.index, v.value, v.timestamp) for v in values] == [
        (2, "two", "2026-01-01T00:00:00Z"),
        (1, "https://a.example", None),
    ]
    assert seen[0].url.raw_path == b"/api/handles/88.118.8/A%20B"
    assert seen[0].headers["x-idnode-forwarded"] == "1"


async def test_not_found_is_none() -> None:
    client = _client(httpx.MockTransport(lambda _: httpx.Response(404, json={"responseCode": 100})))
    assert await client.fetch_values(BASE, "88.118.8/NONE") is None


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (httpx.Response(500, json={"responseCode": 2}), "HTTP 500"),
        (httpx.Response(200, content=b"<html>"), "malformed answer"),
        (httpx.Response(200, json={"responseCode": 1}), "without a list of values"),
        (httpx.Response(200, json={"values": [{"index": 0}]}), "malformed answer"),
        (httpx.Response(200, json={"values": ["x" * 2000]}), "more than 1024 bytes"),
    ],
)
async def test_anything_else_is_unavailable_naming_the_server(
    response: httpx.Response, message: str
) -> None:
    client = _client(httpx.MockTransport(lambda _: response), max_answer_bytes=1024)
    with pytest.raises(Unavailable, match=message) as caught:
        await client.fetch_values(BASE, "88.118.8/A")
    assert BASE in caught.value.message


async def test_an_unreachable_server_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(Unavailable, match=f"cannot reach {BASE}"):
        await _client(httpx.MockTransport(refuse)).fetch_values(BASE, "88.118.8/A")
