"""Scaling out with RQ workers, measured against real Redis, PostgreSQL and worker processes.

1. Throughput: the same dockings run by one ``dockyard worker`` and then by two (one Vina
   thread each, ``DOCKYARD_WORKER_CPU=1``). On a 2-core machine expect close to 2x.
   Reported as jobs per minute over the makespan (first job started to last job finished, from
   the database), and over the wall time from the first submission.
2. Latency of ``POST /api/jobs`` (a SMILES ligand, the prepared 1IEP receptor as PDBQT) with
   Redis queueing, against the same request while Redis is down (so nothing is queued), and
   the queueing step alone. Target: p95 under 50 ms.

It starts its own redis-server on a free port and a fresh PostgreSQL database (dropped at the
end), so it disturbs no other Redis or database.

Run: ``.venv/bin/python -m bench.scale [--jobs 12] [--rounds 2] [--posts 100]``
(PostgreSQL at ``DOCKYARD_TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from dockyard.chem import prepare_receptor
from dockyard.chem.examples import example_paths
from dockyard.jobs.models import Job
from dockyard.jobs.store import Store

POSTGRES_URL = os.environ.get(
    "DOCKYARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BOX = {
    "center_x": "15.19",
    "center_y": "53.90",
    "center_z": "16.92",
    "size_x": "16",
    "size_y": "16",
    "size_z": "16",
}
LIGANDS = [
    "CC(=O)Nc1ccc(O)cc1",
    "OC(=O)c1ccccc1O",
    "CC(C)Cc1ccc(cc1)C(C)C(O)=O",
    "NC(=O)c1cccnc1",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
    "c1ccc2c(c1)[nH]c1ccccc12",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def database() -> Iterator[str]:
    name = f"dockyard_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(POSTGRES_URL), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq(POSTGRES_URL), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    port = free_port()
    command = [
        shutil.which("redis-server") or "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(directory),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                Redis.from_url(url).ping()
                break
            except RedisError:
                if time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def environment(data_dir: Path, database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKYARD_")}
    env |= {
        "DOCKYARD_DATA_DIR": str(data_dir),
        "DOCKYARD_DATABASE_URL": database_url,
        "DOCKYARD_WORKER_CPU": "1",
        "DOCKYARD_RECONCILE_SECONDS": "5",
    }
    if redis_url:
        env["DOCKYARD_REDIS_URL"] = redis_url
    return env


@contextmanager
def serve(env: dict[str, str], workers: int = 1) -> Iterator[httpx.Client]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "dockyard",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                client.get("/api/health")
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("dockyard serve did not start") from None
                time.sleep(0.2)
        yield client
    finally:
        client.close()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@contextmanager
def workers(env: dict[str, str], count: int, redis_url: str) -> Iterator[None]:
    log = Path(env["DOCKYARD_DATA_DIR"]) / "workers.log"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "dockyard", "worker"],
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        for _ in range(count)
    ]
    try:
        keys = {f"rq:worker:{socket.gethostname()}:{p.pid}".encode() for p in processes}
        deadline = time.monotonic() + 90
        while not keys <= Redis.from_url(redis_url).smembers("rq:workers"):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise SystemExit(f"the workers did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)


def submit(client: httpx.Client, receptor: bytes, smiles: str, exhaustiveness: int) -> int:
    fields = {
        **BOX,
        "smiles": smiles,
        "exhaustiveness": str(exhaustiveness),
        "num_poses": "3",
        "seed": "11",
    }
    response = client.post("/api/jobs", data=fields, files={"receptor": ("1iep.pdbqt", receptor)})
    response.raise_for_status()
    return response.json()["job_id"]


def throughput(args, receptor: bytes, count: int, tmp: Path) -> dict[str, float]:
    """Run ``args.jobs`` dockings on ``count`` workers; jobs per minute and the makespan."""
    with database() as database_url, redis_server(tmp) as redis_url:
        env = environment(tmp, database_url, redis_url)
        with serve(env) as client, workers(env, count, redis_url):
            started = time.perf_counter()
            ids = [
                submit(client, receptor, LIGANDS[i % len(LIGANDS)], args.exhaustiveness)
                for i in range(args.jobs)
            ]
            while True:
                statuses = [client.get(f"/api/jobs/{job_id}").json()["status"] for job_id in ids]
                if all(status == "completed" for status in statuses):
                    break
                if any(status in ("failed", "cancelled") for status in statuses):
                    raise SystemExit(f"a job did not complete: {statuses}")
                time.sleep(0.25)
            wall = time.perf_counter() - started
        store = Store.open(database_url, migrate_schema=False)
        try:
            with store.session() as session:
                rows = session.query(Job.started_at, Job.finished_at).filter(Job.id.in_(ids))
                spans = [(start, end) for start, end in rows]
            pids = {store.get_job(job_id).worker.rsplit(":", 1)[0] for job_id in ids}
        finally:
            store.close()
    makespan = (max(end for _, end in spans) - min(start for start, _ in spans)).total_seconds()
    return {"wall": wall, "makespan": makespan, "workers_used": len(pids)}


def post_latency(args, receptor: bytes, tmp: Path, redis_up: bool) -> list[float]:
    """Milliseconds per ``POST /api/jobs`` with the RQ runner and no worker running.

    With ``redis_up`` false the API's Redis URL points at a port nobody listens on: the jobs
    wait in the database (the reconciler would queue them later), which is the same request
    without the queueing step.
    """
    with database() as database_url, redis_server(tmp) as redis_url:
        url = redis_url if redis_up else f"redis://127.0.0.1:{free_port()}/0"
        with serve(environment(tmp, database_url, url)) as client:
            for smiles in LIGANDS[:3]:  # warm up (imports, connections)
                submit(client, receptor, smiles, 1)
            times = []
            for i in range(args.posts):
                started = time.perf_counter()
                submit(client, receptor, LIGANDS[i % len(LIGANDS)], 1)
                times.append((time.perf_counter() - started) * 1000)
            if redis_up:
                depth = client.get("/api/workers").json()["queue"]["queued"]
                assert depth == args.posts + 3, depth
    return times


def enqueue_latency(args, database_url: str, redis_url: str) -> list[float]:
    """Milliseconds of the queueing step alone: ``RQRunner.submitted`` (row read + enqueue)."""
    from dockyard.config import Settings
    from dockyard.runners.rq.api import RQRunner

    store = Store.open(database_url)
    runner = RQRunner(store, redis_url, settings=Settings(database_url=database_url))
    try:
        times = []
        for i in range(args.posts):
            job = store.create_job(kind="dock", name=f"bench {i}", params={})
            started = time.perf_counter()
            runner.submitted(job.id)
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        store.close()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12, help="dockings per throughput run")
    parser.add_argument("--exhaustiveness", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="throughput runs of each size")
    parser.add_argument("--posts", type=int, default=100, help="requests for the latency test")
    args = parser.parse_args()

    receptor_text = example_paths()["receptor"].read_text()
    receptor = prepare_receptor(receptor_text, "pdb").pdbqt.encode()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        print(
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the runs; "
            f"{args.jobs} dockings at exhaustiveness {args.exhaustiveness}, "
            f"one Vina thread per job"
        )
        ones, twos = [], []
        for round_ in range(1, args.rounds + 1):
            # Alternate the order, so a neighbour's load on a shared machine hits both alike.
            order = (1, 2) if round_ % 2 else (2, 1)
            for count in order:
                result = throughput(args, receptor, count, tmp_path)
                (ones if count == 1 else twos).append(result)
                print(
                    f"round {round_}, {count} worker(s): makespan {result['makespan']:.1f} s, "
                    f"wall {result['wall']:.1f} s, "
                    f"{60 * args.jobs / result['makespan']:.1f} jobs/min, "
                    f"workers used: {result['workers_used']}, "
                    f"load average after it {os.getloadavg()[0]:.1f}"
                )
        one = min(result["makespan"] for result in ones)
        two = min(result["makespan"] for result in twos)
        paired = [a["makespan"] / b["makespan"] for a, b in zip(ones, twos, strict=True)]
        print(
            f"throughput, 2 workers vs 1: {one / two:.2f}x best against best "
            f"({one:.1f} s vs {two:.1f} s), rounds {', '.join(f'{r:.2f}x' for r in paired)} "
            f"(expect close to 2x on 2 cores)"
        )

        queued = post_latency(args, receptor, tmp_path, redis_up=True)
        unqueued = post_latency(args, receptor, tmp_path, redis_up=False)
        with database() as database_url, redis_server(tmp_path) as redis_url:
            enqueue = enqueue_latency(args, database_url, redis_url)
        for label, times in (
            ("queued on Redis", queued),
            ("Redis down, so not queued", unqueued),
            ("the queueing step alone (RQRunner.submitted: read the row, enqueue)", enqueue),
        ):
            print(
                f"POST /api/jobs, {label}: p50 {statistics.median(times):.2f} ms, "
                f"p95 {percentile(times, 95):.2f} ms, max {max(times):.2f} ms ({len(times)})"
            )
        print(
            f"p95 of POST /api/jobs queued vs not queued: "
            f"{percentile(queued, 95) / percentile(unqueued, 95):.2f}x; "
            f"target p95 < 50 ms: {'met' if percentile(queued, 95) < 50 else 'NOT met'} "
            f"(the rest of a POST is checking the upload: receptor parsed, ligand prepared)"
        )


if __name__ == "__main__":
    main()
