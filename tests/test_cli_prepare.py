"""``dockyard prepare``, run for real on raw PDB files from tests/data."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dockyard.cli import app
from tests.conftest import EXAMPLE, TEST_DATA

runner = CliRunner()
FOLDER = TEST_DATA / "posebusters" / "1ia1"
RAW = str(FOLDER / "1ia1_protein_one_lig_removed.pdb")
LIGAND = str(FOLDER / "1ia1_ligand.sdf")


def test_prepare_writes_files_and_prints_the_report(tmp_path):
    out = tmp_path / "prepared"
    result = runner.invoke(
        app,
        ["prepare", "--receptor", RAW, "--ligand", LIGAND, "--autobox-ligand", LIGAND,
         "--padding", "5", "--keep-hetero", "cofactors", "--pockets", "--out-dir", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Receptor preparation" in result.output
    assert "ASP A:105: side chain rebuilt" in result.output
    assert "NDP A:193 (cofactor)" in result.output
    assert "Detected pockets" in result.output and "Box (reference_ligand)" in result.output
    assert {path.name for path in out.iterdir()} == {
        "receptor.pdbqt", "receptor.pdb", "ligand.pdbqt", "ligand.sdf", "report.json",
    }  # fmt: skip
    summary = json.loads((out / "report.json").read_text())
    assert summary["receptor_report"]["hetero_groups_removed"] == ["TQ3 A:194"]
    assert summary["box_source"] == "reference_ligand" and summary["pockets"]
    assert "NDP" in (out / "receptor.pdbqt").read_text()


def test_prepare_json_for_the_example():
    result = runner.invoke(
        app,
        ["prepare", "--receptor", str(EXAMPLE / "1iep_receptorH.pdb"), "--smiles",
         "OC(=O)c1ccccc1", "--center", "15.19", "53.90", "16.92", "--size", "14", "14", "14",
         "--ph", "7.4", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ligand"]["smiles"] == "O=C([O-])c1ccccc1"
    assert data["box"]["size_x"] == 14 and data["pockets"] == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "exactly one of --receptor or --pdb-id"),
        (["--pdb-id", "1IEP"], "needs the internet, which is off"),
        (["--pdb-id", "not an id!"], "neither a PDB id"),
        (["--receptor", RAW, "--smiles", "OB(O)c1ccccc1"], "B (atom 2)"),
        (["--receptor", RAW, "--ph", "20"], "ph must be from 0 to 14"),
        (["--receptor", RAW, "--center", "0", "0", "0"], "both --center and --size"),
        (["--receptor", RAW, "--residues", "A:9999"], "no residue A:9999"),
    ],
)
def test_prepare_errors_are_one_clear_line(arguments, message):
    result = runner.invoke(app, ["prepare", *arguments])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
