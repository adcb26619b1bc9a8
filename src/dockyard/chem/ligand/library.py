"""Reading ligand libraries as a stream: SMILES files, CSV, multi-molecule SDF, zipped or gzipped.

Entries are yielded one at a time and nothing is parsed with RDKit here, so a library of a
million lines is read in seconds with constant memory. Whether each entry is a usable molecule
is found out when it is prepared for docking; a bad one fails alone.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO

from dockyard.chem.core.formats import (
    LIBRARY_FORMATS,
    MAX_LIGANDS,
    SDF_SUFFIXES,
    SMILES_SUFFIXES,
    TABLE_SUFFIXES,
)
from dockyard.errors import InputError, UnsupportedFileError

MAX_NAME_LENGTH = 200
SMILES_COLUMNS = ("smiles", "smi", "canonical_smiles", "isomeric_smiles")
NAME_COLUMNS = ("name", "id", "title", "compound", "compound_id", "molecule", "zinc_id")
FIELD = "library"


@dataclass(frozen=True)
class LibraryEntry:
    index: int
    name: str
    source: str
    """A SMILES, or an MDL molblock for entries read from an SDF."""
    format: str
    """``smiles`` or ``sdf``."""


def read_library(stream: BinaryIO, filename: str) -> Iterator[LibraryEntry]:
    """Every ligand in the file, numbered from 0; raises InputError for an unusable library."""
    count = 0
    for count, (name, source, fmt) in enumerate(_records(stream, filename), start=1):
        if count > MAX_LIGANDS:
            raise InputError(
                f"The library has more than {MAX_LIGANDS:,} ligands; split it into several "
                "screens.",
                field=FIELD,
            )
        yield LibraryEntry(count - 1, (name or f"ligand {count}")[:MAX_NAME_LENGTH], source, fmt)
    if count == 0:
        raise InputError(f"The library {filename!r} holds no ligands.", field=FIELD)


def _suffix(filename: str) -> str:
    return PurePath(filename).suffix.lower().lstrip(".")


def _records(stream: BinaryIO, filename: str) -> Iterator[tuple[str, str, str]]:
    suffix = _suffix(filename)
    if suffix == "gz":
        inner = filename[: -len(".gz")]
        if _suffix(inner) in ("gz", "zip"):
            raise UnsupportedFileError("A library may be compressed only once.", field=FIELD)
        with gzip.open(stream) as unzipped:
            yield from _checked(_records(unzipped, inner), filename)
        return
    if suffix == "zip":
        yield from _zip_records(stream, filename)
        return
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    if suffix in SMILES_SUFFIXES:
        yield from _smiles_records(text)
    elif suffix in TABLE_SUFFIXES:
        yield from _table_records(text, "\t" if suffix == "tsv" else None)
    elif suffix in SDF_SUFFIXES:
        yield from _sdf_records(text)
    else:
        allowed = ", ".join(f".{fmt}" for fmt in LIBRARY_FORMATS)
        raise UnsupportedFileError(
            f"The library {filename!r} is not a supported kind; use {allowed}.", field=FIELD
        )


def _checked(records: Iterator[tuple[str, str, str]], filename: str):
    try:
        yield from records
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise InputError(
            f"The library {filename!r} is not a valid gzip file: {error}", field=FIELD
        ) from None


def _zip_records(stream: BinaryIO, filename: str) -> Iterator[tuple[str, str, str]]:
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        raise InputError(
            f"The library {filename!r} is not a valid zip file.", field=FIELD
        ) from None
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir() and _suffix(info.filename) in LIBRARY_FORMATS[:-2]
        ]
        if not members:
            raise InputError(
                f"The zip file {filename!r} holds no .smi, .csv or .sdf library.", field=FIELD
            )
        for info in members:
            with archive.open(info) as member:
                yield from _records(member, info.filename)


def _smiles_records(text: io.TextIOBase) -> Iterator[tuple[str, str, str]]:
    for number, line in enumerate(text):
        fields = line.split(None, 1)
        if not fields or fields[0].startswith("#"):
            continue
        if number == 0 and fields[0].lower() in SMILES_COLUMNS:
            continue  # a header line
        name = fields[1].strip() if len(fields) > 1 else ""
        yield name, fields[0], "smiles"


def _table_records(text: io.TextIOBase, delimiter: str | None) -> Iterator[tuple[str, str, str]]:
    header_line = text.readline()
    if delimiter is None:
        delimiter = "\t" if header_line.count("\t") > header_line.count(",") else ","
    header = [
        column.strip().lower()
        for column in next(csv.reader([header_line], delimiter=delimiter), [])
    ]
    smiles_column = next((header.index(name) for name in SMILES_COLUMNS if name in header), None)
    if smiles_column is None:
        raise InputError(
            f"The library table has no SMILES column; name one of {', '.join(SMILES_COLUMNS)} "
            f"(found: {', '.join(header) or 'nothing'}).",
            field=FIELD,
        )
    name_column = next((header.index(name) for name in NAME_COLUMNS if name in header), None)
    for row in csv.reader(text, delimiter=delimiter):
        if len(row) <= smiles_column or not row[smiles_column].strip():
            continue
        name = (
            row[name_column].strip() if name_column is not None and len(row) > name_column else ""
        )
        yield name, row[smiles_column].strip(), "smiles"


def _sdf_records(text: io.TextIOBase) -> Iterator[tuple[str, str, str]]:
    lines: list[str] = []
    for line in text:
        if line.startswith("$$$$"):
            if any(part.strip() for part in lines):
                block = "".join(lines)
                yield lines[0].strip(), block, "sdf"
            lines = []
        else:
            lines.append(line)
    if any(part.strip() for part in lines):
        yield lines[0].strip(), "".join(lines), "sdf"
