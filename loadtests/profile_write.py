"""Where a single registration's CPU and database round trips go, in one process.

Builds the node's app in this process (as ``idnode serve`` does: hot path and request ids in
front), on a fresh database with a signing key, and sends ``--count`` sequential single writes
through Handle REST (``PUT /api/handles/…``, the admin token) and SNMS (``POST /identityv2/data``
with a template and a bearer token) over ``httpx.ASGITransport``: no sockets, no other process,
so the profile is the node's own work. On PostgreSQL every connection of the node goes through a
loopback proxy that counts round trips (a client message after a server answer starts one).

    .venv/bin/python -m loadtests.profile_write --backend postgresql --count 1000
    .venv/bin/python -m loadtests.profile_write --backend sqlite --profile yappi --top 40

Prints CPU ms per write (``time.process_time``) and round trips per write for each API; with
``--profile``, the top functions by own and by cumulative CPU time (yappi, CPU clock,
attributes time to coroutines across their awaits; cProfile splits them at every await).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import multiprocessing
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from sqlalchemy.engine import make_url

from loadtests.bench_register import (
    PREFIX,
    VERSION,
    database,
    signing_key,
    templated_credential,
    values,
)

ADMIN_TOKEN = "profile-admin-token"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


class CountingProxy:
    """A loopback TCP proxy in a child process that counts the round trips through it.

    In its own process so that neither its CPU nor its turns at the GIL count as the node's.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        context = multiprocessing.get_context("spawn")
        self._trips = context.Value("q", 0)
        self._port = context.Value("i", 0)
        self._process = context.Process(
            target=_serve_proxy, args=(self.target, self._trips, self._port), daemon=True
        )

    @property
    def trips(self) -> int:
        return self._trips.value

    @property
    def port(self) -> int:
        return self._port.value

    def __enter__(self) -> CountingProxy:
        self._process.start()
        deadline = time.monotonic() + 30
        while not self._port.value:
            if time.monotonic() > deadline or not self._process.is_alive():
                raise RuntimeError("the counting proxy did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.join(timeout=10)


def _serve_proxy(target: tuple[str, int], trips: Any, port: Any) -> None:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*target)
        # The client's turn to speak: a message from it then starts a round trip.
        turn = {"client": True}

        async def pipe(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, from_client: bool
        ) -> None:
            while chunk := await source.read(65536):
                if from_client and turn["client"]:
                    with trips.get_lock():
                        trips.value += 1
                turn["client"] = not from_client
                sink.write(chunk)
                await sink.drain()
            sink.close()

        await asyncio.gather(
            pipe(reader, up_writer, True), pipe(up_reader, writer, False), return_exceptions=True
        )

    async def serve() -> None:
        server = await asyncio.start_server(accept, "127.0.0.1", 0)
        port.value = server.sockets[0].getsockname()[1]
        await server.serve_forever()

    asyncio.run(serve())


Write = Callable[[int], Awaitable[None]]


def _rest(client: httpx.AsyncClient) -> Write:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}

    async def write(n: int) -> None:
        handle = f"{PREFIX}/prof-rest-{n:09d}"
        body = orjson.dumps({"values": values(handle)})
        response = await client.put(
            f"/api/handles/{quote(handle, safe='/')}", content=body, headers=headers
        )
        assert response.status_code == 201, response.text

    return write


def _snms(client: httpx.AsyncClient, token: str) -> Write:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def write(n: int) -> None:
        handle = f"{PREFIX}/prof-snms-{n:09d}"
        body = {"handle": handle, "templateVersion": VERSION, "value": values(handle)}
        response = await client.post(
            "/identityv2/data", content=orjson.dumps(body), headers=headers
        )
        assert response.status_code == 200 and response.json()["status"] == 1, response.text

    return write


async def _measure(
    name: str, write: Write, count: int, proxy: CountingProxy | None, args: argparse.Namespace
) -> None:
    for n in range(20):  # warm: connections, caches, statement caches
        await write(-1 - n)
    profiler = cProfile.Profile(time.process_time) if args.profile == "cprofile" else None
    if args.profile == "yappi":
        import yappi  # optional, not a dependency: pip install yappi

        yappi.clear_stats()
        yappi.set_clock_type("cpu")
        yappi.start()
    trips = proxy.trips if proxy else 0
    began_cpu, began = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for n in range(count):
        await write(n)
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - began_cpu, time.perf_counter() - began
    if args.profile == "yappi":
        yappi.stop()
    per_trip = f", {(proxy.trips - trips) / count:.2f} round trips/write" if proxy else ""
    print(
        f"{name}: {count} writes, {cpu * 1000 / count:.3f} ms CPU/write (this process,"
        f" client included), {wall * 1000 / count:.3f} ms wall/write{per_trip}",
        flush=True,
    )
    if profiler:
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
            print(f"--- {name}: top {args.top} by {order}\n{out.getvalue()}", flush=True)
    if args.profile == "yappi":
        stats = yappi.get_func_stats()
        for order in ("tsub", "ttot"):
            print(f"--- {name}: top {args.top} by {order} (ms per write)", flush=True)
            for stat in list(stats.sort(order))[: args.top]:
                where = f"{stat.module.split('site-packages/')[-1]}:{stat.lineno}"
                print(
                    f"{getattr(stat, order) * 1000 / count:8.3f} {stat.ncall:8d}"
                    f"  {stat.name}  {where}",
                    flush=True,
                )


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = signing_key(workdir)
        async with database(args.backend, workdir, args.postgres) as url:
            env.update(
                IDNODE_DATABASE_URL=url, IDNODE_ADMIN_TOKEN=ADMIN_TOKEN, IDNODE_HANDLE_PORT="0"
            )
            subprocess.run(
                [sys.executable, "-m", "node", "migrate"],
                env={**os.environ, **env},
                check=True,
                capture_output=True,
            )
            proxy = None
            if args.backend == "postgresql":
                parsed = make_url(url)
                proxy = CountingProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
                proxy.__enter__()
                env["IDNODE_DATABASE_URL"] = parsed.set(
                    host="127.0.0.1", port=proxy.port
                ).render_as_string(hide_password=False)
            # The app reads its settings from the environment; put back as found afterwards.
            saved = dict(os.environ)
            os.environ.update(env)
            try:
                await _drive(args, proxy)
            finally:
                os.environ.clear()
                os.environ.update(saved)
                if proxy is not None:
                    proxy.__exit__()


async def _drive(args: argparse.Namespace, proxy: CountingProxy | None) -> None:
    from node.app import create_app
    from node.hot import HotPath
    from node.logging_setup import RequestId
    from node.settings import Settings

    app = create_app(Settings())
    served = RequestId(HotPath(app))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", timeout=60
        ) as client:
            _, token = await templated_credential(client, ADMIN_TOKEN, "Profile")
            for api in args.apis:
                write = _rest(client) if api == "rest" else _snms(client, token)
                await _measure(api, write, args.count, proxy, args)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument(
        "--postgres", default=os.environ.get("IDNODE_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--count", type=int, default=1000, help="sequential writes per API")
    parser.add_argument("--apis", default="rest,snms", help="comma-separated: rest, snms")
    parser.add_argument(
        "--profile",
        choices=("cprofile", "yappi"),
        help="print the top functions by CPU (yappi: pip install yappi; follows coroutines)",
    )
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    args.apis = args.apis.split(",")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
