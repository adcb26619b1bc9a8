from __future__ import annotations

import time
from pathlib import Path

import pytest

from dockyard.chem import (
    RECEPTOR_FORMATS,
    PreparedReceptor,
    check_receptor,
    prepare_receptor,
)
from dockyard.chem.core.options import PreparationOptions
from dockyard.chem.core.pdbqt import read_atoms
from dockyard.errors import InputError, UnsupportedFileError


def test_1iep_prepares_into_a_rigid_receptor(receptor_1iep: PreparedReceptor):
    atoms = read_atoms(receptor_1iep.pdbqt, "receptor")
    types = {atom.ad_type for atom in atoms}
    assert {"C", "A", "N", "OA", "HD", "SA"} <= types
    assert "H" not in types  # non-polar hydrogens are merged, as Vina expects
    assert not any(line.startswith(("ROOT", "BRANCH")) for line in receptor_1iep.pdbqt.splitlines())
    report = receptor_1iep.report
    assert report["source_format"] == "pdb"
    assert report["atoms"] == len(atoms)
    assert report["residues"] == 274
    assert report["chains"] == ["A"]
    assert report["hydrogens_in_input"] > 2000
    assert report["residues_removed"] == [] and report["hetero_groups_removed"] == []


def test_prepared_pdbqt_passes_through_unchanged(receptor_1iep: PreparedReceptor):
    again = prepare_receptor(receptor_1iep.pdbqt, "pdbqt")
    assert again.pdbqt.split() == receptor_1iep.pdbqt.split()
    assert again.report["source_format"] == "pdbqt"
    assert again.report["atoms"] == receptor_1iep.report["atoms"]
    assert again.report["warnings"] == [
        "A PDBQT receptor is used as uploaded: no repair, no hydrogens."
    ]
    assert again.pdb.count("ATOM") == again.report["atoms"]


def test_pdbqt_records_vina_rejects_are_dropped_with_a_warning(receptor_1iep):
    text = "HEADER    KINASE\nCRYST1    1.0\n" + receptor_1iep.pdbqt + "END\n"
    prepared = prepare_receptor(text, "pdbqt")
    assert "HEADER" not in prepared.pdbqt and "END\n" not in prepared.pdbqt
    assert "CRYST1, END, HEADER" in prepared.report["warnings"][0]


def test_check_is_fast_on_a_real_receptor(example: dict[str, Path], receptor_1iep):
    pdb = example["receptor"].read_text()
    start = time.perf_counter()
    check_receptor(pdb, "pdb")
    check_receptor(receptor_1iep.pdbqt, "pdbqt")
    assert time.perf_counter() - start < 1.0


def test_waters_and_ligands_left_in_a_pdb_are_removed_and_reported(example):
    """A PDB straight from a complex: the ligand, waters and a zinc ion left in."""
    pdb = example["receptor"].read_text().replace("END\n", "")
    extra = [
        "HETATM 9001  C1  STI A 901      15.000  54.000  17.000  1.00  0.00           C",
        "HETATM 9002  N1  STI A 901      16.400  54.000  17.000  1.00  0.00           N",
        "HETATM 9003  O   HOH A 902      30.000  60.000  20.000  1.00  0.00           O",
        "HETATM 9004  O   HOH A 903      31.000  61.000  22.000  1.00  0.00           O",
        "HETATM 9005 ZN    ZN A 904      40.000  40.000  10.000  1.00  0.00          ZN",
    ]
    metals = PreparationOptions(keep_hetero="metals")
    prepared = prepare_receptor(pdb + "\n".join(extra) + "\nEND\n", "pdb", options=metals)
    report = prepared.report
    assert report["hetero_groups_removed"] == ["STI A:901"]
    assert report["waters_removed"] == 2
    assert report["ions_kept"] == ["ZN A:904"]
    assert report["hetero_groups_kept"] == ["ZN A:904 (ion)"]
    assert "Zn" in {atom.ad_type for atom in read_atoms(prepared.pdbqt, "receptor")}
    assert report["residues"] == 274
    bare = PreparationOptions(keep_hetero="none")
    none = prepare_receptor(pdb + "\n".join(extra) + "\nEND\n", "pdb", options=bare)
    assert none.report["ions_kept"] == [] and "ZN A:904" in none.report["hetero_groups_removed"]
    waters = prepare_receptor(
        pdb + "\n".join(extra) + "\nEND\n",
        "pdb",
        options=PreparationOptions(keep_waters="A:903"),
    )
    assert waters.report["waters_removed"] == 1
    assert "HOH A:903 (water)" in waters.report["hetero_groups_kept"]
    assert "HOH A 903" in waters.pdbqt and "HOH A 902" not in waters.pdbqt


GOOD_ATOM = "ATOM      1  N   MET A 225      19.353  41.547  -3.887  1.00 72.26           N"


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("", "pdb", "empty"),
        ("  \n", "pdbqt", "empty"),
        ("Dear colleague,\nplease find the structure attached.\n", "pdb", "no ATOM or HETATM"),
        ("HEADER    KINASE\nREMARK   1 nothing here\nEND\n", "pdb", "no ATOM or HETATM"),
        (GOOD_ATOM.replace("19.353", "   abc"), "pdb", "not a finite number"),
        (GOOD_ATOM.replace("19.353", "   nan"), "pdb", "not a finite number"),
        (GOOD_ATOM.replace("MET", "LIG"), "pdb", "no amino-acid"),
        ("hello world\n", "pdbqt", "no ATOM or HETATM"),
        ("ATOM  garbage\n", "pdbqt", "too short"),
    ],
)
def test_unusable_receptors_are_refused(text: str, fmt: str, message: str):
    for check in (check_receptor, prepare_receptor):
        with pytest.raises(InputError, match=message) as caught:
            check(text, fmt)
        assert caught.value.field == "receptor"


def _retype_first_atom(pdbqt: str, new_type: str) -> str:
    lines = pdbqt.splitlines()
    lines[0] = lines[0][:77] + new_type
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda text: _retype_first_atom(text, ""), "too short"),
        (lambda text: _retype_first_atom(text, "CL"), "'CL'"),
        (lambda text: _retype_first_atom(text, "Xx"), "'Xx'"),
        (lambda text: text.replace(" 11.317 ", "    nan ", 1), "non-finite"),
        (lambda text: "ROOT\n" + text, "not a rigid receptor"),
    ],
)
def test_receptor_pdbqt_with_bad_atom_lines_is_refused(receptor_1iep, change, message):
    with pytest.raises(InputError, match=message) as caught:
        check_receptor(change(receptor_1iep.pdbqt), "pdbqt")
    assert caught.value.field == "receptor"


@pytest.mark.parametrize("fmt", ["ent", "mol2", "sdf", ""])
def test_unknown_receptor_format_is_unsupported(example, fmt: str):
    with pytest.raises(UnsupportedFileError) as caught:
        check_receptor(example["receptor"].read_text(), fmt)
    assert caught.value.field == "receptor"
    assert RECEPTOR_FORMATS == ("pdb", "cif", "mmcif", "pdbqt")
