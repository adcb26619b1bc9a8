"""The files Dockyard reads: the formats accepted for each input, and how large a library may be.

Kept apart from the readers so the web process can list and check them without RDKit or gemmi.
"""

from __future__ import annotations

from dataclasses import dataclass

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

LIBRARY_MB = 200
"""Default largest library upload, in MB as it arrives (compressed or not): a 1,000,000-line
SMILES file of drug-like molecules with ZINC-style names is 40-80 MB, gzipped a third of it."""
LIBRARY_UNPACKED_MB = 2000
"""Default largest library once decompressed: room for an SDF of several hundred thousand
ligands, far from what a gzip or zip bomb would unpack to."""
LIBRARY_LINE_KB = 100
"""Default longest line of a library: a SMILES line is well under 1 KB (a docking ligand has
at most 200 heavy atoms); CSV rows with many property columns stay far below this."""
MAX_SDF_RECORD_BYTES = 1_000_000
"""Longest SDF record (molblock and properties): a 200-heavy-atom ligand with its hydrogens
is under 100 KB."""


@dataclass(frozen=True)
class LibraryLimits:
    """How much of a library is read before it is refused, all counted while reading."""

    upload_bytes: int = LIBRARY_MB * 1024 * 1024
    unpacked_bytes: int = LIBRARY_UNPACKED_MB * 1024 * 1024
    line_bytes: int = LIBRARY_LINE_KB * 1024
