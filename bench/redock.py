"""Redocking benchmark: raw protein files in, crystal poses recovered or not, against plain Vina.

Every complex starts from the raw protein file and only the chemistry of the crystal ligand
(its SMILES: the ligand is re-embedded, never started from the crystal pose); the box is the
crystal ligand + 4 Å, Vina runs at exhaustiveness 8 with seed 1, and the poses are compared
to the crystal pose with a symmetry-aware RMSD (heavy atoms, no superposition). Two pipelines
dock the same complexes in the same run:

- **Dockyard**: the default preparation (repair, PROPKA states, ``keep_hetero=auto``, the
  ligand's charge state at pH 7.4, ring conformers);
- **plain Vina**, as a user would by hand: every hetero group and water stripped (gemmi),
  the receptor converted by Meeko's receptor preparation (its templates' hydrogens, bad
  residues allowed), the ligand prepared by Meeko from one RDKit ETKDG conformer of the SMILES
  as given. Open Babel (GPL) is never used.

Complexes: by default the four of ``tests/data/posebusters`` and the packaged 1IEP example.
``--redock-dir PATH`` (relative to the working directory or to the checkout, e.g.
``../shared/data/redock``) reads a redocking folder instead: ``<id>/protein.cif`` (or .pdb)
and ``<id>/ligand.sdf`` per complex (its README describes the layout); ``--subset N`` takes
the first N ids in sorted order (a fixed, reproducible subset); ``--local`` adds the default
five. The full run of the 100-complex set (at 1 to 5 minutes per complex on two busy cores,
several hours; ``--resume`` keeps each outcome as it comes, so a run that is stopped goes on
where it was, and the seed makes the outcomes the same either way):

    nice -n 10 .venv/bin/python -m bench.redock --redock-dir ../shared/data/redock --local \\
        --resume redock-outcomes.jsonl

A small one, as measured for the README:

    nice -n 10 .venv/bin/python -m bench.redock --redock-dir ../shared/data/redock \\
        --subset 8 --local --cpu 2

AutoDock Vina's published top-1 success (RMSD <= 2 Å) is 52% on the PoseBusters set and 58%
on the Astex diverse set. The ``verdict`` column is PoseBusters' verdict on Dockyard's top
pose (the plausibility checks every job reports): ``valid`` or the number of checks failed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gemmi
from meeko import (
    MoleculePreparation,
    PDBQTMolecule,
    PDBQTWriterLegacy,
    Polymer,
    RDKitMolCreate,
    ResidueChemTemplates,
)
from rdkit import Chem
from rdkit.Chem import AllChem
from vina import Vina

from dockyard.chem import (
    DockingOptions,
    PreparationOptions,
    box_around_ligand,
    dock,
    ligand_from_smiles,
    prepare_receptor,
)
from dockyard.chem.core.box import Box
from dockyard.chem.evidence import pose_evidence, read_sdf_poses
from dockyard.chem.rmsd import rmsd_to_reference

ROOT = Path(__file__).resolve().parents[1]
POSEBUSTERS = ROOT / "tests" / "data" / "posebusters"
EXAMPLE = ROOT / "src" / "dockyard" / "examples" / "1iep"
SUCCESS = 2.0
PADDING = 4.0


@dataclass(frozen=True)
class Complex:
    name: str
    protein: Path
    ligand: Path

    @property
    def protein_format(self) -> str:
        return "cif" if self.protein.suffix == ".cif" else "pdb"


@dataclass
class Outcome:
    """One pipeline on one complex: what preparation did, the RMSDs, or why it failed."""

    prepared: str = ""
    top1: float | None = None
    best: float | None = None
    best_rank: int = 0
    score: float | None = None
    seconds: float = 0.0
    ring_conformers: int = 1
    error: str = ""
    verdict: str = "-"
    notes: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.top1 is not None and self.top1 <= SUCCESS

    @property
    def any_success(self) -> bool:
        return self.best is not None and self.best <= SUCCESS


def local_complexes() -> list[Complex]:
    found = [
        Complex(folder.name, folder / f"{folder.name}_protein_one_lig_removed.pdb",
                folder / f"{folder.name}_ligand.sdf")
        for folder in sorted(POSEBUSTERS.iterdir())
        if folder.is_dir()
    ]  # fmt: skip
    found.append(Complex("1iep", EXAMPLE / "1iep_receptorH.pdb", EXAMPLE / "1iep_ligand.sdf"))
    return found


def folder_complexes(folder: Path, subset: int | None) -> list[Complex]:
    """``<id>/protein.cif|pdb`` + ``<id>/ligand.sdf`` of a redocking folder, ids sorted."""
    found = []
    for entry in sorted(path for path in folder.iterdir() if path.is_dir()):
        proteins = [
            entry / name for name in ("protein.cif", "protein.pdb") if (entry / name).exists()
        ]
        if proteins and (entry / "ligand.sdf").exists():
            found.append(Complex(entry.name, proteins[0], entry / "ligand.sdf"))
    return found[:subset] if subset else found


def resolve(path: Path) -> Path:
    """A path as given, or relative to the checkout when it is not there."""
    return path if path.exists() or path.is_absolute() else ROOT / path


def _scored(outcome: Outcome, poses: list[Chem.Mol], crystal: Chem.Mol) -> Outcome:
    rmsds = [match.rmsd for match in rmsd_to_reference(poses, crystal)]
    if any(rmsd is None for rmsd in rmsds):
        raise ValueError("the docked poses do not match the crystal ligand's graph")
    outcome.top1, outcome.best = rmsds[0], min(rmsds)
    outcome.best_rank = rmsds.index(min(rmsds)) + 1
    return outcome


def _verdict(poses_sdf: str, receptor_pdb: str) -> str:
    """PoseBusters' verdict on the top pose, as every job reports it: ``valid`` or the number
    of checks it failed."""
    top = read_sdf_poses(poses_sdf)[:1]
    evidence = pose_evidence(top, receptor_pdb=receptor_pdb).poses[0].get("plausibility")
    if evidence is None:
        return "?"
    return "valid" if evidence["valid"] else f"{len(evidence['failed'])} fail"


def run_dockyard(case: Complex, smiles: str, crystal: Chem.Mol, box: Box, args) -> Outcome:
    """The default Dockyard preparation and docking."""
    outcome = Outcome()
    started = time.perf_counter()
    receptor = prepare_receptor(
        case.protein.read_text(), case.protein_format, box=box, options=PreparationOptions()
    )
    report = receptor.report
    kept = ", ".join(item.split(" (")[0] for item in report["hetero_groups_kept"]) or "none"
    outcome.prepared = (
        f"{report['residues']} residues, {report['hydrogens_added']} H added, "
        f"{len(report['residues_rebuilt'])} rebuilt, {len(report['residues_removed'])} removed, "
        f"hetero kept: {kept} ({time.perf_counter() - started:.1f} s)"
    )
    ligand = ligand_from_smiles(smiles, name=case.name)
    options = DockingOptions(
        exhaustiveness=args.exhaustiveness, num_poses=9, seed=args.seed, cpu=args.cpu,
        ring_conformers=args.ring_conformers,
    )  # fmt: skip
    started = time.perf_counter()
    result = dock(receptor, ligand, box, options)
    outcome.seconds = time.perf_counter() - started
    outcome.score = result.best_score
    outcome.ring_conformers = result.ring_conformers
    outcome.verdict = _verdict(result.poses_sdf, receptor.pdb)
    supplier = Chem.SDMolSupplier()
    supplier.SetData(result.poses_sdf, removeHs=False)
    return _scored(outcome, list(supplier), crystal)


def _stripped_pdb(case: Complex) -> str:
    """The polymer alone as PDB, as a user strips a file by hand: no hetero groups, no waters,
    no hydrogens, the first alternate location."""
    structure = gemmi.read_structure(str(case.protein))
    structure.setup_entities()
    structure.remove_ligands_and_waters()
    structure.remove_hydrogens()
    structure.remove_alternative_conformations()
    structure.remove_empty_chains()
    structure.shorten_chain_names()
    return structure.make_pdb_string(gemmi.PdbWriteOptions(minimal=True))


def run_plain(case: Complex, smiles: str, crystal: Chem.Mol, box: Box, args) -> Outcome:
    """Plain Vina: Meeko's receptor and ligand preparation, nothing else."""
    outcome = Outcome()
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        polymer = Polymer.from_pdb_string(
            _stripped_pdb(case),
            ResidueChemTemplates.create_from_defaults(),
            MoleculePreparation(),
            allow_bad_res=True,
        )
    receptor, _flex = PDBQTWriterLegacy.write_from_polymer(polymer)
    ignored = len(polymer.get_ignored_monomers())
    outcome.prepared = (
        f"Meeko receptor, {len(polymer.get_valid_monomers())} residues, {ignored} left out "
        f"({time.perf_counter() - started:.1f} s)"
    )
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = args.seed
    AllChem.EmbedMolecule(mol, params)
    ligand, ok, error = PDBQTWriterLegacy.write_string(MoleculePreparation().prepare(mol)[0])
    if not ok:
        raise ValueError(f"Meeko could not write the ligand: {error}")
    started = time.perf_counter()
    vina = Vina(sf_name="vina", cpu=args.cpu, seed=args.seed, verbosity=0)
    with tempfile.TemporaryDirectory(prefix="redock-") as folder:
        path = Path(folder) / "receptor.pdbqt"
        path.write_text(receptor)
        vina.set_receptor(rigid_pdbqt_filename=str(path))
    vina.set_ligand_from_string(ligand)
    vina.compute_vina_maps(center=list(box.center), box_size=list(box.size))
    vina.dock(exhaustiveness=args.exhaustiveness, n_poses=9)
    poses_pdbqt = vina.poses(n_poses=9)
    outcome.seconds = time.perf_counter() - started
    outcome.score = float(vina.energies(n_poses=1)[0][0])
    poses = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(poses_pdbqt, skip_typing=True))[0]
    split = [Chem.Mol(poses, confId=conf.GetId()) for conf in poses.GetConformers()]
    return _scored(outcome, split, crystal)


def _settings(args: argparse.Namespace) -> dict[str, object]:
    """What an outcome depends on besides the complex: a resumed run must match it."""
    names = ("exhaustiveness", "seed", "padding", "ring_conformers", "no_plain")
    return {name: getattr(args, name) for name in names}


def _read_outcomes(path: Path, settings: dict[str, object]) -> dict[str, tuple[Outcome, Outcome]]:
    """The outcomes a previous run with the same settings wrote to ``path``, by complex."""
    if not path.exists():
        return {}
    found = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if row["settings"] == settings:
            found[row["name"]] = (Outcome(**row["dockyard"]), Outcome(**row["plain"]))
    return found


def _append_outcome(
    path: Path, name: str, settings: dict[str, object], ours: Outcome, plain: Outcome
) -> None:
    row = {"name": name, "settings": settings, "dockyard": asdict(ours), "plain": asdict(plain)}
    with path.open("a") as out:
        out.write(json.dumps(row) + "\n")


def attempt(step: Callable[[], Outcome]) -> Outcome:
    """The pipeline's outcome, or a failed one saying why (a failure counts as a miss)."""
    try:
        return step()
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return Outcome(error=f"{type(error).__name__}: {first[:200]}")


def _rmsd(value: float | None) -> str:
    return "  fail" if value is None else f"{value:6.2f}"


def _line(label: str, outcome: Outcome) -> str:
    if outcome.error:
        return f"  {label:10} FAILED: {outcome.error}"
    return (
        f"  {label:10} {outcome.prepared}\n"
        f"  {'':10} top score {outcome.score:.2f} kcal/mol | top-1 {outcome.top1:.2f} Å | "
        f"best of poses {outcome.best:.2f} Å (pose {outcome.best_rank}) | ring conformers "
        f"{outcome.ring_conformers} | docking {outcome.seconds:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redock-dir", type=Path, help="a redocking folder of <id>/ subfolders")
    parser.add_argument("--subset", type=int, help="the first N ids of --redock-dir, sorted")
    parser.add_argument("--local", action="store_true", help="also the five repository complexes")
    parser.add_argument("--exhaustiveness", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--padding", type=float, default=PADDING)
    parser.add_argument("--ring-conformers", type=int, default=DockingOptions().ring_conformers)
    parser.add_argument("--no-plain", action="store_true", help="skip the plain Vina baseline")
    parser.add_argument("--only", nargs="*", help="complexes to run (default: all)")
    parser.add_argument(
        "--resume",
        type=Path,
        help="a JSON-lines file of outcomes: complexes already in it (with the same settings) "
        "are read back, new ones appended, so a long run can stop and go on later",
    )
    args = parser.parse_args()
    done = _read_outcomes(args.resume, _settings(args)) if args.resume else {}
    cases: list[Complex] = []
    if args.redock_dir is not None:
        folder = resolve(args.redock_dir)
        if not folder.is_dir():
            parser.error(f"{args.redock_dir} is not a folder (give the redocking set's path)")
        cases += folder_complexes(folder, args.subset)
    if args.redock_dir is None or args.local:
        cases += local_complexes()
    cases = [case for case in cases if not args.only or case.name in args.only]
    rows = []
    for case in cases:
        crystal = Chem.MolFromMolFile(str(case.ligand), removeHs=False)
        Chem.AssignStereochemistryFrom3D(crystal)
        smiles = Chem.MolToSmiles(Chem.RemoveHs(crystal))
        box = box_around_ligand(case.ligand.read_text(), "sdf", padding=args.padding)
        if case.name in done:
            ours, plain = done[case.name]
        else:
            ours = attempt(lambda: run_dockyard(case, smiles, crystal, box, args))  # noqa: B023
            plain = (
                Outcome(error="skipped")
                if args.no_plain
                else attempt(lambda: run_plain(case, smiles, crystal, box, args))  # noqa: B023
            )
            if args.resume:
                _append_outcome(args.resume, case.name, _settings(args), ours, plain)
        rows.append((case.name, crystal.GetNumHeavyAtoms(), ours, plain))
        print(f"{case.name} ({crystal.GetNumHeavyAtoms()} heavy atoms)")
        print(_line("Dockyard", ours))
        print(_line("plain Vina", plain), flush=True)
    print()
    print(f"{'complex':8} {'atoms':>5} | {'Dockyard top-1':>14} {'best':>6} {'rings':>5} "
          f"{'verdict':>7} | {'plain top-1':>11} {'best':>6}")  # fmt: skip
    for name, atoms, ours, plain in rows:
        print(
            f"{name:8} {atoms:5d} | {_rmsd(ours.top1):>14} {_rmsd(ours.best):>6} "
            f"{ours.ring_conformers:5d} {ours.verdict:>7} | {_rmsd(plain.top1):>11} "
            f"{_rmsd(plain.best):>6}"
        )
    total = len(rows)
    if not total:
        return
    for label, index in (("Dockyard", 2), ("plain Vina", 3)):
        outcomes = [row[index] for row in rows]
        top1 = sum(outcome.success for outcome in outcomes)
        best = sum(outcome.any_success for outcome in outcomes)
        failed = sum(bool(outcome.error) for outcome in outcomes)
        print(
            f"{label:10}: top-1 RMSD <= {SUCCESS:g} Å {top1}/{total} = {100 * top1 / total:.0f}%"
            f"; any pose {best}/{total} = {100 * best / total:.0f}%; {failed} failed"
        )
    valid = sum(ours.success and ours.verdict == "valid" for _name, _atoms, ours, _plain in rows)
    print(
        f"Dockyard PoseBusters-valid top-1 RMSD <= {SUCCESS:g} Å: {valid}/{total} = "
        f"{100 * valid / total:.0f}%"
    )
    print(
        f"(exhaustiveness {args.exhaustiveness}, seed {args.seed}, box crystal ligand + "
        f"{args.padding:g} Å, ring conformers {args.ring_conformers})"
    )


if __name__ == "__main__":
    main()
