"""Dockyard: a self-hosted molecular docking server built on AutoDock Vina.

As a library: ``from dockyard import dock`` (and the rest of :mod:`dockyard.chem`), imported
on first use so that ``import dockyard`` stays light.
"""

from __future__ import annotations

from typing import Any

from dockyard._version import __version__

__all__ = ["__version__", "dock"]


def __getattr__(name: str) -> Any:
    if name == "dock":
        from dockyard.chem import dock

        return dock
    raise AttributeError(f"module 'dockyard' has no attribute {name!r}")
