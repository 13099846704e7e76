"""The outbox shipper and the statistics reporter: background tasks owned by the lifespan.

Only one process ships at a time (``SyncStore.try_lead``); the others stand by and take over
when the leader goes away. Batches go out in order; while the top-level node is slow or down the
shipper backs off exponentially with jitter, and the node keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import orjson

from registry import Conflict, NodeError, Unauthenticated, Unavailable
from registry.storage import SyncStore

from .client import TopLevelClient

__all__ = ["Identity", "OnboardingKey", "StatsSource", "SyncWorker"]

logger = logging.getLogger("idnode.sync")

StatsSource = Callable[[], Awaitable[dict[str, Any]]]
# The id of the key the top-level node certified; another active key (a rotation) re-onboards.
_ONBOARDED_KEY = "toplevel_key"
# The DNS frontend the node last registered (JSON): it registers again when that changes.
_ONBOARDED_DNS = "toplevel_dns"


class OnboardingKey(Protocol):
    """The key presented when onboarding: its id, HS_PUBKEY index and public JWK."""

    kid: str
    index: int
    jwk: dict[str, Any]


class Identity(Protocol):
    """The node's trust key (``node.trust.NodeIdentity``): presented, then certified."""

    async def key(self) -> OnboardingKey: ...

    async def install(self, certificate: str) -> str: ...

    async def prove(self, kid: str | None, code: str, base_url: str, key: OnboardingKey) -> str: ...


class SyncWorker:
    """Ships the outbox to the top-level node and reports statistics, until stopped."""

    def __init__(
        self,
        store: SyncStore,
        client: TopLevelClient,
        *,
        node_code: str,
        public_url: str,
        bootstrap_token: str | None,
        batch_size: int = 500,
        idle_seconds: float = 1.0,
        backoff_base_seconds: float = 0.2,
        backoff_max_seconds: float = 30.0,
        stats_interval_seconds: float = 60.0,
        linger_seconds: float = 0.05,
        identity: Identity | None = None,
        dns: dict[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.dns = dns
        self._dns_text = (
            "" if dns is None else orjson.dumps(dns, option=orjson.OPT_SORT_KEYS).decode()
        )
        self.client = client
        self.node_code = node_code
        self.public_url = public_url
        self.bootstrap_token = bootstrap_token
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.backoff_base = backoff_base_seconds
        self.backoff_max = backoff_max_seconds
        self.stats_interval = stats_interval_seconds
        self.linger = linger_seconds
        self.identity = identity
        self.stats_sources: list[StatsSource] = []
        self.leading = False
        self.failures = 0
        self._stopping = False
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._rng = random.Random()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._ship_forever(), name="idnode-sync-shipper"),
            asyncio.create_task(self._report_forever(), name="idnode-sync-stats"),
        ]

    async def stop(self, flush_seconds: float = 5.0) -> None:
        """Ship what is left for up to ``flush_seconds`` (if this process ships), then stop.

        Whatever is still unshipped stays in the outbox for the next shipper: nothing is lost.
        """
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(self._tasks[:1], timeout=flush_seconds)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.client.close()

    async def changed(self, handles: Sequence[str]) -> None:
        """A change listener: ship soon rather than at the next idle poll."""
        self._wake.set()

    async def status(self) -> dict[str, Any]:
        """``SyncStore.status`` plus what this process knows: is it the shipper, its failures."""
        return {
            **await self.store.status(),
            "toplevelUrl": self.client.base_url,
            "shipperHere": self.leading,
            "consecutiveFailures": self.failures,
        }

    async def _ship_forever(self) -> None:
        while not self._stopping:
            lease = await self._try_lead()
            if lease is None:
                self._wake.clear()
                await self._sleep(self.idle_seconds * 5)
                continue
            self.leading = True
            try:
                await self._ship_while_leading()
            finally:
                self.leading = False
                await asyncio.shield(lease.release())

    async def _try_lead(self) -> Any:
        try:
            return await self.store.try_lead()
        except NodeError as exc:
            logger.warning("sync: cannot take the shipper lease: %s", exc.message)
            return None

    async def _ship_while_leading(self) -> None:
        while True:
            # Noted before looking at the outbox: stop() comes after the server's last request, so
            # an outbox found empty after that holds nothing acknowledged; one found empty before
            # (say, while onboarding took seconds) may have been written to since.
            stopping = self._stopping
            # Cleared before looking too: a change signalled while this look is under way (an
            # empty outbox, then seconds of onboarding) cuts the idle sleep after it short.
            self._wake.clear()
            try:
                shipped = await self.ship_once()
            except NodeError as exc:
                self.failures += 1
                if self._stopping:
                    return
                delay = self.backoff_delay(self.failures)
                logger.warning("sync: %s; retrying in %.1fs", exc.message, delay)
                with contextlib.suppress(NodeError):
                    await self.store.record_error(exc.message)
                await asyncio.sleep(delay)
                continue
            self.failures = 0
            if not shipped:
                if stopping:
                    return
                if not self._stopping:
                    await self._sleep(self.idle_seconds)

    def backoff_delay(self, failures: int) -> float:
        """How long to wait after ``failures`` failures in a row: doubling, capped, jittered."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** min(failures - 1, 30))
        # Full jitter: many nodes retrying against one top-level node do not synchronise.
        return self._rng.uniform(ceiling / 2, ceiling)

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or until a change signalled since the caller cleared ``_wake``; then
        linger briefly so changes travel together."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
            await asyncio.sleep(self.linger)

    async def ship_once(self) -> bool:
        """Send the next batch and drop it from the outbox once acknowledged; False when idle."""
        batch = await self.store.next_batch(self.batch_size)
        if batch is None:
            if self.bootstrap_token and self.identity is not None:
                # Onboard before the first change, so the node is certified from its start.
                await self._token()
            return False
        token = await self._token()
        try:
            await self.client.send_batch(self.node_code, token, batch)
        except Unauthenticated:
            # The top-level no longer knows our token (it was reset or re-issued): onboard again.
            await self.store.set_token(None)
            raise
        except Conflict as exc:
            raise Unavailable(f"{exc.message} (the top-level node's state disagrees)") from exc
        await self.store.acknowledge(batch.seq)
        return True

    async def _token(self) -> str:
        token = await self.store.token()
        if token is not None and (self.identity is None or not self.bootstrap_token):
            return token
        key = None if self.identity is None else await self.identity.key()
        if (
            token is not None
            and key is not None
            and await self.store.get(_ONBOARDED_KEY) == key.kid
            and (await self.store.get(_ONBOARDED_DNS) or "") == self._dns_text
        ):
            return token
        if not self.bootstrap_token:
            raise Unauthenticated(
                "not onboarded at the top-level node and IDNODE_TOPLEVEL_BOOTSTRAP_TOKEN is not set"
            )
        if key is None or self.identity is None:
            raise Unauthenticated("not onboarded at the top-level node: no trust key to present")
        # Signed by the key the top-level node knows, so it lets us re-register or re-key.
        proof = await self.identity.prove(
            await self.store.get(_ONBOARDED_KEY), self.node_code, self.public_url, key
        )
        answer = await self.client.register(
            self.node_code,
            self.public_url,
            key.jwk,
            self.bootstrap_token,
            key_index=key.index,
            proof=proof,
            dns=self.dns,
        )
        if answer.get("certificate"):
            kid = await self.identity.install(answer["certificate"])
            logger.info("sync: installed the top-level node's certificate of key %s", kid)
        await self.store.put(_ONBOARDED_KEY, key.kid)
        await self.store.put(_ONBOARDED_DNS, self._dns_text)
        token = answer["token"]
        await self.store.set_token(token)
        logger.info("sync: onboarded at %s as node %s", self.client.base_url, self.node_code)
        return token

    async def _report_forever(self) -> None:
        while True:
            await asyncio.sleep(self.stats_interval)
            if not self.leading:
                continue
            try:
                await self.report_stats()
            except NodeError as exc:
                logger.warning("sync: statistics not reported: %s", exc.message)

    async def report_stats(self) -> None:
        """Send registrations, resolutions, cache hit ratio and whatever sources add."""
        figures: dict[str, Any] = await self.store.counts()
        status = await self.store.status()
        figures["outboxPending"] = status["pendingRows"]
        figures["lagSeconds"] = status["lagSeconds"]
        for source in self.stats_sources:
            figures.update(await source())
        token = await self.store.token()
        if token is not None:
            await self.client.send_stats(self.node_code, token, figures)
