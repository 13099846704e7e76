"""The scenarios the driver runs: what each request is and what counts as a correct answer."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

from ._driver import Outcome
from ._http import Http, Reply
from ._keys import ColdOrder, ZipfKeys, missing_suffix, new_suffix, seeded_suffix
from ._setup import Credential, basic_header, record_values

__all__ = ["READS", "SCENARIOS", "WRITES", "Plan", "Scenario", "build_scenario"]

SCENARIOS: dict[str, str] = {
    "resolve-hot": "resolve one identifier over and over (the cache-hit path)",
    "resolve-zipf": "resolve identifiers drawn from a Zipf distribution over the key space",
    "resolve-cold": "resolve every identifier of the key space once before repeating (cache misses)",
    "not-found": "resolve identifiers that do not exist under a served prefix (404 path)",
    "register": "create a new identifier per request through Handle REST PUT",
    "batch-register": "create --batch-size identifiers per request through SNMS batchCreate",
    "mixed": "resolve-zipf with --register-share of requests registering (default 5 %)",
    "recursive": "resolve identifiers of another node's prefix through this node",
    "healthz": "GET /healthz: what the HTTP server alone costs, the baseline for ratios",
}

# Scenarios that read identifiers, and those that write.
READS = {"resolve-hot", "resolve-zipf", "resolve-cold", "mixed", "recursive"}
WRITES = {"register", "batch-register", "mixed"}


@dataclass
class Plan:
    """A scenario's parameters: from the command line, the environment or a benchmark script."""

    scenario: str
    prefix: str = ""
    keyspace: int = 1
    batch_size: int = 100
    register_share: float = 0.05
    zipf_s: float = 1.0
    seed: int = 7
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])


def _handle_path(prefix: str, suffix: str) -> str:
    return "/api/handles/" + quote(f"{prefix}/{suffix}", safe="/")


def _status(reply: Reply, expected: int, items: int = 1) -> Outcome:
    if reply.status == expected:
        return Outcome(True, items=items)
    return Outcome(False, f"http-{reply.status}", 0)


class Scenario:
    """One scenario bound to its plan: ``await scenario(client, i)`` sends request i."""

    def __init__(self, plan: Plan, credential: Credential | None, token: str | None = None) -> None:
        if plan.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {plan.scenario!r}; one of {', '.join(SCENARIOS)}")
        self.plan = plan
        self.credential = credential
        self.auth = basic_header(credential) if credential else {}
        self.token = token
        self.rng = random.Random(plan.seed)
        self.zipf = ZipfKeys(plan.keyspace, plan.zipf_s, self.rng)
        self.cold = ColdOrder(plan.keyspace, plan.seed)

    @property
    def items_per_request(self) -> int:
        """Identifiers each request carries (the batch size for batch-register)."""
        return self.plan.batch_size if self.plan.scenario == "batch-register" else 1

    async def __call__(self, client: Http, i: int) -> Outcome:
        """Send request number i of the run and judge its answer."""
        name = self.plan.scenario
        if name == "mixed":
            if self.rng.random() < self.plan.register_share:
                return await self._register(client, i)
            return await self._resolve(client, seeded_suffix(self.zipf.draw()))
        if name == "resolve-hot":
            return await self._resolve(client, seeded_suffix(0))
        if name in ("resolve-zipf", "recursive"):
            return await self._resolve(client, seeded_suffix(self.zipf.draw()))
        if name == "resolve-cold":
            return await self._resolve(client, seeded_suffix(self.cold.at(i)))
        if name == "not-found":
            response = await client.get(
                _handle_path(self.plan.prefix, missing_suffix(self.plan.run_id, i))
            )
            return _status(response, 404)
        if name == "register":
            return await self._register(client, i)
        if name == "healthz":
            return _status(await client.get("/healthz"), 200)
        return await self._batch(client, i)

    async def _resolve(self, client: Http, suffix: str) -> Outcome:
        response = await client.get(_handle_path(self.plan.prefix, suffix))
        if response.status == 200 and b'"responseCode":1' not in response.body:
            return Outcome(False, "bad-body", 0)
        return _status(response, 200)

    async def _register(self, client: Http, i: int) -> Outcome:
        assert self.credential is not None
        suffix = new_suffix(self.plan.run_id, i)
        handle = f"{self.credential.prefix}/{suffix}"
        response = await client.put(
            _handle_path(self.credential.prefix, suffix),
            params={"overwrite": "false"},
            json={"values": record_values(handle)},
            headers=self.auth,
        )
        return _status(response, 201)

    async def _batch(self, client: Http, i: int) -> Outcome:
        assert self.credential is not None
        size = self.plan.batch_size
        items = []
        for k in range(size):
            handle = f"{self.credential.prefix}/{new_suffix(self.plan.run_id, i * size + k)}"
            items.append({"handle": handle, "value": record_values(handle)})
        response = await client.post(
            "/identityv2/data/batchCreate",
            json={"data": items},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        if response.status != 200:
            return Outcome(False, f"http-{response.status}", 0)
        body = response.json()
        if body.get("status") != 1:
            return Outcome(False, f"snms-status-{body.get('status')}", 0)
        created = sum(1 for entry in body.get("data") or [] if entry.get("msg") == "success")
        if created != size:
            return Outcome(False, "batch-item-failed", created)
        return Outcome(True, items=created)


def build_scenario(plan: Plan, credential: Credential | None, token: str | None = None) -> Scenario:
    """The scenario object for a plan."""
    return Scenario(plan, credential, token)
