"""The integer types routes take from paths and queries, bounded to what the database holds.

A value past an ``Integer`` column's range would reach the database and fail there (a 500 on
PostgreSQL, an overflow in SQLite's driver); bounded here it is a 422 naming the parameter,
and the OpenAPI schema states the range.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

from dockyard.jobs.models import INTEGER_MAX

Id = Annotated[int, Ge(1), Le(INTEGER_MAX)]
"""A job's (or a screen's) id, or a cursor made of one."""

Index = Annotated[int, Ge(0), Le(INTEGER_MAX)]
"""A position: a ligand's index in its library, a pose's rank, an offset into a table."""
