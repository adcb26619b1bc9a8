"""keep_hetero=auto on real complexes: metals and cofactors that line the box are kept and
typed, far ones and every other hetero group removed, the report saying which and why."""

from __future__ import annotations

import pytest

from dockyard.chem import PreparationOptions, box_around_ligand, prepare_receptor
from dockyard.chem.core.pdbqt import read_atoms
from dockyard.errors import InputError
from tests.conftest import TEST_DATA

POSEBUSTERS = TEST_DATA / "posebusters"
REDOCK = TEST_DATA / "redock"


def _box(ligand_sdf: str):
    return box_around_ligand(ligand_sdf, "sdf", padding=4.0)


def test_auto_is_the_default_and_old_values_still_parse():
    assert PreparationOptions().keep_hetero == "auto"
    assert PreparationOptions.from_fields({"keep_hetero": ""}).keep_hetero == "auto"
    for value in ("none", "metals", "cofactors", "AUTO"):
        assert PreparationOptions(keep_hetero=value).keep_hetero == value.lower()
    with pytest.raises(InputError) as caught:
        PreparationOptions(keep_hetero="automatic!")
    assert caught.value.field == "keep_hetero"


def test_1ia1_cofactor_next_to_the_ligand_is_kept_the_far_copy_removed():
    """DHFR dimer: the NADPH of chain B lines the TQ3 site, the one of chain A is 32 Å off."""
    folder = POSEBUSTERS / "1ia1"
    box = _box((folder / "1ia1_ligand.sdf").read_text())
    prepared = prepare_receptor(
        (folder / "1ia1_protein_one_lig_removed.pdb").read_text(), "pdb", box=box
    )
    report = prepared.report
    assert report["hetero_groups_kept"] == ["NDP B:195 (cofactor, in the box)"]
    removed = report["hetero_groups_removed"]
    assert "TQ3 A:194" in removed  # another copy of the ligand: never kept by auto
    assert any(line.startswith("NDP A:193: cofactor 32.") for line in removed), removed
    assert report["keep_hetero"].startswith("auto: kept metal ions and known cofactors within 4")
    ndp = [atom for atom in read_atoms(prepared.pdbqt, "receptor") if atom.resname == "NDP"]
    assert {atom.chain for atom in ndp} == {"B"}
    assert {"P", "OA", "HD", "NA", "A"} <= {atom.ad_type for atom in ndp}  # template-typed


def test_6zpb_metal_at_the_ligand_is_kept_a_far_one_removed():
    """PDB 6ZPB: three cobalt ions; A:203 binds the ligand (2.2 Å), A:204 is 19 Å away."""
    folder = REDOCK / "6zpb"
    box = _box((folder / "ligand.sdf").read_text())
    prepared = prepare_receptor((folder / "protein.cif").read_text(), "cif", box=box)
    report = prepared.report
    assert "CO A:203 (ion, in the box)" in report["hetero_groups_kept"]
    assert "CO A:203" in report["ions_kept"] and "CO A:204" not in report["ions_kept"]
    far = [line for line in report["hetero_groups_removed"] if line.startswith("CO A:204")]
    assert far and "from the box, beyond the 4 Å keep_hetero=auto keeps" in far[0]
    cobalt = [atom for atom in read_atoms(prepared.pdbqt, "receptor") if atom.resname == "CO"]
    assert {atom.resnum for atom in cobalt} == {"202", "203"}
    assert {atom.ad_type for atom in cobalt} == {"Co"}


def test_without_a_box_auto_keeps_every_metal_and_cofactor_and_none_keeps_none():
    text = (POSEBUSTERS / "1ia1" / "1ia1_protein_one_lig_removed.pdb").read_text()
    auto = prepare_receptor(text, "pdb").report
    assert sorted(auto["hetero_groups_kept"]) == [
        "NDP A:193 (cofactor, no box given)",
        "NDP B:195 (cofactor, no box given)",
    ]
    bare = prepare_receptor(text, "pdb", options=PreparationOptions(keep_hetero="none")).report
    assert bare["hetero_groups_kept"] == [] and bare["keep_hetero"] == "removed every hetero group"
