"""What a pre-flight check is asked: plain values, so the layers above build a request
without loading the science packages that answer it (:mod:`dockyard.chem.preflight_check`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.chem.core.options import PreparationOptions


@dataclass(frozen=True)
class InputFile:
    text: str
    format: str
    name: str = ""


@dataclass(frozen=True)
class PreflightRequest:
    receptor: InputFile
    ligand: InputFile | None = None
    smiles: str | None = None
    box: Mapping[str, Any] = field(default_factory=dict)
    reference_ligand: InputFile | None = None
    padding: Any = None
    box_residues: str | None = None
    blind: bool = False
    pocket: Any = None
    """Rank of a detected pocket to use as the box."""
    pockets: bool = False
    """Detect pockets even when a box is given."""
    options: PreparationOptions = field(default_factory=PreparationOptions)
    accept_warnings: bool = False
    """Go ahead (with a warning) despite a refusal that could be deliberate: a receptor of
    few residues, a ligand with radicals (:data:`dockyard.chem.core.fields.ACCEPT_WARNINGS`)."""
