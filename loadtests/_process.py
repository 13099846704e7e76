"""The node's memory during a run (Linux ``/proc``): peak RSS and whether it stayed flat."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

__all__ = ["RssSampler", "peak_rss_bytes", "process_tree", "rss_bytes"]


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
