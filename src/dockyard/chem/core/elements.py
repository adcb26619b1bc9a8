"""AutoDock atom types: which Vina knows, and the element each stands for.

The one table for every place that turns a PDBQT atom back into an element (the receptor's
viewer PDB, poses without bond orders, the complexes profiled for interactions).
"""

from __future__ import annotations

_AUTODOCK_TYPE_NAMES = (
    "C A N O P S H F I NA OA SA HD Mg Mn Zn Ca Fe Cl Br Si At G0 G1 G2 G3 CG0 CG1 CG2 CG3 W"
)
AUTODOCK_TYPES = frozenset(_AUTODOCK_TYPE_NAMES.split())
"""Atom types Vina 1.2 knows (``atom_constants.h``); they are case-sensitive."""

VINA_ATOM_TYPES = AUTODOCK_TYPES | {"Se", "Cu", "Na", "K", "Hg", "Co", "U", "Cd", "Ni"}
"""Also accepted by Vina: selenium (typed as S) and metals it treats as generic metals."""

HYDROGEN_TYPES = frozenset({"H", "HD"})

DUMMY_TYPES = frozenset({"G0", "G1", "G2", "G3", "W"})
"""Types of pseudo-atoms (macrocycle closure points, hydrated-docking waters), not atoms."""

_ELEMENTS = {"A": "C", "NA": "N", "OA": "O", "SA": "S", "HD": "H", "HS": "H", "NS": "N"}
_ELEMENTS |= {f"CG{i}": "C" for i in range(4)}

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

METAL_TYPES = {symbol.upper(): symbol for symbol in VINA_METALS.values()}
"""Vina's atom type of each metal, by its upper-case element symbol."""


def element(ad_type: str) -> str:
    """The element symbol of an AutoDock atom type ("OA" -> "O", "Zn" -> "Zn")."""
    return _ELEMENTS.get(ad_type, ad_type)
