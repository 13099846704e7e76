"""A node with its DNS frontend on free loopback ports, and small DNS helpers for tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dns.message
import dns.name
import dns.query
import httpx

from loadtests import free_port
from node import Settings, create_app
from registry import Handle
from registry.codec import handle_to_name

from ...servers import ThreadedServer
from ..helpers import basic_auth, create_enterprise

ZONE = "idis.internal."


def free_dns_port() -> int:
    """A port free on 127.0.0.1 for both UDP and TCP."""
    return free_port(udp=True)


@dataclass
class DnsNode:
    """A running node: its HTTP base URL, its DNS port and an enterprise's credential."""

    url: str
    port: int
    credential: dict

    def put(self, handle: str, values: list[dict]) -> None:
        response = httpx.put(
            f"{self.url}/api/handles/{handle}",
            json={"values": values},
            auth=basic_auth(self.credential),
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text

    def query(
        self, name: str | dns.name.Name, rdtype: str, *, tcp: bool = False, **kw
    ) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, **kw)
        send = dns.query.tcp if tcp else dns.query.udp
        return send(query, "127.0.0.1", port=self.port, timeout=10)


def name_of(handle: str) -> dns.name.Name:
    return handle_to_name(Handle.parse(handle), dns.name.from_text(ZONE))


@contextmanager
def dns_node(settings: Settings, **changes: object) -> Iterator[DnsNode]:
    """The node's app under uvicorn with the DNS frontend on, an enterprise for 88.118.8."""
    port = free_dns_port()
    update = {"dns_port": port, "dns_zone": ZONE, **changes}
    with ThreadedServer(create_app(settings.model_copy(update=update))) as server:
        credential = create_enterprise(server.url, "Acme", "88.118.8")
        yield DnsNode(server.url, port, credential)
