"""The node's memory and CPU during a run (Linux ``/proc``): peak RSS, whether it stayed flat,
and the CPU time the node, its helper processes and the load generator spent."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CpuMeter",
    "CpuUse",
    "RssSampler",
    "cpu_seconds",
    "peak_rss_bytes",
    "process_tree",
    "rss_bytes",
]

_TICKS = os.sysconf("SC_CLK_TCK")


def _status_field(pid: int, name: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1]) * 1024
    return None


def rss_bytes(pid: int) -> int | None:
    """The process's resident memory now, or None where /proc is unavailable."""
    return _status_field(pid, "VmRSS")


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's worker processes), where /proc shows them."""
    found = [pid]
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found += process_tree(int(child))
    return found


def peak_rss_bytes(pid: int) -> int | None:
    """The most resident memory the process has had (VmHWM), or None."""
    return _status_field(pid, "VmHWM")


class RssSampler:
    """``async with RssSampler(pid) as rss: …`` samples RSS (of pid and its children) periodically."""

    def __init__(self, pid: int, interval: float = 0.5, *, children: bool = True) -> None:
        self.pid = pid
        self.interval = interval
        self.children = children
        self.samples: list[tuple[float, int]] = []
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        start = time.monotonic()
        while True:
            pids = process_tree(self.pid) if self.children else [self.pid]
            # A worker that exits between listing and reading counts as nothing.
            sizes = [size for size in map(rss_bytes, pids) if size is not None]
            value = sum(sizes) if sizes else None
            if value is not None:
                self.samples.append((round(time.monotonic() - start, 3), value))
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def peak(self) -> int:
        """The largest RSS sampled, in bytes (0 without samples)."""
        return max((value for _, value in self.samples), default=0)

    def growth(self) -> float:
        """Last quarter's mean RSS over the first quarter's: about 1.0 when memory is flat."""
        values = [value for _, value in self.samples]
        quarter = max(1, len(values) // 4)
        if len(values) < 2:
            return 1.0
        first = sum(values[:quarter]) / quarter
        last = sum(values[-quarter:]) / quarter
        return last / first if first else 1.0


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU time the process has used, or None where /proc does not show it."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The fields after the command name, which is in parentheses and may hold spaces.
    fields = text.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _machine_ticks() -> tuple[int, int] | None:
    """Idle (idle + iowait) and total CPU ticks of the whole machine since boot."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    # user nice system idle iowait irq softirq steal; guest time is already counted in user.
    ticks = [int(field) for field in first[1:9]]
    return ticks[3] + ticks[4], sum(ticks)


@dataclass(frozen=True, slots=True)
class CpuUse:
    """CPU seconds spent during a measured block, and the machine's busy share over it."""

    node: float  # the measured process itself
    helpers: float  # its descendants (a node's sealing processes)
    client: float  # this process: the load generator
    busy: float | None  # 0..1 of all the machine's cores; None without /proc/stat
    cores: int

    def per_item(self, count: int) -> dict[str, float]:
        """Microseconds of CPU per item for each of node, helpers and client."""
        scale = 1e6 / max(count, 1)
        return {
            "node": self.node * scale,
            "helpers": self.helpers * scale,
            "client": self.client * scale,
        }


class CpuMeter:
    """``with CpuMeter(pid) as meter: …``; then ``meter.use`` is the block's ``CpuUse``.

    A helper process that starts during the block counts from zero; one that ends during it loses
    what it spent (the kernel keeps no account of it for us).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.use: CpuUse | None = None
        self._start: tuple[dict[int, float], float, tuple[int, int] | None] | None = None

    def _tree(self) -> dict[int, float]:
        spent = {pid: cpu_seconds(pid) for pid in process_tree(self.pid)}
        return {pid: seconds for pid, seconds in spent.items() if seconds is not None}

    def __enter__(self) -> CpuMeter:
        self._start = (self._tree(), time.process_time(), _machine_ticks())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._start is not None
        tree, client, machine = self._start
        now, now_client, now_machine = self._tree(), time.process_time(), _machine_ticks()
        spent = {pid: seconds - tree.get(pid, 0.0) for pid, seconds in now.items()}
        busy = None
        if machine is not None and now_machine is not None:
            total = now_machine[1] - machine[1]
            busy = 1 - (now_machine[0] - machine[0]) / total if total > 0 else None
        self.use = CpuUse(
            node=spent.pop(self.pid, 0.0),
            helpers=sum(spent.values()),
            client=now_client - client,
            busy=busy,
            cores=os.cpu_count() or 1,
        )
