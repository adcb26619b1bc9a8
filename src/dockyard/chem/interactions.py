"""Protein-ligand interactions of docked poses, found by PLIP.

For each pose, the receptor residues within :data:`SITE_RADIUS` of the ligand and the pose
itself are written into one PDB complex, which PLIP (on Open Babel) profiles: hydrogen
bonds, hydrophobic contacts, π-stacking, π-cation interactions, salt bridges and halogen
bonds; metal contacts are found by PLIP's distance rule here, since PLIP profiles a metal
ion as a ligand of its own. Each interaction names its residue (``A:MET:318``) and carries
the two points it joins, so a viewer can draw it.

Hydrogens are taken as given (Dockyard's receptors carry polar hydrogens, its poses all
hydrogens): PLIP adds none and writes no files.

Open Babel cannot share a process with Vina: both are SWIG modules, and importing Open Babel
after ``vina`` aborts the process (``swig::stop_iteration``); Open Babel before RDKit crashes
too. So :func:`pose_interactions` always runs PLIP in a child process
(``python -m dockyard.chem.interactions``, a JSON request on standard input) that imports
RDKit first and never Vina, and whatever its caller has loaded is safe.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from dockyard.chem.core.atom_lines import atom_line
from dockyard.chem.core.elements import DUMMY_TYPES, METAL_TYPES, element
from dockyard.errors import DockingError, InputError

if TYPE_CHECKING:
    import numpy as np
    from rdkit import Chem

TIMEOUT = 300.0
"""Seconds the child process may take for all poses of one docking."""

SITE_RADIUS = 12.0
"""Å: receptor residues with an atom this close to the ligand go into the complex."""

INTERACTION_KINDS = (
    "hydrogen_bond",
    "hydrophobic",
    "pi_stacking",
    "pi_cation",
    "salt_bridge",
    "halogen_bond",
    "metal",
)

METAL_DISTANCE = 3.0
"""Å: a ligand N, O or S this close to a metal ion is a metal contact (PLIP's cut-off)."""

LIGAND_RESNAME = "UNL"

_WATERS = frozenset({"HOH", "WAT", "DOD", "H2O", "TIP", "TIP3", "SOL"})

Point = tuple[float, float, float]


@dataclass
class Interaction:
    """One contact between a pose and a receptor residue; distances in Å."""

    kind: str
    residue: str
    """``chain:resname:number``, e.g. ``A:MET:318``."""
    distance: float
    ligand_point: Point
    protein_point: Point
    detail: str = ""


@dataclass
class PoseInteractions:
    rank: int
    interactions: list[Interaction] = field(default_factory=list)
    residues: list[str] = field(default_factory=list)
    """Every residue within 4 Å of the pose's heavy atoms, in chain and sequence order."""

    def counts(self) -> dict[str, int]:
        return {
            kind: sum(1 for found in self.interactions if found.kind == kind)
            for kind in INTERACTION_KINDS
        }

    def to_dict(self) -> dict:
        return {**asdict(self), "counts": self.counts()}

    @classmethod
    def from_dict(cls, data: dict) -> PoseInteractions:
        interactions = [
            Interaction(
                **{
                    **found,
                    "ligand_point": tuple(found["ligand_point"]),
                    "protein_point": tuple(found["protein_point"]),
                }
            )
            for found in data["interactions"]
        ]
        return cls(rank=data["rank"], interactions=interactions, residues=data["residues"])


@dataclass(frozen=True)
class _Atom:
    record: str
    name: str
    resname: str
    chain: str
    resnum: int
    icode: str
    coords: Point
    element: str

    @property
    def residue_key(self) -> tuple[str, int, str, str]:
        return (self.chain, self.resnum, self.icode, self.resname)

    @property
    def residue_label(self) -> str:
        return f"{self.chain}:{self.resname}:{self.resnum}{self.icode}"


def read_receptor_atoms(text: str, fmt: str) -> list[_Atom]:
    """The receptor's atoms from PDB or PDBQT text, without waters or other ligands.

    Hetero groups other than metal ions are left out: they would be profiled as ligands.
    """
    if fmt not in ("pdb", "pdbqt"):
        raise InputError(f"Cannot read a receptor in {fmt!r} format.", field="receptor")
    atoms = []
    for line in text.splitlines():
        if line.startswith("ENDMDL"):
            break
        if not line.startswith(("ATOM  ", "HETATM")) or line[16] not in " A1":
            continue
        resname = line[17:20].strip()
        if fmt == "pdbqt":
            ad_type = line[77:79].strip()
            if ad_type in DUMMY_TYPES:
                continue
            symbol = element(ad_type)
        else:
            symbol = line[76:78].strip() or line[12:14].strip().lstrip("0123456789")
        symbol = symbol.capitalize()
        if resname in _WATERS:
            continue
        if line.startswith("HETATM") and symbol.upper() not in METAL_TYPES:
            continue
        try:
            coords = (float(line[30:38]), float(line[38:46]), float(line[46:54]))
            resnum = int(line[22:26])
        except ValueError:
            continue
        atoms.append(
            _Atom(
                record=line[:6],
                name=line[12:16],
                resname=resname,
                chain=line[21].strip() or "A",
                resnum=resnum,
                icode=line[26].strip(),
                coords=coords,
                element=symbol,
            )
        )
    if not atoms:
        raise InputError("The receptor has no protein atoms to profile.", field="receptor")
    return atoms


def read_poses(poses_sdf: str) -> list[Chem.Mol]:
    """The poses of an SDF, hydrogens kept, in file order."""
    from rdkit import Chem
    from rdkit.rdBase import BlockLogs

    with BlockLogs():
        supplier = Chem.SDMolSupplier()
        supplier.SetData(poses_sdf, removeHs=False)
        poses = [mol for mol in supplier]
    if not poses or any(mol is None for mol in poses):
        raise InputError("The poses could not be read from their SDF.", field="poses")
    return poses


def _site(atoms: Sequence[_Atom], ligand: np.ndarray, radius: float) -> list[_Atom]:
    import numpy as np

    coords = np.array([atom.coords for atom in atoms])
    near = np.zeros(len(atoms), dtype=bool)
    for start in range(0, len(ligand), 64):
        block = ligand[start : start + 64]
        distances = np.linalg.norm(coords[:, None, :] - block[None, :, :], axis=2)
        near |= (distances < radius).any(axis=1)
    keys = {atom.residue_key for atom, close in zip(atoms, near, strict=True) if close}
    return [atom for atom in atoms if atom.residue_key in keys]


def _atom_line(serial: int, atom: _Atom) -> str:
    return atom_line(
        atom.record,
        serial,
        atom.name,
        atom.resname,
        atom.chain,
        atom.resnum,
        atom.icode,
        atom.coords,
        element=atom.element,
    )


def _ligand_chain(atoms: Iterable[_Atom]) -> str:
    used = {atom.chain for atom in atoms}
    return next(letter for letter in "ZYXWVUTSRQ0123456789" if letter not in used)


def complex_pdb(site: Sequence[_Atom], pose: Chem.Mol, chain: str) -> str:
    """Receptor site and pose as one PDB, numbered from 1, with the pose's bonds as CONECT."""
    lines = [_atom_line(serial, atom) for serial, atom in enumerate(site, start=1)]
    lines.append("TER")
    first = len(site) + 1
    positions = pose.GetConformer().GetPositions()
    counts: dict[str, int] = {}
    for index, atom in enumerate(pose.GetAtoms()):
        symbol = atom.GetSymbol()
        counts[symbol] = counts.get(symbol, 0) + 1
        ligand_atom = _Atom(
            record="HETATM",
            name=f"{symbol}{counts[symbol]}"[:4],
            resname=LIGAND_RESNAME,
            chain=chain,
            resnum=1,
            icode="",
            coords=tuple(float(value) for value in positions[index]),
            element=symbol,
        )
        lines.append(_atom_line(first + index, ligand_atom))
    for atom in pose.GetAtoms():
        partners = [first + other.GetIdx() for other in atom.GetNeighbors()]
        for start in range(0, len(partners), 4):
            serials = "".join(f"{serial:5d}" for serial in partners[start : start + 4])
            lines.append(f"CONECT{first + atom.GetIdx():5d}{serials}")
    lines.append("END")
    return "\n".join(lines) + "\n"


def _point(values: Sequence[float]) -> Point:
    x, y, z = (round(float(value), 3) for value in values)
    return (x, y, z)


def _residue(found: object) -> str:
    return f"{found.reschain}:{found.restype}:{found.resnr}"


def _interactions(site: object) -> list[Interaction]:
    """PLIP's interaction set for one ligand as :class:`Interaction` objects."""
    found: list[Interaction] = []

    def add(kind, contact, distance, ligand, protein, detail=""):
        found.append(
            Interaction(
                kind=kind,
                residue=_residue(contact),
                distance=round(float(distance), 2),
                ligand_point=_point(ligand),
                protein_point=_point(protein),
                detail=detail,
            )
        )

    for bond in site.hbonds_pdon + site.hbonds_ldon:
        protein, ligand = (bond.d, bond.a) if bond.protisdon else (bond.a, bond.d)
        who = "protein donor" if bond.protisdon else "ligand donor"
        where = "side chain" if bond.sidechain else "backbone"
        add("hydrogen_bond", bond, bond.distance_ad, ligand.coords, protein.coords,
            f"{who}, {where}")  # fmt: skip
    for contact in site.hydrophobic_contacts:
        add("hydrophobic", contact, contact.distance, contact.ligatom.coords,
            contact.bsatom.coords)  # fmt: skip
    for stack in site.pistacking:
        kind = {"P": "parallel", "T": "T-shaped"}.get(stack.type, stack.type)
        add("pi_stacking", stack, stack.distance, stack.ligandring.center,
            stack.proteinring.center, kind)  # fmt: skip
    for contact in site.pication_laro + site.pication_paro:
        ligand, protein = (
            (contact.ring.center, contact.charge.center)
            if contact.protcharged
            else (contact.charge.center, contact.ring.center)
        )
        detail = "charged protein, ligand ring" if contact.protcharged else "charged ligand"
        add("pi_cation", contact, contact.distance, ligand, protein, detail)
    for bridge in site.saltbridge_lneg + site.saltbridge_pneg:
        protein, ligand = (
            (bridge.positive, bridge.negative)
            if bridge.protispos
            else (bridge.negative, bridge.positive)
        )
        detail = "protein positive" if bridge.protispos else "ligand positive"
        add("salt_bridge", bridge, bridge.distance, ligand.center, protein.center, detail)
    for bond in site.halogen_bonds:
        add("halogen_bond", bond, bond.distance, bond.don.x.coords, bond.acc.o.coords)
    return found


def _metal_contacts(site: Sequence[_Atom], pose: Chem.Mol) -> list[Interaction]:
    """Receptor metal ions within :data:`METAL_DISTANCE` of a ligand N, O or S atom.

    PLIP counts a metal ion as a ligand of its own, so metal contacts are found here by
    its distance rule instead.
    """
    import numpy as np

    metals = [atom for atom in site if atom.element.upper() in METAL_TYPES]
    positions = pose.GetConformer().GetPositions()
    found = []
    for metal in metals:
        for atom in pose.GetAtoms():
            if atom.GetSymbol() not in ("N", "O", "S"):
                continue
            point = positions[atom.GetIdx()]
            distance = float(np.linalg.norm(point - np.array(metal.coords)))
            if distance <= METAL_DISTANCE:
                found.append(
                    Interaction(
                        kind="metal",
                        residue=metal.residue_label,
                        distance=round(distance, 2),
                        ligand_point=_point(point),
                        protein_point=_point(metal.coords),
                        detail=f"{metal.element}-{atom.GetSymbol()}",
                    )
                )
    return found


def _interaction_order(item: Interaction) -> tuple[int, float]:
    return (INTERACTION_KINDS.index(item.kind), item.distance)


def _contact_residues(site: Sequence[_Atom], ligand: np.ndarray, cutoff: float = 4.0) -> list[str]:
    heavy = [atom for atom in site if atom.element != "H"]
    close = _site(heavy, ligand, cutoff) if heavy else []
    keys = sorted({atom.residue_key for atom in close})
    labels = {atom.residue_key: atom.residue_label for atom in close}
    return [labels[key] for key in keys]


def pose_interactions(
    receptor: str, receptor_format: str, poses_sdf: str, ranks: Sequence[int] | None = None
) -> list[PoseInteractions]:
    """The interactions of each pose (rank = position in the SDF, from 1) with the receptor.

    PLIP runs in a child process (see the module docstring).
    """
    request = {
        "receptor": receptor,
        "receptor_format": receptor_format,
        "poses_sdf": poses_sdf,
        "ranks": list(ranks) if ranks else None,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DockingError(
            f"The interaction analysis took longer than {TIMEOUT:g} s and was stopped."
        ) from None
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DockingError(
            f"The interaction analysis failed (exit status {done.returncode}): {last}"
        ) from None
    if "error" in answer:
        raise InputError(answer["error"]["message"], field=answer["error"].get("field"))
    return [PoseInteractions.from_dict(pose) for pose in answer["poses"]]


def _rdkit_before_open_babel() -> None:
    import rdkit.Chem  # noqa: F401


def profile_poses(
    receptor: str, receptor_format: str, poses_sdf: str, ranks: Sequence[int] | None = None
) -> list[PoseInteractions]:
    """:func:`pose_interactions` in this process: only where Vina is not loaded."""
    if "vina" in sys.modules:
        raise DockingError("PLIP cannot run in a process that loaded Vina; use pose_interactions.")
    import numpy as np

    _rdkit_before_open_babel()
    from plip.basic import config
    from plip.structure.preparation import PDBComplex

    config.NOHYDRO = True  # the inputs carry their hydrogens; PLIP would write a file
    config.PLUGIN_MODE = True  # no "fixed" PDB files written next to the input
    config.SILENT = True
    logging.getLogger("plip").setLevel(logging.ERROR)
    atoms = read_receptor_atoms(receptor, receptor_format)
    chain = _ligand_chain(atoms)
    poses = read_poses(poses_sdf)
    wanted = ranks or range(1, len(poses) + 1)
    results = []
    for rank in wanted:
        if not 1 <= rank <= len(poses):
            raise InputError(f"There is no pose {rank}; there are {len(poses)}.", field="rank")
        pose = poses[rank - 1]
        positions = pose.GetConformer().GetPositions()
        heavy = np.array(
            [positions[atom.GetIdx()] for atom in pose.GetAtoms() if atom.GetAtomicNum() > 1]
        )
        site = _site(atoms, heavy, SITE_RADIUS)
        found: list[Interaction] = []
        if site:
            protein = [atom for atom in site if atom.element.upper() not in METAL_TYPES]
            plip = PDBComplex()
            plip.load_pdb(complex_pdb(protein, pose, chain), as_string=True)
            for ligand in plip.ligands:
                if ligand.hetid == LIGAND_RESNAME and ligand.chain == chain:
                    plip.characterize_complex(ligand)
            for key, interaction_set in plip.interaction_sets.items():
                if key.startswith(f"{LIGAND_RESNAME}:{chain}:"):
                    found.extend(_interactions(interaction_set))
            found.extend(_metal_contacts(site, pose))
            found.sort(key=_interaction_order)
        results.append(
            PoseInteractions(rank=rank, interactions=found, residues=_contact_residues(site, heavy))
        )
    return results


def main() -> None:
    """``{"receptor", "receptor_format", "poses_sdf", "ranks"}`` on stdin; a JSON answer out.

    The answer is ``{"poses": [...]}`` or ``{"error": {"code", "message", "field"}}``.
    """
    request = json.load(sys.stdin)
    try:
        poses = profile_poses(
            request["receptor"],
            request["receptor_format"],
            request["poses_sdf"],
            request.get("ranks"),
        )
        answer: dict = {"poses": [pose.to_dict() for pose in poses]}
    except InputError as error:
        answer = {"error": error.to_dict()}
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
