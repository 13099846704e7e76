"""The DNS frontend a directory entry publishes (HS_SITE's ``dns``): read when sound, else ignored."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from registry import Prefix
from resolver import Delegation, Upstream
from resolver._recursive import _delegation

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


def _junk(rng: random.Random, depth: int = 0) -> object:
    choices = [
        None,
        True,
        rng.randint(-(2**70), 2**70),
        rng.choice([0, 1, 53, 65535, 65536]),
        rng.random(),
        "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 8))),
        rng.choice(["192.0.2.1", "::1", "ns1.id.example.", "", "1.2.3.4.5", "fe80::1%eth0"]),
    ]
    if depth < 2:
        choices.append([_junk(rng, depth + 1) for _ in range(rng.randint(0, 10))])
        choices.append({key: _junk(rng, depth + 1) for key in rng.sample([*GOOD, "port"], 2)})
    return rng.choice(choices)


def test_fuzz_published_members_never_raise() -> None:
    """Bounded: 3,000 random and mutated ``dns`` members; each is a sound Delegation or None."""
    rng = random.Random(18)
    for _ in range(3000):
        member = {**GOOD, "port": 53} if rng.random() < 0.5 else {}
        for key in rng.sample(["zone", "nameServer", "addresses", "port", "x"], 2):
            member[key] = _junk(rng)
        found = _delegation("88.200", {"baseUrl": "http://x", "dns": member}, 60)
        if found is not None:
            assert isinstance(found.zone, str) and isinstance(found.name_server, str)
            assert 0 < found.port < 65536 and len(found.addresses) <= 8
