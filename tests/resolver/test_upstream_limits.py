"""Recursive resolution does not trust other nodes to be small, quick or sane.

A fake node on a free loopback port plays both the top-level directory and the serving node: it
answers ``0.NA/88.200`` with a site naming itself, and serves a small, a huge and a slow record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from registry import Handle, Unavailable
from resolver import Upstream

from ..servers import ThreadedServer

HUGE_BYTES = 8 * 1024 * 1024
SLOW_SECONDS = 6.0


def _record(data: str) -> dict:
    return {"values": [{"index": 1, "type": "DESC", "data": data, "ttl": 60}]}


class FakeNode:
    """Counts the handles it is asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.url = ""

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/handles/{handle:path}", self.answer)])

    async def answer(self, request: Request) -> Response:
        handle = request.path_params["handle"]
        self.asked.append(handle)
        if handle == "0.NA/88.200":
            site = {"baseUrl": self.url, "nodeCode": "88.200"}
            value = {"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": site}}
            return JSONResponse({"values": [{**value, "ttl": 60}]})
        if handle == "88.200/SMALL":
            return JSONResponse(_record("small"))
        if handle == "88.200/HUGE":
            return StreamingResponse(self._huge(), media_type="application/json")
        if handle == "88.200/SLOW":
            return StreamingResponse(self._slow(), media_type="application/json")
        return JSONResponse({"responseCode": 100}, status_code=404)

    async def _huge(self) -> AsyncIterator[bytes]:
        head, tail = orjson.dumps(_record("#")).split(b"#")
        yield head
        for _ in range(HUGE_BYTES // 65536):
            yield b"x" * 65536
        yield tail

    async def _slow(self) -> AsyncIterator[bytes]:
        body = orjson.dumps(_record("slow"))
        pause = SLOW_SECONDS / len(body)
        for position in range(len(body)):
            yield body[position : position + 1]
            await asyncio.sleep(pause)


@pytest.fixture
def fake() -> Iterator[FakeNode]:
    node = FakeNode()
    with ThreadedServer(node.app()) as server:
        node.url = server.url
        yield node


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5)) as http:
        yield http


async def test_an_answer_past_the_byte_cap_is_unavailable(
    fake: FakeNode, client: httpx.AsyncClient
) -> None:
    upstream = Upstream(fake.url, client, max_answer_bytes=64 * 1024)
    small = await upstream.fetch(Handle.parse("88.200/SMALL"))
    assert small is not None and small.values[0].value == "small"
    with pytest.raises(Unavailable, match="more than 65536 bytes"):
        await upstream.fetch(Handle.parse("88.200/HUGE"))


async def test_a_dribbling_answer_is_cut_at_the_deadline(
    fake: FakeNode, client: httpx.AsyncClient
) -> None:
    upstream = Upstream(fake.url, client, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="within 1 s"):
        await upstream.fetch(Handle.parse("88.200/SLOW"))
    assert time.monotonic() - started < SLOW_SECONDS / 2


async def test_a_long_prefix_asks_the_directory_about_eight_levels_at_most(
    fake: FakeNode, client: httpx.AsyncClient
) -> None:
    upstream = Upstream(fake.url, client)
    long_prefix = ".".join(["1"] * 121)
    assert await upstream.fetch(Handle.parse(f"{long_prefix}/X")) is None
    assert len(fake.asked) == 8
    assert fake.asked[0] == "0.NA/" + ".".join(["1"] * 8)

    # A deep prefix under a listed one still finds it, from eight segments down.
    fake.asked.clear()
    deep = Handle.parse("88.200.1.2.3.4.5.6.7.8.9/SMALL")
    assert await upstream.fetch(deep) is None  # the fake serves 88.200/SMALL only
    assert fake.asked[-2:] == ["0.NA/88.200", str(deep)]
    assert len(fake.asked) == 8
