"""Versions of the science stack, recorded with every job so it can be reproduced."""

from __future__ import annotations

from importlib import metadata

from dockyard._version import __version__

SCIENCE_PACKAGES = ("vina", "meeko", "rdkit", "gemmi")
PREPARATION_PACKAGES = ("pdbfixer", "openmm", "dimorphite-dl", "fpocket-rs")


def versions() -> dict[str, str]:
    """Installed versions of Vina, Meeko, RDKit, gemmi, the preparation tools and Dockyard."""
    found = {name: _installed(name) for name in SCIENCE_PACKAGES + PREPARATION_PACKAGES}
    found["dockyard"] = __version__
    return found


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
