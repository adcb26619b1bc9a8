"""The integer types routes take from paths and queries, bounded to what the database holds.

A value past an ``Integer`` column's range would reach the database and fail there (a 500 on
PostgreSQL, an overflow in SQLite's driver); bounded here it is a 422 naming the parameter,
and the OpenAPI schema states the range.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from pydantic import StringConstraints
from starlette.convertors import Convertor, register_url_convertor

from dockyard.jobs.models import INTEGER_MAX

Id = Annotated[int, Ge(1), Le(INTEGER_MAX)]
"""A job's (or a screen's) id, or a cursor made of one."""

Index = Annotated[int, Ge(0), Le(INTEGER_MAX)]
"""A position: a ligand's index in its library, a pose's rank, an offset into a table."""


Label = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]
"""A name a person gives (an API token's, a group's): printable text, no control characters —
PostgreSQL cannot store a NUL byte in text."""


class FileNameConvertor(Convertor[str]):
    """A stored file's name in a path, ``name.ext``: ``/api/jobs/1/poses.sdf`` is a download
    and ``/api/jobs/1/cancel`` is not, so a GET there is a 405 naming POST, not a missing file."""

    regex = r"[^/]+\.[^/.]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("filename", FileNameConvertor())
