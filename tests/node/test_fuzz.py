"""A bounded fuzz of Handle REST and SNMS writes: mutated queries and bodies never get a 500.

Served as production serves it, behind the hot path (``node.hot``): once the caller is
remembered, single writes and reads are answered there, the rest by the app.

Seeded, so a failure replays; bounded in cases and in time, so it stays cheap. The hand-picked
table of bad inputs is ``test_bad_input.py``; this finds what the table did not think of.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from node.app import create_app
from node.hot import HotPath
from node.settings import Settings

from ..servers import ThreadedServer
from .helpers import basic_auth, create_enterprise

SEED = 17
CASES = 300
BUDGET_SECONDS = 40.0

GOOD_VALUES = [
    {"index": 1, "type": "URL", "data": "https://example.com/"},
    {"index": 2, "type": "HS_SITE", "data": {"format": "site", "value": {"servers": [{"id": 1}]}}},
    {"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": {}}},
]
# Suffixes stay printable ASCII: path grammar (encodings, controls) is fuzzed elsewhere.
SUFFIX_CHARS = "ABCxyz0189-_.:/"
QUERY_NAMES = ("index", "type", "overwrite", "mintNewSuffix", "page", "pageSize", "x")
QUERY_VALUES = (
    "1",
    "0",
    "-1",
    "2147483648",
    "9" * 5000,
    "٣",
    "²",
    "1.5",
    "1e9",
    "true",
    "",
    "various",
    "%",
    "0x10",
    " 1",
)


def _scalar(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            0,
            -1,
            2**31,
            2**63,
            2**64,
            -(2**70),
            10**30,
            1.5,
            1e308,
            "",
            "x" * rng.randint(0, 300),
            "9" * rng.randint(1, 5000),
            "٣",
            "a\x00b",
            "\x85",
            "\ud7ff",
            "string",
            "site",
            "key",
            "admin",
            "vlist",
            "hex",
            "base64",
        ]
    )


def _nested(rng: random.Random, depth: int) -> Any:
    value: Any = _scalar(rng)
    for _ in range(depth):
        value = {"a": value} if rng.random() < 0.5 else [value]
    return value


def _mutate(rng: random.Random, value: Any, budget: int = 4) -> Any:
    """``value`` with a few random parts replaced, dropped or added."""
    if budget <= 0 or rng.random() < 0.25:
        choice = rng.random()
        if choice < 0.6:
            return _scalar(rng)
        if choice < 0.8:
            return _nested(rng, rng.choice([1, 5, 33, 250, 700]))
        return rng.choice([{}, [], {"format": rng.choice(["site", "key", "vlist"])}])
    if isinstance(value, dict):
        mutated = dict(value)
        if mutated and rng.random() < 0.3:
            del mutated[rng.choice(list(mutated))]
        key = rng.choice([*mutated, "index", "type", "data", "format", "value", "ttl", "auth"])
        mutated[key] = _mutate(rng, mutated.get(key), budget - 1)
        return mutated
    if isinstance(value, list):
        mutated = list(value)
        if mutated and rng.random() < 0.7:
            spot = rng.randrange(len(mutated))
            mutated[spot] = _mutate(rng, mutated[spot], budget - 1)
        else:
            mutated.append(_mutate(rng, None, budget - 1))
        return mutated
    return _mutate(rng, None, 0)


def _body(rng: random.Random, document: Any) -> bytes:
    data = json.dumps(document).encode()
    if rng.random() < 0.2 and data:  # byte damage: truncation, a stray byte, invalid UTF-8
        spot = rng.randrange(len(data))
        data = data[:spot] + rng.choice([b"", b"\xff", b"{", b'"', b"\x00"]) + data[spot + 1 :]
    return data


def _query(rng: random.Random) -> str:
    pairs = [
        f"{rng.choice(QUERY_NAMES)}={quote(rng.choice(QUERY_VALUES), safe='')}"
        for _ in range(rng.randint(0, 3))
    ]
    return "&".join(pairs)


def _suffix(rng: random.Random) -> str:
    return "F" + "".join(rng.choice(SUFFIX_CHARS) for _ in range(rng.randint(0, 12)))


def _case(rng: random.Random, client: httpx.Client, snms: dict) -> tuple[httpx.Request, bool]:
    """A random request, and whether it needs the Handle REST credential."""
    kind = rng.choice(["put", "get", "snms", "batch"])
    json_type = {"Content-Type": "application/json"}
    if kind == "put":
        values = _mutate(rng, {"values": GOOD_VALUES})
        url = f"/api/handles/88.118.8/{_suffix(rng)}?{_query(rng)}"
        return client.build_request("PUT", url, content=_body(rng, values), headers=json_type), True
    if kind == "get":
        url = f"/api/handles/88.118.8/{_suffix(rng)}?{_query(rng)}"
        return client.build_request("GET", url), False
    item = _mutate(rng, {"handle": f"88.118.8/{_suffix(rng)}", "value": GOOD_VALUES})
    if kind == "snms":
        path, document = "/identityv2/data", item
    else:
        path, document = "/identityv2/data/batchCreate", [item, _mutate(rng, item)]
    headers = {**snms, **json_type}
    return client.build_request("POST", path, content=_body(rng, document), headers=headers), False


@pytest.fixture
def node_server(settings: Settings) -> Iterator[ThreadedServer]:
    """The node behind its hot path, on a free loopback port."""
    with ThreadedServer(HotPath(create_app(settings))) as server:
        yield server


@pytest.mark.parametrize("seed", [SEED])
def test_mutated_writes_and_reads_never_get_a_server_error(node_server, seed: int) -> None:
    rng = random.Random(seed)
    credential = create_enterprise(node_server.url, "Acme", "88.118.8")
    with httpx.Client(base_url=node_server.url, timeout=30) as client:
        login = {"username": credential["username"], "password": credential["password"]}
        token = client.post("/identity/token", json=login).json()["data"]["token"]
        rest, snms = basic_auth(credential), {"Authorization": token}
        deadline = time.monotonic() + BUDGET_SECONDS
        ran = 0
        for case in range(CASES):
            if time.monotonic() > deadline:
                break
            request, needs_auth = _case(rng, client, snms)
            response = client.send(request, auth=rest if needs_auth else None)
            assert response.status_code < 500, (
                f"case {case} (seed {seed}): {request.method} {request.url}"
                f" {request.content[:300]!r} -> {response.status_code} {response.text[:300]}"
            )
            ran += 1
        assert ran >= 50, f"only {ran} cases ran within {BUDGET_SECONDS} s"
        assert client.get("/healthz").json()["status"] == "ok"
