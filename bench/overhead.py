"""What the server costs on top of Vina, measured in one run against a baseline.

1. The same docking (same receptor file, ligand, box, seed and thread count) submitted through
   ``POST /api/jobs`` and followed until completed, against calling the science layer directly.
   Target: ratio at most 1.05 for a docking of about 10 s.
2. ``GET /api/jobs`` (a page of 50) with 10,000 jobs in the store, first page and a deep page,
   against ``GET /api/health`` on the same server. Target: under 50 ms.

Run: ``.venv/bin/python -m bench.overhead [--rounds 5]``
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from dockyard.chem import Box, DockingOptions, dock, ligand_from_smiles, prepare_receptor
from dockyard.chem.examples import example_paths
from dockyard.jobs.models import Job, JobStatus, utcnow
from dockyard.jobs.store import Store

IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"
BOX = {"center_x": 15.19, "center_y": 53.903, "center_z": 16.917}
SIZE = 20.0
EXHAUSTIVENESS = 2
SEED = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, port: int, workers: int = 1) -> subprocess.Popen:
    command = [sys.executable, "-m", "dockyard", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--workers", str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def direct_docking(receptor_pdb: bytes, cpu: int) -> float:
    started = time.perf_counter()
    receptor = prepare_receptor(receptor_pdb.decode(), "pdb")
    ligand = ligand_from_smiles(IMATINIB)
    box = Box(center=tuple(BOX.values()), size=(SIZE, SIZE, SIZE))
    dock(receptor, ligand, box, DockingOptions(exhaustiveness=EXHAUSTIVENESS, seed=SEED, cpu=cpu))
    return time.perf_counter() - started


def unique_receptor(receptor: bytes, round_: int) -> bytes:
    """The receptor with a REMARK of its own, so no preparation cache (the server's or this
    process's) helps either side: both prepare it from scratch, as a new submission would."""
    return f"REMARK   1 overhead benchmark round {round_} {time.time()}\n".encode() + receptor


def served_docking(client: httpx.Client, receptor: bytes) -> float:
    """Seconds from the POST to the job's own ``finished_at``.

    The job is polled only twice a second: a tighter loop would itself take CPU from Vina.
    """
    fields = {key: str(value) for key, value in BOX.items()}
    fields |= {f"size_{axis}": str(SIZE) for axis in "xyz"}
    fields |= {"smiles": IMATINIB, "exhaustiveness": str(EXHAUSTIVENESS), "seed": str(SEED)}
    started = time.time()
    response = client.post(
        "/api/jobs", data=fields, files={"receptor": ("1iep_receptorH.pdb", receptor)}
    )
    response.raise_for_status()
    job_id = response.json()["job_id"]
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] == "completed":
            return datetime.fromisoformat(job["finished_at"]).timestamp() - started
        if job["status"] in ("failed", "cancelled"):
            raise SystemExit(f"job {job_id} ended {job['status']}: {job['error']}")
        time.sleep(0.5)


def fill_store(database_url: str, count: int) -> None:
    store = Store.open(database_url)
    now = utcnow()
    rows = [
        {
            "kind": "dock",
            "name": f"bulk {i}",
            "status": JobStatus.COMPLETED,
            "params": {"exhaustiveness": 8},
            "progress": 1.0,
            "stage": "completed",
            "attempt": 1,
            "max_attempts": 3,
            "time_limit": 3600.0,
            "results": {"best_score": -7.0, "poses": []},
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    with store.session() as session, session.begin():
        session.execute(Job.__table__.insert(), rows)
    store.close()


def median_ms(client: httpx.Client, path: str, params: dict | None = None, n: int = 50) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()

    receptor = example_paths()["receptor"].read_bytes()
    cpu = os.cpu_count() or 1  # what `serve --workers 1` gives each job
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        port = free_port()
        server = start_server(data_dir, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
                direct, served = [], []
                for round_ in range(1, args.rounds + 1):
                    # Alternate which goes first, so drift on a busy machine hits both alike.
                    if round_ % 2:
                        direct.append(direct_docking(unique_receptor(receptor, round_), cpu))
                        served.append(served_docking(client, unique_receptor(receptor, round_)))
                    else:
                        served.append(served_docking(client, unique_receptor(receptor, round_)))
                        direct.append(direct_docking(unique_receptor(receptor, round_), cpu))
                    print(f"round {round_}: direct {direct[-1]:.2f} s, served {served[-1]:.2f} s")
                paired = statistics.median(s / d for s, d in zip(served, direct, strict=True))
                print(
                    f"docking through the API vs the science layer: {paired:.3f}x median of "
                    f"paired rounds, {min(served) / min(direct):.3f}x best against best "
                    f"({min(served):.2f} s vs {min(direct):.2f} s); target <= 1.05"
                )

                fill_store(f"sqlite:///{(data_dir / 'dockyard.db').resolve()}", args.jobs)
                health = median_ms(client, "/api/health")
                first = median_ms(client, "/api/jobs", {"limit": 50})
                deep = median_ms(client, "/api/jobs", {"limit": 50, "before": 100})
                filtered = median_ms(client, "/api/jobs", {"limit": 50, "status": "completed"})
                print(f"GET /api/jobs with {args.jobs} jobs, page of 50 (median of 50 requests):")
                for label, value in (("first page", first), ("deep page", deep),
                                     ("status filter", filtered)):  # fmt: skip
                    print(
                        f"  {label}: {value:.1f} ms = {value / health:.2f}x GET /api/health "
                        f"({health:.1f} ms); target < 50 ms"
                    )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
