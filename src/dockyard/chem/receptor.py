"""Receptor checking and preparation: PDB or PDBQT in, a rigid Vina receptor PDBQT out.

Real PDB files trip Meeko up in predictable ways, so a PDB goes through gemmi first:
the first model only, first alternate conformations, no waters, no hetero groups
(ligands, cofactors, buffer molecules) except metal ions Vina knows, MSE read as MET.
Residues that still match no Meeko template (missing or distorted atoms) are left out
only when they lie beyond Vina's 8 Å interaction cut-off from the box, where they cannot
change a score; anywhere else the error names them. Every change lands in the report.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from dataclasses import dataclass, field

import gemmi
import numpy as np
from meeko import MoleculePreparation, PDBQTWriterLegacy, Polymer, ResidueChemTemplates

from dockyard.chem import pdbqt
from dockyard.chem._fields import file_format
from dockyard.chem.box import Box
from dockyard.errors import DockingError, InputError

RECEPTOR_FORMATS = ("pdb", "pdbqt")

KEPT_IONS = frozenset({"MG", "MN", "ZN", "CA", "FE", "CU"})
"""Metal ions kept in the receptor: Meeko has templates for them and Vina types them."""

VINA_CUTOFF = 8.0
"""Å: Vina ignores receptor atoms farther than this from every grid point of the box."""

_PDBQT_FLEX_TAGS = ("ROOT", "ENDROOT", "BRANCH", "ENDBRANCH", "TORSDOF", "BEGIN_RES", "END_RES")
_PDBQT_KEPT_TAGS = ("REMARK", "TER", "WARNING")
_FIELD = "receptor"


@dataclass
class PreparedReceptor:
    pdbqt: str
    report: dict = field(default_factory=dict)
    """What preparation did, JSON-able: counts, what was removed or repaired, warnings."""


def check_receptor(text: str, fmt: str) -> None:
    """Cheap validation at submit time; the full preparation happens on a worker."""
    kind = file_format(fmt, RECEPTOR_FORMATS, _FIELD)
    if kind == "pdb":
        _read_pdb(text)
    else:
        _read_pdbqt(text)


def prepare_receptor(text: str, fmt: str, box: Box | None = None) -> PreparedReceptor:
    """A rigid receptor PDBQT for Vina; ``box`` lets residues far from it be left out."""
    kind = file_format(fmt, RECEPTOR_FORMATS, _FIELD)
    if kind == "pdbqt":
        return _pass_pdbqt(text)
    return _prepare_pdb(_read_pdb(text), box)


def _empty_check(text: str) -> None:
    if not text or not text.strip():
        raise InputError("The receptor file is empty.", field=_FIELD)


def _read_pdb(text: str) -> gemmi.Structure:
    _empty_check(text)
    atom_lines = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith(("ATOM  ", "HETATM")):
            atom_lines += 1
            _check_pdb_coordinates(line, lineno)
    if not atom_lines:
        raise InputError(
            "The receptor file has no ATOM or HETATM records; is it a PDB file?", field=_FIELD
        )
    try:
        structure = gemmi.read_pdb_string(text)
    except (RuntimeError, ValueError) as error:
        raise InputError(
            f"The receptor PDB file could not be read: {error}", field=_FIELD
        ) from None
    if not any(_is_biopolymer(residue.name) for chain in structure[0] for residue in chain):
        raise InputError(
            "The receptor has no amino-acid or nucleotide residues; upload the protein "
            "structure (the ligand goes in the ligand field).",
            field=_FIELD,
        )
    return structure


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
                field=_FIELD,
            )


def _is_biopolymer(resname: str) -> bool:
    info = gemmi.find_tabulated_residue(resname)
    return info is not None and (info.is_amino_acid() or info.is_nucleic_acid())


def _read_pdbqt(text: str) -> tuple[list[pdbqt.PdbqtAtom], str, list[str]]:
    """The atoms of a rigid receptor PDBQT, its text as Vina accepts it, and warnings."""
    _empty_check(text)
    atoms: list[pdbqt.PdbqtAtom] = []
    kept: list[str] = []
    dropped: set[str] = set()
    models = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.startswith("MODEL"):
            models += 1
        elif line.startswith("ENDMDL") or models > 1:
            continue
        elif pdbqt.is_atom_line(line):
            atoms.append(pdbqt.parse_atom_line(line, lineno, _FIELD))
            kept.append(line.rstrip())
        elif line.startswith(_PDBQT_FLEX_TAGS):
            raise InputError(
                f"Line {lineno} of the receptor PDBQT file is {line.split()[0]}: this is a "
                "ligand or flexible-residue PDBQT, not a rigid receptor.",
                field=_FIELD,
            )
        elif line.startswith(_PDBQT_KEPT_TAGS):
            kept.append(line.rstrip())
        elif line.strip():
            dropped.add(line.split()[0][:6])
    if not atoms:
        raise InputError("The receptor PDBQT file has no ATOM or HETATM records.", field=_FIELD)
    if not any(_is_biopolymer(atom.resname) for atom in atoms):
        raise InputError(
            "The receptor has no amino-acid or nucleotide residues; upload the protein "
            "structure (the ligand goes in the ligand field).",
            field=_FIELD,
        )
    warnings = []
    if models > 1:
        warnings.append(f"Used the first of {models} models.")
    if dropped:
        warnings.append(f"Ignored records Vina does not read: {', '.join(sorted(dropped))}.")
    return atoms, "\n".join(kept) + "\n", warnings


def _pass_pdbqt(text: str) -> PreparedReceptor:
    atoms, clean, warnings = _read_pdbqt(text)
    report = {
        "source_format": "pdbqt",
        "atoms": len(atoms),
        "residues": len({(a.chain, a.resnum) for a in atoms}),
        "chains": sorted({a.chain for a in atoms}),
        "hydrogens_in_input": sum(a.is_hydrogen for a in atoms),
        "hydrogens_added": 0,
        "waters_removed": 0,
        "hetero_groups_removed": [],
        "residues_removed": [],
        "ions_kept": [],
        "warnings": warnings,
    }
    return PreparedReceptor(pdbqt=clean, report=report)


@functools.cache
def _template_names() -> frozenset[str]:
    templates = ResidueChemTemplates.create_from_defaults()
    return frozenset(templates.residue_templates) | frozenset(templates.ambiguous)


@dataclass
class _Cleanup:
    """What gemmi clean-up changed, in the words of the report."""

    waters: int = 0
    hetero: list[str] = field(default_factory=list)
    ions: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _label(chain: gemmi.Chain, residue: gemmi.Residue) -> str:
    return f"{residue.name} {_key(chain, residue)}"


def _key(chain: gemmi.Chain, residue: gemmi.Residue) -> str:
    """Meeko's residue key, e.g. "A:93" or "A:52B"."""
    return f"{chain.name}:{residue.seqid.num}{residue.seqid.icode.strip()}"


def _clean_structure(structure: gemmi.Structure, box: Box | None) -> _Cleanup:
    done = _Cleanup()
    if len(structure) > 1:
        done.warnings.append(f"Used the first of {len(structure)} models.")
        while len(structure) > 1:
            del structure[len(structure) - 1]
    structure.setup_entities()
    altlocs = sum(
        any(atom.has_altloc() for atom in residue) for chain in structure[0] for residue in chain
    )
    if altlocs:
        structure.remove_alternative_conformations()
        done.warnings.append(f"Kept the first alternate conformation of {altlocs} residues.")
    known = _template_names()
    unknown: dict[str, str] = {}
    for chain in structure[0]:
        for index in reversed(range(len(chain))):
            residue = chain[index]
            if residue.is_water():
                done.waters += 1
            elif residue.name in KEPT_IONS and len(residue) == 1:
                done.ions.insert(0, _label(chain, residue))
                continue
            elif not _in_polymer(residue):
                done.hetero.insert(0, _label(chain, residue))
            else:
                if residue.name == "MSE":
                    _mse_to_met(residue)
                    done.warnings.append(f"Read selenomethionine {_label(chain, residue)} as MET.")
                if residue.name not in known:
                    unknown[_key(chain, residue)] = "no residue template has this name"
                continue
            del chain[index]
    if unknown:
        done.removed += _drop(structure, unknown, box)
    structure.remove_empty_chains()
    return done


def _in_polymer(residue: gemmi.Residue) -> bool:
    """Part of a protein or nucleic-acid chain, as gemmi's entity set-up sees it."""
    if residue.entity_type == gemmi.EntityType.Unknown:
        return residue.het_flag != "H"
    return residue.entity_type == gemmi.EntityType.Polymer


def _mse_to_met(residue: gemmi.Residue) -> None:
    residue.name = "MET"
    residue.het_flag = "A"
    for atom in residue:
        if atom.name == "SE":
            atom.name = "SD"
            atom.element = gemmi.Element("S")


def _drop(structure: gemmi.Structure, bad: dict[str, str], box: Box | None) -> list[str]:
    """Remove residues (key -> problem) if none can change a Vina score in ``box``; else raise."""
    found = [(key, problem, *_find_residue(structure, key)) for key, problem in bad.items()]
    blocking = [
        f"{_label(chain, chain[index])} ({problem})"
        for key, problem, chain, index in found
        if box is None or _distance_to_box(chain[index], box) <= VINA_CUTOFF
    ]
    if blocking:
        where = (
            "Residues more than 8 Å outside the docking box are left out automatically, "
            "but no box was given."
            if box is None
            else "They lie within 8 Å of the docking box, close enough to change scores."
        )
        raise InputError(
            f"The receptor cannot be prepared: {'; '.join(blocking[:5])}"
            f"{' and more' if len(blocking) > 5 else ''}. {where} Repair the structure "
            "(e.g. with PDBFixer) or upload a prepared PDBQT.",
            field=_FIELD,
        )
    removed = []
    for _, problem, chain, index in sorted(found, key=lambda item: -item[3]):
        removed.append(f"{_label(chain, chain[index])}: {problem}")
        del chain[index]
    return sorted(removed)


def _distance_to_box(residue: gemmi.Residue, box: Box) -> float:
    coords = np.array([[atom.pos.x, atom.pos.y, atom.pos.z] for atom in residue])
    outside = np.maximum(np.abs(coords - box.center) - np.array(box.size) / 2, 0.0)
    return float(np.linalg.norm(outside, axis=1).min())


def _find_residue(structure: gemmi.Structure, key: str) -> tuple[gemmi.Chain, int]:
    for chain in structure[0]:
        for index, residue in enumerate(chain):
            if _key(chain, residue) == key:
                return chain, index
    raise DockingError(f"Meeko reported residue {key}, which is not in the receptor.")


def _prepare_pdb(structure: gemmi.Structure, box: Box | None) -> PreparedReceptor:
    done = _clean_structure(structure, box)
    hydrogens_in = sum(
        atom.is_hydrogen() for chain in structure[0] for residue in chain for atom in residue
    )
    options = gemmi.PdbWriteOptions(minimal=True)
    while True:
        try:
            polymer, printed = _meeko_polymer(structure.make_pdb_string(options))
            break
        except Exception as error:
            match = re.search(r"residue \S+ corresponding to key (\S+)", str(error))
            if not match:
                first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                raise DockingError(
                    f"Meeko could not prepare the receptor: {first or type(error).__name__}"
                ) from error
            problem = "its atoms do not form a valid residue"
            done.removed += _drop(structure, {match.group(1): problem}, box)
    ignored = polymer.get_ignored_monomers()
    if ignored:
        problem = "its atoms match no residue template"
        bad = dict.fromkeys(ignored, problem)
        done.removed += _drop(structure, bad, box)
    rigid, _flex = PDBQTWriterLegacy.write_from_polymer(polymer)
    atoms = pdbqt.read_atoms(rigid, _FIELD)
    valid = polymer.get_valid_monomers()
    added = sum(
        max(0, _hydrogens(m.rdkit_mol) - _hydrogens(m.raw_rdkit_mol)) for m in valid.values()
    )
    report = {
        "source_format": "pdb",
        "atoms": len(atoms),
        "residues": len(valid),
        "chains": sorted({atom.chain for atom in atoms}),
        "hydrogens_in_input": hydrogens_in,
        "hydrogens_added": added,
        "waters_removed": done.waters,
        "hetero_groups_removed": done.hetero,
        "residues_removed": done.removed,
        "ions_kept": done.ions,
        "warnings": done.warnings + printed,
    }
    return PreparedReceptor(pdbqt=rigid, report=report)


def _meeko_polymer(pdb: str) -> tuple[Polymer, list[str]]:
    """Meeko's polymer, and the warnings it printed instead of raising."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        polymer = Polymer.from_pdb_string(
            pdb,
            ResidueChemTemplates.create_from_defaults(),
            MoleculePreparation(),
            allow_bad_res=True,
        )
    printed = [line.strip() for line in out.getvalue().splitlines() if "WARNING" in line]
    return polymer, printed


def _hydrogens(mol: object) -> int:
    return sum(atom.GetAtomicNum() == 1 for atom in mol.GetAtoms())  # type: ignore[attr-defined]
