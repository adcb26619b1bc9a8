"""Chain breaks are found from residue numbering and C-N bonds, not from the file's line order."""

from __future__ import annotations

import gemmi

from dockyard.chem import PreparationOptions, prepare_receptor
from dockyard.chem.receptor.clean import clean
from tests.conftest import EXAMPLE, TEST_DATA

UOU = TEST_DATA / "posebusters" / "1uou" / "1uou_protein_one_lig_removed.pdb"
UOU_BREAKS = [
    "GLY A:237 to ALA A:240 (2 residues missing)",
    "ALA A:406 to LEU A:415 (8 residues missing)",
]


def _breaks(text: str) -> list[str]:
    return clean(gemmi.read_pdb_string(text), PreparationOptions()).chain_breaks


def test_the_example_has_no_chain_break_although_a_line_of_ser_438_stands_first():
    """1IEP's receptor file opens with an atom of SER A:438, out of order."""
    text = (EXAMPLE / "1iep_receptorH.pdb").read_text()
    first_atom = next(line for line in text.splitlines() if line.startswith("ATOM"))
    assert first_atom[17:26] == "SER A 438"
    receptor = prepare_receptor(text, "pdb")
    assert receptor.report["chain_breaks"] == []
    assert not any("chain break" in warning for warning in receptor.report["warnings"])


def test_genuine_gaps_are_still_reported():
    assert _breaks(UOU.read_text()) == UOU_BREAKS


def test_the_same_gaps_whatever_the_order_of_the_residues_lines():
    """1UOU with chain A's residues written backwards: the same two gaps, nothing more."""
    lines = UOU.read_text().splitlines()
    atoms = [line for line in lines if line.startswith("ATOM") and line[21] == "A"]
    by_residue: dict[str, list[str]] = {}
    for line in atoms:
        by_residue.setdefault(line[22:27], []).append(line)
    shuffled = [line for key in reversed(list(by_residue)) for line in by_residue[key]]
    assert _breaks("\n".join([*shuffled, "END"]) + "\n") == UOU_BREAKS
