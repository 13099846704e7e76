"""Signing benchmark: signatures/s and verifications/s per algorithm, and registration with
signing on and off in the same run (reported as a ratio).

    python -m loadtests.bench_sign [--seconds 2] [--records 2000] [--postgres URL]

Registration runs on a fresh SQLite file, or with ``--postgres`` on a fresh database created on
that server for the run and dropped after it.

Registration goes through ``RecordService.put`` (one transaction per identifier), the write path
every API uses; the batch API is measured the same way once it exists. Off and on alternate in
rounds (each going first in turn) so machine noise hits both legs alike.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from registry import (
    ADMIN,
    ALGORITHMS,
    Database,
    Handle,
    HandleValue,
    KeyStore,
    RecordService,
    RecordSigner,
    RootAuthority,
    upgrade,
    verify_record,
)

NODE_KEYS = "0.NA/88.118"


def _values(n: int) -> list[HandleValue]:
    return [
        HandleValue(1, "URL", "string", f"https://factory.example/p/{n}"),
        HandleValue(2, "EMAIL", "string", "qa@factory.example"),
        HandleValue(2001, "productName", "string", "hydraulic pump HP-200"),
        HandleValue(2002, "batchNo", "string", f"B{n:08d}"),
        HandleValue(2003, "productionDate", "string", "2026-11-22"),
    ]


def _rate(seconds: float, work: Callable[[int], object]) -> float:
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        work(count)
        count += 1
    return count / (time.perf_counter() - start)


def _setup(directory: Path, alg: str) -> tuple[RootAuthority, RecordSigner, dict]:
    root = RootAuthority.open(directory / "root", alg=alg)
    store = KeyStore(directory / "node")
    store.generate(alg)
    node = store.active()
    assert node is not None
    cert = root.certify_node("88.118", node.public_jwk(), 300)
    published = {
        NODE_KEYS: [
            HandleValue(300, "HS_PUBKEY", "key", node.public_jwk()),
            HandleValue(400, "HS_CERT", "string", cert),
        ]
    }
    return root, RecordSigner("88.118", node), published


async def bench_algorithms(seconds: float, directory: Path) -> list[dict]:
    rows = []
    for alg in ALGORITHMS:
        root, signer, published = _setup(directory / alg, alg)
        handle = Handle.parse("88.118.8/BENCH")
        sign_rate = _rate(seconds, lambda n, s=signer, h=handle: s(h, _values(n)))
        signed = signer(handle, _values(0))
        root_cert = root.root_certificate()

        async def fetch(name: str, published: dict = published):
            return published.get(name)

        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            verdict = await verify_record(str(handle), signed, root_cert, fetch)
            assert verdict.trusted, verdict.problems
            count += 1
        verify_rate = count / (time.perf_counter() - start)
        rows.append({"alg": alg, "sign_per_s": sign_rate, "verify_per_s": verify_rate})
    return rows


async def _register(records: RecordService, start: int, count: int) -> float:
    began = time.perf_counter()
    for n in range(start, start + count):
        await records.put(ADMIN, Handle.parse(f"88.118.8/B{n:09d}"), _values(n))
    return count / (time.perf_counter() - began)


@asynccontextmanager
async def fresh_postgres(server_url: str) -> AsyncIterator[str]:
    """A new database on the server ``server_url`` names, dropped afterwards."""
    url = make_url(server_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"idnode_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


class _TimedSigner:
    """Wraps the sealer to add up the time it takes, to report its share directly."""

    def __init__(self, signer: RecordSigner) -> None:
        self.signer = signer
        self.seconds = 0.0

    def __call__(self, handle: Handle, values: list[HandleValue]) -> list[HandleValue]:
        began = time.perf_counter()
        try:
            return self.signer(handle, values)
        finally:
            self.seconds += time.perf_counter() - began


async def bench_registration(url: str, total: int, rounds: int, directory: Path) -> dict:
    db = Database(url)
    await upgrade(db)
    _, signer, _ = _setup(directory / "registration", "ES256")
    plain, signing = RecordService(db), RecordService(db)
    timed = _TimedSigner(signer)
    signing.add_sealer(timed)
    per_round = max(1, total // rounds)
    off: list[float] = []
    on: list[float] = []
    await _register(plain, 10**8, 20)  # warm-up: connections, statement caches
    for r in range(rounds):
        base = r * per_round * 2
        # Alternate which leg goes first, so a database that slows as it grows hurts both alike.
        if r % 2:
            on.append(await _register(signing, base + per_round, per_round))
            off.append(await _register(plain, base, per_round))
        else:
            off.append(await _register(plain, base, per_round))
            on.append(await _register(signing, base + per_round, per_round))
    await db.dispose()
    off_rate, on_rate = statistics.median(off), statistics.median(on)
    signed = per_round * rounds
    return {
        "identifiers": per_round * rounds * 2,
        "off_per_s": off_rate,
        "on_per_s": on_rate,
        "cost": statistics.median(1 - b / a for a, b in zip(off, on, strict=True)),
        "seal_ms": timed.seconds / signed * 1000,
        "off_ms": 1000 / off_rate,
        "rounds": list(zip(off, on, strict=True)),
    }


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per algorithm and operation")
    parser.add_argument("--records", type=int, default=2000, help="identifiers per leg")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        print("algorithm   signatures/s   verifications/s (full chain: record + node certificate)")
        for row in await bench_algorithms(args.seconds, directory):
            print(f"{row['alg']:10} {row['sign_per_s']:13,.0f} {row['verify_per_s']:17,.0f}")
        if args.postgres:
            async with fresh_postgres(args.postgres) as url:
                result = await bench_registration(url, args.records, args.rounds, directory)
        else:
            url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
            result = await bench_registration(url, args.records, args.rounds, directory)
        print(
            f"\nregistration via RecordService.put, {result['identifiers']} identifiers,"
            f" median of {args.rounds} alternating rounds ({url.split(':')[0]}):"
        )
        print(f"  signing off  {result['off_per_s']:10,.0f} identifiers/s")
        print(f"  signing on   {result['on_per_s']:10,.0f} identifiers/s  (ES256)")
        print(f"  cost of signing (median of per-round ratios): {result['cost']:.1%}")
        print(
            f"  time in the sealer: {result['seal_ms']:.3f} ms per identifier"
            f" = {result['seal_ms'] / result['off_ms']:.1%} of an unsigned registration"
            " (goal: at most 25%)"
        )
        rounds = ", ".join(f"{a:,.0f}/{b:,.0f}" for a, b in result["rounds"])
        print(f"  rounds (off/on): {rounds}")


if __name__ == "__main__":
    asyncio.run(main())
