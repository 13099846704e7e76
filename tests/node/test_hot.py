"""The hot path's misses: read together, answered as the endpoint would, private values hidden."""

from __future__ import annotations

import asyncio
import random
import time

import httpx
import pytest

from node import Settings, create_app
from node.hot import HotPath, query_filters

from ..servers import ThreadedServer
from .helpers import basic_auth, create_enterprise

PUBLIC = {"index": 1, "type": "URL", "data": "https://example.com/a"}
SECRET = {"index": 2, "type": "SECRET", "data": "s3cret", "permissions": "1100"}


async def _get_all(url: str, paths: list[str], auth: httpx.BasicAuth | None = None) -> list:
    async with httpx.AsyncClient(base_url=url, timeout=30, auth=auth) as client:
        return await asyncio.gather(*(client.get(path) for path in paths))


def test_concurrent_misses_share_statements_and_answer_each_as_the_endpoint(
    settings: Settings,
) -> None:
    app = create_app(settings)
    with ThreadedServer(HotPath(app)) as hot, ThreadedServer(create_app(settings)) as plain:
        acme = create_enterprise(hot.url, "Acme", "88.118.8")
        auth = basic_auth(acme)
        paths = [f"/api/handles/88.118.8/M{i}" for i in range(30)]
        with httpx.Client(base_url=hot.url, timeout=30, auth=auth) as client:
            for i, path in enumerate(paths[:20]):
                values = [PUBLIC, SECRET] if i % 2 else [PUBLIC]
                assert client.put(path, json={"values": values}).status_code == 201
        resolver = app.state.node.resolver
        resolver.invalidate(None)  # every one of them a miss
        statements = resolver.batcher.statements
        answers = asyncio.run(_get_all(hot.url, paths))
        assert resolver.batcher.statements - statements < len(paths)
        # The same status, body and headers as the full endpoint's (which skips the hot path).
        expected = asyncio.run(_get_all(plain.url, paths))
        for path, answer, endpoint in zip(paths, answers, expected, strict=True):
            assert answer.status_code == endpoint.status_code, path
            assert answer.json() == endpoint.json(), path
            assert answer.headers["content-type"] == endpoint.headers["content-type"]
        assert [answer.status_code for answer in answers] == [200] * 20 + [404] * 10
        assert all([v["index"] for v in a.json()["values"]] == [1] for a in answers[:20])
        assert answers[20].json() == {
            "responseCode": 100,
            "handle": "88.118.8/M20",
            "message": "handle 88.118.8/M20 does not exist",
        }
        # The owner, on a miss too, sees the private values.
        resolver.invalidate(None)
        owned = asyncio.run(_get_all(hot.url, paths[:2], auth))
        assert [[v["index"] for v in a.json()["values"]] for a in owned] == [[1], [1, 2]]


# Processes hear of each other's writes through PostgreSQL's LISTEN/NOTIFY.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_write_through_another_process_reaches_the_hot_paths_cache(settings: Settings) -> None:
    path = "/api/handles/88.118.8/OTHER-1"
    # Two apps, each with its own cache and listener: as two processes would be.
    with (
        ThreadedServer(HotPath(create_app(settings))) as hot,
        ThreadedServer(create_app(settings)) as other,
    ):
        auth = basic_auth(create_enterprise(other.url, "Acme", "88.118.8"))
        assert httpx.get(hot.url + path, timeout=30).status_code == 404  # a negative entry
        first = {"values": [{"index": 1, "type": "URL", "data": "v1"}]}
        assert httpx.put(other.url + path, json=first, auth=auth, timeout=30).status_code == 201
        for version in ("v1", "v2"):
            if version == "v2":
                second = {"values": [{"index": 1, "type": "URL", "data": "v2"}]}
                answer = httpx.put(other.url + path, json=second, auth=auth, timeout=30)
                assert answer.status_code == 200
            deadline = time.monotonic() + 10
            while True:
                answer = httpx.get(hot.url + path, timeout=30)
                if (
                    answer.status_code == 200
                    and answer.json()["values"][0]["data"]["value"] == version
                ):
                    break
                assert time.monotonic() < deadline, f"{version} never reached the hot path"
                time.sleep(0.05)


class _Counting:
    """An ASGI app that counts the requests it is handed, then hands them on."""

    def __init__(self, app) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            self.seen.append(scope["query_string"].decode())
        await self.app(scope, receive, send)


# Query strings of resolutions: the hot path answers those of index= and type= filters alone
# (True), and leaves the rest, including any value it would have to refuse, to the endpoint.
FILTERS = [
    ("index=1", True),
    ("index=2", True),
    ("index=1&index=2&index=1", True),
    ("index=0001", True),
    ("type=URL", True),
    ("type=URL&type=EMAIL", True),
    ("index=1&type=EMAIL", True),
    ("type=NONE", True),
    ("type=", True),
    ("type=%E4%B8%AD", True),
    ("index=99", True),
    ("index=abc", False),
    ("index=", False),
    ("index=99999999999", False),
    ("index=1&noredirect", False),
    ("auth=true", False),
]


def test_filtered_resolutions_are_answered_as_the_endpoint_answers_them(
    settings: Settings,
) -> None:
    app = create_app(settings)
    hot_app = HotPath(app)
    counting = _Counting(hot_app.app)
    hot_app.app = counting
    with ThreadedServer(hot_app) as hot, ThreadedServer(create_app(settings)) as plain:
        acme = create_enterprise(hot.url, "Acme", "88.118.8")
        auth = basic_auth(acme)
        email = {"index": 3, "type": "EMAIL", "data": "qa@example.com"}
        with httpx.Client(base_url=hot.url, timeout=30, auth=auth) as client:
            body = {"values": [PUBLIC, SECRET, email]}
            assert client.put("/api/handles/88.118.8/F1", json=body).status_code == 201
        for caller in (None, auth):
            for handle in ("88.118.8/F1", "88.118.8/MISSING"):
                for query, answered_hot in FILTERS:
                    url = f"/api/handles/{handle}?{query}"
                    counting.seen.clear()
                    with httpx.Client(base_url=hot.url, timeout=30, auth=caller) as client:
                        answer = client.get(url)
                    with httpx.Client(base_url=plain.url, timeout=30, auth=caller) as client:
                        endpoint = client.get(url)
                    where = (caller is not None, url)
                    assert answer.status_code == endpoint.status_code, where
                    assert answer.content == endpoint.content, where
                    assert answer.headers["content-type"] == endpoint.headers["content-type"]
                    # A caller's first request proves its password through the endpoint.
                    reached = [q for q in counting.seen if q == query]
                    if caller is None or handle.endswith("MISSING") or query != "index=1":
                        assert bool(reached) is not answered_hot, (where, counting.seen)
        # The filters apply: the owner sees its private value, the public does not.
        with httpx.Client(base_url=hot.url, timeout=30) as client:
            public = client.get("/api/handles/88.118.8/F1?index=2&index=1").json()
        with httpx.Client(base_url=hot.url, timeout=30, auth=auth) as client:
            owned = client.get("/api/handles/88.118.8/F1?index=2&index=1").json()
        assert [v["index"] for v in public["values"]] == [1]
        assert [v["index"] for v in owned["values"]] == [1, 2]


def test_fuzzed_query_strings_are_read_or_left_to_the_endpoint(settings: Settings) -> None:
    """Random query strings: ``query_filters`` never raises, and what the hot path answers is
    what the endpoint answers, byte for byte (a bounded sample, both over HTTP)."""
    rng = random.Random(1906)
    pieces = ["index", "type", "=", "&", "1", "2", "0", "99", "%", "%E4", "%B8%AD", "URL", "+",
              ";", "a", "-1", "%00", "index=", "type=", "\u00e9", "1" * 12]  # fmt: skip
    queries = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))) for _ in range(400)]
    for query in queries:
        read = query_filters(query.encode("utf-8"))
        if read is not None:
            indexes, types = read
            assert all(1 <= index <= 2**31 - 1 for index in indexes)
            assert all(isinstance(kind, str) for kind in types)
    with (
        ThreadedServer(HotPath(create_app(settings))) as hot,
        ThreadedServer(create_app(settings)) as plain,
    ):
        acme = create_enterprise(hot.url, "Acme", "88.118.8")
        email = {"index": 2, "type": "EMAIL", "data": "qa@example.com"}
        with httpx.Client(base_url=hot.url, timeout=30, auth=basic_auth(acme)) as client:
            body = {"values": [PUBLIC, email]}
            assert client.put("/api/handles/88.118.8/Z1", json=body).status_code == 201
        with (
            httpx.Client(base_url=hot.url, timeout=30) as a,
            httpx.Client(base_url=plain.url, timeout=30) as b,
        ):
            for query in queries[:60]:
                url = f"/api/handles/88.118.8/Z1?{query}"
                answer, endpoint = a.get(url), b.get(url)
                assert (answer.status_code, answer.content) == (
                    endpoint.status_code,
                    endpoint.content,
                ), url
