"""Real molecules for the science tests: 1IEP prepared once, one small docking shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.chem import (
    Box,
    DockingOptions,
    DockingResult,
    PreparedLigand,
    PreparedReceptor,
    dock,
    example_paths,
    ligand_from_smiles,
    prepare_receptor,
)

DATA = Path(__file__).parent / "data"

# The imatinib pocket of 1IEP, narrowed to 14 Å: a small ligand docks there in about a second.
POCKET = Box(center=(15.19, 53.90, 16.92), size=(14.0, 14.0, 14.0))
BENZAMIDE = "NC(=O)c1ccccc1"
FAST = DockingOptions(exhaustiveness=2, num_poses=5, seed=42)


@pytest.fixture(scope="session")
def example() -> dict[str, Path]:
    return example_paths()


@pytest.fixture(scope="session")
def receptor_1iep(example: dict[str, Path]) -> PreparedReceptor:
    return prepare_receptor(example["receptor"].read_text(), "pdb")


@pytest.fixture(scope="session")
def benzamide() -> PreparedLigand:
    return ligand_from_smiles(BENZAMIDE, name="benzamide")


@pytest.fixture(scope="session")
def docked(receptor_1iep: PreparedReceptor, benzamide: PreparedLigand) -> DockingResult:
    return dock(receptor_1iep, benzamide, POCKET, FAST)
