"""Locust scenarios for idnode (``FastHttpUser``), one user class per scenario.

    locust -f loadtests/locustfile.py --headless -H http://127.0.0.1:8000 -u 50 -r 10 -t 1m \\
        --csv out/locust --html out/locust.html --admin-token TOKEN ResolveZipf

Options below also read ``LOADTEST_*`` environment variables. Without ``--keyspace`` each
Locust process creates the identifiers it reads (``--keys``) through Handle REST at test start,
under a new enterprise (``--admin-token``) or the ``--username``/``--password`` credential given.
Locust is closed-loop (each user waits for its answer); for latency you can quote, use
``python -m loadtests run`` (open-loop, coordinated-omission corrected).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from typing import Any
from urllib.parse import quote

import httpx
from locust import FastHttpUser, constant_throughput, events, task
from locust.env import Environment

from loadtests import (
    ColdOrder,
    Credential,
    ZipfKeys,
    basic_header,
    ensure_credential,
    missing_suffix,
    new_suffix,
    put_handles,
    record_values,
    seeded_suffix,
    snms_token,
)

_RESOLVE = "/api/handles/[handle]"
# Setup requests go through httpx, whose INFO line per request would bury Locust's own output.
logging.getLogger("httpx").setLevel(logging.WARNING)


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("idnode load test")
    group.add_argument(
        "--prefix", env_var="LOADTEST_PREFIX", default="", help="prefix to read/write"
    )
    group.add_argument("--keyspace", env_var="LOADTEST_KEYSPACE", type=int, default=0,
                       help="read seeded LT000000000… identifiers (no setup)")  # fmt: skip
    group.add_argument("--keys", env_var="LOADTEST_KEYS", type=int, default=1000,
                       help="identifiers to create at test start without --keyspace")  # fmt: skip
    group.add_argument("--admin-token", env_var="LOADTEST_ADMIN_TOKEN", default="")
    group.add_argument("--username", env_var="LOADTEST_USERNAME", default="")
    group.add_argument("--password", env_var="LOADTEST_PASSWORD", default="")
    group.add_argument("--batch-size", env_var="LOADTEST_BATCH_SIZE", type=int, default=100)
    group.add_argument("--register-share", env_var="LOADTEST_REGISTER_SHARE", type=float,
                       default=0.05, help="Mixed: share of tasks that register")  # fmt: skip
    group.add_argument("--zipf-s", env_var="LOADTEST_ZIPF_S", type=float, default=1.0)
    group.add_argument("--user-rate", env_var="LOADTEST_USER_RATE", type=float, default=0.0,
                       help="tasks per second per user (0: as fast as answers come)")  # fmt: skip


class _Data:
    """What test start set up: shared by every user of this Locust process."""

    credential: Credential | None = None
    prefix: str = ""
    keyspace: int = 1
    token: str = ""
    run_id: str = uuid.uuid4().hex[:8]


async def _prepare(environment: Environment) -> None:
    options = environment.parsed_options
    host = environment.host or ""
    users = {cls.__name__ for cls in environment.user_classes}
    writes = bool(users & {"Register", "BatchRegister", "Mixed"})
    reads = bool(users & {"ResolveHot", "ResolveZipf", "ResolveCold", "Mixed", "Recursive"})
    async with httpx.AsyncClient(base_url=host, timeout=30) as client:
        if writes or (reads and not options.keyspace) or not options.prefix:
            _Data.credential = await ensure_credential(
                client,
                admin_token=options.admin_token or None,
                username=options.username or None,
                password=options.password or None,
                prefix=options.prefix or None,
                name="idnode locust",
            )
            _Data.prefix = _Data.credential.prefix
        else:
            _Data.prefix = options.prefix
        if options.keyspace:
            _Data.keyspace = options.keyspace
        elif reads and _Data.credential is not None:
            await put_handles(client, _Data.credential, map(seeded_suffix, range(options.keys)))
            _Data.keyspace = options.keys
        if "BatchRegister" in users and _Data.credential is not None:
            _Data.token = await snms_token(client, _Data.credential)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    if environment.parsed_options is not None and environment.host:
        asyncio.run(_prepare(environment))


class _IdnodeUser(FastHttpUser):
    abstract = True

    def wait_time(self) -> float:
        rate = self.environment.parsed_options.user_rate
        return constant_throughput(rate)(self) if rate > 0 else 0.0

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.rng = random.Random()
        self.zipf = ZipfKeys(_Data.keyspace, options.zipf_s, self.rng)
        self.cold = ColdOrder(_Data.keyspace, self.rng.randrange(1 << 30))
        self.step = 0
        self.user_id = uuid.uuid4().hex[:6]
        self.auth_header = basic_header(_Data.credential) if _Data.credential else {}

    def _next(self) -> int:
        self.step += 1
        return self.step

    def resolve(self, suffix: str, expected: int = 200) -> None:
        path = "/api/handles/" + quote(f"{_Data.prefix}/{suffix}", safe="/")
        with self.client.get(path, name=_RESOLVE, catch_response=True) as response:
            if response.status_code != expected:
                response.failure(f"HTTP {response.status_code}, expected {expected}")
            elif expected == 200 and b'"responseCode":1' not in (response.content or b""):
                response.failure("answer without responseCode 1")
            else:
                response.success()

    def register(self) -> None:
        suffix = new_suffix(f"{_Data.run_id}-{self.user_id}", self._next())
        handle = f"{_Data.prefix}/{suffix}"
        self.client.put(
            "/api/handles/" + quote(handle, safe="/") + "?overwrite=false",
            json={"values": record_values(handle)},
            headers=self.auth_header,
            name="/api/handles/[new]",
        )


class ResolveHot(_IdnodeUser):
    """Resolve one identifier over and over (the cache-hit path)."""

    @task
    def resolve_hot(self) -> None:
        self.resolve(seeded_suffix(0))


class ResolveZipf(_IdnodeUser):
    """Resolve identifiers drawn from a Zipf distribution over the key space."""

    @task
    def resolve_zipf(self) -> None:
        self.resolve(seeded_suffix(self.zipf.draw()))


class ResolveCold(_IdnodeUser):
    """Resolve the key space in a scattered order, each identifier once per round."""

    @task
    def resolve_cold(self) -> None:
        self.resolve(seeded_suffix(self.cold.at(self._next())))


class NotFound(_IdnodeUser):
    """Resolve identifiers that do not exist (expects 404)."""

    @task
    def not_found(self) -> None:
        self.resolve(missing_suffix(f"{_Data.run_id}-{self.user_id}", self._next()), 404)


class Register(_IdnodeUser):
    """Create one new identifier per task through Handle REST PUT."""

    @task
    def register_one(self) -> None:
        self.register()


class BatchRegister(_IdnodeUser):
    """Create --batch-size identifiers per task through SNMS batchCreate."""

    @task
    def register_batch(self) -> None:
        size = self.environment.parsed_options.batch_size
        step = self._next()
        items = []
        for k in range(size):
            handle = (
                f"{_Data.prefix}/{new_suffix(f'{_Data.run_id}-{self.user_id}', step * size + k)}"
            )
            items.append({"handle": handle, "value": record_values(handle)})
        headers = {"Authorization": f"Bearer {_Data.token}"}
        with self.client.post(
            "/identityv2/data/batchCreate",
            json={"data": items},
            headers=headers,
            name="/identityv2/data/batchCreate",
            catch_response=True,
        ) as response:
            body = response.json() if response.status_code == 200 else {}
            failed = [e for e in body.get("data") or [] if e.get("msg") != "success"]
            if body.get("status") != 1 or failed:
                response.failure(f"HTTP {response.status_code}, {len(failed)} item(s) failed")
            else:
                response.success()


class Mixed(_IdnodeUser):
    """Resolve-zipf, with --register-share of tasks registering (default 5 %)."""

    @task
    def mixed(self) -> None:
        if self.rng.random() < self.environment.parsed_options.register_share:
            self.register()
        else:
            self.resolve(seeded_suffix(self.zipf.draw()))


class Recursive(_IdnodeUser):
    """Resolve another node's identifiers (--prefix, --keyspace) through this node."""

    @task
    def resolve_foreign(self) -> None:
        self.resolve(seeded_suffix(self.zipf.draw()))
