"""The DNS frontend's and the native protocol's answers show in ``GET /metrics``."""

from __future__ import annotations

import socket
import time

from node import Settings, create_app

from ...servers import ThreadedServer, free_port
from ..dns.dnshelp import dns_node, name_of
from ..native.native_nodes import resolution_bytes, udp_exchange
from .scraping import resolutions, scrape


def dns_answers(samples: dict, path: str) -> float:
    return samples.get(("idnode_dns_answers_total", (("path", path),)), 0.0)


def test_dns_answers_are_counted(settings: Settings) -> None:
    with dns_node(settings) as node:
        node.put("88.118.8/DNS-1", [{"index": 1, "type": "URL", "data": "https://example.com"}])
        before = scrape(node.url)
        for tcp in (False, False, True):
            node.query(name_of("88.118.8/DNS-1"), "TXT", tcp=tcp)
        after = scrape(node.url)
    answered = sum(dns_answers(after, p) - dns_answers(before, p) for p in ("cached", "engine"))
    assert answered == 3
    assert ("idnode_dns_tcp_connections", ()) in after
    assert ("idnode_dns_shed_total", ()) in after


def test_native_resolutions_are_counted(settings: Settings) -> None:
    configured = settings.model_copy(update={"handle_port": free_port()})
    with ThreadedServer(create_app(configured), settings=configured) as server:
        before = scrape(server.url)
        answers = udp_exchange(configured.handle_port, resolution_bytes("88.118.8/NATIVE-NONE"))
        assert answers
        after = scrape(server.url)
        assert after[("idnode_native_tcp_connections", ())] == 0
        with socket.create_connection(("127.0.0.1", configured.handle_port), timeout=5):
            deadline = time.monotonic() + 5
            while scrape(server.url)[("idnode_native_tcp_connections", ())] != 1:
                assert time.monotonic() < deadline, "the open connection is never counted"
                time.sleep(0.05)
    assert resolutions(after, "negative") - resolutions(before, "negative") == 1
    assert after[("idnode_native_udp_dropped_total", ())] == 0
