"""The one Handle REST client: ``GET {base}/api/handles/<handle>`` from another server.

Other servers are not trusted to be small or well-formed: an answer over ``max_answer_bytes``
is dropped as it streams in (the connection closed), and anything that is not a Handle REST
answer with a list of values is ``Unavailable``, as is an unreachable server or an HTTP status
other than 200 and 404. The body is read by the pure codec (``registry.codec``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import httpx

from registry import HandleValue, InvalidInput, Unavailable, codec

__all__ = ["MAX_ANSWER_BYTES", "HandleRestClient"]

MAX_ANSWER_BYTES = 1024 * 1024


class HandleRestClient:
    """Fetches handles' values over a pooled httpx client the caller owns (and closes)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.max_answer_bytes = max_answer_bytes
        self.headers = dict(headers or {})

    async def fetch_values(self, base_url: str, handle: str) -> tuple[HandleValue, ...] | None:
        """The values ``base_url`` serves for ``handle`` in the order sent; ``None`` on 404."""
        base_url = base_url.rstrip("/")
        url = f"{base_url}/api/handles/{quote(handle, safe='/')}"
        try:
            async with self.client.stream("GET", url, headers=self.headers) as response:
                if response.status_code == 404:
                    return None
                if response.status_code != 200:
                    raise Unavailable(
                        f"{base_url} answered {handle} with HTTP {response.status_code}"
                    )
                content = await self._read(response, base_url, handle)
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach {base_url}: {type(exc).__name__}") from exc
        try:
            answer = codec.parse_answer(content)
        except InvalidInput as exc:
            raise Unavailable(
                f"{base_url} answered {handle} with a malformed answer: {exc.message}"
            ) from exc
        if answer.values is None:
            raise Unavailable(f"{base_url} answered {handle} without a list of values")
        return answer.values

    async def _read(self, response: httpx.Response, base_url: str, handle: str) -> bytes:
        """The body, given up (and the connection closed) once it passes ``max_answer_bytes``."""
        too_large = Unavailable(
            f"{base_url} answered {handle} with more than {self.max_answer_bytes} bytes"
        )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_answer_bytes:
            raise too_large
        content = bytearray()
        async for chunk in response.aiter_bytes():
            content += chunk
            if len(content) > self.max_answer_bytes:
                raise too_large
        return bytes(content)
