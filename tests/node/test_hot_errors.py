"""The hot path answers resolution errors itself, as the app's Handle REST dialect would."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import pytest

from node import Settings, create_app
from node.hot import HotPath
from registry import Handle, Record, Unavailable

from ..servers import ThreadedServer

# An invalid handle, bytes that are not UTF-8, an empty handle, a control character.
BAD_PATHS = [
    "/api/handles/88..118/X",
    "/api/handles/88.118.8/%FF",
    "/api/handles/",
    "/api/handles/88.118.8/A%0A",
    "/api/handles/no-slash",
]
COMPARED_HEADERS = ("content-type", "x-content-type-options", "retry-after")


def test_an_uncached_miss_during_an_outage_reads_storage_once(settings: Settings) -> None:
    app = create_app(settings)
    reads: list[str] = []

    async def storage_down(handle: Handle) -> Record | None:
        reads.append(str(handle))
        raise Unavailable("the database is unreachable")

    async def storage_down_many(handles: Sequence[str]) -> dict[str, str]:
        reads.extend(handles)
        raise Unavailable("the database is unreachable")

    with ThreadedServer(HotPath(app)) as server:
        # The hot path's misses are read in batches; single reads go through ``get``.
        app.state.node.resolver.records.get = storage_down
        app.state.node.resolver.batcher.fetch_many = storage_down_many
        response = httpx.get(f"{server.url}/api/handles/88.118.8/NEVER-SEEN", timeout=30)
    assert response.status_code == 503
    assert response.json() == {
        "responseCode": 3,
        "handle": "88.118.8/NEVER-SEEN",
        "message": "the database is unreachable",
    }
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert reads == ["88.118.8/NEVER-SEEN"]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_hot_path_errors_match_the_apps_answer(settings: Settings, path: str) -> None:
    with ThreadedServer(create_app(settings)) as plain:
        expected = httpx.get(plain.url + path, timeout=30)
    with ThreadedServer(HotPath(create_app(settings))) as hot:
        answered = httpx.get(hot.url + path, timeout=30)
    assert expected.status_code >= 400
    assert (answered.status_code, answered.content) == (expected.status_code, expected.content)
    for name in COMPARED_HEADERS:
        assert answered.headers.get(name) == expected.headers.get(name), name
