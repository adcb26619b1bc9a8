"""Adaptive search effort: ``effort=auto`` against fixed exhaustiveness 8 and 32, same run.

Three parts, each runnable alone (``--part``), every configuration docking the same prepared
receptor and ligands one after the other:

- **redock**: complexes of a redocking folder (``--redock-dir ../shared/data/redock
  --subset N``, loaded and scored by :mod:`bench.redock`), box crystal ligand + 4 Å: top-1
  success (RMSD <= 2 Å), docking time and Monte Carlo steps per ligand;
- **screen**: the first ``--ligands`` NCI molecules of RDKit's ``first_5K.smi`` into the 1IEP
  example receptor (its 20 Å box), maps computed once per configuration as a screen chunk
  does: Spearman correlation of auto's and fixed 8's best scores with fixed 32's, and
  throughput against fixed 8;
- **example**: imatinib into 1IEP (the packaged example), ``--seeds`` random seeds: how many
  runs reach -13.2 ± 0.4 kcal/mol, and the mean docking time, auto against fixed 8.

"Steps" are Vina's Monte Carlo steps, chains times Vina's steps per chain (``70 · 3 · (50 +
movable atoms + 10 · degrees of freedom) / 2``, as ``Vina::global_search`` sets them): Vina
does not report its evaluations. ``--only auto`` runs the auto configurations alone;
``--round-of 2 4`` and ``--confirmations 1 2`` add auto variants (chains per round; rounds in
a row that must find the best pose again). The full
run (hours on two cores):

    nice -n 10 .venv/bin/python -m bench.effort --redock-dir ../shared/data/redock --subset 8

Reduced runs on two cores shared with other work, as measured for the README:

    nice -n 10 .venv/bin/python -m bench.effort --part example --seeds 3 --cpu 2 --rings 1
    nice -n 10 .venv/bin/python -m bench.effort --part screen --ligands 16 --low 2 --high 8 \\
        --round-of 1 --ceiling 8 --cpu 2 --rings 1
    nice -n 10 .venv/bin/python -m bench.effort --part redock --subset 2 --cpu 2 --rings 1 \\
        --redock-dir ../shared/data/redock
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import signal
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from rdkit import Chem

from bench.redock import PADDING, SUCCESS, Outcome, _scored, folder_complexes, resolve
from bench.screen import library_lines
from dockyard.chem import (
    AutoEffort,
    Box,
    DockingOptions,
    DockingSession,
    PreparationOptions,
    PreparedLigand,
    PreparedReceptor,
    box_around_ligand,
    example_box,
    example_paths,
    ligand_from_file,
    ligand_from_smiles,
    prepare_receptor,
    search_threads,
)
from dockyard.chem.docking import DockingResult

EXAMPLE_TARGET = (-13.2, 0.4)
DEFAULT_AUTO = AutoEffort()


@dataclass(frozen=True)
class Config:
    label: str
    options: DockingOptions
    auto: AutoEffort = DEFAULT_AUTO


@dataclass
class Run:
    result: DockingResult
    seconds: float
    steps: int


def configs(args: argparse.Namespace, seed: int) -> list[Config]:
    base = DockingOptions(num_poses=9, seed=seed, cpu=args.cpu, ring_conformers=args.rings)
    found = [
        Config(f"fixed {args.low}", dataclasses.replace(base, exhaustiveness=args.low)),
        Config(f"fixed {args.high}", dataclasses.replace(base, exhaustiveness=args.high)),
    ]
    for size in args.round_of:
        rounds = max(1, args.ceiling // size)
        for confirmations in args.confirmations:
            found.append(
                Config(
                    f"auto {size}x{rounds}" + (f" c{confirmations}" if confirmations > 1 else ""),
                    dataclasses.replace(base, effort="auto"),
                    AutoEffort(
                        round_exhaustiveness=size, max_rounds=rounds, confirmations=confirmations
                    ),
                )
            )
    return [config for config in found if not args.only or config.label.startswith(args.only)]


def steps_per_chain(ligand_pdbqt: str) -> int:
    """Vina's Monte Carlo steps per chain for this ligand (its heuristic in global_search)."""
    lines = ligand_pdbqt.splitlines()
    atoms = sum(line.startswith(("ATOM", "HETATM")) for line in lines)
    torsions = sum(line.startswith("BRANCH") for line in lines)
    return int(70 * 3 * (50 + atoms + 10 * (6 + torsions)) / 2)


def session_for(config: Config, receptor: PreparedReceptor, box: Box, cpu: int) -> DockingSession:
    threads = search_threads(config.options, cpu)
    return DockingSession(
        receptor, box, config.options.scoring, threads, config.options.seed, auto=config.auto
    )


def run(
    config: Config, receptor: PreparedReceptor, box: Box, ligand: PreparedLigand, cpu: int
) -> Run:
    """One docking with fresh maps (their time included), as one job docks."""
    started = time.perf_counter()
    result = session_for(config, receptor, box, cpu).dock(ligand, config.options)
    seconds = time.perf_counter() - started
    return Run(result, seconds, result.effort.exhaustiveness * steps_per_chain(ligand.pdbqt))


def _effort(result: DockingResult) -> str:
    effort = result.effort
    if effort.mode != "auto":
        return f"{effort.exhaustiveness} chains"
    state = "converged" if effort.converged else "ceiling"
    return f"{effort.rounds} rounds, {effort.exhaustiveness} chains, {state}"


def summary(label: str, runs: list[Run], base: list[Run], extra: str = "") -> str:
    count = max(len(runs), 1)
    seconds, steps = sum(run.seconds for run in runs), sum(run.steps for run in runs)
    base_seconds = sum(run.seconds for run in base)
    ratio = f"{seconds / base_seconds:.2f}x fixed-low time" if base_seconds else "no baseline run"
    return (
        f"{label:12}: {seconds / count:7.1f} s/ligand ({ratio}), "
        f"{steps / count / 1e3:8.0f} k steps/ligand{extra}"
    )


def part_redock(args: argparse.Namespace) -> None:
    folder = resolve(args.redock_dir)
    cases = folder_complexes(folder, args.subset)
    runs: dict[str, list[Run]] = {}
    success: dict[str, int] = {}
    for case in cases:
        crystal = Chem.MolFromMolFile(str(case.ligand), removeHs=False)
        Chem.AssignStereochemistryFrom3D(crystal)
        smiles = Chem.MolToSmiles(Chem.RemoveHs(crystal))
        box = box_around_ligand(case.ligand.read_text(), "sdf", padding=PADDING)
        try:
            receptor = prepare_receptor(
                case.protein.read_text(), case.protein_format, box=box, options=PreparationOptions()
            )
            ligand = ligand_from_smiles(smiles, name=case.name)
        except Exception as error:  # a complex the preparation refuses is skipped for all
            print(f"{case.name}: skipped ({error})", flush=True)
            continue
        for config in configs(args, args.seed):
            done = run(config, receptor, box, ligand, args.cpu)
            supplier = Chem.SDMolSupplier()
            supplier.SetData(done.result.poses_sdf, removeHs=False)
            top1 = _scored(Outcome(), list(supplier), crystal).top1
            runs.setdefault(config.label, []).append(done)
            success[config.label] = success.get(config.label, 0) + (
                top1 is not None and top1 <= SUCCESS
            )
            print(
                f"{case.name} {config.label:12} top-1 {top1:5.2f} Å {done.result.best_score:7.2f} "
                f"kcal/mol {done.seconds:6.1f} s {done.steps / 1e3:7.0f} k steps "
                f"({_effort(done.result)})",
                flush=True,
            )
    total = len(next(iter(runs.values()), []))
    base = runs.get(f"fixed {args.low}", [])
    print(f"\nredock: {total} complexes (subset {args.subset}), cpu {args.cpu}, rings {args.rings}")
    for label, done in runs.items():
        rate = f"; top-1 <= {SUCCESS:g} Å {success[label]}/{total}"
        print("redock " + summary(label, done, base, rate))


def spearman(first: list[float], second: list[float]) -> float:
    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=values.__getitem__)
        ranked = [0.0] * len(values)
        for rank, index in enumerate(order):
            ranked[index] = float(rank)
        return ranked

    if len(first) < 2:
        return float("nan")
    return statistics.correlation(ranks(first), ranks(second))


def part_screen(args: argparse.Namespace) -> None:
    paths = example_paths()
    receptor = prepare_receptor(paths["receptor"].read_text(), "pdb")
    box = example_box()
    ligands = []
    for number, line in enumerate(library_lines(args.ligands)):
        try:
            ligands.append(ligand_from_smiles(line.split()[0], name=f"nci{number}"))
        except Exception:  # the same molecules fail for every configuration
            continue
    scores: dict[str, list[float]] = {}
    runs: dict[str, list[Run]] = {}
    chosen = configs(args, args.seed)
    sessions = {config.label: session_for(config, receptor, box, args.cpu) for config in chosen}
    try:  # ligand by ligand, every configuration in turn: a run cut short still compares
        for ligand in ligands:
            line = []
            for config in chosen:
                begun = time.perf_counter()
                result = sessions[config.label].dock(ligand, config.options)
                steps = result.effort.exhaustiveness * steps_per_chain(ligand.pdbqt)
                runs.setdefault(config.label, []).append(
                    Run(result, time.perf_counter() - begun, steps)
                )
                scores.setdefault(config.label, []).append(result.best_score)
                line.append(f"{config.label} {result.best_score:6.2f} ({_effort(result)})")
            print(f"screen {ligand.name}: " + "; ".join(line), flush=True)
    except KeyboardInterrupt:
        print("screen: stopped early", flush=True)
    done = min(len(scores[config.label]) for config in chosen) if scores else 0
    for config in chosen:
        del runs[config.label][done:], scores[config.label][done:]
    wall = {label: sum(run.seconds for run in done_runs) for label, done_runs in runs.items()}
    ligands = ligands[:done]
    high, low = f"fixed {args.high}", f"fixed {args.low}"
    print(
        f"\nscreen: {len(ligands)} NCI ligands, 1IEP 20 Å box, cpu {args.cpu}, rings {args.rings}"
    )
    for label in runs:
        rho = spearman(scores[label], scores[high])
        throughput = wall[low] / wall[label]
        print(
            "screen "
            + summary(label, runs[label], runs[low], f"; Spearman vs {high} {rho:.3f}")
            + f"; throughput {throughput:.2f}x {low}"
        )


def part_example(args: argparse.Namespace) -> None:
    paths = example_paths()
    receptor = prepare_receptor(paths["receptor"].read_text(), "pdb")
    box = example_box()
    ligand = ligand_from_file(paths["ligand"].read_text(), "sdf")
    seeds = random.Random(args.seed).sample(range(1, 2**31 - 1), args.seeds)
    target, tolerance = EXAMPLE_TARGET
    runs: dict[str, list[Run]] = {}
    for seed in seeds:
        for config in configs(args, seed):
            if config.label.startswith(f"fixed {args.high}") and not args.example_high:
                continue
            done = run(config, receptor, box, ligand, args.cpu)
            runs.setdefault(config.label, []).append(done)
            print(
                f"example seed {seed} {config.label:12} {done.result.best_score:7.2f} kcal/mol "
                f"{done.seconds:6.1f} s ({_effort(done.result)})",
                flush=True,
            )
    base = runs[f"fixed {args.low}"]
    print(f"\nexample: imatinib into 1IEP, {len(seeds)} seeds, cpu {args.cpu}, rings {args.rings}")
    for label, done in runs.items():
        hits = sum(abs(one.result.best_score - target) <= tolerance for one in done)
        extra = f"; reached {target:g} ± {tolerance:g}: {hits}/{len(done)}"
        print("example " + summary(label, done, base, extra))


def main() -> None:
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a stopped run still sums up
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("redock", "screen", "example", "all"), default="all")
    parser.add_argument("--redock-dir", default="../shared/data/redock", type=Path)
    parser.add_argument("--subset", type=int, default=8)
    parser.add_argument("--ligands", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--low", type=int, default=8, help="the fixed baseline exhaustiveness")
    parser.add_argument("--high", type=int, default=32, help="the thorough fixed exhaustiveness")
    parser.add_argument("--round-of", type=int, nargs="+",
                        default=[DEFAULT_AUTO.round_exhaustiveness],
                        help="auto variants: chains per round")  # fmt: skip
    parser.add_argument("--ceiling", type=int, default=DEFAULT_AUTO.ceiling)
    parser.add_argument("--confirmations", type=int, nargs="+",
                        default=[DEFAULT_AUTO.confirmations],
                        help="auto variants: rounds that must find the best again")  # fmt: skip
    parser.add_argument("--rings", type=int, default=DockingOptions().ring_conformers,
                        help="ring_conformers for every configuration")  # fmt: skip
    parser.add_argument("--only", help="the configurations whose label starts so, e.g. auto")
    parser.add_argument("--example-high", action="store_true", help="fixed high in the example")
    args = parser.parse_args()
    for part, step in (("redock", part_redock), ("screen", part_screen), ("example", part_example)):
        if args.part in (part, "all"):
            step(args)


if __name__ == "__main__":
    main()
