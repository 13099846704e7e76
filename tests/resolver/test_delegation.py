"""The DNS frontend a directory entry publishes (HS_SITE's ``dns``): read when sound, else ignored."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from registry import Prefix
from resolver import Delegation, Upstream

from ..servers import ThreadedServer

GOOD = {"zone": "id.example.", "nameServer": "ns1.id.example.", "addresses": ["192.0.2.1"]}
BAD = {
    "not an object": "ns1.id.example.",
    "no zone": {"nameServer": "ns1.id.example."},
    "zone not a string": {**GOOD, "zone": 5},
    "addresses not a list": {**GOOD, "addresses": "192.0.2.1"},
    "an address not an address": {**GOOD, "addresses": ["ns1.id.example."]},
    "an address not a string": {**GOOD, "addresses": [7]},
    "port 0": {**GOOD, "port": 0},
    "port too big": {**GOOD, "port": 70000},
    "port a string": {**GOOD, "port": "53"},
    "port a boolean": {**GOOD, "port": True},
}
CASES = {"good": GOOD, **BAD}


class Directory:
    """``0.NA/88.2<n>``: an HS_SITE with case n's ``dns`` member."""

    def __init__(self) -> None:
        self.url = ""

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/handles/{handle:path}", self.answer)])

    async def answer(self, request: Request) -> Response:
        handle = request.path_params["handle"]
        names = list(CASES)
        segment = handle.removeprefix("0.NA/88.2")
        if not segment.isdigit() or int(segment) >= len(names):
            return JSONResponse({"responseCode": 100}, status_code=404)
        site = {"baseUrl": self.url, "nodeCode": handle[5:], "dns": CASES[names[int(segment)]]}
        value = {"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": site}}
        return JSONResponse({"values": [{**value, "ttl": 120}]})


@pytest.fixture
def directory() -> Iterator[Directory]:
    fake = Directory()
    with ThreadedServer(fake.app()) as server:
        fake.url = server.url
        yield fake


@pytest.mark.parametrize("case", list(CASES))
async def test_a_published_frontend_is_read_or_ignored(directory: Directory, case: str) -> None:
    number = list(CASES).index(case)
    async with httpx.AsyncClient(timeout=5) as client:
        upstream = Upstream(directory.url, client)
        prefix = Prefix.parse(f"88.2{number}.7")
        delegation = await upstream.delegation_of(prefix)
        # The site stands either way: a bad ``dns`` member costs the referral, not resolution.
        assert await upstream.site_of(prefix) == directory.url
    if case == "good":
        assert delegation == Delegation(
            Prefix.parse("88.20"), "id.example.", "ns1.id.example.", ("192.0.2.1",), 53, 120
        )
    else:
        assert delegation is None
