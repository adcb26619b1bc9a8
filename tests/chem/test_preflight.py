"""The pre-flight check: every box source, pockets, warnings, and what a submission refuses."""

from __future__ import annotations

import math

import pytest

from dockyard.chem import (
    Box,
    InputFile,
    PreflightRequest,
    PreparationOptions,
    box_around_ligand,
    find_pockets,
    preflight,
)
from dockyard.chem.core.box import OPTIMAL_SIZE_PER_RG
from dockyard.errors import InputError
from tests.conftest import TEST_DATA

from .conftest import BENZAMIDE

TUTORIAL = dict(center_x=15.19, center_y=53.903, center_z=16.917, size_x=20, size_y=20, size_z=20)
IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"


@pytest.fixture(scope="module")
def receptor_file(example) -> InputFile:
    return InputFile(example["receptor"].read_text(), "pdb")


def run(receptor_file: InputFile, strict: bool = False, **fields) -> object:
    return preflight(PreflightRequest(receptor=receptor_file, **fields), strict=strict)


def test_explicit_box_with_smiles(receptor_file):
    result = run(receptor_file, smiles=BENZAMIDE, box=TUTORIAL)
    data = result.to_dict()
    assert set(data) == {"receptor", "ligand", "box", "box_source", "pockets", "warnings"}
    assert data["box"] == pytest.approx({**TUTORIAL, "size_x": 20.0, "size_y": 20.0})
    assert data["box_source"] == "explicit"
    assert data["pockets"] == []
    assert data["receptor"]["format"] == "pdb"
    assert data["receptor"]["report"]["residues"] == 274
    assert data["receptor"]["pdbqt"].count("ATOM") > 2000
    assert data["receptor"]["pdb"].count(" H\n") > 2000 or " H " in data["receptor"]["pdb"]
    ligand = data["ligand"]
    assert ligand["smiles"] == "NC(=O)c1ccccc1" and ligand["num_heavy_atoms"] == 9
    assert "TORSDOF" in ligand["pdbqt"] and ligand["sdf"].endswith("$$$$\n")


def test_no_box_lists_pockets_and_the_best_is_the_imatinib_site(receptor_file, example):
    result = run(receptor_file)
    assert result.box is None and result.box_source is None
    pockets = result.to_dict()["pockets"]
    assert [pocket["rank"] for pocket in pockets] == list(range(1, len(pockets) + 1))
    best = pockets[0]
    assert set(best) == {"rank", "center", "size", "volume", "depth", "score", "residues"}
    assert best["volume"] > 500 and best["score"] == max(p["score"] for p in pockets)
    site = box_around_ligand(example["ligand"].read_text(), "sdf")
    assert Box(center=best["center"], size=best["size"]).distance_to([site.center]) == 0
    assert "A:THR:315" in best["residues"]  # the gatekeeper lines the imatinib pocket


def test_pocket_rank_is_a_box(receptor_file):
    pockets = find_pockets(run(receptor_file, box=TUTORIAL).receptor.pdb)
    result = run(receptor_file, pocket="1", smiles=BENZAMIDE)
    assert result.box_source == "pocket"
    assert result.box == pockets[0].box
    with pytest.raises(InputError, match="no pocket 99") as caught:
        run(receptor_file, pocket="99")
    assert caught.value.field == "pocket"


def test_box_around_residues(receptor_file):
    result = run(receptor_file, box_residues="A:THR:315, GLU A:286; A:290", padding="5")
    assert result.box_source == "residues"
    assert all(12 < side < 40 for side in result.box.size)
    assert math.dist(result.box.center, (15.19, 53.9, 16.92)) < 8
    for residues, message in [
        ("A:999", "no residue A:999"),
        ("A:GLY:315", "A:315 of the receptor is THR, not GLY"),
        ("THR315", "is not a residue"),
    ]:
        with pytest.raises(InputError, match=message) as caught:
            run(receptor_file, box_residues=residues)
        assert caught.value.field == "box_residues"


def test_blind_docking_covers_the_protein_and_warns(receptor_file):
    result = run(receptor_file, blind=True, smiles=BENZAMIDE)
    assert result.box_source == "protein"
    assert min(result.box.size) > 40
    assert any(warning.startswith("Blind docking") for warning in result.warnings)
    assert any("over 30 Å" in warning for warning in result.warnings)


def test_box_far_from_the_protein_warns_in_preflight_and_is_refused_on_submit(receptor_file):
    far = {**TUTORIAL, "center_x": 95.0}
    result = run(receptor_file, smiles=BENZAMIDE, box=far)
    assert any("does not touch the protein" in warning for warning in result.warnings)
    with pytest.raises(InputError, match="does not touch the protein") as caught:
        run(receptor_file, strict=True, smiles=BENZAMIDE, box=far)
    assert caught.value.field == "center_x"


def test_box_too_small_for_the_ligand_warns(receptor_file):
    small = {**TUTORIAL, "size_x": 10, "size_y": 10, "size_z": 10}
    result = run(receptor_file, smiles=IMATINIB, box=small)
    (warning,) = [w for w in result.warnings if "small for this ligand" in w]
    assert "radius of gyration" in warning
    roomy = run(receptor_file, smiles=IMATINIB, box=TUTORIAL)
    assert not any("small for this ligand" in w for w in roomy.warnings)


def test_fit_warning_follows_the_radius_of_gyration():
    line = [(float(i), 0.0, 0.0) for i in range(11)]  # 10 Å long, radius of gyration 3.16 Å
    needed = OPTIMAL_SIZE_PER_RG * math.sqrt(10)
    assert Box(center=(5, 0, 0), size=(needed + 0.1,) * 3).fit_warnings(line) == []
    assert Box(center=(5, 0, 0), size=(needed - 0.5,) * 3).fit_warnings(line)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"box": TUTORIAL, "blind": True}, "blind"),
        ({"box_residues": "A:315", "pocket": "1"}, "pocket"),
    ],
)
def test_only_one_box_source(receptor_file, fields, field):
    with pytest.raises(InputError, match="Give one box") as caught:
        run(receptor_file, **fields)
    assert caught.value.field == field


def test_submission_needs_a_ligand_and_a_box(receptor_file):
    with pytest.raises(InputError, match="center_x is required") as caught:
        run(receptor_file, strict=True, smiles=BENZAMIDE)
    assert caught.value.field == "center_x"
    with pytest.raises(InputError, match="A ligand is required") as caught:
        run(receptor_file, strict=True, box=TUTORIAL)
    assert caught.value.field == "ligand"


def test_ligand_vina_cannot_type_is_refused_naming_the_atom(receptor_file):
    with pytest.raises(InputError, match=r"B \(atom 2\)") as caught:
        run(receptor_file, smiles="OB(O)c1ccccc1", box=TUTORIAL)
    assert caught.value.field == "smiles"


def test_receptor_that_cannot_be_prepared_is_refused(receptor_file):
    broken = "\n".join(
        line[:17] + "XYZ" + line[20:] if line[17:26] == "THR A 315" else line
        for line in receptor_file.text.splitlines()
    )
    with pytest.raises(InputError, match="XYZ A:315") as caught:
        run(InputFile(broken, "pdb"), strict=True, smiles=BENZAMIDE, box=TUTORIAL)
    assert caught.value.field == "receptor"


def test_options_reach_the_ligand(receptor_file):
    options = PreparationOptions(ph=None, stereo="enumerate")
    result = run(receptor_file, smiles="CC(O)C(=O)O", box=TUTORIAL, options=options)
    assert result.ligand.smiles in ("C[C@H](O)C(=O)O", "C[C@@H](O)C(=O)O")
    assert len(result.ligand.isomers) == 1
    assert result.to_dict()["ligand"]["stereoisomers"][1] == result.ligand.isomers[0].smiles


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"ph": "15"}, "ph"),
        ({"ph": "acid"}, "ph"),
        ({"altloc": "AB"}, "altloc"),
        ({"stereo": "guess"}, "stereo"),
        ({"keep_waters": "somewhere"}, "keep_waters"),
        ({"keep_hetero": "cofactors!"}, "keep_hetero"),
    ],
)
def test_bad_preparation_options_name_the_field(values, field):
    with pytest.raises(InputError) as caught:
        PreparationOptions.from_fields(values)
    assert caught.value.field == field


def test_preparation_options_from_form_strings():
    options = PreparationOptions.from_fields(
        {"ph": "none", "keep_waters": "A:301, HOH B:12", "keep_hetero": "ndp, A:193"}
    )
    assert options.ph is None
    assert options.keep_waters == ("A:301", "B:12")
    assert options.keep_hetero == ("NDP", "A:193")
    assert PreparationOptions.from_fields({"keep_waters": "all"}).keeps_all_waters
    assert PreparationOptions.from_fields({}).ph == 7.4


def test_raw_posebusters_complex_preflights_with_a_reference_ligand():
    folder = TEST_DATA / "posebusters" / "1ia1"
    result = preflight(
        PreflightRequest(
            receptor=InputFile((folder / "1ia1_protein_one_lig_removed.pdb").read_text(), "pdb"),
            ligand=InputFile((folder / "1ia1_ligand.sdf").read_text(), "sdf"),
            reference_ligand=InputFile((folder / "1ia1_ligand.sdf").read_text(), "sdf"),
            padding="5",
            pockets=True,
        ),
        strict=True,
    )
    assert result.box_source == "reference_ligand"
    assert result.pockets and result.pockets[0].box.distance_to([result.box.center]) == 0
    assert len(result.receptor.report["residues_rebuilt"]) == 2
