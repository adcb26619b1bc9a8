"""The packaged "Try an example" data: Abl kinase (1IEP) with imatinib, from Vina's tutorial."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dockyard.chem.core.box import Box

EXAMPLE_FILES = {
    "receptor": "1iep_receptorH.pdb",
    "ligand": "1iep_ligand.sdf",
    "box": "1iep_box.txt",
}


def example_paths() -> dict[str, Path]:
    """Paths of the example receptor (PDB), ligand (SDF) and box (Vina config) files."""
    folder = Path(str(resources.files("dockyard").joinpath("examples", "1iep")))
    return {role: folder / name for role, name in EXAMPLE_FILES.items()}


def example_box() -> Box:
    """The box of Vina's tutorial for 1IEP."""
    return Box.from_config(example_paths()["box"].read_text())
