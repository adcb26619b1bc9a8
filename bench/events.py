"""Live updates at 500 open pages: store reads per second, write-to-page latency, memory.

For each deployment (a fresh PostgreSQL database on the local server with Redis; SQLite with
Redis; SQLite alone) and each build — this tree (one change feed per process, pushed by
PostgreSQL's notices, or by the stores' announcements on Redis beside SQLite) and the tree
before the feed (``--baseline``, every stream polls the store every 0.5 s), exported into a
temporary directory — the run:

1. holds ``--jobs`` jobs as a worker would (a separate writer process claims them through the
   store before the server starts, so its runner leaves them alone);
2. starts ``dockyard serve`` on that database and opens ``--streams`` event streams to it
   (raw asyncio sockets, one HTTP/1.0 request each: no client library between the socket and
   the clock);
3. counts the database's transactions for ``--idle-seconds`` before any stream opens (the
   server's own background: its runner looking for work), again with every stream open and
   no writes, then while the writer changes the held jobs' stage ``--rate`` times a second
   for ``--seconds``, stamping the wall-clock time into the stage;
4. prints what the streams add to the server's store transactions per second —
   ``xact_commit + xact_rollback`` of the database in ``pg_stat_database``, less the
   background and less the writer's own transactions, which it counts (every store read is
   one transaction; PostgreSQL only: SQLite has no such counter) — the p50/p95/max time from
   a write to its arrival on a stream over every (write, stream) pair, the share of pairs
   that arrived, the server's CPU time while writing (in cores), and its resident memory
   (``VmRSS``, peak ``VmHWM``) at the end.

Targets with PostgreSQL: at most 5 store reads per second and p95 under 200 ms. SQLite alone
has no push path: its latency is the poll's (``DOCKYARD_EVENTS_POLL_SECONDS``).

Run: ``.venv/bin/python -m bench.events [--streams 500] [--seconds 30] [--rate 4]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
STAMP = "bench write "
SERVE = (sys.executable, "-m", "dockyard", "serve")
BASELINE = "c0b99ac"
"""The last commit before the change feed: every event stream polls the store itself."""
DEPLOYMENTS = ("postgresql", "sqlite+redis", "sqlite")


# -- the writer (a process of its own, importing the build under test) ------------------


def write(database_url: str, jobs: int, rate: float, seconds: float) -> None:
    """Hold ``jobs`` jobs, say ``ready``, wait for ``go``, then change one stage every
    ``1/rate`` s for ``seconds``; print how many writes and transactions it made."""
    import inspect

    from sqlalchemy import event

    from dockyard.jobs.store import Store

    redis_url = os.environ.get("DOCKYARD_REDIS_URL")
    announcing = "announce_to" in inspect.signature(Store.open).parameters  # not the baseline
    store = Store.open(database_url, **({"announce_to": redis_url} if announcing else {}))
    claims = []
    for number in range(jobs):
        job = store.create_job(kind="dock", name=f"followed {number}", params={})
        claims.append(store.claim(job.id, "elsewhere:bench-writer", lease_seconds=3600))
    transactions = 0

    def count(*args: object) -> None:
        nonlocal transactions
        transactions += 1

    event.listen(store.engine, "commit", count)
    event.listen(store.engine, "rollback", count)
    event.listen(store.engine, "checkout", count)  # the pool's pre-ping: one of its own
    print("ready", flush=True)
    sys.stdin.readline()
    writes, started = 0, time.monotonic()
    while (due := started + writes / rate) < started + seconds:
        time.sleep(max(0.0, due - time.monotonic()))
        claim = claims[writes % len(claims)]
        assert store.set_progress(claim, f"{STAMP}{time.time():.6f}", 0.5)
        writes += 1
    print(json.dumps({"writes": writes, "transactions": transactions}), flush=True)
    store.close()


# -- the streams ------------------------------------------------------------------------


class Streams:
    """``count`` open ``/api/events`` streams; each arrival of a stamped stage, with its delay."""

    def __init__(self, port: int, count: int):
        self.port = port
        self.count = count
        self.opened = 0
        self.delays: list[float] = []
        self.arrivals = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        self._tasks = [asyncio.create_task(self._follow()) for _ in range(self.count)]
        while self.opened < self.count:
            await asyncio.sleep(0.1)
            failed = [task for task in self._tasks if task.done()]
            if failed:
                raise SystemExit(f"a stream failed to open: {failed[0].exception()!r}")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _follow(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        writer.write(b"GET /api/events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        seen: set[str] = set()
        try:
            while line := await reader.readline():
                if line.startswith(b"retry:"):
                    self.opened += 1
                elif line.startswith(b"data:") and STAMP.encode() in line:
                    arrived = time.time()
                    stage = json.loads(line[5:])["stage"]
                    if stage not in seen:
                        seen.add(stage)
                        self.arrivals += 1
                        self.delays.append(arrived - float(stage.removeprefix(STAMP)))
        finally:
            writer.close()


# -- one run ----------------------------------------------------------------------------


def transactions(admin_url: str, database: str) -> int:
    import psycopg

    with psycopg.connect(libpq(admin_url), autocommit=True) as connection:
        row = connection.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (database,),
        ).fetchone()
    return int(row[0])


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of a process, MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def fresh_postgres(admin_url: str) -> Iterator[tuple[str, str]]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"dockyard_bench_events_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False), name
    finally:
        with psycopg.connect(libpq(admin_url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_server(directory: str) -> Iterator[str]:
    """A ``redis-server`` of the run's own, without persistence."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", directory],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(
    build: Path, database_url: str, pg_name: str | None, redis: bool, args: argparse.Namespace
) -> dict[str, float]:
    """One build on one deployment. With Redis, as a lab runs it, the API queues on RQ and the
    writer plays the worker, so the server's only steady reads of the store are its event
    streams'; SQLite alone with the local runner, as one machine runs it."""
    env = {**os.environ, "PYTHONPATH": f"{build / 'src'}:{ROOT}"}
    env["DOCKYARD_DATABASE_URL"] = database_url
    with tempfile.TemporaryDirectory() as scratch:
        if not redis:
            return serve_and_measure(env, pg_name, args)
        with redis_server(scratch) as redis_url:
            return serve_and_measure({**env, "DOCKYARD_REDIS_URL": redis_url}, pg_name, args)


def serve_and_measure(
    env: dict[str, str], pg_name: str | None, args: argparse.Namespace
) -> dict[str, float]:
    database_url = env["DOCKYARD_DATABASE_URL"]
    command = [sys.executable, "-m", "bench.events", "--write", database_url]
    command += ["--jobs", str(args.jobs), "--rate", str(args.rate), "--seconds", str(args.seconds)]
    writer = subprocess.Popen(
        command, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdin is not None
    assert writer.stdout.readline().strip() == "ready"
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        server = subprocess.Popen(
            [*SERVE, "--port", str(port), "--data-dir", data_dir, "--workers", "1"],
            env=env,
            cwd=data_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_health(port)
            time.sleep(3)  # past its start-up reads
            result = asyncio.run(measure(server.pid, port, writer, pg_name, args))
        finally:
            server.terminate()
            server.wait(timeout=60)
            writer.kill()
    return result


def wait_for_health(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


async def measure(
    pid: int,
    port: int,
    writer: subprocess.Popen,
    pg_name: str | None,
    args: argparse.Namespace,
) -> dict[str, float]:
    def xacts() -> int | None:
        return transactions(args.postgres, pg_name) if pg_name else None

    async def rate(seconds: float) -> float | None:
        """The database's transactions per second over the next ``seconds``."""
        before, began = xacts(), time.monotonic()
        await asyncio.sleep(seconds)
        after = xacts()
        return None if before is None else (after - before) / (time.monotonic() - began)

    background = await rate(args.idle_seconds)
    streams = Streams(port, args.streams)
    await streams.open()
    await asyncio.sleep(10)  # the streams' first reads (their backlogs) are done
    idle = await rate(args.idle_seconds)
    writer.stdin.write("go\n")
    writer.stdin.flush()
    began, cpu_from = time.monotonic(), cpu_seconds(pid)
    busy_from = xacts()
    line = await asyncio.to_thread(writer.stdout.readline)
    await asyncio.sleep(1.0)  # the last writes' arrivals
    busy_to, ended, cpu_to = xacts(), time.monotonic(), cpu_seconds(pid)
    rss, peak = memory_mb(pid)
    await streams.close()
    writer.wait(timeout=30)
    written = json.loads(line)
    result = {
        "writes": written["writes"],
        "arrived": streams.arrivals / max(1, written["writes"] * args.streams),
        "rss_mb": rss,
        "cpu": (cpu_to - cpu_from) / (ended - began),
        "peak_mb": peak,
    }
    if streams.delays:
        ordered = sorted(streams.delays)
        result |= {
            "p50_ms": ordered[len(ordered) // 2] * 1000,
            "p95_ms": ordered[int(len(ordered) * 0.95)] * 1000,
            "max_ms": ordered[-1] * 1000,
        }
    if pg_name:
        result["background_tps"] = background
        result["idle_tps"] = idle - background
        busy = (busy_to - busy_from - written["transactions"]) / (ended - began)
        result["busy_tps"] = busy - background
    return result


def baseline_build(into: Path, revision: str) -> Path:
    """The tree of ``revision`` (per-stream polling), exported without touching any checkout."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def describe(name: str, result: dict[str, float]) -> str:
    parts = [f"{name:28s}"]
    if "busy_tps" in result:
        parts.append(
            f"server xact/s without streams {result['background_tps']:5.1f}; streams add "
            f"{result['idle_tps']:6.1f} idle, {result['busy_tps']:6.1f} while writing"
        )
    else:
        parts.append("store xact/s n/a (SQLite)")
    if "p95_ms" in result:
        parts.append(
            f"latency p50 {result['p50_ms']:6.0f} ms p95 {result['p95_ms']:6.0f} ms "
            f"max {result['max_ms']:6.0f} ms"
        )
    parts.append(f"arrived {result['arrived']:.3f} of {result['writes']:.0f} writes x streams")
    parts.append(f"server CPU {result['cpu']:.2f} cores")
    parts.append(f"RSS {result['rss_mb']:.0f} MB (peak {result['peak_mb']:.0f})")
    return " | ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0, help="of writing, per run")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=4.0, help="job changes per second")
    parser.add_argument("--jobs", type=int, default=20, help="jobs the writer changes in turn")
    parser.add_argument("--postgres", default=POSTGRES, help="an admin URL of the server")
    parser.add_argument("--databases", default=",".join(DEPLOYMENTS),
                        help=f"deployments, of {', '.join(DEPLOYMENTS)}")  # fmt: skip
    parser.add_argument("--baseline", default=BASELINE, help="the per-stream polling tree")
    parser.add_argument("--no-baseline", action="store_true", help="this tree only")
    parser.add_argument("--write", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        write(args.write, args.jobs, args.rate, args.seconds)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.streams)), hard))
    print(
        f"{args.streams} streams, {args.rate:g} job changes/s for {args.seconds:g} s over "
        f"{args.jobs} jobs, {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory() as scratch:
        builds = {"feed (this tree)": ROOT}
        if not args.no_baseline:
            builds["per-stream polling"] = baseline_build(Path(scratch), args.baseline)
        for database in args.databases.split(","):
            figures = {}
            redis = database != "sqlite"
            for name, build in builds.items():
                if database == "postgresql":
                    with fresh_postgres(args.postgres) as (url, pg_name):
                        figures[name] = run(build, url, pg_name, redis, args)
                else:
                    url = f"sqlite:///{Path(scratch) / f'{uuid.uuid4().hex}.db'}"
                    figures[name] = run(build, url, None, redis, args)
                print(f"{database:12s} {describe(name, figures[name])}", flush=True)
            if len(figures) < 2:
                continue
            new, old = figures.values()
            if "busy_tps" in new and new["busy_tps"] > 0:
                ratio = old["busy_tps"] / new["busy_tps"]
                print(f"{database:12s} store reads: baseline / feed = {ratio:.0f}x")
            if "p95_ms" in new and "p95_ms" in old:
                ratio = new["p95_ms"] / old["p95_ms"]
                print(f"{database:12s} p95 latency: feed / baseline = {ratio:.2f}")


if __name__ == "__main__":
    main()
