"""What a scrape of ``/metrics`` costs on a big store, against ``GET /api/health`` beside it.

Fills a fresh store with 100,000 finished jobs (completed, failed with each cause, cancelled;
each with its times, so the histograms have every job to count) and a screen whose counters
say 100,000 ligands (the metrics read a screen's counters, not its ligand rows), starts
``dockyard serve`` on it and measures ``GET /metrics`` and ``GET /api/health`` taking turns.
A scrape is a few aggregate queries, each one scan of the jobs at most; target: p95 under
1 s, far below any scrape interval.

Run: ``.venv/bin/python -m bench.metrics [--jobs 100000] [--database-url URL]``
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.latency import percentiles
from bench.overhead import free_port, start_server
from dockyard.jobs.models import Job, JobStatus, Screen, utcnow
from dockyard.jobs.store import Store

ERRORS = (
    "Stopped after exceeding the time limit of 3600 s.",
    "the job's process was killed by SIGKILL on each of 3 attempts; giving up.",
    "The job's process exited with code 1.",
    "center_x is required.",
)
TARGET_P95_MS = 1000.0
BATCH = 10_000


def fill(database_url: str, jobs: int, ligands: int) -> None:
    """``jobs`` finished dockings, written in batches, and one screen counting ``ligands``."""
    store = Store.open(database_url)
    chance = random.Random(7)
    now = utcnow()
    for start in range(0, jobs, BATCH):
        rows = []
        for index in range(start, min(jobs, start + BATCH)):
            created = now - timedelta(seconds=chance.uniform(0, 30 * 86400))
            started = created + timedelta(seconds=chance.expovariate(1 / 60))
            finished = started + timedelta(seconds=chance.expovariate(1 / 300))
            status = chance.choice(
                (JobStatus.COMPLETED,) * 8 + (JobStatus.FAILED, JobStatus.CANCELLED)
            )
            rows.append(
                {
                    "kind": "dock", "name": f"bulk {index}", "status": status, "params": {},
                    "progress": 1.0, "stage": status.value, "attempt": 1, "max_attempts": 3,
                    "time_limit": 3600.0, "created_at": created, "started_at": started,
                    "finished_at": finished, "updated_at": finished,
                    "error": chance.choice(ERRORS) if status == JobStatus.FAILED else None,
                }
            )  # fmt: skip
        with store.session() as session, session.begin():
            session.execute(Job.__table__.insert(), rows)
    screen = store.create_job(kind="screen", name="big screen", params={})
    with store.session() as session, session.begin():
        session.add(Screen(job_id=screen.id, total=ligands, completed=ligands - 500, failed=500))
    store.close()


def measure(client: httpx.Client, seconds: float) -> dict[str, dict[str, float]]:
    times: dict[str, list[float]] = {"metrics": [], "health": []}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for name, path in (("metrics", "/metrics"), ("health", "/api/health")):
            started = time.perf_counter()
            client.get(path).raise_for_status()
            times[name].append((time.perf_counter() - started) * 1000)
        time.sleep(0.01)
    return {name: {"n": len(values), **percentiles(values)} for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--ligands", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--database-url", help="default: SQLite in a fresh data directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        url = args.database_url or f"sqlite:///{data_dir / 'dockyard.db'}"
        started = time.perf_counter()
        fill(url, args.jobs, args.ligands)
        backend = url.split(":")[0]
        print(f"filled {args.jobs} jobs in {time.perf_counter() - started:.1f} s ({backend})")
        port = free_port()
        if args.database_url:  # for the server process, which reads its settings from there
            os.environ["DOCKYARD_DATABASE_URL"] = args.database_url
        server = start_server(data_dir, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                text = client.get("/metrics").text
                families = {f.name: f for f in text_string_to_metric_families(text)}
                counted = sum(
                    s.value
                    for s in families["dockyard_job_duration_seconds"].samples
                    if s.name.endswith("_count")
                )
                print(f"jobs in the duration histogram: {counted:.0f}")
                result = measure(client, args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for name, figures in result.items():
        line = ", ".join(f"{key} {value:.1f}" for key, value in figures.items() if key != "n")
        print(f"{name}: {figures['n']} requests, ms {line}")
    ratio = result["metrics"]["p50"] / result["health"]["p50"]
    p95 = result["metrics"]["p95"]
    print(f"/metrics p50 = {ratio:.1f}x /api/health p50; p95 {p95:.1f} ms", end=" ")
    print(f"(target < {TARGET_P95_MS:.0f} ms)")
    raise SystemExit(0 if p95 < TARGET_P95_MS else 1)


if __name__ == "__main__":
    main()
