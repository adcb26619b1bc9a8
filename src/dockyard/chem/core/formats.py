"""The files Dockyard reads: the formats accepted for each input, and how large a library may be.

Kept apart from the readers so the web process can list and check them without RDKit or gemmi.
"""

from __future__ import annotations

RECEPTOR_FORMATS = ("pdb", "cif", "mmcif", "pdbqt")

LIGAND_FORMATS = ("sdf", "mol", "mol2", "pdb", "pdbqt")

REFERENCE_FORMATS = LIGAND_FORMATS
"""A reference ligand (for a box around it) comes in any format a ligand does."""

SMILES_SUFFIXES = ("smi", "smiles", "txt")
TABLE_SUFFIXES = ("csv", "tsv")
SDF_SUFFIXES = ("sdf", "sd")
LIBRARY_FORMATS = (*SMILES_SUFFIXES, *TABLE_SUFFIXES, *SDF_SUFFIXES, "zip", "gz")
"""Suffixes of a screening library; the last two are archives holding one of the others."""

MAX_LIGANDS = 1_000_000
"""Ligands one screening library may hold."""
