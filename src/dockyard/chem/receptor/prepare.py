"""Receptor preparation: PDB, mmCIF or PDBQT in, a rigid Vina receptor PDBQT out.

A PDB or mmCIF file goes through these steps, each recorded in the preparation report:

1. clean-up (:mod:`.clean`): first model, one alternate location, waters and hetero
   groups removed or kept as the options say, modified residues read as their parents;
2. for a very large receptor with a box, residues far from the box are left out (Vina
   ignores every atom more than 8 Å from it);
3. repair (:mod:`.repair`): distorted side chains and missing heavy atoms rebuilt by PDBFixer;
4. protonation (:mod:`.states`): residue states from PROPKA's pKa values at the pH,
   neutral histidines by hydrogen bonds;
5. Meeko types the polymer and adds its hydrogens from its residue templates; a residue
   that still matches no template is left out if it lies beyond Vina's 8 Å cut-off from the
   box, and is an error naming it otherwise;
6. kept metals, waters and cofactors are typed (:mod:`.hetero`) and appended; with
   ``keep_hetero=auto`` (the default) those are the metals and known cofactors that line
   the box.

The result is the receptor PDBQT for Vina and a PDB with hydrogens for a 3D viewer.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import io
import re
from dataclasses import dataclass, field

import gemmi
from meeko import MoleculePreparation, PDBQTWriterLegacy, Polymer

from dockyard.chem.core import pdbqt
from dockyard.chem.core.box import Box
from dockyard.chem.core.elements import element
from dockyard.chem.core.options import HETERO_LINING, PreparationOptions
from dockyard.chem.receptor.clean import clean
from dockyard.chem.receptor.hetero import lining_groups, type_groups
from dockyard.chem.receptor.read import FIELD, read_pdbqt, read_structure, receptor_kind
from dockyard.chem.receptor.repair import find_distortions, repair
from dockyard.chem.receptor.states import PROPKA_MAX_RESIDUES, assign_residue_states
from dockyard.chem.receptor.templates import chem_templates, template_names
from dockyard.chem.residues import find_residue, key, label
from dockyard.errors import DockingError, InputError

VINA_CUTOFF = 8.0
"""Å: Vina ignores receptor atoms farther than this from every grid point of the box."""

MIN_RESIDUES = 20
"""Residues a receptor needs to be docked without ``accept_warnings``. The smallest folded
proteins (the Trp-cage, the villin headpiece) have 20-35 residues and a binding pocket needs
more; a receptor with fewer is nearly always the wrong file (a ligand, a peptide, a few atoms)
and, since repair rebuilds missing atoms, would otherwise be docked against as if it were a
protein. Peptides and cut-out pockets of fewer residues remain possible with the opt-in."""

CROP_ABOVE = PROPKA_MAX_RESIDUES
"""Residues: a receptor larger than this is cut down to the box's surroundings when a box
is given, so that preparing a large complex (PROPKA above all) takes seconds, not minutes."""
CROP_MARGIN = 16.0
"""Å around the box kept when cropping: twice Vina's cut-off."""


def box_out_of_reach(box: Box, receptor_pdbqt: str) -> str | None:
    """Why nothing could bind in the box (it is beyond Vina's reach of every receptor atom),
    or None when the box touches the protein."""
    distance = box.distance_to(pdbqt.coordinates(receptor_pdbqt))
    if distance <= VINA_CUTOFF:
        return None
    centre = ", ".join(f"{value:g}" for value in box.center)
    return (
        f"The box (centre {centre}) is {distance:.1f} Å from the nearest receptor atom, "
        f"more than Vina's {VINA_CUTOFF:g} Å reach, so it does not touch the protein and "
        "nothing could bind there; centre it on the binding site."
    )


def too_few_residues(receptor: PreparedReceptor) -> str | None:
    """Why the prepared receptor is too small to be a protein, or None."""
    residues = int(receptor.report.get("residues", 0))
    if residues >= MIN_RESIDUES:
        return None
    return (
        f"The receptor has {residues} residue{'' if residues == 1 else 's'}, fewer than the "
        f"{MIN_RESIDUES} of the smallest proteins: is it the right file? A docking against it "
        "says little about binding to a protein."
    )


@dataclass
class PreparedReceptor:
    pdbqt: str
    report: dict = field(default_factory=dict)
    """What preparation did, JSON-able: counts, what was removed or repaired, warnings."""
    pdb: str = ""
    """The prepared receptor with its hydrogens, as PDB, for a 3D viewer."""


def prepare_receptor(
    text: str,
    fmt: str,
    box: Box | None = None,
    options: PreparationOptions | None = None,
) -> PreparedReceptor:
    """A rigid receptor PDBQT for Vina; ``box`` lets residues far from it be left out.

    The last few preparations are remembered, so the pre-flight check and the submission
    that follows it prepare a receptor once.
    """
    kind = receptor_kind(fmt)
    options = options or PreparationOptions()
    auto = options.keep_hetero == "auto"
    if box is not None and kind == "pdb" and not auto and _residue_count(text) <= CROP_ABOVE:
        # The box only matters when a residue has to be left out; try without it first, so
        # that one preparation serves every box (the pre-flight and the submission).
        try:
            return copy.deepcopy(_prepare_cached(text, kind, None, options))
        except InputError:
            pass
    return copy.deepcopy(_prepare_cached(text, kind, box, options))


def _residue_count(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.startswith("ATOM") and line[12:16] == " CA ")


@functools.lru_cache(maxsize=8)
def _prepare_cached(
    text: str, kind: str, box: Box | None, options: PreparationOptions
) -> PreparedReceptor:
    if kind == "pdbqt":
        return _pass_pdbqt(text)
    return _prepare_structure(read_structure(text, kind), kind, box, options)


def _pass_pdbqt(text: str) -> PreparedReceptor:
    atoms, clean_text, warnings = read_pdbqt(text)
    report = {
        "source_format": "pdbqt",
        "atoms": len(atoms),
        "residues": len({(a.chain, a.resnum) for a in atoms}),
        "chains": sorted({a.chain for a in atoms}),
        "hydrogens_in_input": sum(a.is_hydrogen for a in atoms),
        "hydrogens_added": 0,
        "waters_removed": 0,
        "hetero_groups_removed": [],
        "hetero_groups_kept": [],
        "residues_rebuilt": [],
        "residues_removed": [],
        "ions_kept": [],
        "warnings": [*warnings, "A PDBQT receptor is used as uploaded: no repair, no hydrogens."],
    }
    return PreparedReceptor(pdbqt=clean_text, report=report, pdb=pdbqt_to_pdb(clean_text))


def pdbqt_to_pdb(text: str) -> str:
    """PDB atom lines (with elements) from PDBQT atom lines, for a viewer."""
    lines = []
    for line in text.splitlines():
        if pdbqt.is_atom_line(line) and len(line) >= 78:
            symbol = element(line[77:].strip())
            lines.append(f"{line[:66]:<66}          {symbol.upper():>2}")
    return "\n".join([*lines, "END"]) + "\n"


def _prepare_structure(
    structure: gemmi.Structure, kind: str, box: Box | None, options: PreparationOptions
) -> PreparedReceptor:
    auto = options.keep_hetero == "auto"
    done = clean(
        structure, dataclasses.replace(options, keep_hetero="cofactors") if auto else options
    )
    reasons: dict[str, str] = {}
    if auto:
        chosen = lining_groups(done.kept, box)
        done.kept, reasons = chosen.kept, chosen.reasons
        done.hetero_removed += chosen.removed
    warnings = list(done.warnings)
    left_out = _crop(structure, box) if box is not None else 0
    if left_out:
        warnings.append(
            f"The receptor is large: its {left_out} residues more than {CROP_MARGIN:g} Å "
            "from the box were left out (Vina ignores atoms beyond 8 Å of the box)."
        )
    removed = _drop_unknown(structure, box)
    fixed = repair(structure, find_distortions(structure))
    warnings += fixed.warnings
    states = assign_residue_states(structure, options.ph, done.kept)
    warnings += states.warnings
    polymer, printed, dropped = _meeko(structure, box)
    removed += dropped
    rigid, _flex = PDBQTWriterLegacy.write_from_polymer(polymer)
    atoms = pdbqt.read_atoms(rigid, FIELD)
    hetero = type_groups(done.kept, len(atoms), reasons)
    warnings += hetero.warnings + printed
    valid = polymer.get_valid_monomers()
    added = sum(
        max(0, _hydrogens(m.rdkit_mol) - _hydrogens(m.raw_rdkit_mol)) for m in valid.values()
    )
    if done.chain_breaks:
        warnings.append(
            f"{len(done.chain_breaks)} chain breaks (missing residues are not modelled; the "
            "residues on either side end there): " + "; ".join(done.chain_breaks[:10])
        )
    report = {
        "source_format": kind,
        "atoms": len(atoms) + len(hetero.pdbqt_lines),
        "residues": len(valid),
        "chains": sorted({atom.chain for atom in atoms}),
        "hydrogens_in_input": done.hydrogens_in_input,
        "hydrogens_added": added,
        "protonation": states.summary,
        "waters_removed": done.waters_removed,
        "hetero_groups_removed": done.hetero_removed + hetero.removed,
        "hetero_groups_kept": hetero.kept,
        "keep_hetero": _hetero_rule(options, box),
        "ions_kept": [g.label for g in done.kept if g.kind == "ion"],
        "residues_rebuilt": fixed.rebuilt,
        "atoms_added": fixed.added,
        "residues_removed": sorted(removed),
        "nonstandard_residues": done.nonstandard,
        "chain_breaks": done.chain_breaks,
        "altloc_residues": done.altloc_residues,
        "residues_left_out_far_from_box": left_out,
        "warnings": warnings,
    }
    pdb_text = polymer.to_pdb() + "\n".join(hetero.pdb_lines) + "\nEND\n"
    return PreparedReceptor(
        pdbqt=rigid + "".join(f"{line}\n" for line in hetero.pdbqt_lines),
        report=report,
        pdb=pdb_text.replace("\n\n", "\n"),
    )


def _hetero_rule(options: PreparationOptions, box: Box | None) -> str:
    """The report's one sentence on which hetero groups were kept."""
    keep = options.keep_hetero
    if isinstance(keep, tuple):
        return f"kept the named groups ({', '.join(keep)}) and metals; removed the rest"
    if keep != "auto":
        return {
            "none": "removed every hetero group",
            "metals": "kept metal ions Vina can type; removed the rest",
            "cofactors": "kept metal ions and known cofactors; removed the rest",
        }[keep]
    if box is None:
        return "auto without a box: kept every metal ion and known cofactor; removed the rest"
    return (
        f"auto: kept metal ions and known cofactors within {HETERO_LINING:g} Å of the box; "
        "removed the rest (ligands, additives, buffer, far metals and cofactors)"
    )


def _crop(structure: gemmi.Structure, box: Box) -> int:
    """Remove residues far from ``box`` from a large receptor; how many were removed."""
    total = sum(len(chain) for chain in structure[0])
    if total <= CROP_ABOVE:
        return 0
    removed = 0
    for chain in structure[0]:
        for index in reversed(range(len(chain))):
            if box.distance_to(_coordinates(chain[index])) > CROP_MARGIN:
                del chain[index]
                removed += 1
    structure.remove_empty_chains()
    return removed


def _drop_unknown(structure: gemmi.Structure, box: Box | None) -> list[str]:
    known = template_names()
    unknown = {
        key(chain, residue): "no residue template has this name"
        for chain in structure[0]
        for residue in chain
        if residue.name not in known
    }
    return _drop(structure, unknown, box) if unknown else []


def _meeko(structure: gemmi.Structure, box: Box | None) -> tuple[Polymer, list[str], list[str]]:
    """Meeko's polymer; residues no template matches are dropped (far from the box) or refused."""
    removed: list[str] = []
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
            problem = "its atoms do not form a valid residue, even after repair"
            removed += _drop(structure, {match.group(1): problem}, box)
    ignored = polymer.get_ignored_monomers()
    if ignored:
        problem = "its atoms match no residue template, even after repair"
        removed += _drop(structure, dict.fromkeys(ignored, problem), box)
        polymer, printed = _meeko_polymer(structure.make_pdb_string(options))
    return polymer, printed, removed


def _drop(structure: gemmi.Structure, bad: dict[str, str], box: Box | None) -> list[str]:
    """Remove residues (key -> problem) if none can change a Vina score in ``box``; else raise."""
    found = [(key_, problem, *_find(structure, key_)) for key_, problem in bad.items()]
    blocking = [
        f"{label(chain, chain[index])} ({problem})"
        for _key, problem, chain, index in found
        if box is None or box.distance_to(_coordinates(chain[index])) <= VINA_CUTOFF
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
            "or upload a prepared PDBQT.",
            field=FIELD,
        )
    removed = []
    for _key, problem, chain, index in sorted(found, key=lambda item: -item[3]):
        removed.append(f"{label(chain, chain[index])}: {problem}")
        del chain[index]
    return removed


def _coordinates(residue: gemmi.Residue) -> list[tuple[float, float, float]]:
    return [(atom.pos.x, atom.pos.y, atom.pos.z) for atom in residue]


def _find(structure: gemmi.Structure, residue_key: str) -> tuple[gemmi.Chain, int]:
    try:
        return find_residue(structure, residue_key)
    except KeyError:
        raise DockingError(
            f"Meeko reported residue {residue_key}, which is not in the receptor."
        ) from None


def _meeko_polymer(pdb: str) -> tuple[Polymer, list[str]]:
    """Meeko's polymer, and the warnings it printed instead of raising."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        polymer = Polymer.from_pdb_string(
            pdb, chem_templates(), MoleculePreparation(), allow_bad_res=True
        )
    printed = [line.strip() for line in out.getvalue().splitlines() if "WARNING" in line]
    return polymer, printed


def _hydrogens(mol: object) -> int:
    return sum(atom.GetAtomicNum() == 1 for atom in mol.GetAtoms())  # type: ignore[attr-defined]
