"""Ligands: reading molecule files, charge states, preparation for Vina, libraries, properties."""
