"""Ring conformers: a ligand whose ring puckers is docked from several ring conformations
with one set of maps, a flat one from its single conformer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from meeko import PDBQTMolecule, RDKitMolCreate
from rdkit.Numerics.rdAlignment import GetAlignmentTransform

from dockyard.chem import DockingOptions, DockingSession, PreparedReceptor, ligand_from_smiles
from dockyard.chem.core.progress import DOCKING_PROGRESS, START_LINE, docking_progress
from dockyard.chem.ligand.conformers import RING_RMSD, puckering_rings, ring_conformers
from dockyard.errors import InputError
from dockyard.jobs.params import DockParams

from .conftest import BENZAMIDE, FAST, POCKET

CYCLOHEXANE_AMIDE = "NC(=O)C1CCCCC1"


def _ring_coordinates(pdbqt: str) -> np.ndarray:
    mol = RDKitMolCreate.from_pdbqt_mol(PDBQTMolecule(pdbqt, skip_typing=True))[0]
    ring = sorted({index for ring in puckering_rings(mol) for index in ring})
    return mol.GetConformer().GetPositions()[ring]


def test_a_cyclohexane_ligand_gets_distinct_ring_conformers_a_flat_one_gets_one():
    ring = ligand_from_smiles(CYCLOHEXANE_AMIDE)
    conformers = ring_conformers(ring, 4)
    assert 2 <= len(conformers) <= 4
    assert conformers[0] == ring.pdbqt  # the prepared conformer comes first
    first, second = _ring_coordinates(conformers[0]), _ring_coordinates(conformers[1])
    assert len(first) == 6
    rmsd, _transform = GetAlignmentTransform(first, second)
    assert rmsd >= RING_RMSD  # superposed, the two rings still differ in shape
    assert ring_conformers(ring, 1) == [ring.pdbqt]
    assert ring_conformers(ligand_from_smiles(BENZAMIDE), 4) == [
        ligand_from_smiles(BENZAMIDE).pdbqt
    ]
    assert len(ring_conformers(ligand_from_smiles("c1ccc2ccccc2c1"), 4)) == 1


def test_docking_reports_how_many_ring_conformations_it_docked(receptor_1iep: PreparedReceptor):
    session = DockingSession(receptor_1iep, POCKET, seed=7)
    ring = ligand_from_smiles(CYCLOHEXANE_AMIDE)
    options = dataclasses.replace(FAST, ring_conformers=3)
    result = session.dock(ring, options)
    expected = len(ring_conformers(ring, 3))
    assert expected > 1
    assert result.ring_conformers == expected
    assert result.to_dict()["ring_conformers_docked"] == expected
    assert any("starting ring conformations" in warning for warning in result.warnings)
    single = session.dock(ring, dataclasses.replace(FAST, ring_conformers=1))
    assert single.ring_conformers == 1
    assert result.best_score <= single.best_score + 1e-6  # the first start is among the three
    flat = session.dock(ligand_from_smiles(BENZAMIDE), options)
    assert flat.to_dict()["ring_conformers_docked"] == 1


def test_ring_conformers_is_a_checked_option_a_job_records():
    assert DockingOptions().ring_conformers == 3
    assert DockingOptions.from_fields({"ring_conformers": "1"}).ring_conformers == 1
    for bad in ("0", "9", "two"):
        with pytest.raises(InputError) as caught:
            DockingOptions.from_fields({"ring_conformers": bad})
        assert caught.value.field == "ring_conformers"
    params = DockParams.from_dict({"ring_conformers": 1, "exhaustiveness": 4})
    assert params.docking_options().ring_conformers == 1
    assert DockParams.from_dict({}).docking_options().ring_conformers == 3


def test_progress_read_from_several_bars_only_moves_forward():
    ruler = "0%   10   20   30   40   50   60   70   80   90   100%\n|----|----|----|----|\n"
    first = START_LINE.format(number=1, total=2) + "\n" + ruler
    second = first + "*" * 51 + "\n" + START_LINE.format(number=2, total=2) + "\n"
    low, high = DOCKING_PROGRESS
    seen = [
        docking_progress(first + "*" * 10),
        docking_progress(first + "*" * 51),
        docking_progress(second),  # the second bar has not started
        docking_progress(second + ruler + "*" * 25),
        docking_progress(second + ruler + "*" * 51),
    ]
    assert seen == sorted(seen)
    assert seen[2] == pytest.approx(low + (high - low) / 2)
    assert seen[-1] == pytest.approx(high)
    assert docking_progress(ruler + "*" * 51) == pytest.approx(high)  # one docking, no line
