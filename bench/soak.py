"""A soak: a real server under mixed load for minutes, its job processes SIGKILLed every minute.

It starts ``dockyard serve`` (local workers; SQLite in a fresh data directory, or
``--database-url``) on a free loopback port, measures an idle baseline of each kind of read,
then runs, until ``--minutes`` have passed:

- submits of small fast dockings (a 14 Å box in 1IEP, exhaustiveness 1, the receptor prepared
  once and sent as PDBQT), lists, job reads, SSE follows of ``/api/events`` (each held open
  for a few seconds, then opened again) and cancels of recent jobs;
- every ``--kill-every`` seconds, a SIGKILL to one job process of the local runner, found in
  the server's process tree (a child of its fork server, leading its own process group).

Then it waits for every submitted job to end and prints the requests by kind, server errors
(5xx or a broken connection), lost jobs (submitted but missing, or not finished at the end),
jobs run twice (more attempts than kills that hit them, a result from another attempt than
the last, a completed job without its poses), failed jobs, the server's RSS (first, min, max,
last: it must stay flat) and p50/p99 latency per kind against the idle baseline. The exit
status is 1 when a target is missed: every count above must be 0 and the RSS of the last
third of the run within 20% (+16 MB) of the first third.

Run: ``.venv/bin/python -m bench.soak --minutes 10 [--database-url URL] [--workers 2]``
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from dockyard.chem import prepare_receptor
from dockyard.chem.examples import example_paths
from dockyard.jobs.models import Job, JobFile
from dockyard.jobs.store import Store

BOX = {
    "center_x": "15.19",
    "center_y": "53.90",
    "center_z": "16.92",
    "size_x": "14",
    "size_y": "14",
    "size_z": "14",
}
FAST = {"exhaustiveness": "1", "num_poses": "3"}
LIGANDS = [
    "NC(=O)c1ccccc1",
    "CC(=O)Nc1ccc(O)cc1",
    "OC(=O)c1ccccc1O",
    "NC(=O)c1cccnc1",
    "Cn1cnc2c1c(=O)n(C)c(=O)n2C",
]
FINISHED = ("completed", "failed", "cancelled")
IDLE_SAMPLES = 30
RSS_GROWTH = 0.20
RSS_SLACK_KB = 16 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the server and its process tree ---------------------------------------------------------


class Server:
    """``dockyard serve`` in its own session, its log in the data directory."""

    def __init__(self, data_dir: Path, database_url: str | None, workers: int):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or f"sqlite:///{(data_dir / 'dockyard.db').resolve()}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKYARD_")}
        env["DOCKYARD_DATABASE_URL"] = self.database_url
        self.log = (data_dir / "server.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dockyard", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--data-dir", str(data_dir), "--workers", str(workers)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.pid = self.process.pid

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited; see {self.data_dir / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not become healthy")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()

    def rss_kb(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def job_processes(self) -> list[int]:
        """The local runner's job processes: the server's descendants that lead their own
        process group (each job's process does; the fork server and helpers do not)."""
        stats = _process_stats()
        children: dict[int, list[int]] = defaultdict(list)
        for pid, (ppid, _pgid) in stats.items():
            children[ppid].append(pid)
        found, todo = [], list(children[self.pid])
        while todo:
            pid = todo.pop()
            todo += children[pid]
            if stats[pid][1] == pid:
                found.append(pid)
        return found


def _process_stats() -> dict[int, tuple[int, int]]:
    """``pid: (ppid, pgid)`` of every process, from ``/proc``."""
    stats = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = (int(fields[1]), int(fields[2]))
    return stats


# -- the load ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """Every request by kind: latencies, status codes, and what broke."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1
            if status >= 500:
                self.errors.append(f"{kind}: HTTP {status}")

    def broken(self, kind: str, error: Exception) -> None:
        with self.lock:
            self.statuses[kind][0] += 1
            self.errors.append(f"{kind}: {type(error).__name__}: {error}")


@dataclass
class Soak:
    server: Server
    receptor: bytes
    until: float
    kill_every: float
    tally: Tally = field(default_factory=Tally)
    submitted: list[int] = field(default_factory=list)
    kills: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    rss: list[tuple[float, int]] = field(default_factory=list)
    sse_events: int = 0
    started: float = field(default_factory=time.monotonic)

    def timed(self, client: httpx.Client, kind: str, method: str, url: str, **kwargs):
        began = time.perf_counter()
        try:
            response = client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            self.tally.broken(kind, error)
            return None
        self.tally.record(kind, time.perf_counter() - began, response.status_code)
        return response

    def running(self) -> bool:
        return time.monotonic() < self.until

    def every(self, seconds: float, action: Callable[[httpx.Client], None]) -> Callable[[], None]:
        def loop() -> None:
            with httpx.Client(base_url=self.server.url, timeout=30) as client:
                while self.running():
                    action(client)
                    time.sleep(random.uniform(0.5, 1.5) * seconds)

        return loop

    def submit(self, client: httpx.Client) -> None:
        fields = {
            **BOX,
            **FAST,
            "smiles": random.choice(LIGANDS),
            "seed": str(random.randint(1, 9)),
        }
        files = {"receptor": ("1iep.pdbqt", self.receptor, "chemical/x-pdbqt")}
        response = self.timed(client, "submit", "POST", "/api/jobs", data=fields, files=files)
        if response is not None and response.status_code == 201:
            self.submitted.append(response.json()["job_id"])

    def list(self, client: httpx.Client) -> None:
        self.timed(client, "list", "GET", "/api/jobs", params={"limit": 50})

    def read(self, client: httpx.Client) -> None:
        if self.submitted:
            self.timed(client, "read", "GET", f"/api/jobs/{random.choice(self.submitted[-50:])}")

    def cancel(self, client: httpx.Client) -> None:
        if self.submitted:
            job_id = random.choice(self.submitted[-5:])
            self.timed(client, "cancel", "POST", f"/api/jobs/{job_id}/cancel")

    def follow(self, client: httpx.Client) -> None:
        """Open ``/api/events``, read it for a few seconds, close it (latency: to headers)."""
        began = time.perf_counter()
        try:
            with client.stream("GET", "/api/events", timeout=httpx.Timeout(30, read=15)) as stream:
                self.tally.record("follow", time.perf_counter() - began, stream.status_code)
                hold = time.monotonic() + random.uniform(3, 8)
                for line in stream.iter_lines():
                    if line.startswith("event: job"):
                        self.sse_events += 1
                    if time.monotonic() > hold or not self.running():
                        break
        except httpx.HTTPError as error:
            self.tally.broken("follow", error)

    def kill(self) -> None:
        """SIGKILL one job process a minute, and note which job it was running."""
        store = Store.open(self.server.database_url, migrate_schema=False)
        next_kill = time.monotonic() + self.kill_every
        try:
            while self.running():
                time.sleep(0.2)
                if time.monotonic() < next_kill:
                    continue
                victims = self.server.job_processes()
                by_pid = {
                    int(worker.rsplit(":", 1)[1]): claim.job_id
                    for claim, worker in store.running_claims()
                    if worker and worker.count(":") == 2
                }
                known = [pid for pid in victims if pid in by_pid]
                if not known:
                    continue  # nothing inside a job right now: try again shortly
                pid = random.choice(known)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                self.kills[by_pid[pid]] += 1
                print(f"  {self.elapsed():5.0f} s  SIGKILL job process {pid} (job {by_pid[pid]})")
                next_kill = time.monotonic() + self.kill_every
        finally:
            store.close()

    def watch_memory(self) -> None:
        while self.running():
            rss = self.server.rss_kb()
            if rss is not None:
                self.rss.append((time.monotonic(), rss))
            time.sleep(5)

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def idle_baseline(url: str, job_id: int) -> dict[str, list[float]]:
    """The read kinds, one at a time on the otherwise idle server."""
    baseline: dict[str, list[float]] = defaultdict(list)
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(IDLE_SAMPLES):
            for kind, path in (("list", "/api/jobs?limit=50"), ("read", f"/api/jobs/{job_id}")):
                began = time.perf_counter()
                client.get(path).raise_for_status()
                baseline[kind].append(time.perf_counter() - began)
    return baseline


def wait_all_finished(url: str, ids: list[int], timeout: float) -> dict[int, dict | None]:
    """Each submitted job's last state (None: missing), once all ended or at ``timeout``."""
    deadline = time.monotonic() + timeout
    states: dict[int, dict | None] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        while True:
            for job_id in ids:
                if states.get(job_id) and states[job_id]["status"] in FINISHED:
                    continue
                response = client.get(f"/api/jobs/{job_id}")
                states[job_id] = response.json() if response.status_code == 200 else None
            if all(s and s["status"] in FINISHED for s in states.values()):
                return states
            if time.monotonic() > deadline:
                return states
            time.sleep(1)


def ran_twice(database_url: str, ids: list[int], kills: dict[int, int]) -> list[str]:
    """Jobs with more attempts than kills that hit them, or a result not of their last one."""
    store = Store.open(database_url, migrate_schema=False)
    problems = []
    try:
        with store.session() as session:
            jobs = session.query(Job).filter(Job.id.in_(ids)).all()
            poses = {
                job_id
                for (job_id,) in session.query(JobFile.job_id).filter(
                    JobFile.job_id.in_(ids), JobFile.name == "poses.sdf"
                )
            }
        for job in jobs:
            if job.attempt > 1 + kills.get(job.id, 0):
                problems.append(
                    f"job {job.id}: {job.attempt} attempts, {kills.get(job.id, 0)} kills"
                )
            if job.status == "completed":
                if (job.provenance or {}).get("attempt") != job.attempt:
                    problems.append(f"job {job.id}: result of attempt {job.provenance}")
                if job.id not in poses:
                    problems.append(f"job {job.id}: completed without poses")
    finally:
        store.close()
    return problems


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(soak: Soak, baseline: dict[str, list[float]], states: dict[int, dict | None]) -> bool:
    tally = soak.tally
    print("\nrequests by kind (status: count; 0 = broken connection)")
    print(
        f"  {'kind':<8} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'idle p50':>9} "
        f"{'x idle':>7}  statuses"
    )
    for kind in ("submit", "list", "read", "follow", "cancel"):
        latencies = tally.latencies.get(kind, [])
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses.get(kind, {}).items()))
        if not latencies:
            print(f"  {kind:<8} {0:>6}  {statuses}")
            continue
        p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
        idle = statistics.median(baseline[kind]) * 1000 if kind in baseline else None
        ratio = f"{p50 / idle:7.1f}" if idle else f"{'':>7}"
        idle_text = f"{idle:9.1f}" if idle else f"{'':>9}"
        count = sum(tally.statuses[kind].values())
        print(f"  {kind:<8} {count:>6} {p50:8.1f} {p99:8.1f} {idle_text} {ratio}  {statuses}")
    print(f"  SSE job events received: {soak.sse_events}")

    lost = [job_id for job_id, state in states.items() if state is None]
    stuck = [job_id for job_id, s in states.items() if s and s["status"] not in FINISHED]
    by_status: dict[str, int] = defaultdict(int)
    for state in states.values():
        if state:
            by_status[state["status"]] += 1
    failed = [(job_id, s["error"]) for job_id, s in states.items() if s and s["status"] == "failed"]
    twice = ran_twice(soak.server.database_url, list(states), soak.kills)
    rss = [kb for _, kb in soak.rss]
    third = max(1, len(rss) // 3)
    early, late = statistics.mean(rss[:third]), statistics.mean(rss[-third:])
    flat = late <= early * (1 + RSS_GROWTH) + RSS_SLACK_KB

    print(f"\njobs submitted: {len(states)}  {dict(by_status)}")
    retried = [
        job_id
        for job_id in soak.kills
        if (states.get(job_id) or {}).get("attempt") == 1 + soak.kills[job_id]
    ]
    print(
        f"job processes SIGKILLed: {sum(soak.kills.values())} (jobs {sorted(soak.kills)}; "
        f"run again after the kill and ended: {len(retried)})"
    )
    print(f"server errors: {len(tally.errors)}  {tally.errors[:5]}")
    print(f"lost jobs: {len(lost) + len(stuck)}  missing {lost[:10]}, not finished {stuck[:10]}")
    print(f"jobs run twice: {len(twice)}  {twice[:5]}")
    print(f"failed jobs: {len(failed)}  {failed[:3]}")
    print(
        f"server RSS MB: first {rss[0] / 1024:.0f}, min {min(rss) / 1024:.0f}, "
        f"max {max(rss) / 1024:.0f}, last {rss[-1] / 1024:.0f} "
        f"(mean of the last third / first third: {late / early:.2f}) -> "
        f"{'flat' if flat else 'GROWING'}"
    )
    return not (tally.errors or lost or stuck or twice or failed) and flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=60.0, help="seconds")
    parser.add_argument("--submit-every", type=float, default=3.0, help="seconds, on average")
    args = parser.parse_args()
    random.seed(1)

    receptor_pdb = example_paths()["receptor"].read_text()
    receptor = prepare_receptor(receptor_pdb, "pdb").pdbqt.encode()
    with tempfile.TemporaryDirectory(prefix="dockyard-soak-") as folder:
        server = Server(Path(folder), args.database_url, args.workers)
        try:
            server.wait_ready()
            soak = Soak(server, receptor, until=0.0, kill_every=args.kill_every)
            with httpx.Client(base_url=server.url, timeout=60) as client:
                soak.submit(client)
            first = wait_all_finished(server.url, soak.submitted, timeout=120)
            baseline = idle_baseline(server.url, next(iter(first)))
            soak.tally = Tally()  # the warm-up submission is not part of the soak
            print(f"soak: {args.minutes:g} min against {server.url} ({server.database_url})")
            soak.started = time.monotonic()
            soak.until = soak.started + args.minutes * 60
            threads = [
                soak.every(args.submit_every, soak.submit),
                soak.every(0.5, soak.list),
                soak.every(0.3, soak.read),
                soak.every(0.3, soak.read),
                soak.every(0.5, soak.follow),
                soak.every(0.5, soak.follow),
                soak.every(20.0, soak.cancel),
                soak.kill,
                soak.watch_memory,
            ]
            running = [threading.Thread(target=target, daemon=True) for target in threads]
            for thread in running:
                thread.start()
            for thread in running:
                thread.join()
            states = wait_all_finished(server.url, soak.submitted, timeout=300)
            ok = report(soak, baseline, states)
        finally:
            server.stop()
    print("all targets met" if ok else "TARGET MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
