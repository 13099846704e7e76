"""What benchmarks read from /proc: a process's memory, and the CPU a node tree and we spend."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from loadtests import CpuMeter, RssSampler, cpu_seconds, peak_rss_bytes, process_tree, rss_bytes

# A process that spins SECONDS of CPU in itself and as much in a child, says so, and keeps the
# child alive (a helper that exits takes its CPU account with it) until told to stop.
SPINNER = """
import multiprocessing, sys, time

def spin(seconds):
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass

def helper(seconds, spun, stop):
    spin(seconds)
    spun.set()
    stop.wait(30)

if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    spun, stop = context.Event(), context.Event()
    child = context.Process(target=helper, args=(SECONDS, spun, stop))
    child.start()
    sys.stdin.readline()
    spin(SECONDS)
    spun.wait(30)
    print("done", flush=True)
    sys.stdin.readline()
    stop.set()
    child.join()
"""
SECONDS = 0.3


def _spin(seconds: float) -> None:
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass


async def test_rss_sampler_reads_this_process() -> None:
    pid = os.getpid()
    assert (rss_bytes(pid) or 0) > 0
    assert (peak_rss_bytes(pid) or 0) >= (rss_bytes(pid) or 0)
    assert process_tree(pid)[0] == pid
    async with RssSampler(pid, interval=0.01) as sampler:
        while len(sampler.samples) < 3:
            await asyncio.sleep(0.01)
    assert sampler.peak > 0
    assert sampler.growth() > 0


def test_cpu_seconds_grows_with_work_and_is_none_for_no_process() -> None:
    before = cpu_seconds(os.getpid())
    assert before is not None
    _spin(0.05)
    after = cpu_seconds(os.getpid())
    assert after is not None and after > before
    assert cpu_seconds(2**22 + 7) is None  # above the kernel's largest pid


def test_cpu_meter_splits_node_helpers_and_client(tmp_path: Path) -> None:
    script = tmp_path / "spinner.py"  # a file: spawned children import their parent's main module
    script.write_text(SPINNER.replace("SECONDS", repr(SECONDS)))
    with subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        with CpuMeter(process.pid) as meter:
            process.stdin.write("go\n")
            process.stdin.flush()
            _spin(0.1)
            assert process.stdout.readline().strip() == "done"
        process.stdin.write("bye\n")
        process.stdin.flush()
        assert process.wait(timeout=30) == 0
    use = meter.use
    assert use is not None
    assert use.node >= SECONDS * 0.8
    assert use.helpers >= SECONDS * 0.8
    assert use.client >= 0.1 * 0.8
    assert use.cores == os.cpu_count()
    assert use.busy is not None and 0 < use.busy <= 1
    assert use.per_item(1000)["node"] == use.node * 1000
