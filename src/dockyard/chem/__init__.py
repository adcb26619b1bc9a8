"""The science layer: receptors, ligands, boxes, docking with Vina and pose export.

It knows nothing of jobs, HTTP or databases. Boxes, options and formats come from
:mod:`dockyard.chem.core`, which imports no science package, so
``from dockyard.chem import Box, DockingOptions`` stays cheap in the web process; names
needing Vina, Meeko, RDKit or gemmi load on first use.

The subpackages are layered, each importing only those below it:
``preflight_check``, ``docking``, ``interactions``, ``evidence`` · ``adaptive`` ·
``poses``, ``site``, ``pockets``, ``rmsd``, ``plausibility`` ·
``receptor``, ``ligand`` · ``residues`` · ``core``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from dockyard.chem.core.box import BOX_FIELDS, MAX_BOX_SIDE, Box
from dockyard.chem.core.formats import LIGAND_FORMATS, RECEPTOR_FORMATS, REFERENCE_FORMATS
from dockyard.chem.core.options import SCORING_FUNCTIONS, DockingOptions, PreparationOptions
from dockyard.chem.core.progress import StageCallback
from dockyard.chem.core.requests import InputFile, PreflightRequest
from dockyard.chem.examples import example_box, example_paths
from dockyard.chem.versions import versions

if TYPE_CHECKING:
    from dockyard.chem.adaptive import AutoEffort
    from dockyard.chem.docking import DockingResult, DockingSession, dock, search_threads
    from dockyard.chem.ligand.prepare import PreparedLigand, ligand_from_file, ligand_from_smiles
    from dockyard.chem.pockets import Pocket, find_pockets
    from dockyard.chem.poses import Pose
    from dockyard.chem.preflight_check import Preflight, preflight
    from dockyard.chem.receptor.prepare import PreparedReceptor, prepare_receptor
    from dockyard.chem.receptor.read import check_receptor
    from dockyard.chem.site import (
        box_around_ligand,
        box_around_protein,
        box_around_residues,
        read_reference_coordinates,
    )

_LAZY = {
    "AutoEffort": "adaptive",
    "search_threads": "docking",
    "DockingResult": "docking",
    "DockingSession": "docking",
    "dock": "docking",
    "PreparedLigand": "ligand.prepare",
    "ligand_from_file": "ligand.prepare",
    "ligand_from_smiles": "ligand.prepare",
    "Pocket": "pockets",
    "find_pockets": "pockets",
    "Pose": "poses",
    "Preflight": "preflight_check",
    "preflight": "preflight_check",
    "PreparedReceptor": "receptor.prepare",
    "prepare_receptor": "receptor.prepare",
    "check_receptor": "receptor.read",
    "box_around_ligand": "site",
    "box_around_protein": "site",
    "box_around_residues": "site",
    "read_reference_coordinates": "site",
}

__all__ = [
    "BOX_FIELDS",
    "LIGAND_FORMATS",
    "MAX_BOX_SIDE",
    "RECEPTOR_FORMATS",
    "REFERENCE_FORMATS",
    "SCORING_FUNCTIONS",
    "AutoEffort",
    "Box",
    "DockingOptions",
    "DockingResult",
    "DockingSession",
    "InputFile",
    "Pocket",
    "Pose",
    "Preflight",
    "PreflightRequest",
    "PreparationOptions",
    "PreparedLigand",
    "PreparedReceptor",
    "StageCallback",
    "box_around_ligand",
    "box_around_protein",
    "box_around_residues",
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
    "search_threads",
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
