"""Screening throughput and the cost of accepting a huge library, measured in one run.

1. The same ligands (the first N of RDKit's NCI ``first_5K.smi``), box and exhaustiveness:
   - a naive loop that builds a fresh Vina (receptor, maps) for every ligand, all cores;
   - the sum of that loop's bare ``dock()`` calls (the limit: docking and nothing else);
   - a Dockyard screen through ``POST /api/screens`` on a local server, until completed.
   Targets: Dockyard >= 1.5x the naive loop's throughput, and >= 0.9 of the bare limit.
2. Submitting a 1,000,000-line SMILES file: time until the server answers 201, and the
   server's peak memory (VmHWM) before and after. Target: under a minute, under 500 MB.

3. With ``--peer easydock``, instead: the same library, receptor PDBQT (the one Dockyard
   prepares from the PDB, given to both; the bench checks the screen stored the same file), box,
   exhaustiveness, seed, pose count and cores through a Dockyard screen and through EasyDock
   1.3.1 (``easydock --program vina``, installed by ``bench/peer_easydock.py`` in a virtualenv of
   its own), the order of the two alternated across ``--rounds``. Prints each tool's median wall
   time and the peak memory of its process tree (PSS and RSS summed), Dockyard's throughput
   over EasyDock's, and the
   Spearman correlation of their best scores per ligand; with ``--reference-exhaustiveness``,
   also each tool's correlation with one fixed-effort Dockyard screen at that exhaustiveness.
   Targets: >= 1.2x at equal settings; >= 2x with ``--effort auto`` at exhaustiveness 8, at
   Spearman >= 0.9 against exhaustiveness 32. ``--effort`` is sent as the form field ``effort``
   only when given.

Run: ``.venv/bin/python -m bench.screen [--ligands 100] [--exhaustiveness 2] [--million 0]``
     ``nice -n 10 .venv/bin/python -m bench.screen --peer easydock --ligands 100
     --exhaustiveness 2 --rounds 2 [--effort auto] [--reference-exhaustiveness 32]
     [--peer-venv PATH] [--peer-processes 2]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rdkit import RDConfig
from scipy import stats
from vina import Vina

from bench import peer_easydock
from bench.overhead import free_port, start_server
from dockyard.chem import Box, example_box, example_paths, ligand_from_smiles, prepare_receptor

NCI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"
SEED = 1
POSES = 3
CORES = os.cpu_count() or 1


def library_lines(count: int) -> list[str]:
    lines = [line for line in NCI.read_text().splitlines() if line.strip()]
    return lines[:count]


def naive_loop(receptor_pdbqt: Path, smiles: list[str], box: Box, exhaustiveness: int):
    """Fresh Vina per ligand; returns (total seconds, sum of dock() seconds, failures)."""
    total_start = time.perf_counter()
    bare = 0.0
    failures = 0
    for line in smiles:
        try:
            ligand = ligand_from_smiles(line.split()[0])
        except Exception:
            failures += 1
            continue
        vina = Vina(sf_name="vina", cpu=0, seed=SEED, verbosity=0)
        vina.set_receptor(rigid_pdbqt_filename=str(receptor_pdbqt))
        vina.compute_vina_maps(center=list(box.center), box_size=list(box.size))
        vina.set_ligand_from_string(ligand.pdbqt)
        start = time.perf_counter()
        vina.dock(exhaustiveness=exhaustiveness, n_poses=POSES)
        bare += time.perf_counter() - start
        vina.poses(n_poses=POSES)
    return time.perf_counter() - total_start, bare, failures


def dockyard_screen(
    client: httpx.Client, receptor: bytes, library: bytes, box: Box, ex: int, **extra: str
) -> tuple[float, dict, int]:
    """Seconds from the POST to completed, the screen's counts, and its id."""
    fields = {**box.to_dict(), "exhaustiveness": ex, "num_poses": POSES, "seed": SEED, **extra}
    start = time.perf_counter()
    response = client.post(
        "/api/screens",
        data={key: str(value) for key, value in fields.items()},
        files={"receptor": ("1iep_receptorH.pdb", receptor), "library": ("lib.smi", library)},
    )
    response.raise_for_status()
    screen_id = response.json()["job_id"]
    while (state := client.get(f"/api/screens/{screen_id}").json())["status"] != "completed":
        if state["status"] in ("failed", "cancelled"):
            raise SystemExit(f"screen ended {state['status']}")
        time.sleep(0.25)
    return time.perf_counter() - start, state["counts"], screen_id


def screen_scores(client: httpx.Client, screen_id: int) -> dict[str, float]:
    """The best score of each docked ligand of a screen, by ligand name."""
    scores: dict[str, float] = {}
    while True:
        query = {"status": "completed", "limit": 500, "offset": len(scores), "sort": "index"}
        page = client.get(f"/api/screens/{screen_id}/ligands", params=query).json()
        scores.update({row["name"]: row["score"] for row in page["ligands"]})
        if not page["ligands"] or len(scores) >= page["total"]:
            return scores


def peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def million_line_submission(folder: Path, receptor: bytes, box: Box, lines: int) -> None:
    source = library_lines(5000)
    library = folder / "million.smi"
    with library.open("w") as handle:
        for number, line in zip(range(lines), itertools.cycle(source), strict=False):
            handle.write(f"{line.split()[0]} m{number}\n")
    size_mb = library.stat().st_size / 1e6
    data_dir = folder / "million-data"
    port = free_port()
    server = start_server(data_dir, port)
    try:
        before = peak_memory_mb(server.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            start = time.perf_counter()
            with library.open("rb") as stream:
                response = client.post(
                    "/api/screens",
                    data={key: str(value) for key, value in box.to_dict().items()},
                    files={"receptor": ("r.pdb", receptor), "library": ("million.smi", stream)},
                )
            elapsed = time.perf_counter() - start
            response.raise_for_status()
            client.post(f"/api/jobs/{response.json()['job_id']}/cancel")
        after = peak_memory_mb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    print(
        f"{lines:,}-line SMILES file ({size_mb:.0f} MB): accepted in {elapsed:.1f} s "
        f"(target < 60 s); server peak memory {before:.0f} MB idle -> {after:.0f} MB "
        f"(+{after - before:.0f} MB; target < 500 MB)"
    )


def served_screen(
    folder: Path, receptor: bytes, lines: list[str], box: Box, ex: int, **extra: str
) -> tuple[float, peer_easydock.PeakMemory, dict[str, float], dict, str]:
    """One screen on a fresh server: seconds, the peak memory of the server's process tree,
    best score per ligand name, counts, and the receptor PDBQT the screen prepared and stored."""
    port = free_port()
    server = start_server(folder, port)
    try:
        with (
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client,
            peer_easydock.PeakMemory(server.pid) as memory,
        ):
            library = "".join(f"{line}\n" for line in lines).encode()
            seconds, counts, screen_id = dockyard_screen(
                client, receptor, library, box, ex, **extra
            )
            scores = screen_scores(client, screen_id)
            stored = client.get(f"/api/jobs/{screen_id}/receptor.pdbqt").text
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return seconds, memory, scores, counts, stored


def spearman(first: dict[str, float], second: dict[str, float]) -> tuple[float, int]:
    """Spearman's rho over the ligands both scored, and how many they were."""
    common = sorted(first.keys() & second.keys())
    rho = stats.spearmanr([first[name] for name in common], [second[name] for name in common])
    return float(rho.statistic), len(common)


@dataclass
class Run:
    """One tool's run: wall seconds, the peak memory of its process tree, best score by name."""

    seconds: float
    memory: peer_easydock.PeakMemory
    scores: dict[str, float]


def peer_comparison(args: argparse.Namespace) -> None:
    """Dockyard and EasyDock on the same inputs, their order alternated across rounds."""
    command = peer_easydock.ensure_venv(args.peer_venv)
    receptor = example_paths()["receptor"].read_bytes()
    box = example_box()
    lines = library_lines(args.ligands)
    threads = max(1, CORES // args.peer_processes)
    extra = {"effort": args.effort} if args.effort else {}
    runs: dict[str, list[Run]] = {"dockyard": [], "easydock": []}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        receptor_pdbqt = folder / "receptor.pdbqt"
        receptor_pdbqt.write_text(prepare_receptor(receptor.decode(), "pdb", box=box).pdbqt)
        settings = {"exhaustiveness": args.exhaustiveness, "seed": SEED, "n_poses": POSES}
        config = peer_easydock.write_config(
            folder, receptor_pdbqt, box, {**settings, "ncpu": threads}
        )
        for round_ in range(args.rounds):
            for tool in ["dockyard", "easydock"][:: 1 if round_ % 2 == 0 else -1]:
                load = os.getloadavg()[0]
                run_dir = folder / f"{tool}-{round_}"
                if tool == "dockyard":
                    seconds, memory, scores, counts, stored = served_screen(
                        run_dir, receptor, lines, box, args.exhaustiveness, **extra
                    )
                    if stored != receptor_pdbqt.read_text():
                        raise SystemExit("the screen stored another receptor PDBQT than EasyDock's")
                    detail = f"{counts}"
                else:
                    seconds, memory, scores = peer_easydock.run(
                        command, run_dir, lines, config, args.peer_processes
                    )
                    detail = f"{len(scores)} scored"
                runs[tool].append(Run(seconds, memory, scores))
                print(f"round {round_ + 1} {tool}: {seconds:.1f} s, peak PSS {memory.pss_mb:.0f} "
                      f"MB (RSS {memory.rss_mb:.0f} MB), {detail}, load average {load:.1f} "
                      "at start", flush=True)  # fmt: skip
        reference = None
        if args.reference_exhaustiveness:
            reference = served_screen(
                folder / "reference", receptor, lines, box, args.reference_exhaustiveness
            )[2]
    report(runs, reference, args)
    print(f"settings: {len(lines)} NCI ligands, 1IEP {box.size[0]:.0f} A box, exhaustiveness "
          f"{args.exhaustiveness}, effort {args.effort or 'not sent'}, seed {SEED}, {POSES} poses, "
          f"{CORES} cores (dockyard: 1 worker, {min(CORES, args.exhaustiveness)} Vina threads; "
          f"easydock: -c {args.peer_processes}, ncpu {threads}); load average "
          f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after")  # fmt: skip


def report(
    runs: dict[str, list[Run]], reference: dict[str, float] | None, args: argparse.Namespace
) -> None:
    """Median times, peak memory, the throughput ratio and the score correlations."""
    median = {tool: statistics.median(run.seconds for run in done) for tool, done in runs.items()}
    pss = {tool: max(run.memory.pss_mb for run in done) for tool, done in runs.items()}
    for tool, done in runs.items():
        rounds = ", ".join(f"{run.seconds:.1f}" for run in done)
        rss = max(run.memory.rss_mb for run in done)
        print(f"{tool}: median {median[tool]:.1f} s over {len(done)} rounds ({rounds}); "
              f"peak memory (process tree) {pss[tool]:.0f} MB PSS, {rss:.0f} MB RSS")  # fmt: skip
    target = 2.0 if args.effort == "auto" else 1.2
    print(f"throughput dockyard / easydock: {median['easydock'] / median['dockyard']:.2f}x "
          f"(target >= {target}); peak PSS dockyard / easydock "
          f"{pss['dockyard'] / pss['easydock']:.2f}")  # fmt: skip
    ours, theirs = runs["dockyard"][-1].scores, runs["easydock"][-1].scores
    rho, count = spearman(ours, theirs)
    print(f"Spearman of best scores per ligand, dockyard vs easydock: {rho:.3f} over {count}")
    if reference is not None:
        print(f"Spearman against a fixed exhaustiveness-{args.reference_exhaustiveness} "
              f"Dockyard screen: dockyard {spearman(ours, reference)[0]:.3f}, easydock "
              f"{spearman(theirs, reference)[0]:.3f} (target >= 0.9)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ligands", type=int, default=100)
    parser.add_argument("--exhaustiveness", type=int, default=2)
    parser.add_argument("--million", type=int, default=1_000_000, help="0 to skip")
    parser.add_argument("--peer", choices=["easydock"], help="compare with a peer instead")
    parser.add_argument("--rounds", type=int, default=2, help="peer rounds, order alternated")
    parser.add_argument("--effort", choices=["auto", "fixed"], help="sent only when given")
    parser.add_argument("--reference-exhaustiveness", type=int, default=0, help="0 to skip")
    parser.add_argument("--peer-venv", type=Path, default=peer_easydock.DEFAULT_VENV)
    parser.add_argument("--peer-processes", type=int, default=CORES)
    args = parser.parse_args()
    if args.peer:
        peer_comparison(args)
        return

    receptor = example_paths()["receptor"].read_bytes()
    box = example_box()
    lines = library_lines(args.ligands)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        receptor_pdbqt = folder / "receptor.pdbqt"
        receptor_pdbqt.write_text(prepare_receptor(receptor.decode(), "pdb", box=box).pdbqt)
        naive_total, bare, failures = naive_loop(receptor_pdbqt, lines, box, args.exhaustiveness)
        print(f"naive loop: {naive_total:.1f} s for {len(lines)} ligands ({failures} failed); "
              f"bare dock() calls: {bare:.1f} s")  # fmt: skip

        port = free_port()
        server = start_server(folder / "data", port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
                library = "".join(f"{line}\n" for line in lines).encode()
                screen_total, counts, _ = dockyard_screen(
                    client, receptor, library, box, args.exhaustiveness
                )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        print(f"dockyard screen: {screen_total:.1f} s ({counts})")
        print(
            f"throughput vs naive loop: {naive_total / screen_total:.2f}x (target >= 1.5); "
            f"vs bare docking limit: {bare / screen_total:.2f} (target >= 0.9); "
            f"cores: {os.cpu_count()}, exhaustiveness {args.exhaustiveness}"
        )
        if args.million:
            million_line_submission(folder, receptor, box, args.million)


if __name__ == "__main__":
    main()
