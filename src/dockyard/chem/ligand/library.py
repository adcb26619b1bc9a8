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
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, BinaryIO

from dockyard.chem.core.formats import (
    LIBRARY_FORMATS,
    MAX_LIGANDS,
    MAX_SDF_RECORD_BYTES,
    SDF_SUFFIXES,
    SMILES_SUFFIXES,
    TABLE_SUFFIXES,
    LibraryLimits,
)
from dockyard.errors import FileTooLargeError, InputError, UnsupportedFileError

MAX_NAME_LENGTH = 200
SMILES_COLUMNS = ("smiles", "smi", "canonical_smiles", "isomeric_smiles")
NAME_COLUMNS = ("name", "id", "title", "compound", "compound_id", "molecule", "zinc_id")
FIELD = "library"
ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b")
"""How a zip file (with members, or empty) and a gzip stream start."""


@dataclass(frozen=True)
class LibraryEntry:
    index: int
    name: str
    source: str
    """A SMILES, or an MDL molblock for entries read from an SDF."""
    format: str
    """``smiles`` or ``sdf``."""


def read_library(
    stream: BinaryIO, filename: str, limits: LibraryLimits | None = None
) -> Iterator[LibraryEntry]:
    """Every ligand in the file, numbered from 0; raises InputError for an unusable library.

    Every limit is checked while reading, so a huge upload, a gzip or zip bomb or a file of
    one endless line is refused after reading at most the limit, never loaded whole.
    """
    limits = limits or LibraryLimits()
    count = 0
    records = _records(_upload(stream, limits), filename, limits, _Budget(limits.unpacked_bytes))
    for count, (name, source, fmt) in enumerate(records, start=1):
        if count > MAX_LIGANDS:
            raise InputError(
                f"The library has more than {MAX_LIGANDS:,} ligands; split it into several "
                "screens.",
                field=FIELD,
            )
        yield LibraryEntry(count - 1, (name or f"ligand {count}")[:MAX_NAME_LENGTH], source, fmt)
    if count == 0:
        raise InputError(f"The library {filename!r} holds no ligands.", field=FIELD)


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.6g} MB"


class _Budget:
    """Bytes still allowed through, shared by every member of an archive; ``what`` says which
    limit it is in the refusal."""

    def __init__(self, limit: int, what: str = "once decompressed"):
        self.limit = limit
        self.what = what
        self.used = 0

    def spend(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise FileTooLargeError(
                f"The library is larger than {_mb(self.limit)} {self.what}, the limit; "
                "split it into several screens.",
                field=FIELD,
            )


class _Counted(io.RawIOBase):
    """A read-only stream that charges every byte it gives to a budget."""

    def __init__(self, stream: BinaryIO, budget: _Budget):
        self._stream = stream
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        self._budget.spend(len(data))
        buffer[: len(data)] = data
        return len(data)


def _counted(stream: BinaryIO, budget: _Budget) -> io.BufferedReader:
    return io.BufferedReader(_Counted(stream, budget))


def _upload(stream: BinaryIO, limits: LibraryLimits) -> BinaryIO:
    """The upload, refused at once if it is larger than the limit (or as soon as it proves to be,
    for a stream that cannot tell its size)."""
    budget = _Budget(limits.upload_bytes, "as uploaded")
    if not stream.seekable():
        return _counted(stream, budget)
    start = stream.tell()
    budget.spend(stream.seek(0, io.SEEK_END) - start)
    stream.seek(start)
    return stream


def _suffix(filename: str) -> str:
    return PurePath(filename).suffix.lower().lstrip(".")


def _nested(filename: str) -> UnsupportedFileError:
    return UnsupportedFileError(
        f"The library {filename!r} is an archive inside an archive; a library may be "
        "compressed only once.",
        field=FIELD,
    )


def _records(
    stream: BinaryIO, filename: str, limits: LibraryLimits, budget: _Budget
) -> Iterator[tuple[str, str, str]]:
    suffix = _suffix(filename)
    if suffix == "gz":
        inner = filename[: -len(".gz")]
        with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
            unpacked = _counted(unzipped, budget)  # type: ignore[arg-type]
            yield from _checked(_inner_records(unpacked, inner, limits), filename)
        return
    if suffix == "zip":
        yield from _zip_records(stream, filename, limits, budget)
        return
    yield from _text_records(_counted(stream, budget), filename, limits)


def _inner_records(
    stream: io.BufferedReader, filename: str, limits: LibraryLimits
) -> Iterator[tuple[str, str, str]]:
    if _suffix(filename) in ("gz", "zip") or stream.peek(4).startswith(ARCHIVE_MAGIC):
        raise _nested(filename)
    yield from _text_records(stream, filename, limits)


def _text_records(
    stream: BinaryIO, filename: str, limits: LibraryLimits
) -> Iterator[tuple[str, str, str]]:
    suffix = _suffix(filename)
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    lines = _lines(text, limits.line_bytes, filename)
    if suffix in SMILES_SUFFIXES:
        yield from _smiles_records(lines)
    elif suffix in TABLE_SUFFIXES:
        yield from _table_records(lines, "\t" if suffix == "tsv" else None)
    elif suffix in SDF_SUFFIXES:
        yield from _sdf_records(lines)
    else:
        allowed = ", ".join(f".{fmt}" for fmt in LIBRARY_FORMATS)
        raise UnsupportedFileError(
            f"The library {filename!r} is not a supported kind; use {allowed}.", field=FIELD
        )


def _lines(text: io.TextIOBase, limit: int, filename: str) -> Iterator[str]:
    """The lines of the text, each read with a bound, so one endless line is never held whole."""
    while True:
        line = text.readline(limit + 2)
        if not line:
            return
        if len(line.rstrip("\r\n")) > limit:
            raise InputError(
                f"The library {filename!r} has a line longer than the limit of {limit:,} "
                "characters; is it a library of one molecule per line (or SDF)?",
                field=FIELD,
                code="line_too_long",
            )
        yield line


def _checked(records: Iterator[tuple[str, str, str]], filename: str):
    try:
        yield from records
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(
            f"The library {filename!r} is not a valid gzip file: {error}", field=FIELD
        ) from None


def _zip_records(
    stream: BinaryIO, filename: str, limits: LibraryLimits, budget: _Budget
) -> Iterator[tuple[str, str, str]]:
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile:
        raise InputError(
            f"The library {filename!r} is not a valid zip file.", field=FIELD
        ) from None
    with archive:
        files = [info for info in archive.infolist() if not info.is_dir()]
        nested = next((info for info in files if _suffix(info.filename) in ("gz", "zip")), None)
        if nested is not None:
            raise _nested(nested.filename)
        members = [info for info in files if _suffix(info.filename) in LIBRARY_FORMATS[:-2]]
        if not members:
            raise InputError(
                f"The zip file {filename!r} holds no .smi, .csv or .sdf library.", field=FIELD
            )
        declared = sum(info.file_size for info in members)
        if declared > budget.limit:
            budget.spend(declared)  # refused on what the archive says, before unpacking any
        for info in members:  # and what it really holds is counted as it is read
            try:
                with archive.open(info) as member:
                    yield from _inner_records(_counted(member, budget), info.filename, limits)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                RuntimeError,
                NotImplementedError,
            ) as error:
                raise InputError(
                    f"The zip file {filename!r} is damaged ({info.filename}: {error}).",
                    field=FIELD,
                ) from None


def _smiles_records(lines: Iterator[str]) -> Iterator[tuple[str, str, str]]:
    for number, line in enumerate(lines):
        fields = line.split(None, 1)
        if not fields or fields[0].startswith("#"):
            continue
        if number == 0 and fields[0].lower() in SMILES_COLUMNS:
            continue  # a header line
        name = fields[1].strip() if len(fields) > 1 else ""
        yield name, fields[0], "smiles"


def _table_records(lines: Iterator[str], delimiter: str | None) -> Iterator[tuple[str, str, str]]:
    header_line = next(lines, "")
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
    for row in csv.reader(lines, delimiter=delimiter):
        if len(row) <= smiles_column or not row[smiles_column].strip():
            continue
        name = (
            row[name_column].strip() if name_column is not None and len(row) > name_column else ""
        )
        yield name, row[smiles_column].strip(), "smiles"


def _sdf_records(lines: Iterator[str]) -> Iterator[tuple[str, str, str]]:
    record: list[str] = []
    size = 0
    for line in lines:
        if line.startswith("$$$$"):
            if any(part.strip() for part in record):
                yield record[0].strip(), "".join(record), "sdf"
            record, size = [], 0
            continue
        record.append(line)
        size += len(line)
        if size > MAX_SDF_RECORD_BYTES:
            raise InputError(
                f"An SDF record of the library is longer than {MAX_SDF_RECORD_BYTES:,} "
                "characters; a docking ligand's record is far smaller.",
                field=FIELD,
                code="record_too_long",
            )
    if any(part.strip() for part in record):
        yield record[0].strip(), "".join(record), "sdf"
