"""Dockyard: a self-hosted molecular docking server built on AutoDock Vina."""

__version__ = "0.1.0"
