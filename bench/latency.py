"""How fast the server answers while chemistry runs, against the same server idle.

Starts ``dockyard serve`` with 1,000 jobs in its store and measures ``GET /api/jobs`` (a page
of 50) and ``GET /api/health`` taking turns, 10 ms apart, for a while: first idle (the
baseline), then while four client processes (at nice 19, so that they neither hold the
measuring client's GIL nor take the server's CPU, as clients on other machines would not)
keep a pre-flight of a raw receptor each in flight (``POST /api/prepare``
of the PoseBusters PDB files in ``tests/data/posebusters/``, boxed by their crystal ligand, a
fresh REMARK each time so no preparation cache helps). The preparations run in the chemistry
pool's processes; the web process only waits for them. Targets while loaded: jobs p99 under
50 ms, health p99 under 20 ms.

Run: ``.venv/bin/python -m bench.latency [--seconds 30]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.queues
import os
import signal
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.overhead import fill_store, free_port, start_server

POSEBUSTERS = Path(__file__).resolve().parents[1] / "tests" / "data" / "posebusters"
PATHS = {"jobs": ("/api/jobs", {"limit": 50}), "health": ("/api/health", None)}
TARGETS_MS = {"jobs": 50.0, "health": 20.0}
IN_FLIGHT = 4
PAUSE_SECONDS = 0.01
"""Between two rounds of requests, so the measuring client does not take a core itself."""


def percentiles(times: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max in milliseconds."""
    ordered = sorted(times)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": ordered[-1]}


def measure(client: httpx.Client, seconds: float) -> dict[str, dict[str, float]]:
    """Each path's latency for ``seconds``, the two paths taking turns."""
    times: dict[str, list[float]] = {name: [] for name in PATHS}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for name, (path, params) in PATHS.items():
            started = time.perf_counter()
            client.get(path, params=params).raise_for_status()
            times[name].append((time.perf_counter() - started) * 1000)
        time.sleep(PAUSE_SECONDS)
    return {name: {"n": len(values), **percentiles(values)} for name, values in times.items()}


class Preparations:
    """Client processes that each keep one raw-receptor pre-flight in flight until stopped."""

    def __init__(self, url: str):
        context = multiprocessing.get_context("fork")
        self.stopping = context.Event()
        self.outcomes: multiprocessing.queues.Queue = context.Queue()
        complexes = sorted(path for path in POSEBUSTERS.iterdir() if path.is_dir())
        self.processes = [
            context.Process(
                target=_prepare_again_and_again,
                args=(url, complexes[i % len(complexes)], self.stopping, self.outcomes),
            )
            for i in range(IN_FLIGHT)
        ]
        self.answers: Counter[int] = Counter()
        self.seconds: list[float] = []

    def collect(self) -> None:
        while not self.outcomes.empty():
            status, seconds = self.outcomes.get()
            self.answers[status] += 1
            if status == 200:
                self.seconds.append(seconds)

    def __enter__(self) -> Preparations:
        for process in self.processes:
            process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for process in self.processes:
            process.join(timeout=300)
        self.collect()


def _prepare_again_and_again(url: str, folder: Path, stopping, outcomes) -> None:
    os.nice(19)  # clients stand in for other machines: the measuring client and server go first
    protein = next(folder.glob("*_protein_one_lig_removed.pdb")).read_bytes()
    ligand = (folder / f"{folder.name}_ligand.sdf").read_bytes()
    with httpx.Client(base_url=url, timeout=600) as client:
        while not stopping.is_set():
            remark = f"REMARK   1 latency benchmark {time.time()}\n".encode()
            files = {
                "receptor": (f"{folder.name}.pdb", remark + protein),
                "reference_ligand": (f"{folder.name}_ligand.sdf", ligand),
            }
            started = time.perf_counter()
            status = client.post("/api/prepare", files=files).status_code
            outcomes.put((status, time.perf_counter() - started))
            if status == 503:
                time.sleep(1)


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(idle: dict[str, dict[str, float]], loaded: dict[str, dict[str, float]]) -> None:
    keys = ("p50", "p95", "p99", "max")
    print(f"{'':>14} {'':>6} {'n':>6} " + " ".join(f"{key:>8}" for key in keys) + "   (ms)")
    for name, (path, _params) in PATHS.items():
        for label, figures in (("idle", idle[name]), ("loaded", loaded[name])):
            cells = " ".join(f"{figures[key]:8.1f}" for key in keys)
            print(f"{path:>14} {label:>6} {figures['n']:6.0f} {cells}")
        ratios = " ".join(f"{loaded[name][key] / idle[name][key]:7.2f}x" for key in keys)
        target = TARGETS_MS[name]
        verdict = "met" if loaded[name]["p99"] < target else "MISSED"
        print(f"{'':>14} {'ratio':>6} {'':>6} {ratios}   p99 loaded < {target:g} ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per phase")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs in the store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        port = free_port()
        server = start_server(data_dir, port)
        url = f"http://127.0.0.1:{port}"
        try:
            fill_store(f"sqlite:///{(data_dir / 'dockyard.db').resolve()}", args.jobs)
            with httpx.Client(base_url=url, timeout=60) as client:
                measure(client, 2.0)  # warm up
                cpu = cpu_seconds(server.pid)
                idle = measure(client, args.seconds)
                idle_cpu = cpu_seconds(server.pid) - cpu
                with Preparations(url) as preparations:
                    while not preparations.seconds:  # the chemistry workers are at it
                        time.sleep(0.5)
                        preparations.collect()
                    started, cpu = time.monotonic(), cpu_seconds(server.pid)
                    loaded = measure(client, args.seconds)
                    took, loaded_cpu = time.monotonic() - started, cpu_seconds(server.pid) - cpu
                    preparations.collect()
                    during = len(preparations.seconds)
            answers = dict(sorted(preparations.answers.items()))
            done = preparations.seconds
            print(
                f"{IN_FLIGHT} raw-receptor pre-flights kept in flight for {took:.0f} s: "
                f"answers by status {answers}, {len(done)} prepared in "
                f"{statistics.median(done):.1f} s median ({min(done):.1f}-{max(done):.1f} s)"
            )
            print(
                f"web process CPU: {idle_cpu:.1f} s idle, {loaded_cpu:.1f} s loaded "
                f"(about {during} pre-flights answered while measuring)"
            )
            report(idle, loaded)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
