"""Raw PDB files as users upload them: the four PoseBusters complexes and edits of them."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gemmi
import pytest
from vina import Vina

from dockyard.chem import Box, PreparationOptions, box_around_ligand, prepare_receptor
from dockyard.chem.core.pdbqt import read_atoms
from dockyard.chem.receptor.clean import clean
from dockyard.chem.receptor.prepare import _meeko_polymer
from dockyard.chem.receptor.read import read_structure
from dockyard.chem.receptor.repair import find_distortions, repair
from dockyard.errors import InputError
from tests.conftest import TEST_DATA

POSEBUSTERS = TEST_DATA / "posebusters"


def raw(pdb_id: str) -> str:
    return (POSEBUSTERS / pdb_id / f"{pdb_id}_protein_one_lig_removed.pdb").read_text()


def crystal_box(pdb_id: str, padding: float = 5.0) -> Box:
    text = (POSEBUSTERS / pdb_id / f"{pdb_id}_ligand.sdf").read_text()
    return box_around_ligand(text, "sdf", padding=padding)


def vina_reads(pdbqt: str) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "receptor.pdbqt"
        path.write_text(pdbqt)
        Vina(verbosity=0).set_receptor(rigid_pdbqt_filename=str(path))
    return True


@pytest.fixture(scope="module")
def prepared_1ia1():
    return prepare_receptor(raw("1ia1"), "pdb", options=PreparationOptions(keep_hetero="none"))


def test_1ia1_clashing_aspartates_are_rebuilt_not_dropped(prepared_1ia1):
    """Meeko alone drops SER A:104/ASP A:105 and ASP B:170; their side chains are rebuilt."""
    report = prepared_1ia1.report
    rebuilt = report["residues_rebuilt"]
    assert [line.split(":")[0] + ":" + line.split(":")[1] for line in rebuilt] == [
        "ASP A:105",
        "ASP B:170",
    ]
    assert "1.5 Å from O of SER A:104" in rebuilt[0]
    assert report["residues_removed"] == []
    assert report["residues"] == 384
    assert sorted(report["hetero_groups_removed"]) == ["NDP A:193", "NDP B:195", "TQ3 A:194"]
    assert report["hydrogens_in_input"] == 0 and report["hydrogens_added"] > 3000
    assert report["protonation"]["ph"] == 7.4
    assert sum(report["protonation"]["histidines"].values()) == 6
    assert vina_reads(prepared_1ia1.pdbqt)
    hydrogens = [line for line in prepared_1ia1.pdb.splitlines() if line.endswith(" H ")]
    assert len(hydrogens) == report["hydrogens_added"]


def test_1ia1_cofactor_is_kept_and_typed_on_request():
    prepared = prepare_receptor(
        raw("1ia1"), "pdb", options=PreparationOptions(keep_hetero="cofactors")
    )
    report = prepared.report
    assert report["hetero_groups_kept"] == ["NDP B:195 (cofactor)", "NDP A:193 (cofactor)"]
    assert report["hetero_groups_removed"] == ["TQ3 A:194"]
    ndp = [atom for atom in read_atoms(prepared.pdbqt, "receptor") if atom.resname == "NDP"]
    types = {atom.ad_type for atom in ndp}
    assert {"P", "OA", "HD", "NA", "A", "C"} <= types  # typed from its bond-order template
    assert sum(not atom.is_hydrogen for atom in ndp) == 2 * 48
    assert vina_reads(prepared.pdbqt)
    named = prepare_receptor(raw("1ia1"), "pdb", options=PreparationOptions(keep_hetero="TQ3"))
    assert named.report["hetero_groups_kept"] == [
        "TQ3 A:194 (cofactor: not a known cofactor, typed from elements only (no polar hydrogens))"
    ]
    assert vina_reads(named.pdbqt)


def test_1of6_distorted_lysine_is_rebuilt_so_meeko_accepts_it():
    structure = read_structure(raw("1of6"), "pdb")
    clean(structure, PreparationOptions())
    distorted = find_distortions(structure)
    assert {"A:93", "B:114", "C:185", "D:114"} <= set(distorted)
    fixed = repair(structure, distorted)
    assert any(line.startswith("LYS A:93: side chain rebuilt") for line in fixed.rebuilt)
    assert find_distortions(structure) == {}
    excerpt = gemmi.Structure()
    model = gemmi.Model("1")
    chain = gemmi.Chain("A")
    for residue in structure[0]["A"]:
        if 88 <= residue.seqid.num <= 98:
            chain.add_residue(residue)
    model.add_chain(chain)
    excerpt.add_model(model)
    polymer, _ = _meeko_polymer(excerpt.make_pdb_string(gemmi.PdbWriteOptions(minimal=True)))
    assert polymer.get_ignored_monomers() == {}
    assert "A:93" in polymer.get_valid_monomers()


def test_1of6_with_a_box_keeps_only_the_surroundings_of_the_box():
    prepared = prepare_receptor(raw("1of6"), "pdb", box=crystal_box("1of6"))
    report = prepared.report
    assert report["residues_left_out_far_from_box"] > 2000
    assert "left out" in report["warnings"][0]
    assert report["protonation"]["pka_from"].startswith("PROPKA")  # on what is left
    assert report["residues_removed"] == []
    assert vina_reads(prepared.pdbqt)


@pytest.mark.slow
def test_1of6_whole_octamer_prepares():
    report = prepare_receptor(raw("1of6"), "pdb").report
    assert report["residues"] == 2770 and report["residues_removed"] == []
    assert len(report["residues_rebuilt"]) == 13
    assert any(line.startswith("PROPKA was not run") for line in report["warnings"])


@pytest.mark.parametrize("pdb_id", ["1s3v", "1uou"])
def test_other_raw_complexes_prepare_without_a_box(pdb_id: str):
    prepared = prepare_receptor(raw(pdb_id), "pdb")
    assert prepared.report["residues_removed"] == []
    assert prepared.report["hydrogens_added"] > 1000
    assert vina_reads(prepared.pdbqt)


def test_chain_breaks_are_reported():
    report = prepare_receptor(raw("1uou"), "pdb").report
    assert report["chain_breaks"] == [
        "GLY A:237 to ALA A:240 (2 residues missing)",
        "ALA A:406 to LEU A:415 (8 residues missing)",
    ]
    assert any("2 chain breaks" in warning for warning in report["warnings"])


def test_mmcif_prepares_like_the_pdb():
    structure = gemmi.read_pdb_string(raw("1s3v"))
    structure.setup_entities()
    cif = structure.make_mmcif_document().as_string()
    from_cif = prepare_receptor(cif, "cif")
    from_pdb = prepare_receptor(raw("1s3v"), "pdb")
    assert from_cif.report["source_format"] == "cif"
    assert from_cif.report["atoms"] == from_pdb.report["atoms"]
    assert prepare_receptor(cif, "mmcif").report["atoms"] == from_pdb.report["atoms"]


def _edit(text: str, keep) -> str:
    return "\n".join(line for line in text.splitlines() if keep(line)) + "\n"


def test_missing_side_chain_atoms_are_added():
    def keep(line: str) -> bool:
        is_lys = line.startswith("ATOM") and line[17:26] == "LYS A  18"
        return not (is_lys and line[12:16].strip() in ("CD", "CE", "NZ"))

    prepared = prepare_receptor(_edit(raw("1s3v"), keep), "pdb")
    assert prepared.report["atoms_added"] == ["LYS A:18: added missing atoms CD, CE, NZ"]
    lys = {line[12:16].strip() for line in prepared.pdb.splitlines() if line[17:26] == "LYS A  18"}
    assert {"CD", "CE", "NZ", "HZ1", "HZ2", "HZ3"} <= lys


def test_alternate_locations_keep_the_highest_occupancy_or_the_one_asked_for():
    lines = []
    for line in raw("1s3v").splitlines():
        if line.startswith("ATOM") and line[17:26] == "MET A  14" and line[12:16].strip() == "CE":
            moved = f"{float(line[30:38]) + 0.25:8.3f}"
            lines.append(line[:16] + "A" + line[17:54] + "  0.30" + line[60:])
            lines.append(line[:16] + "B" + line[17:30] + moved + line[38:54] + "  0.70" + line[60:])
        else:
            lines.append(line)
    text = "\n".join(lines) + "\n"
    best = prepare_receptor(text, "pdb")
    assert best.report["altloc_residues"] == 1
    assert "kept the highest-occupancy location" in best.report["warnings"][0]
    chosen = prepare_receptor(text, "pdb", options=PreparationOptions(altloc="A"))
    assert "kept alternate location A" in chosen.report["warnings"][0]

    def sd_x(prepared) -> float:
        (line,) = [
            line
            for line in prepared.pdb.splitlines()
            if line[17:26] == "MET A  14" and line[12:16].strip() == "CE"
        ]
        return float(line[30:38])

    assert sd_x(best) - sd_x(chosen) == pytest.approx(0.25, abs=0.01)


@pytest.mark.parametrize(
    ("ph", "histidine", "changed"),
    [
        (7.4, None, None),
        (5.0, "HIP", "GLU A:30 as GLH"),  # PROPKA: pKa 7.2, not the model 4.2
        (3.0, "HIP", "ASP A:21 as ASH"),
        (11.0, None, "LYS A:18 as LYN"),
    ],
)
def test_residue_protonation_follows_the_ph(ph, histidine, changed):
    report = prepare_receptor(raw("1s3v"), "pdb", options=PreparationOptions(ph=ph)).report
    states = report["protonation"]
    assert states["ph"] == ph
    if histidine:
        assert set(states["histidines"]) == {histidine}
    else:
        assert set(states["histidines"]) <= {"HID", "HIE"}
    if changed:
        assert changed in states["changed"]
    else:
        assert "changed" not in states


def test_selenomethionine_is_read_as_methionine():
    lines = []
    for line in raw("1s3v").splitlines():
        if line[17:26] == "MET A  14":
            line = "HETATM" + line[6:17] + "MSE" + line[20:]
            if line[12:16].strip() == "SD":
                line = line[:12] + " SE " + line[16:76] + "SE"
        lines.append(line)
    report = prepare_receptor("\n".join(lines) + "\n", "pdb").report
    assert report["nonstandard_residues"] == ["MSE A:14 read as MET"]
    assert report["residues"] == 186


def test_unknown_residue_is_dropped_far_from_the_box_and_refused_near_it():
    text = "\n".join(
        line[:17] + "XYZ" + line[20:] if line[17:26] == "LYS A  80" else line
        for line in raw("1s3v").splitlines()
    )
    with pytest.raises(InputError, match="XYZ A:80 \\(no residue template") as caught:
        prepare_receptor(text, "pdb")
    assert caught.value.field == "receptor"
    far = Box(center=(40.0, 60.0, 40.0), size=(10, 10, 10))
    xyz = next(line for line in text.splitlines() if "XYZ" in line)
    x, y, z = (float(xyz[i : i + 8]) for i in (30, 38, 46))
    near = Box(center=(x, y, z), size=(10, 10, 10))
    assert far.distance_to([(x, y, z)]) > 8
    report = prepare_receptor(text, "pdb", box=far).report
    assert report["residues_removed"] == ["XYZ A:80: no residue template has this name"]
    with pytest.raises(InputError, match="within 8 Å of the docking box"):
        prepare_receptor(text, "pdb", box=near)


def test_preparations_are_remembered_but_returned_as_copies():
    first = prepare_receptor(raw("1s3v"), "pdb")
    first.report["warnings"].append("changed by the caller")
    second = prepare_receptor(raw("1s3v"), "pdb")
    assert "changed by the caller" not in second.report["warnings"]
    assert second.pdbqt == first.pdbqt
