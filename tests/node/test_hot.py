"""The hot path's misses: read together, answered as the endpoint would, private values hidden."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from node import Settings, create_app
from node.hot import HotPath

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
