"""Pocket finders compared: does the top pocket's box hold the crystal ligand?

For each complex (the packaged 1IEP example, tests/data/posebusters and, given a folder, the
mmCIF complexes of a redocking set such as ../shared/data/redock) the receptor is prepared
as the pre-flight check prepares it, then pockets are found twice: by Dockyard's finder
(fpocket-rs, ranked by druggability) and by the pyKVFinder finder it replaced (volume x mean
depth, run here as a baseline only). Each line gives the time, the number of pockets, whether
the box of the top pocket / of any of the top three holds the crystal ligand's centroid, and
the distance from the top pocket's centre to that centroid and the top box's side (the cube
root of its volume: a large box holds the ligand more easily and docks less precisely).

    .venv/bin/python -m bench.pockets [../shared/data/redock] [--limit 20]

pyKVFinder is GPL-3.0-or-later and no longer a dependency: install it by hand to run this.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gemmi
import numpy as np
from rdkit import Chem

from dockyard.chem import prepare_receptor
from dockyard.chem.core.box import MAX_BOX_SIDE
from dockyard.chem.pockets import MIN_POCKET_SIDE, POCKET_PADDING, find_pockets
from dockyard.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
POSEBUSTERS = ROOT / "tests" / "data" / "posebusters"
EXAMPLE = ROOT / "src" / "dockyard" / "examples" / "1iep"

Found = list[tuple[np.ndarray, np.ndarray]]
"""(centre, size) of each pocket's box, best first."""


def complexes(redock: Path | None, limit: int) -> list[tuple[str, Callable[[], str], Path]]:
    """(name, the receptor's PDB text, crystal ligand SDF) of each complex."""
    found = [("1iep", (EXAMPLE / "1iep_receptorH.pdb").read_text, EXAMPLE / "1iep_ligand.sdf")]
    for folder in sorted(path for path in POSEBUSTERS.iterdir() if path.is_dir()):
        protein = folder / f"{folder.name}_protein_one_lig_removed.pdb"
        found.append((folder.name, protein.read_text, folder / f"{folder.name}_ligand.sdf"))
    if redock is not None:
        for folder in sorted(path for path in redock.iterdir() if path.is_dir())[:limit]:
            found.append((folder.name, _cif_to_pdb(folder / "protein.cif"), folder / "ligand.sdf"))
    return found


def _cif_to_pdb(path: Path) -> Callable[[], str]:
    def read() -> str:
        structure = gemmi.read_structure(str(path))
        structure.setup_entities()
        structure.shorten_chain_names()
        return structure.make_pdb_string()

    return read


def fpocket_finder(pdb: str) -> Found:
    return [(np.array(p.center), np.array(p.size)) for p in find_pockets(pdb, limit=10_000)]


def kvfinder_finder(pdb: str) -> Found:
    """The pyKVFinder finder as Dockyard ran it: 0.6 Å grid, probes 1.4/4 Å, 100 Å³ cut-off,
    ranked by volume x mean depth, boxes around the cavity points."""
    import pyKVFinder

    step, probe_in, probe_out = 0.6, 1.4, 4.0
    heavy = [
        line
        for line in pdb.splitlines()
        if line.startswith(("ATOM", "HETATM")) and line[76:78].strip().upper() not in ("H", "D")
    ]
    handle, path = tempfile.mkstemp(suffix=".pdb")
    with os.fdopen(handle, "w") as out:
        out.write("\n".join(heavy) + "\nEND\n")
    logging.disable(logging.WARNING)
    try:
        atomic = pyKVFinder.read_pdb(path)
        vertices = pyKVFinder.get_vertices(atomic, probe_out=probe_out, step=step)
        count, cavities = pyKVFinder.detect(
            atomic, vertices, step=step, probe_in=probe_in, probe_out=probe_out,
            volume_cutoff=100.0, nthreads=1,
        )  # fmt: skip
        if not count:
            return []
        _surface, volumes, _area = pyKVFinder.spatial(cavities, step=step, nthreads=1)
        _depths, _max, mean_depth = pyKVFinder.depth(cavities, step=step, nthreads=1)
    finally:
        logging.disable(logging.NOTSET)
        os.unlink(path)
    origin = np.asarray(vertices[0], dtype=float)
    scored = []
    for index, tag in enumerate(sorted(volumes), start=2):
        points = origin + np.argwhere(cavities == index) * step
        if len(points):
            low, high = points.min(axis=0), points.max(axis=0)
            size = np.clip(high - low + 2 * POCKET_PADDING, MIN_POCKET_SIDE, MAX_BOX_SIDE)
            score = volumes[tag] * mean_depth.get(tag, 0.0)
            scored.append((score, (low + high) / 2, size))
    scored.sort(key=lambda item: -item[0])
    return [(centre, size) for _score, centre, size in scored]


def centroid(sdf: Path) -> np.ndarray:
    mol = Chem.MolFromMolFile(str(sdf), removeHs=False, sanitize=False)
    heavy = [atom.GetIdx() for atom in mol.GetAtoms() if atom.GetAtomicNum() > 1]
    return mol.GetConformer().GetPositions()[heavy].mean(axis=0)


def holds(box: tuple[np.ndarray, np.ndarray], point: np.ndarray) -> bool:
    centre, size = box
    return bool(np.all(np.abs(point - centre) <= size / 2))


def measure(finder: Callable[[str], Found], pdb: str, ligand: np.ndarray) -> dict:
    start = time.perf_counter()
    try:
        found = finder(pdb)
    except InputError as error:
        return {"time": time.perf_counter() - start, "error": error.message}
    seconds = time.perf_counter() - start
    return {
        "time": seconds,
        "count": len(found),
        "top1": bool(found) and holds(found[0], ligand),
        "top3": any(holds(box, ligand) for box in found[:3]),
        "distance": float(np.linalg.norm(found[0][0] - ligand)) if found else math.nan,
        "side": float(np.prod(found[0][1]) ** (1 / 3)) if found else math.nan,
    }


def cell(result: dict) -> str:
    if "error" in result:
        return f"{result['time']:6.1f}s refused{'':22}"
    mark = {True: "yes", False: "no"}
    return (
        f"{result['time']:6.1f}s {result['count']:4d} {mark[result['top1']]:>4} "
        f"{mark[result['top3']]:>4} {result['distance']:6.1f}Å {result['side']:5.1f}Å"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("redock", nargs="?", type=Path, help="folder of <id>/protein.cif")
    parser.add_argument("--limit", type=int, default=20, help="complexes taken from it")
    args = parser.parse_args()
    if args.redock is not None and not args.redock.is_dir():
        parser.error(f"{args.redock} is not a folder: give the redocking set's path, or none")
    finders = {"fpocket-rs": fpocket_finder, "pyKVFinder": kvfinder_finder}
    header = "  time    n top1 top3   dist  side"
    print(f"{'complex':8} {'atoms':>6}  " + "  |  ".join(f"{n:<39}" for n in finders))
    print(f"{'':8} {'':>6}  " + "  |  ".join(f"{header:<39}" for _ in finders))
    totals = {name: [] for name in finders}
    for name, read, ligand_file in complexes(args.redock, args.limit):
        try:
            receptor = prepare_receptor(read(), "pdb")
        except InputError as error:
            print(f"{name:8} not prepared: {error.message}")
            continue
        atoms = sum(
            1
            for line in receptor.pdb.splitlines()
            if line.startswith(("ATOM", "HETATM")) and line[76:78].strip() != "H"
        )
        ligand = centroid(ligand_file)
        results = {finder: measure(run, receptor.pdb, ligand) for finder, run in finders.items()}
        for finder, result in results.items():
            totals[finder].append(result)
        print(f"{name:8} {atoms:6d}  " + "  |  ".join(f"{cell(r):<39}" for r in results.values()))
    for finder, results in totals.items():
        done = [result for result in results if "error" not in result]
        print(
            f"{finder}: top-1 {sum(r['top1'] for r in done)}/{len(results)}, "
            f"top-3 {sum(r['top3'] for r in done)}/{len(results)}, "
            f"median distance {np.nanmedian([r['distance'] for r in done]):.1f} Å, "
            f"median side {np.nanmedian([r['side'] for r in done]):.1f} Å, "
            f"total {sum(r['time'] for r in results):.0f} s"
        )


if __name__ == "__main__":
    main()
