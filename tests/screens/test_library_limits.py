"""The library reader's limits, straight on the reader: every one is hit while reading."""

from __future__ import annotations

import io

import pytest

from dockyard.chem.core.formats import MAX_LIGANDS, LibraryLimits
from dockyard.chem.ligand.library import read_library
from dockyard.errors import InputError
from tests.api import hostile


class Unseekable(io.RawIOBase):
    """A pipe-like stream: cannot tell its size up front."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def refusal(data, filename: str, limits: LibraryLimits | None = None) -> InputError:
    stream = data if isinstance(data, io.IOBase) else io.BytesIO(data)
    with pytest.raises(InputError) as caught:
        list(read_library(stream, filename, limits))
    assert caught.value.field == "library"
    return caught.value


def test_a_million_ligand_library_passes_the_default_limits():
    library = b"".join(b"CC(=O)Nc1ccc(O)cc1 ZINC%012d\n" % i for i in range(MAX_LIGANDS))
    assert sum(1 for _ in read_library(io.BytesIO(library), "million.smi")) == MAX_LIGANDS


def test_a_stream_of_unknown_size_is_counted_as_it_is_read():
    error = refusal(Unseekable(b"CCO\n" * 1000), "pipe.smi", LibraryLimits(upload_bytes=1000))
    assert error.code == "file_too_large" and "as uploaded" in error.message


@pytest.mark.parametrize(
    ("content", "filename", "code"),
    [
        (b"smiles,name\n" + b"C" * 200_000 + b",x\n", "long.csv", "line_too_long"),
        (b"name\n" + b"  0.0 C\n" * 200_000, "long.sdf", "record_too_long"),
        (hostile.gzip_bomb(3), "bomb.smi.gz", "file_too_large"),
        (hostile.zip_bomb(3), "bomb.zip", "file_too_large"),
        (hostile.nested_zip(), "nested.zip", "unsupported_file"),
    ],
)
def test_each_limit_refuses_its_library(content, filename, code):
    limits = LibraryLimits(unpacked_bytes=2 * hostile.MB)
    assert refusal(content, filename, limits).code == code
