"""Figures of all of ``idnode serve --workers N``'s processes, summed through snapshot files.

Each worker keeps its own plain counts (cheap on the request paths) and writes them, as metric
samples, to ``<dir>/<pid>.json`` every ``interval`` seconds; the worker that is scraped adds the
others' latest snapshots to its own live figures. Counters of a worker that has gone stay counted
(its last snapshot is kept, so totals do not go backwards); its gauges do not. ``idnode serve``
makes the directory for the run and names it in ``IDNODE_METRICS_DIR``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from prometheus_client.metrics_core import Metric

__all__ = ["METRICS_DIR_ENV", "WorkerShare", "merge"]

logger = logging.getLogger("idnode.metrics")

METRICS_DIR_ENV = "IDNODE_METRICS_DIR"
# Kinds whose samples only mean something while their process lives.
_LIVE_ONLY = frozenset({"gauge", "info", "stateset"})


def _encode(families: Iterable[Metric]) -> list[dict]:
    return [
        {
            "name": family.name,
            "documentation": family.documentation,
            "type": family.type,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
        for family in families
    ]


def merge(groups: Iterable[Iterable[Metric]]) -> list[Metric]:
    """Families of the same name summed sample by sample (same sample name and labels)."""
    merged: dict[str, Metric] = {}
    values: dict[str, dict[tuple, float]] = {}
    for families in groups:
        for family in families:
            if family.name not in merged:
                merged[family.name] = Metric(family.name, family.documentation, family.type)
                values[family.name] = {}
            sums = values[family.name]
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                sums[key] = sums.get(key, 0.0) + sample.value
    for name, family in merged.items():
        for (sample_name, labels), value in values[name].items():
            family.add_sample(sample_name, dict(labels), value)
    return list(merged.values())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkerShare:
    """One worker's part: writes its snapshots, reads the others'."""

    def __init__(
        self, directory: Path, families: Callable[[], list[Metric]], interval: float = 1.0
    ):
        self.directory = directory
        self.families = families
        self.interval = interval
        self.pid = os.getpid()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_environment(
        cls, families: Callable[[], list[Metric]], interval: float = 1.0
    ) -> WorkerShare | None:
        directory = os.environ.get(METRICS_DIR_ENV)
        return None if not directory else cls(Path(directory), families, interval)

    def write(self) -> None:
        path = self.directory / f"{self.pid}.json"
        partial = path.with_suffix(".part")
        partial.write_text(json.dumps(_encode(self.families())))
        os.replace(partial, path)

    def others(self) -> list[list[Metric]]:
        """The other workers' latest snapshots (gauges only of those still running)."""
        groups = []
        for path in self.directory.glob("*.json"):
            pid = int(path.stem)
            if pid == self.pid:
                continue
            try:
                encoded = json.loads(path.read_text())
            except (OSError, ValueError):
                continue  # gone or being replaced: its figures come with the next scrape
            alive = _alive(pid)
            group = []
            for item in encoded:
                if item["type"] in _LIVE_ONLY and not alive:
                    continue
                family = Metric(item["name"], item["documentation"], item["type"])
                for name, labels, value in item["samples"]:
                    family.add_sample(name, labels, value)
                group.append(family)
            groups.append(group)
        return groups

    def collect(self) -> list[Metric]:
        """This process's live figures plus the others' latest."""
        own = self.families()
        return merge([own, *self.others()])

    async def __aenter__(self) -> WorkerShare:
        self._task = asyncio.create_task(self._write_forever())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(OSError):
            self.write()  # the last counts, kept for the totals

    async def _write_forever(self) -> None:
        while True:
            try:
                self.write()
            except OSError as exc:
                logger.warning("metrics: cannot write this worker's snapshot: %s", exc)
            await asyncio.sleep(self.interval)
