"""Cleaning up a receptor structure read by :mod:`.read`, with gemmi.

The clean-up decides what of an uploaded file becomes the receptor: the first model; one
alternate location per residue (the highest occupancy, or the one asked for); no waters
except those named; no ligands, buffer molecules or other hetero groups except the metals
and cofactors asked for (see :class:`~dockyard.chem.core.options.PreparationOptions`);
selenomethionine and other modified residues read as their standard parent. The polymer and
the kept hetero groups come out apart: Meeko types the polymer, :mod:`.hetero` the rest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise

import gemmi

from dockyard.chem.core.elements import VINA_METALS
from dockyard.chem.core.options import PreparationOptions
from dockyard.chem.receptor.repair import heavy_atom_names
from dockyard.chem.receptor.templates import template_names
from dockyard.chem.residues import key, label

KNOWN_COFACTORS = frozenset(
    {"NAD", "NAI", "NAP", "NDP", "FAD", "FMN", "ATP", "ADP", "SAM", "SAH", "HEM", "PLP"}
)
"""Hetero groups kept by ``keep_hetero=cofactors`` (with metals); ligands, buffer molecules
and crystallisation additives are removed."""


@dataclass
class HeteroGroup:
    """A kept non-polymer residue: a metal ion, a water or a cofactor."""

    name: str
    key: str
    kind: str  # "ion", "water" or "cofactor"
    atoms: list[tuple[str, str, float, float, float]]
    """(atom name, element symbol, x, y, z) of each atom."""

    @property
    def label(self) -> str:
        return f"{self.name} {self.key}"


@dataclass
class Cleanup:
    """What clean-up changed, in the words of the report."""

    structure: gemmi.Structure
    kept: list[HeteroGroup] = field(default_factory=list)
    waters_removed: int = 0
    hetero_removed: list[str] = field(default_factory=list)
    nonstandard: list[str] = field(default_factory=list)
    altloc_residues: int = 0
    hydrogens_in_input: int = 0
    chain_breaks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def clean(structure: gemmi.Structure, options: PreparationOptions) -> Cleanup:
    """Reduce ``structure`` (in place) to its polymer; kept hetero groups are set aside."""
    done = Cleanup(structure)
    if len(structure) > 1:
        done.warnings.append(f"Used the first of {len(structure)} models.")
        while len(structure) > 1:
            del structure[len(structure) - 1]
    structure.setup_entities()
    done.altloc_residues = _resolve_altlocs(structure, options.altloc, done)
    model = structure[0]
    done.hydrogens_in_input = sum(
        atom.is_hydrogen() for chain in model for residue in chain for atom in residue
    )
    wanted_waters = set(options.keep_waters)
    for chain in model:
        for index in reversed(range(len(chain))):
            residue = chain[index]
            if residue.is_water():
                if options.keeps_all_waters or key(chain, residue) in wanted_waters:
                    done.kept.insert(0, _group(chain, residue, "water"))
                else:
                    done.waters_removed += 1
            elif _in_polymer(residue):
                _standardize(chain, residue, done)
                continue
            else:
                kind = _keep_kind(chain, residue, options.keep_hetero)
                if kind:
                    done.kept.insert(0, _group(chain, residue, kind))
                else:
                    done.hetero_removed.insert(0, label(chain, residue))
            del chain[index]
    structure.remove_empty_chains()
    missing = wanted_waters - {group.key for group in done.kept if group.kind == "water"}
    if missing and not options.keeps_all_waters:
        done.warnings.append(f"No water found at {', '.join(sorted(missing))} to keep.")
    done.chain_breaks = _chain_breaks(structure)
    return done


def _resolve_altlocs(structure: gemmi.Structure, wanted: str, done: Cleanup) -> int:
    """Keep one alternate location per residue; returns how many residues had several."""
    count = 0
    missing_wanted = 0
    for chain in structure[0]:
        for residue in chain:
            occupancy: dict[str, float] = defaultdict(float)
            for atom in residue:
                if atom.has_altloc():
                    occupancy[atom.altloc] += atom.occ
            if not occupancy:
                continue
            count += 1
            if wanted and wanted in occupancy:
                keep = wanted
            else:
                missing_wanted += bool(wanted)
                keep = max(sorted(occupancy), key=lambda alt: occupancy[alt])
            for index in reversed(range(len(residue))):
                atom = residue[index]
                if atom.has_altloc() and atom.altloc != keep:
                    del residue[index]
                else:
                    atom.altloc = "\0"
    if count:
        how = f"alternate location {wanted}" if wanted else "the highest-occupancy location"
        done.warnings.append(f"{count} residues had alternate locations; kept {how}.")
        if missing_wanted:
            done.warnings.append(
                f"{missing_wanted} of them have no location {wanted}: kept their "
                "highest-occupancy one."
            )
    return count


def _in_polymer(residue: gemmi.Residue) -> bool:
    """Part of a protein or nucleic-acid chain, as gemmi's entity set-up sees it."""
    if residue.entity_type == gemmi.EntityType.Unknown:
        return residue.het_flag != "H"
    return residue.entity_type == gemmi.EntityType.Polymer


def _keep_kind(chain: gemmi.Chain, residue: gemmi.Residue, keep: str | tuple[str, ...]) -> str:
    """ "ion" or "cofactor" if the options keep this hetero group, else ""."""
    is_metal = residue.name in VINA_METALS and len(residue) == 1
    if isinstance(keep, tuple):
        named = residue.name in keep or key(chain, residue) in keep
        if is_metal and (named or not keep):
            return "ion"
        return "cofactor" if named else ("ion" if is_metal else "")
    if keep == "none":
        return ""
    if is_metal:
        return "ion"
    return "cofactor" if keep == "cofactors" and residue.name in KNOWN_COFACTORS else ""


def _group(chain: gemmi.Chain, residue: gemmi.Residue, kind: str) -> HeteroGroup:
    atoms = [
        (atom.name, atom.element.name, atom.pos.x, atom.pos.y, atom.pos.z)
        for atom in residue
        if kind == "cofactor" or not atom.is_hydrogen()
    ]
    return HeteroGroup(residue.name, key(chain, residue), kind, atoms)


def _standardize(chain: gemmi.Chain, residue: gemmi.Residue, done: Cleanup) -> None:
    """Modified residues to their parents; selenomethionine's Se becomes S."""
    from pdbfixer.pdbfixer import substitutions

    if residue.name == "MSE":
        for atom in residue:
            if atom.name == "SE":
                atom.name = "SD"
                atom.element = gemmi.Element("S")
    parent = substitutions.get(residue.name)
    if parent is None or _has_meeko_template(residue.name):
        return
    done.nonstandard.append(f"{label(chain, residue)} read as {parent}")
    residue.name = parent
    residue.het_flag = "A"
    allowed = heavy_atom_names(parent)
    for index in reversed(range(len(residue))):
        atom = residue[index]
        if atom.name not in allowed and atom.name != "OXT":
            del residue[index]


def _has_meeko_template(name: str) -> bool:
    return name in template_names()


def _chain_breaks(structure: gemmi.Structure) -> list[str]:
    """Sequence neighbours of a chain (by residue number and insertion code, not by where their
    lines stand in the file) whose C and N are too far apart to be bonded."""
    breaks = []
    for chain in structure[0]:
        ordered = sorted(chain, key=lambda residue: (residue.seqid.num, residue.seqid.icode))
        for before, after in pairwise(ordered):
            carbon = before.find_atom("C", "*")
            nitrogen = after.find_atom("N", "*")
            if carbon is None or nitrogen is None:
                continue
            gap = carbon.pos.dist(nitrogen.pos)
            if gap > 2.0:
                missing = after.seqid.num - before.seqid.num - 1
                what = f"{missing} residues missing" if missing > 0 else f"C-N {gap:.1f} Å"
                breaks.append(f"{label(chain, before)} to {label(chain, after)} ({what})")
    return breaks
