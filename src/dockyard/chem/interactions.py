"""Protein-ligand interactions of docked poses, found by ProLIF.

The receptor residues within :data:`SITE_RADIUS` of any pose become one ProLIF protein:
RDKit reads them as PDB with their hydrogens (Dockyard's receptors carry the polar ones,
which ProLIF's hydrogen bonds need) and ProLIF's residue templates give them bond orders
and charges. Histidines, aspartates and glutamates are named for those templates by the
hydrogens they carry (HID, HIE or HIS; ASH; GLH); metal ions are residues of their own.
Each pose, with all its hydrogens, is fingerprinted against that protein: hydrogen bonds,
hydrophobic contacts, π-stacking, π-cation interactions, salt bridges, halogen bonds and
metal contacts, the first match of each ProLIF interaction per residue. Each interaction
names its residue (``A:MET:318``) and carries the two points it joins (atoms, or ring
centres), so a viewer can draw it.

Three limits follow PLIP, which found the interactions before: hydrophobic contacts up to
:data:`HYDROPHOBIC_DISTANCE`, metal contacts up to :data:`METAL_DISTANCE`, and a T-shaped
stack whose ring planes cross within :data:`STACK_OFFSET` of a ring centre. ProLIF runs on
RDKit, so it shares a process with Vina.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from dockyard.chem.core.atom_lines import atom_line
from dockyard.chem.core.elements import DUMMY_TYPES, METAL_TYPES, element
from dockyard.errors import DockingError, InputError

if TYPE_CHECKING:
    import numpy as np
    import prolif
    from rdkit import Chem

SITE_RADIUS = 8.0
"""Å: receptor residues with an atom this close to any pose go into the protein; ProLIF
looks at those within 6 Å of each pose (its ``vicinity_cutoff``)."""

INTERACTION_KINDS = (
    "hydrogen_bond",
    "hydrophobic",
    "pi_stacking",
    "pi_cation",
    "salt_bridge",
    "halogen_bond",
    "metal",
)

HYDROPHOBIC_DISTANCE = 4.0
"""Å between two hydrophobic atoms (PLIP's cut-off; ProLIF's own is 4.5)."""

METAL_DISTANCE = 3.0
"""Å: a ligand atom that can chelate this close to a metal ion is a metal contact."""

STACK_OFFSET = 2.0
"""Å: how far from a ring centre the ring planes of a T-shaped stack may cross (PLIP's
offset; ProLIF's own is 1.5)."""

_RING = -1
"""In :data:`_KINDS`: the point of that side is the centre of its ring."""

_KINDS: dict[str, tuple[str, str, int, int]] = {
    # ProLIF interaction: kind, detail, the ligand's and the protein's point (an atom of
    # ProLIF's match, by position in it, or _RING); the points are those ProLIF measured.
    "HBDonor": ("hydrogen_bond", "ligand donor", 0, 0),
    "HBAcceptor": ("hydrogen_bond", "protein donor", 0, 0),
    "Hydrophobic": ("hydrophobic", "", 0, 0),
    "FaceToFace": ("pi_stacking", "parallel", _RING, _RING),
    "EdgeToFace": ("pi_stacking", "T-shaped", _RING, _RING),
    "PiCation": ("pi_cation", "charged protein, ligand ring", _RING, 0),
    "CationPi": ("pi_cation", "charged ligand", 0, _RING),
    "Cationic": ("salt_bridge", "ligand positive", 0, 0),
    "Anionic": ("salt_bridge", "protein positive", 0, 0),
    "XBDonor": ("halogen_bond", "ligand donor", 1, 0),
    "XBAcceptor": ("halogen_bond", "protein donor", 0, 1),
    "MetalAcceptor": ("metal", "", 0, 0),
    "MetalDonor": ("metal", "", 0, 0),
}

_PARAMETERS = {
    "Hydrophobic": {"distance": HYDROPHOBIC_DISTANCE},
    "EdgeToFace": {"intersect_radius": STACK_OFFSET},
    "MetalAcceptor": {"distance": METAL_DISTANCE},
    "MetalDonor": {"distance": METAL_DISTANCE},
}

_BACKBONE = frozenset({"N", "CA", "C", "O", "OXT", "H"})

_HISTIDINES = {(True, True): "HIS", (True, False): "HID", (False, True): "HIE"}
"""ProLIF's histidine templates by (H on ND1, H on NE2); HIS carries both."""

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

    Hetero groups other than metal ions are left out: ProLIF would need a template for each.
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


def _residues(atoms: Sequence[_Atom]) -> list[list[_Atom]]:
    groups: dict[tuple[str, int, str, str], list[_Atom]] = {}
    for atom in atoms:
        groups.setdefault(atom.residue_key, []).append(atom)
    return list(groups.values())


def _template_name(atoms: Sequence[_Atom]) -> str:
    """The name of ProLIF's template for a residue, by the heavy atoms that carry a hydrogen.

    The templates fix charges by name (HIS is doubly protonated, ASP charged), whatever
    the receptor's preparation named the residue.
    """
    import numpy as np
    from prolif.io.constants import STANDARD_RESNAME_MAP

    name = STANDARD_RESNAME_MAP.get(atoms[0].resname, atoms[0].resname)
    if name not in ("HIS", "HID", "HIE", "ASP", "ASH", "GLU", "GLH"):
        return name
    hydrogens = np.array([atom.coords for atom in atoms if atom.element == "H"]).reshape(-1, 3)
    carrying = {
        atom.name.strip()
        for atom in atoms
        if atom.element != "H"
        and (np.linalg.norm(hydrogens - np.array(atom.coords), axis=1) < 1.3).any()
    }
    if name in ("HIS", "HID", "HIE"):
        return _HISTIDINES.get(("ND1" in carrying, "NE2" in carrying), "HIS")
    if name in ("ASP", "ASH"):
        return "ASH" if carrying & {"OD1", "OD2"} else "ASP"
    return "GLH" if carrying & {"OE1", "OE2"} else "GLU"


def protein_molecule(site: Sequence[_Atom]) -> tuple[prolif.Molecule, list[str]]:
    """The site as a ProLIF protein, and the label of each of its residues by number - 1.

    Residues are renumbered from 1 (ProLIF knows no insertion codes) and named after their
    template; residues ProLIF has no template for (modified amino acids) are left out.
    """
    from prolif.io import MoleculeStandardizer
    from rdkit import Chem
    from rdkit.rdBase import BlockLogs

    metals = {
        atom.resname: Chem.MolFromSmiles(f"[{atom.element}]")
        for atom in site
        if atom.element.upper() in METAL_TYPES
    }
    standardizer = MoleculeStandardizer(templates=list(metals.items()))
    lines, labels = [], []
    for residue in _residues(site):
        name = residue[0].resname if residue[0].resname in metals else _template_name(residue)
        if name not in standardizer.engines:
            continue
        labels.append(residue[0].residue_label)
        for atom in residue:
            lines.append(
                atom_line(atom.record, len(lines) + 1, atom.name, name, atom.chain,
                          len(labels), "", atom.coords, element=atom.element)
            )  # fmt: skip
    if not lines:
        raise InputError("The receptor has no residues ProLIF can read.", field="receptor")
    with BlockLogs():
        mol = Chem.MolFromPDBBlock(
            "\n".join(lines) + "\nEND\n", removeHs=False, sanitize=False, proximityBonding=True
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # per residue: missing atoms, cysteine charge
            protein = standardizer(mol)
    except ValueError as error:
        raise DockingError(f"ProLIF could not read the receptor: {error}") from None
    return protein, labels


def _point(values: Sequence[float]) -> Point:
    x, y, z = (round(float(value), 3) for value in values)
    return (x, y, z)


def _side(molecule: prolif.Molecule, indices: Sequence[int], which: int) -> tuple[Point, int]:
    """The point of one side of an interaction, and the atom it is (-1 for a ring centre)."""
    if which == _RING:
        return _point(molecule.xyz[list(indices)].mean(axis=0)), -1
    index = indices[which]
    return _point(molecule.xyz[index]), index


def _fingerprint() -> prolif.Fingerprint:
    import prolif

    return prolif.Fingerprint(list(_KINDS), parameters=_PARAMETERS, count=False)


def _interactions(
    fingerprint: prolif.Fingerprint,
    ligand: prolif.Molecule,
    protein: prolif.Molecule,
    labels: Sequence[str],
) -> list[Interaction]:
    """ProLIF's interactions of one pose as :class:`Interaction` objects."""
    import numpy as np

    found = []
    for (_, residue), by_name in fingerprint.generate(ligand, protein, metadata=True).items():
        for name, matches in by_name.items():
            kind, detail, ligand_which, protein_which = _KINDS[name]
            for match in matches:
                indices = match["parent_indices"]
                ligand_point, ligand_atom = _side(ligand, indices["ligand"], ligand_which)
                protein_point, protein_atom = _side(protein, indices["protein"], protein_which)
                if kind == "hydrogen_bond":
                    atom_name = protein.GetAtomWithIdx(protein_atom).GetPDBResidueInfo().GetName()
                    where = "backbone" if atom_name.strip() in _BACKBONE else "side chain"
                    detail = f"{_KINDS[name][1]}, {where}"
                if kind == "metal":
                    symbols = [
                        protein.GetAtomWithIdx(protein_atom).GetSymbol(),
                        ligand.GetAtomWithIdx(ligand_atom).GetSymbol(),
                    ]
                    detail = "-".join(symbols if name == "MetalAcceptor" else symbols[::-1])
                distance = np.linalg.norm(np.subtract(ligand_point, protein_point))
                found.append(
                    Interaction(
                        kind=kind,
                        residue=labels[residue.number - 1],
                        distance=round(float(distance), 2),
                        ligand_point=ligand_point,
                        protein_point=protein_point,
                        detail=detail,
                    )
                )
    return found


def _interaction_order(item: Interaction) -> tuple[int, float, str, str]:
    return (INTERACTION_KINDS.index(item.kind), item.distance, item.residue, item.detail)


def _contact_residues(site: Sequence[_Atom], ligand: np.ndarray, cutoff: float = 4.0) -> list[str]:
    heavy = [atom for atom in site if atom.element != "H"]
    close = _site(heavy, ligand, cutoff) if heavy else []
    keys = sorted({atom.residue_key for atom in close})
    labels = {atom.residue_key: atom.residue_label for atom in close}
    return [labels[key] for key in keys]


def _heavy_positions(pose: Chem.Mol) -> np.ndarray:
    positions = pose.GetConformer().GetPositions()
    return positions[[atom.GetIdx() for atom in pose.GetAtoms() if atom.GetAtomicNum() > 1]]


def pose_interactions(
    receptor: str, receptor_format: str, poses_sdf: str, ranks: Sequence[int] | None = None
) -> list[PoseInteractions]:
    """The interactions of each pose (rank = position in the SDF, from 1) with the receptor."""
    import numpy as np
    import prolif

    atoms = read_receptor_atoms(receptor, receptor_format)
    poses = read_poses(poses_sdf)
    wanted = list(ranks or range(1, len(poses) + 1))
    for rank in wanted:
        if not 1 <= rank <= len(poses):
            raise InputError(f"There is no pose {rank}; there are {len(poses)}.", field="rank")
    heavy = [_heavy_positions(pose) for pose in poses]
    site = _site(atoms, np.concatenate(heavy), SITE_RADIUS)  # one protein serves every rank
    protein, labels = protein_molecule(site) if site else (None, [])
    fingerprint = _fingerprint()
    results = []
    for rank in wanted:
        found = []
        if protein is not None:
            ligand = prolif.Molecule.from_rdkit(poses[rank - 1])
            found = sorted(
                _interactions(fingerprint, ligand, protein, labels), key=_interaction_order
            )
        results.append(
            PoseInteractions(
                rank=rank, interactions=found, residues=_contact_residues(site, heavy[rank - 1])
            )
        )
    return results


def interactions_as_dicts(
    receptor: str, receptor_format: str, poses_sdf: str
) -> list[dict[str, object]]:
    """Every pose's interactions as plain dicts: what a chemistry process sends back, so the
    process that asked loads neither this module's science stack nor its classes."""
    return [pose.to_dict() for pose in pose_interactions(receptor, receptor_format, poses_sdf)]
