"""bench_dns's pieces on real servers: Unbound and the node answer the same names; dnsperf runs."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import dns.message
import dns.query
import httpx
import pytest

from loadtests import (
    bench_dns,
    ensure_credential,
    free_port,
    put_handles,
    seeded_suffix,
    started_node,
)

# Under CI=true a missing dnsperf fails (make test installs it) rather than skipping.
pytestmark = pytest.mark.skipif(
    shutil.which("dnsperf") is None and os.environ.get("CI") != "true",
    reason="dnsperf is missing: make dns-tools",
)


def _uri(port: int, name: str) -> list[str]:
    query = dns.message.make_query(name, "URI")
    answer = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
    return sorted(rdata.to_text() for rrset in answer.answer for rdata in rrset)


async def test_unbound_and_the_node_answer_the_same_names_and_dnsperf_measures_both(
    tmp_path: Path,
) -> None:
    names = bench_dns.owner_names(3)
    unbound_port, dns_port = free_port(udp=True), free_port(udp=True)
    unbound = bench_dns.start_unbound(
        bench_dns.unbound_config(tmp_path, unbound_port, names), unbound_port
    )
    token = secrets.token_urlsafe(8)
    env = {"IDNODE_DNS_PORT": str(dns_port), "IDNODE_DNS_RESPONSES_PER_SECOND": "0"}
    try:
        with started_node(tmp_path, token, env=env) as node:
            async with httpx.AsyncClient(base_url=node.url, timeout=30) as client:
                credential = await ensure_credential(
                    client,
                    admin_token=token,
                    username=None,
                    password=None,
                    prefix=bench_dns.PREFIX,
                    name="bench",
                )
                await put_handles(client, credential, [seeded_suffix(i) for i in range(3)])
            for name in names:
                assert _uri(dns_port, name) == _uri(unbound_port, name) != []
            queries = bench_dns.query_file(tmp_path, "q.txt", names)
            for port, pid in ((dns_port, node.pid), (unbound_port, unbound.pid)):
                figures = bench_dns.dnsperf(port, queries, pid, seconds=1)
                assert figures["queries"] > 0 and figures["qps"] > 0
                assert figures["cpu_us_per_query"] >= 0
    finally:
        bench_dns.stop_process(unbound)
