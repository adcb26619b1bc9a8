"""Versions of the science stack, recorded with every job so it can be reproduced."""

from __future__ import annotations

from importlib import metadata

import dockyard

SCIENCE_PACKAGES = ("vina", "meeko", "rdkit", "gemmi")
PREPARATION_PACKAGES = ("pdbfixer", "openmm", "dimorphite-dl", "pykvfinder")


def versions() -> dict[str, str]:
    """Installed versions of Vina, Meeko, RDKit, gemmi, the preparation tools and Dockyard."""
    found = {name: _installed(name) for name in SCIENCE_PACKAGES + PREPARATION_PACKAGES}
    found["dockyard"] = getattr(dockyard, "__version__", None) or _installed("dockyard", "0.1.0")
    return found


def _installed(name: str, default: str = "unknown") -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return default
