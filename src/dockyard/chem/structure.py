"""Reading a receptor structure (PDB or mmCIF) and cleaning it up with gemmi.

The clean-up decides what of an uploaded file becomes the receptor: the first model; one
alternate location per residue (the highest occupancy, or the one asked for); no waters
except those named; no ligands, buffer molecules or other hetero groups except the metals
and cofactors asked for (see :class:`~dockyard.chem.prep_options.PreparationOptions`);
selenomethionine and other modified residues read as their standard parent. The polymer and
the kept hetero groups come out apart: Meeko types the polymer, :mod:`hetero` the rest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import gemmi
import numpy as np

from dockyard.chem.prep_options import PreparationOptions
from dockyard.errors import InputError

FIELD = "receptor"

VINA_METALS = {
    "MG": "Mg",
    "MN": "Mn",
    "ZN": "Zn",
    "CA": "Ca",
    "FE": "Fe",
    "FE2": "Fe",
    "CU": "Cu",
    "CU1": "Cu",
    "NA": "Na",
    "K": "K",
    "CO": "Co",
    "NI": "Ni",
    "CD": "Cd",
    "HG": "Hg",
}
"""Metal ions (residue name -> Vina atom type) that Vina can type in a receptor."""

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


def key(chain: gemmi.Chain, residue: gemmi.Residue) -> str:
    """Meeko's residue key, e.g. "A:93" or "A:52B"."""
    return f"{chain.name}:{residue.seqid.num}{residue.seqid.icode.strip()}"


def label(chain: gemmi.Chain, residue: gemmi.Residue) -> str:
    return f"{residue.name} {key(chain, residue)}"


def is_biopolymer(resname: str) -> bool:
    info = gemmi.find_tabulated_residue(resname)
    return info is not None and (info.is_amino_acid() or info.is_nucleic_acid())


def read_structure(text: str, kind: str) -> gemmi.Structure:
    """A PDB or mmCIF text as a gemmi Structure with at least one polymer residue."""
    if not text or not text.strip():
        raise InputError("The receptor file is empty.", field=FIELD)
    if kind == "pdb":
        structure = _read_pdb(text)
    else:
        try:
            document = gemmi.cif.read_string(text)
            structure = gemmi.make_structure_from_block(document.sole_block())
        except (RuntimeError, ValueError) as error:
            raise InputError(
                f"The receptor mmCIF file could not be read: {error}", field=FIELD
            ) from None
        if len(structure) == 0 or not any(len(chain) for chain in structure[0]):
            raise InputError(
                "The receptor mmCIF file has no atoms (no _atom_site records).", field=FIELD
            )
        structure.shorten_chain_names()
    if not any(is_biopolymer(residue.name) for chain in structure[0] for residue in chain):
        raise InputError(
            "The receptor has no amino-acid or nucleotide residues; upload the protein "
            "structure (the ligand goes in the ligand field).",
            field=FIELD,
        )
    return structure


def _read_pdb(text: str) -> gemmi.Structure:
    atom_lines = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith(("ATOM  ", "HETATM")):
            atom_lines += 1
            _check_pdb_coordinates(line, lineno)
    if not atom_lines:
        raise InputError(
            "The receptor file has no ATOM or HETATM records; is it a PDB file?", field=FIELD
        )
    try:
        return gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError) as error:
        raise InputError(f"The receptor PDB file could not be read: {error}", field=FIELD) from None


def _check_pdb_coordinates(line: str, lineno: int) -> None:
    for start, axis in ((30, "x"), (38, "y"), (46, "z")):
        raw = line[start : start + 8].strip()
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not np.isfinite(value):
            raise InputError(
                f"Line {lineno} of the receptor PDB file has {axis} coordinate {raw!r}, "
                "which is not a finite number.",
                field=FIELD,
            )


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
    from dockyard.chem.repair import heavy_atom_names

    allowed = heavy_atom_names(parent)
    for index in reversed(range(len(residue))):
        atom = residue[index]
        if atom.name not in allowed and atom.name != "OXT":
            del residue[index]


def _has_meeko_template(name: str) -> bool:
    from dockyard.chem.templates import template_names

    return name in template_names()


def _chain_breaks(structure: gemmi.Structure) -> list[str]:
    """Consecutive amino acids of a chain whose C and N are too far apart to be bonded."""
    breaks = []
    for chain in structure[0]:
        previous = None
        for residue in chain:
            carbon = residue.find_atom("C", "*")
            nitrogen = residue.find_atom("N", "*")
            if previous is not None and nitrogen is not None:
                prev_residue, prev_carbon = previous
                if residue.seqid.num < prev_residue.seqid.num:
                    previous = None  # numbering starts again: not sequence neighbours
                gap = prev_carbon.pos.dist(nitrogen.pos) if previous else 0.0
                if gap > 2.0:
                    missing = residue.seqid.num - prev_residue.seqid.num - 1
                    what = f"{missing} residues missing" if missing > 0 else f"C-N {gap:.1f} Å"
                    breaks.append(
                        f"{label(chain, prev_residue)} to {label(chain, residue)} ({what})"
                    )
            previous = (residue, carbon) if carbon is not None else None
    return breaks


def residue_coordinates(
    text: str, fmt: str, specs: str | list[str] | tuple[str, ...] | None, field: str
) -> list[tuple[float, float, float]]:
    """Heavy-atom coordinates of the receptor's named residues (all polymer ones if None).

    A residue is named ``A:286``, ``A:GLU:286`` or ``GLU A:286``; an unknown one is an
    InputError on ``field`` naming it.
    """
    from dockyard.chem import pdbqt
    from dockyard.chem.receptor import RECEPTOR_FORMATS, _kind

    kind = _kind(fmt) if fmt else "pdb"
    assert kind in RECEPTOR_FORMATS
    residues: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    names: dict[str, str] = {}
    if kind == "pdbqt":
        for atom in pdbqt.read_atoms(text, FIELD):
            if not atom.is_hydrogen and is_biopolymer(atom.resname):
                residue_key = f"{atom.chain}:{atom.resnum}"
                residues[residue_key].append((atom.x, atom.y, atom.z))
                names[residue_key] = atom.resname
    else:
        structure = read_structure(text, kind)
        for chain in structure[0]:
            for residue in chain:
                if not is_biopolymer(residue.name):
                    continue
                residue_key = key(chain, residue)
                names[residue_key] = residue.name
                residues[residue_key] += [
                    (a.pos.x, a.pos.y, a.pos.z) for a in residue if not a.is_hydrogen()
                ]
    if specs is None:
        return [point for points in residues.values() for point in points]
    wanted = [specs] if isinstance(specs, str) else list(specs)
    items = [item.strip() for spec in wanted for item in spec.replace(";", ",").split(",")]
    coords: list[tuple[float, float, float]] = []
    for item in filter(None, items):
        residue_key, name = _parse_residue(item, field)
        if residue_key not in residues:
            raise InputError(f"The receptor has no residue {item}.", field=field)
        if name and names[residue_key] != name:
            raise InputError(
                f"Residue {residue_key} of the receptor is {names[residue_key]}, not {name}.",
                field=field,
            )
        coords += residues[residue_key]
    if not coords:
        raise InputError(
            f"{field} names no residues; list them as A:286, A:GLU:286 or GLU A:286.",
            field=field,
        )
    return coords


def _parse_residue(item: str, field: str) -> tuple[str, str]:
    """("A:286", "GLU") from "A:GLU:286", "GLU A:286" or "A:286"."""
    words = item.replace(":", " ").split()
    chain = number = name = ""
    for word in words:
        if word.lstrip("-")[:1].isdigit():
            number = word
        elif len(word) >= 3 and word.isalpha():
            name = word.upper()
        else:
            chain = word
    if not (chain and number):
        raise InputError(
            f"{item!r} is not a residue; write it as A:286, A:GLU:286 or GLU A:286.", field=field
        )
    return f"{chain}:{number}", name
