"""The node's HTTP client for the top-level node; foreign errors become registry errors here."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from registry import Conflict, InvalidInput, NodeError, Unauthenticated, Unavailable
from registry.storage import OutboxBatch

__all__ = ["TopLevelClient"]


class TopLevelClient:
    """Onboarding, sync batches and statistics, over one pooled httpx client."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def register(
        self,
        code: str,
        base_url: str,
        public_key: dict[str, Any],
        bootstrap_token: str,
        *,
        key_index: int = 300,
        proof: str | None = None,
        dns: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Onboard this node; the answer carries its sync ``token`` and its ``certificate``.

        ``proof`` (``registry.sign_registration``) lets a node already registered re-register;
        ``dns`` is its DNS frontend (sent only when it has one: older top-levels know no such field).
        """
        body = {
            "nodeCode": code,
            "baseUrl": base_url,
            "publicKey": public_key,
            "keyIndex": key_index,
            "proof": proof,
        }
        if dns is not None:
            body["dns"] = dns
        return await self._call("POST", "/nodes", bootstrap_token, orjson.dumps(body))

    async def send_batch(self, code: str, token: str, batch: OutboxBatch) -> dict[str, Any]:
        """Send one batch; the answer says whether it was applied now or had been before."""
        return await self._call("POST", f"/nodes/{code}/batches", token, batch.body())

    async def send_stats(self, code: str, token: str, figures: dict[str, Any]) -> None:
        await self._call("POST", f"/nodes/{code}/stats", token, orjson.dumps(figures))

    async def _call(self, method: str, path: str, token: str, body: bytes) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            response = await self._http.request(method, path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"top-level node at {self.base_url} is unreachable: {type(exc).__name__}"
            ) from exc
        if response.status_code < 300:
            return response.json() if response.content else {}
        message = f"top-level node answered {response.status_code} to {method} {path}: {_message(response)}"
        error: type[NodeError]
        if response.status_code == 401:
            error = Unauthenticated
        elif response.status_code == 409:
            error = Conflict
        elif response.status_code >= 500 or response.status_code == 429:
            error = Unavailable
        else:
            error = InvalidInput
        raise error(message)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))[:500]
    except ValueError:
        return response.text[:500]
