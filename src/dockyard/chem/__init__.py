"""The science layer: receptors, ligands, boxes, docking with Vina and pose export.

It knows nothing of jobs, HTTP or databases. Boxes and docking options are validated
without the science stack, so ``from dockyard.chem import Box, DockingOptions`` stays
cheap in the web process; names needing Vina, Meeko, RDKit or gemmi load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from dockyard.chem.box import BOX_FIELDS, MAX_BOX_SIDE, REFERENCE_FORMATS, Box
from dockyard.chem.examples import example_box, example_paths
from dockyard.chem.options import SCORING_FUNCTIONS, DockingOptions
from dockyard.chem.prep_options import PreparationOptions
from dockyard.chem.versions import versions

if TYPE_CHECKING:
    from dockyard.chem.docking import Docker, DockingResult, StageCallback, dock
    from dockyard.chem.ligand import (
        LIGAND_FORMATS,
        PreparedLigand,
        ligand_from_file,
        ligand_from_smiles,
        read_reference_coordinates,
    )
    from dockyard.chem.pockets import Pocket, find_pockets
    from dockyard.chem.poses import Pose
    from dockyard.chem.preparation import InputFile, Preflight, PreflightRequest, preflight
    from dockyard.chem.receptor import (
        RECEPTOR_FORMATS,
        PreparedReceptor,
        check_receptor,
        prepare_receptor,
    )

_LAZY = {
    "Docker": "docking",
    "DockingResult": "docking",
    "StageCallback": "docking",
    "dock": "docking",
    "LIGAND_FORMATS": "ligand",
    "PreparedLigand": "ligand",
    "ligand_from_file": "ligand",
    "ligand_from_smiles": "ligand",
    "read_reference_coordinates": "ligand",
    "Pocket": "pockets",
    "find_pockets": "pockets",
    "Pose": "poses",
    "InputFile": "preparation",
    "Preflight": "preparation",
    "PreflightRequest": "preparation",
    "preflight": "preparation",
    "RECEPTOR_FORMATS": "receptor",
    "PreparedReceptor": "receptor",
    "check_receptor": "receptor",
    "prepare_receptor": "receptor",
}

__all__ = [
    "BOX_FIELDS",
    "LIGAND_FORMATS",
    "MAX_BOX_SIDE",
    "RECEPTOR_FORMATS",
    "REFERENCE_FORMATS",
    "SCORING_FUNCTIONS",
    "Box",
    "Docker",
    "DockingOptions",
    "DockingResult",
    "InputFile",
    "Pocket",
    "Pose",
    "Preflight",
    "PreflightRequest",
    "PreparationOptions",
    "PreparedLigand",
    "PreparedReceptor",
    "StageCallback",
    "check_receptor",
    "dock",
    "example_box",
    "example_paths",
    "find_pockets",
    "ligand_from_file",
    "ligand_from_smiles",
    "preflight",
    "prepare_receptor",
    "read_reference_coordinates",
    "versions",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
