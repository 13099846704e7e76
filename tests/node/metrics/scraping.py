"""Reading ``GET /metrics`` as Prometheus would (prometheus-client's parser)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ...conftest import ADMIN_TOKEN


def scrape(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the node's metrics, by sample name and sorted labels."""
    response = httpx.get(
        f"{base_url}/metrics", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests_count(samples: dict, api: str, outcome: str) -> float:
    return samples.get(
        ("idnode_request_duration_seconds_count", (("api", api), ("outcome", outcome))), 0.0
    )


def resolutions(samples: dict, result: str) -> float:
    return samples.get(("idnode_resolutions_total", (("result", result),)), 0.0)
