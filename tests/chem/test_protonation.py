"""Residue protonation from PROPKA's pKa values, on real complexes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dockyard.chem import PreparationOptions, prepare_receptor
from dockyard.chem.receptor import pka, states
from dockyard.chem.receptor.pka import propka_pkas
from dockyard.chem.receptor.prepare import _prepare_cached
from dockyard.chem.receptor.read import read_structure
from tests.conftest import TEST_DATA


def raw(pdb_id: str) -> str:
    return (
        TEST_DATA / "posebusters" / pdb_id / f"{pdb_id}_protein_one_lig_removed.pdb"
    ).read_text()


def without_hydrogens(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if line[76:78].strip() != "H")


def atoms_of(pdb: str, resname: str, chain: str, number: int) -> set[str]:
    wanted = f"{resname} {chain}{number:>4}"
    return {line[12:16].strip() for line in pdb.splitlines() if line[17:26] == wanted}


@pytest.fixture
def uncached():
    """Preparations run afresh: the cache would answer with an earlier PROPKA result."""
    _prepare_cached.cache_clear()
    yield
    _prepare_cached.cache_clear()


@pytest.fixture(scope="module")
def pkas_1iep(example: dict[str, Path]) -> dict[tuple[str, str], float]:
    return propka_pkas(read_structure(example["receptor"].read_text(), "pdb"))


def test_propka_pkas_of_1iep_are_plausible(pkas_1iep):
    carboxylates = {k: v for k, v in pkas_1iep.items() if k[0] in ("ASP", "GLU")}
    assert len(carboxylates) == 12 + 27
    assert pkas_1iep[("ASP", "A:226")] < 5  # next to the N-terminus, in the solvent
    assert sum(value < 5 for value in carboxylates.values()) >= 30
    lysines = [value for (group, _), value in pkas_1iep.items() if group == "LYS"]
    assert len(lysines) == 19 and min(lysines) > 9
    # The histidine of the HRD motif, packed against the catalytic loop's aspartate.
    assert 7.4 < pkas_1iep[("HIS", "A:361")] < 9


def test_propka_runs_quietly_and_keeps_long_chain_names(capfd):
    structure = read_structure(raw("1s3v"), "pdb")
    by_pdb = propka_pkas(structure)
    structure[0][0].name = "AB"  # as mmCIF allows; PROPKA reads one character
    assert propka_pkas(structure)[("ASP", "AB:21")] == by_pdb[("ASP", "A:21")] < 5
    assert capfd.readouterr() == ("", "")


def test_a_histidine_propka_finds_charged_is_hip_and_reported(example):
    prepared = prepare_receptor(without_hydrogens(example["receptor"].read_text()), "pdb")
    protonation = prepared.report["protonation"]
    assert protonation["pka_from"].startswith("PROPKA 3.")
    assert "HIS A:361 protonated (pKa 7.6 at pH 7.4)" in protonation["differs_from_model_pka"]
    assert protonation["histidines"]["HIP"] >= 1
    assert {"HD1", "HE2"} <= atoms_of(prepared.pdb, "HIP", "A", 361)
    assert prepared.report["warnings"] == []


def test_a_histidine_bound_to_a_metal_is_never_hip(example):
    """A zinc 2.1 Å from NE2 of HIS A:361 (charged by PROPKA) takes the place of its proton."""
    lines = without_hydrogens(example["receptor"].read_text()).splitlines()
    ring = {
        line[12:16].strip(): np.array([float(line[i : i + 8]) for i in (30, 38, 46)])
        for line in lines
        if line[17:26] == "HIS A 361" and line[12:16].strip() in ("CG", "ND1", "CD2", "CE1", "NE2")
    }
    outward = ring["NE2"] - np.mean(list(ring.values()), axis=0)
    x, y, z = ring["NE2"] + 2.1 * outward / np.linalg.norm(outward)
    zinc = f"HETATM 9999 ZN    ZN A 901    {x:8.3f}{y:8.3f}{z:8.3f}  1.00 20.00          ZN"
    text = "\n".join([*lines, zinc]) + "\n"
    prepared = prepare_receptor(text, "pdb", options=PreparationOptions(keep_hetero="metals"))
    protonation = prepared.report["protonation"]
    assert (
        "HIS A:361 protonated (pKa 7.6 at pH 7.4), kept neutral (it binds a metal)"
        in protonation["differs_from_model_pka"]
    )
    histidine = atoms_of(prepared.pdb, "HID", "A", 361)  # H on ND1, none on NE2 by the zinc
    assert "HD1" in histidine and "HE2" not in histidine


def test_a_buried_glutamate_stays_protonated_at_ph_7_4():
    prepared = prepare_receptor(raw("1uou"), "pdb")
    protonation = prepared.report["protonation"]
    assert "GLU A:225 protonated (pKa 10.8 at pH 7.4)" in protonation["differs_from_model_pka"]
    assert "GLU A:225 as GLH" in protonation["changed"]
    assert "HE2" in atoms_of(prepared.pdb, "GLH", "A", 225)


def test_propka_failure_falls_back_to_model_pka_and_says_so(monkeypatch, tmp_path, uncached, capfd):
    missing = tmp_path / "propka.cfg"
    monkeypatch.setattr(pka, "PROPKA_ARGS", (*pka.PROPKA_ARGS, f"--parameters={missing}"))
    report = prepare_receptor(raw("1s3v"), "pdb", options=PreparationOptions(ph=5.0)).report
    protonation = report["protonation"]
    assert protonation["pka_from"] == "model pKa values"
    assert "differs_from_model_pka" not in protonation
    assert "changed" not in protonation  # GLU A:30 (PROPKA's pKa 7.2) follows the model 4.2
    assert protonation["histidines"] == {"HIP": 3}
    (warning,) = [line for line in report["warnings"] if "PROPKA" in line]
    assert warning.startswith("PROPKA failed (FileNotFoundError: ")
    assert warning.endswith(
        "residue states are from model pKa values (ASP 3.9, GLU 4.2, HIS 6.0, CYS 8.3, LYS 10.5)."
    )
    assert capfd.readouterr().out == ""


def test_a_receptor_too_large_for_propka_takes_model_pka(monkeypatch, uncached):
    monkeypatch.setattr(states, "PROPKA_MAX_RESIDUES", 100)
    report = prepare_receptor(raw("1s3v"), "pdb", options=PreparationOptions(ph=5.0)).report
    assert report["protonation"]["pka_from"] == "model pKa values"
    assert "changed" not in report["protonation"]
    assert any(
        line.startswith("PROPKA was not run: the receptor has 186 residues, more than 100")
        for line in report["warnings"]
    )


def test_residues_with_hydrogens_from_the_input_need_no_propka(receptor_1iep):
    protonation = receptor_1iep.report["protonation"]
    assert protonation["pka_from"] == "the input (every titratable residue carries hydrogens)"
    assert "differs_from_model_pka" not in protonation
    assert not any("PROPKA" in line for line in receptor_1iep.report["warnings"])
