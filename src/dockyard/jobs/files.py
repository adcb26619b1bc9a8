"""The names of a job's stored files, spelled once.

A job's inputs and outputs are rows of ``job_files`` keyed by these names; the download URLs
(``/api/jobs/{id}/poses.sdf``), the pages and the CLI use the same names, so a file is found
by one spelling wherever it is read.
"""

from __future__ import annotations

RECEPTOR_PDBQT = "receptor.pdbqt"
"""The prepared receptor every docking and screen docks against."""
RECEPTOR_PREPARED_PDB = "receptor_prepared.pdb"
"""The prepared receptor as PDB, with the hydrogens and repairs preparation made."""
RECEPTOR_PDB = "receptor.pdb"
LIGAND_PDBQT = "ligand.pdbqt"
"""The prepared ligand (the first stereoisomer when there are several)."""
LIGAND_SDF = "ligand.sdf"
POSES_SDF = "poses.sdf"
POSES_PDBQT = "poses.pdbqt"
RESULTS_CSV = "results.csv"
"""The pose table; for a docking it is made from the job's results when it is downloaded."""

RECEPTOR_UPLOAD = "receptor"
LIGAND_UPLOAD = "ligand_input"
REFERENCE_UPLOAD = "reference_ligand"
"""Stems of uploads kept as they came, as ``<stem>.<format>`` (e.g. ``receptor.cif``)."""

DOWNLOADS = (POSES_SDF, POSES_PDBQT, RESULTS_CSV)
"""The files of a completed docking offered for download."""

PDBQT_MEDIA = "chemical/x-pdbqt"
SDF_MEDIA = "chemical/x-mdl-sdfile"
PDB_MEDIA = "chemical/x-pdb"
CSV_MEDIA = "text/csv"


def upload_name(stem: str, fmt: str) -> str:
    """The stored name of an upload: ``upload_name(RECEPTOR_UPLOAD, "cif")`` is ``receptor.cif``."""
    return f"{stem}.{fmt}"


def isomer_pdbqt(number: int) -> str:
    """The prepared stereoisomer ``number`` (from 2; the first is :data:`LIGAND_PDBQT`)."""
    return f"ligand_isomer_{number}.pdbqt"
