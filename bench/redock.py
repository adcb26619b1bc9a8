"""Redocking benchmark: raw protein files in, crystal poses recovered or not.

For each complex in tests/data/posebusters and the packaged 1IEP example it starts from the
raw protein file and only the chemistry of the crystal ligand (its SMILES: the ligand is
protonated for pH 7.4 and re-embedded, never started from the crystal pose), puts the box
around the crystal ligand (+5 Å), docks with Vina at exhaustiveness 8 and compares the
poses to the crystal pose with a symmetry-aware RMSD (heavy atoms, no superposition;
:func:`dockyard.chem.rmsd.rmsd_to_reference`, the redocking control every job reports).

    .venv/bin/python -m bench.redock [--exhaustiveness 8] [--seed 1] [--cpu 0]
                                     [--keep-hetero metals|cofactors|none]

AutoDock Vina's published top-1 success (RMSD <= 2 Å) is 52% on the PoseBusters set and 58%
on the Astex diverse set.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rdkit import Chem

from dockyard.chem import (
    DockingOptions,
    PreparationOptions,
    box_around_ligand,
    dock,
    ligand_from_smiles,
    prepare_receptor,
)
from dockyard.chem.rmsd import rmsd_to_reference

ROOT = Path(__file__).resolve().parents[1]
POSEBUSTERS = ROOT / "tests" / "data" / "posebusters"
EXAMPLE = ROOT / "src" / "dockyard" / "examples" / "1iep"
SUCCESS = 2.0


def complexes() -> list[tuple[str, Path, Path]]:
    found = [
        (folder.name, folder / f"{folder.name}_protein_one_lig_removed.pdb",
         folder / f"{folder.name}_ligand.sdf")
        for folder in sorted(POSEBUSTERS.iterdir())
        if folder.is_dir()
    ]  # fmt: skip
    found.append(("1iep", EXAMPLE / "1iep_receptorH.pdb", EXAMPLE / "1iep_ligand.sdf"))
    return found


def run(name: str, protein: Path, ligand_file: Path, args: argparse.Namespace) -> dict:
    crystal = Chem.MolFromMolFile(str(ligand_file), removeHs=False)
    Chem.AssignStereochemistryFrom3D(crystal)
    smiles = Chem.MolToSmiles(Chem.RemoveHs(crystal))
    box = box_around_ligand(ligand_file.read_text(), "sdf", padding=args.padding)
    started = time.perf_counter()
    options = PreparationOptions(keep_hetero=args.keep_hetero)
    receptor = prepare_receptor(protein.read_text(), "pdb", box=box, options=options)
    prepared_in = time.perf_counter() - started
    ligand = ligand_from_smiles(smiles, name=name)
    docking = DockingOptions(
        exhaustiveness=args.exhaustiveness, num_poses=9, seed=args.seed, cpu=args.cpu
    )
    started = time.perf_counter()
    result = dock(receptor, ligand, box, docking)
    docked_in = time.perf_counter() - started
    supplier = Chem.SDMolSupplier()
    supplier.SetData(result.poses_sdf, removeHs=False)
    rmsds = [match.rmsd for match in rmsd_to_reference(list(supplier), crystal)]
    report = receptor.report
    return {
        "name": name,
        "prepared": (
            f"{report['residues']} residues, {report['hydrogens_added']} H added, "
            f"{len(report['residues_rebuilt'])} rebuilt, {len(report['residues_removed'])} "
            f"removed, hetero groups removed {report['hetero_groups_removed']} kept "
            f"{report['hetero_groups_kept']}, "
            f"{report['residues_left_out_far_from_box']} far residues left out "
            f"({prepared_in:.1f} s)"
        ),
        "heavy_atoms": ligand.num_heavy_atoms,
        "top1": rmsds[0],
        "best": min(rmsds),
        "best_rank": rmsds.index(min(rmsds)) + 1,
        "score": result.best_score,
        "seconds": docked_in,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exhaustiveness", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--padding", type=float, default=5.0)
    parser.add_argument("--keep-hetero", default="metals", help="none, metals or cofactors")
    parser.add_argument("--only", nargs="*", help="complexes to run (default: all)")
    args = parser.parse_args()
    rows = []
    for name, protein, ligand in complexes():
        if args.only and name not in args.only:
            continue
        row = run(name, protein, ligand, args)
        rows.append(row)
        print(f"{name}: {row['prepared']}")
        print(
            f"  ligand {row['heavy_atoms']} heavy atoms | top score {row['score']:.2f} kcal/mol"
            f" | top-1 RMSD {row['top1']:.2f} Å | best of poses {row['best']:.2f} Å (pose "
            f"{row['best_rank']}) | docking {row['seconds']:.0f} s",
            flush=True,
        )
    top1 = sum(row["top1"] <= SUCCESS for row in rows)
    best = sum(row["best"] <= SUCCESS for row in rows)
    print()
    print(f"{'complex':8} {'score':>7} {'top-1 Å':>8} {'best Å':>7}")
    for row in rows:
        print(f"{row['name']:8} {row['score']:7.2f} {row['top1']:8.2f} {row['best']:7.2f}")
    total = len(rows)
    print(
        f"\nsuccess (top-1 RMSD <= {SUCCESS:g} Å): {top1}/{total} = {100 * top1 / total:.0f}%"
        f"; any pose <= {SUCCESS:g} Å: {best}/{total} = {100 * best / total:.0f}%"
        f" (exhaustiveness {args.exhaustiveness}, seed {args.seed}, keep_hetero "
        f"{args.keep_hetero})"
    )


if __name__ == "__main__":
    main()
