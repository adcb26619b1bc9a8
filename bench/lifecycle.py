"""The API's latency while a retention pass purges most of a big store, against idle.

Fills a fresh store with 100,000 finished jobs (small result payloads and one small file
each; 90% of them finished 200 days ago, the rest yesterday) and a 100,000-ligand screen
finished 200 days ago, then starts ``dockyard serve`` on it with
``DOCKYARD_RETENTION_DAYS=90``. The reaper's turn is held by this script first, so the
server's own loop runs its pass exactly when the idle phase ends. Both phases measure
``GET /api/jobs`` (a page of 50) and ``POST /api/jobs`` (a small real docking: benzamide in a
14 Å box of 1IEP, exhaustiveness 1) taking turns; the second lasts as long as the pass.
Target: list and submit p95 during the pass within 1.5x of idle.

Run: ``.venv/bin/python -m bench.lifecycle [--jobs 100000] [--ligands 100000]
[--database-url postgresql://…/an_empty_database]``
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from bench.latency import percentiles
from bench.overhead import free_port
from dockyard.chem import prepare_receptor
from dockyard.chem.examples import example_paths
from dockyard.config import Settings
from dockyard.jobs.models import (
    CHUNK_KIND,
    SCREEN_KIND,
    Job,
    JobFile,
    JobStatus,
    LigandStatus,
    Screen,
    ScreenLigand,
    utcnow,
)
from dockyard.jobs.retention import LIGAND_BATCH
from dockyard.jobs.store import Store
from dockyard.runners.reaper import REST_RATIO, TURN

RETENTION_DAYS = 90
REAPER_BATCH = Settings.model_fields["reaper_batch"].default
OLD_SHARE = 0.9
BATCH = 5000
TARGET_RATIO = 1.5
BOX = {"center_x": "15.19", "center_y": "53.90", "center_z": "16.92"}
BOX |= {"size_x": "14", "size_y": "14", "size_z": "14"}
SUBMISSION = {**BOX, "exhaustiveness": "1", "num_poses": "1", "smiles": "NC(=O)c1ccccc1"}
POSE = "ligand\n  dockyard\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n$$$$\n" * 4
RESULTS = {"best_score": -6.1, "poses": [{"rank": 1, "affinity": -6.1, "rmsd_lb": 0.0}]}
PAUSE_SECONDS = 0.05
SLACK_SECONDS = 30.0
"""Of the reaper's turn held by this script, for the server to start before the idle phase."""


def job_row(i: int, finished, **values) -> dict:
    row = {
        "kind": "dock", "name": f"bulk {i}", "status": JobStatus.COMPLETED,
        "params": {"exhaustiveness": 8, "seed": i}, "progress": 1.0, "stage": "completed",
        "attempt": 1, "max_attempts": 3, "time_limit": 3600.0, "results": RESULTS,
        "created_at": finished, "started_at": finished, "finished_at": finished,
        "updated_at": finished, "keep": False,
    }  # fmt: skip
    return {**row, **values}


def fill(store: Store, jobs: int, ligands: int) -> None:
    """Bulk inserts, :data:`BATCH` rows per statement (executemany)."""
    now = utcnow()
    old, recent = now - timedelta(days=200), now - timedelta(days=1)
    with store.session() as session, session.begin():
        screen_id = session.execute(
            insert(Job).returning(Job.id),
            [job_row(0, old, kind=SCREEN_KIND, name=f"{ligands}-ligand screen", results=None)],
        ).scalar_one()
        counters = {"total": ligands, "completed": ligands, "failed": 0, "duplicates": 0}
        session.execute(insert(Screen), [{"job_id": screen_id, **counters}])
        chunks = [job_row(n, old, kind=CHUNK_KIND, parent_id=screen_id) for n in range(20)]
        session.execute(insert(Job), chunks)
    for start in range(0, ligands, BATCH):
        rows = [
            {"screen_id": screen_id, "index": i, "name": f"ligand {i}", "source": "NC(=O)c1ccccc1",
             "source_format": "smiles", "status": LigandStatus.COMPLETED, "score": -(i % 97) / 10,
             "num_poses": 4, "poses_sdf": POSE, "finished_at": old}
            for i in range(start, min(start + BATCH, ligands))
        ]  # fmt: skip
        with store.session() as session, session.begin():
            session.execute(insert(ScreenLigand), rows)
    for start in range(0, jobs, BATCH):
        count = min(BATCH, jobs - start)
        rows = [
            job_row(i, old if (i % 10) < OLD_SHARE * 10 else recent)
            for i in range(start, start + count)
        ]
        with store.session() as session, session.begin():
            ids = session.scalars(insert(Job).returning(Job.id), rows).all()
            files = [
                {"job_id": job_id, "name": "poses.sdf", "role": "output",
                 "media_type": "chemical/x-mdl-sdfile", "size": len(POSE), "content": POSE.encode()}
                for job_id in ids
            ]  # fmt: skip
            session.execute(insert(JobFile), files)


def start_server(data_dir: Path, port: int, database_url: str) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKYARD_")}
    env |= {"DOCKYARD_DATABASE_URL": database_url, "DOCKYARD_RETENTION_DAYS": str(RETENTION_DAYS)}
    command = [sys.executable, "-m", "dockyard", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--workers", "1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).raise_for_status()
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server did not start: {process.stderr.read().decode()[-2000:]}")


class Phase:
    """Lists and submissions taking turns (one submission per five lists) until ``done()``."""

    def __init__(self, client: httpx.Client, receptor: bytes):
        self.client = client
        self.receptor = receptor
        self.times: dict[str, list[float]] = {"list": [], "submit": []}

    def run(self, done) -> dict[str, dict[str, float]]:
        turn = 0
        while not done() or min(len(times) for times in self.times.values()) < 2:
            started = time.perf_counter()
            if turn % 5 == 4:
                files = {"receptor": ("1iep.pdbqt", self.receptor, "chemical/x-pdbqt")}
                answer = self.client.post("/api/jobs", data=SUBMISSION, files=files)
                kind = "submit"
            else:
                answer = self.client.get("/api/jobs", params={"limit": 50})
                kind = "list"
            answer.raise_for_status()
            self.times[kind].append((time.perf_counter() - started) * 1000)
            turn += 1
            time.sleep(PAUSE_SECONDS)
        return {kind: {"n": len(t), **percentiles(t)} for kind, t in self.times.items()}


def top_level_jobs(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).where(Job.parent_id.is_(None)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--ligands", type=int, default=100_000)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    receptor = prepare_receptor(example_paths()["receptor"].read_text(), "pdb").pdbqt.encode()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        url = args.database_url or f"sqlite:///{(data_dir / 'dockyard.db').resolve()}"
        store = Store.open(url)
        started = time.perf_counter()
        fill(store, args.jobs, args.ligands)
        backend = store.engine.dialect.name
        print(
            f"{backend}: stored {args.jobs} jobs with a file each and a {args.ligands}-ligand "
            f"screen in {time.perf_counter() - started:.0f} s"
        )
        retention = store.retention
        cutoff = utcnow() - timedelta(days=RETENTION_DAYS)
        due = retention.purge(retention.finished_before(cutoff), batch=1000, dry_run=True)
        # Hold the reaper's turn through the idle phase: the server's own pass starts then.
        _, turn_ends_at = retention.take_turn(TURN, "bench", args.idle_seconds + SLACK_SECONDS)
        port = free_port()
        server = start_server(data_dir, port, url)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
                for _ in range(20):  # warm up
                    client.get("/api/jobs", params={"limit": 50})
                idle_started = time.monotonic()
                idle = Phase(client, receptor).run(lambda: utcnow() >= turn_ends_at)
                idle_took = time.monotonic() - idle_started
                size_before = retention.database_bytes()
                pass_started = time.monotonic()
                checked = [0.0]

                def purged() -> bool:
                    if time.monotonic() - checked[0] < 2.0:
                        return False
                    checked[0] = time.monotonic()
                    return retention.count(retention.finished_before(cutoff)) == 0

                reaping = Phase(client, receptor).run(purged)
                took = time.monotonic() - pass_started
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
        left = top_level_jobs(store)
        print(f"idle phase {idle_took:.0f} s; ", end="")
        batches = f"batches of {REAPER_BATCH} jobs and {LIGAND_BATCH} ligands"
        print(
            f"one reaper pass (in the server's loop, {batches}, resting {REST_RATIO:g}x): "
            f"{due.jobs} jobs, {due.files} files, {due.ligands} ligands, {due.bytes} bytes "
            f"({due.bytes / 1e6:.1f} MB) freed in about {took:.0f} s; {left} jobs left"
        )
        print(
            f"database {size_before / 1e6:.1f} MB before the pass, "
            f"{retention.database_bytes() / 1e6:.1f} MB after (before any VACUUM)"
        )
        report(idle, reaping)
        store.close()


def report(idle: dict, reaping: dict) -> None:
    keys = ("p50", "p95", "p99", "max")
    print(f"{'':>8} {'':>7} {'n':>5} " + " ".join(f"{key:>8}" for key in keys) + "   (ms)")
    for kind in ("list", "submit"):
        for label, figures in (("idle", idle[kind]), ("reaping", reaping[kind])):
            cells = " ".join(f"{figures[key]:8.1f}" for key in keys)
            print(f"{kind:>8} {label:>7} {figures['n']:5.0f} {cells}")
        ratio = reaping[kind]["p95"] / idle[kind]["p95"]
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        print(f"{kind:>8} p95 reaping / idle: {ratio:.2f}x (target {TARGET_RATIO}x: {verdict})")


if __name__ == "__main__":
    main()
