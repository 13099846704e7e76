"""A running node with the native protocol, for the native tests (not a test module)."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any

import httpx

from registry.codec import native

from ...conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class NativeNode:
    """A running node: its HTTP base URL, native port and app (``app.state.native``)."""

    url: str
    port: int
    app: Any

    @property
    def native(self) -> Any:
        return self.app.state.native

    def put(self, handle: str, values: list[dict[str, Any]]) -> None:
        """Write a record through the REST API (as the administrator)."""
        response = httpx.put(
            f"{self.url}/api/handles/{handle}", json={"values": values}, headers=ADMIN
        )
        assert response.status_code in (200, 201), response.text

    def delete(self, handle: str) -> None:
        response = httpx.delete(f"{self.url}/api/handles/{handle}", headers=ADMIN)
        assert response.status_code == 200, response.text


def value(index: int, kind: str, text: str, permissions: str | None = None) -> dict[str, Any]:
    """A string value in Handle REST form."""
    body: dict[str, Any] = {
        "index": index,
        "type": kind,
        "data": {"format": "string", "value": text},
    }
    if permissions is not None:
        body["permissions"] = permissions
    return body


def request_bytes(
    opcode: int,
    body: bytes,
    *,
    flags: int = 0,
    request_id: int = 7,
    session_id: int = 0,
    version: tuple[int, int] = (2, 10),
    suggest: tuple[int, int] = (2, 11),
    expiration: int | None = None,
) -> bytes:
    """A whole request as a client sends it over TCP (or in one datagram)."""
    header = native.Header(
        opcode, flags=flags, expiration=native.expiry() if expiration is None else expiration
    )
    message = native.encode_message(header, body)
    envelope = native.Envelope(*version, *suggest, session_id, request_id, 0, len(message))
    return envelope.encode() + message


def resolution_bytes(
    handle: str, indexes: tuple[int, ...] = (), types: tuple[bytes, ...] = (), **kwargs: Any
) -> bytes:
    body = native.encode_resolution_request(
        native.ResolutionRequest(handle.encode(), indexes, types)
    )
    return request_bytes(native.OpCode.RESOLUTION, body, **kwargs)


async def read_answer(
    reader: asyncio.StreamReader, timeout: float = 5.0
) -> tuple[native.Envelope, native.Message]:
    """One answer from a TCP stream."""
    head = await asyncio.wait_for(reader.readexactly(native.ENVELOPE_SIZE), timeout)
    envelope = native.decode_envelope(head)
    data = await asyncio.wait_for(reader.readexactly(envelope.length), timeout)
    return envelope, native.decode_message(data)


def udp_exchange(port: int, data: bytes, timeout: float = 2.0) -> list[bytes]:
    """Send ``data`` in one datagram; every datagram that comes back before a quiet ``timeout``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(data, ("127.0.0.1", port))
        answers = []
        try:
            while True:
                answers.append(sock.recv(65536))
                sock.settimeout(0.3)
        except TimeoutError:
            return answers
