"""Screening throughput and the cost of accepting a huge library, measured in one run.

1. The same ligands (the first N of RDKit's NCI ``first_5K.smi``), box and exhaustiveness:
   - a naive loop that builds a fresh Vina (receptor, maps) for every ligand, all cores;
   - the sum of that loop's bare ``dock()`` calls (the limit: docking and nothing else);
   - a Dockyard screen through ``POST /api/screens`` on a local server, until completed.
   Targets: Dockyard >= 1.5x the naive loop's throughput, and >= 0.9 of the bare limit.
2. Submitting a 1,000,000-line SMILES file: time until the server answers 201, and the
   server's peak memory (VmHWM) before and after. Target: under a minute, under 500 MB.

Run: ``.venv/bin/python -m bench.screen [--ligands 100] [--exhaustiveness 2] [--million 0]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import tempfile
import time
from pathlib import Path

import httpx
from rdkit import RDConfig
from vina import Vina

from bench.overhead import free_port, start_server
from dockyard.chem import Box, example_box, example_paths, ligand_from_smiles, prepare_receptor

NCI = Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


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
        vina = Vina(sf_name="vina", cpu=0, seed=1, verbosity=0)
        vina.set_receptor(rigid_pdbqt_filename=str(receptor_pdbqt))
        vina.compute_vina_maps(center=list(box.center), box_size=list(box.size))
        vina.set_ligand_from_string(ligand.pdbqt)
        start = time.perf_counter()
        vina.dock(exhaustiveness=exhaustiveness, n_poses=3)
        bare += time.perf_counter() - start
        vina.poses(n_poses=3)
    return time.perf_counter() - total_start, bare, failures


def dockyard_screen(client: httpx.Client, receptor: bytes, library: bytes, box: Box, ex: int):
    fields = {**box.to_dict(), "exhaustiveness": ex, "num_poses": 3, "seed": 1}
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
    return time.perf_counter() - start, state["counts"]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ligands", type=int, default=100)
    parser.add_argument("--exhaustiveness", type=int, default=2)
    parser.add_argument("--million", type=int, default=1_000_000, help="0 to skip")
    args = parser.parse_args()

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
                screen_total, counts = dockyard_screen(
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
