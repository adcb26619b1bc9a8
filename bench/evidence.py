"""What the per-pose evidence costs: PoseBusters' checks and the RMSD to the reference, per
pose, against the docking that made the poses (the baseline, measured in the same run).

For each complex of bench/redock.py it docks the crystal ligand from its SMILES (as the
redocking control does), then times :func:`dockyard.chem.evidence.pose_evidence` on the
poses: the plausibility checks alone, the RMSD alone, and both as a job runs them.

    .venv/bin/python -m bench.evidence [--exhaustiveness 8] [--only 1iep 1uou]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from rdkit import Chem

from bench.redock import complexes
from dockyard.chem import (
    DockingOptions,
    InputFile,
    box_around_ligand,
    dock,
    ligand_from_smiles,
    prepare_receptor,
)
from dockyard.chem.evidence import pose_evidence, read_sdf_poses


def _timed(work: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = work(*args, **kwargs)
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exhaustiveness", type=int, default=8)
    parser.add_argument("--only", nargs="*", help="complexes to run (default: all)")
    args = parser.parse_args()
    print(f"{'complex':8} {'poses':>5} {'dock s':>7} {'checks s/pose':>13} "
          f"{'rmsd s/pose':>11} {'both / dock':>11}")  # fmt: skip
    totals = [0.0, 0.0]
    for name, protein, ligand_file in complexes():
        if args.only and name not in args.only:
            continue
        reference = InputFile(ligand_file.read_text(), "sdf")
        box = box_around_ligand(reference.text, "sdf", padding=5.0)
        receptor = prepare_receptor(protein.read_text(), "pdb", box=box)
        crystal = Chem.MolFromMolFile(str(ligand_file))
        ligand = ligand_from_smiles(Chem.MolToSmiles(crystal), name=name)
        options = DockingOptions(exhaustiveness=args.exhaustiveness, num_poses=9, seed=1)
        docking, result = _timed(dock, receptor, ligand, box, options)
        poses = read_sdf_poses(result.poses_sdf)
        checks, _ = _timed(pose_evidence, poses, receptor_pdb=receptor.pdb)
        rmsd, _ = _timed(pose_evidence, poses, reference=reference)
        both, evidence = _timed(
            pose_evidence, poses, reference=reference, receptor_pdb=receptor.pdb
        )
        assert not evidence.warnings, evidence.warnings
        totals[0] += docking
        totals[1] += both
        print(
            f"{name:8} {len(poses):5d} {docking:7.1f} {checks / len(poses):13.3f} "
            f"{rmsd / len(poses):11.4f} {both / docking:11.1%}",
            flush=True,
        )
    print(
        f"\nall: the evidence costs {totals[1] / totals[0]:.1%} of the docking time "
        f"(exhaustiveness {args.exhaustiveness}; PoseBusters configuration 'dock' without its "
        "energy-ratio check)"
    )


if __name__ == "__main__":
    main()
