"""Virtual screens: one receptor and box, a library of ligands, docked in chunks.

A screen is a job of kind ``screen`` that no runner executes itself. Its ligands are rows of
``screen_ligands``; its work is done by ``screen_chunk`` jobs (ordinary job rows with
``parent_id``), which every runner executes through ``run_job`` like any other job. A chunk
computes the grid maps once and docks its ligands (:mod:`dockyard.jobs.screen_chunks`). This
module checks and submits screens; the store writes them and keeps their state
(:mod:`dockyard.jobs.screen_store`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from dockyard.chem import DockingOptions
from dockyard.chem.core.formats import LibraryLimits
from dockyard.chem.core.options import random_seed
from dockyard.chem.ligand.library import LibraryEntry, read_library
from dockyard.config import Settings
from dockyard.errors import InputError, QuotaError
from dockyard.jobs.models import Job
from dockyard.jobs.params import OPTION_FIELDS
from dockyard.jobs.store import Store
from dockyard.jobs.submit import DockRequest, StoredTarget, screen_target

MAX_CHUNK = 200
SCREEN_DEFAULT_POSES = 3


@dataclass(frozen=True)
class LibraryUpload:
    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class ScreenRequest:
    target: DockRequest
    """The receptor, box and preparation options (no ligand: those come from the library)."""
    library: LibraryUpload | None
    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    skip_duplicates: bool = True
    chunk_size: Any = None
    validate: bool = False
    """Redock the reference ligand first (:mod:`dockyard.jobs.validation`)."""
    webhook_url: str | None = None
    """Where to POST the screen's end, already checked by the caller."""


def chunk_size_for(total: int, workers: int, requested: Any = None) -> int:
    """One chunk per worker for a small screen, so each worker process computes the grid maps
    once; at most ``MAX_CHUNK`` ligands each for a large one, so a crash or a cancel costs
    little and new workers find work."""
    if requested not in (None, ""):
        try:
            size = int(requested)
        except (TypeError, ValueError):
            raise InputError(f"chunk_size must be a whole number, got {requested!r}.",
                             field="chunk_size") from None  # fmt: skip
        if not 1 <= size <= 10_000:
            raise InputError("chunk_size must be between 1 and 10000.", field="chunk_size")
        return size
    return max(1, min(MAX_CHUNK, math.ceil(total / max(1, workers))))


def library_limits(settings: Settings) -> LibraryLimits:
    """The library limits the settings ask for (``DOCKYARD_MAX_LIBRARY_*``)."""
    return LibraryLimits(
        upload_bytes=settings.max_library_bytes,
        unpacked_bytes=int(settings.max_library_unpacked_mb * 1024 * 1024),
        line_bytes=int(settings.max_library_line_kb * 1024),
    )


def submit_screen(
    store: Store,
    request: ScreenRequest,
    *,
    max_upload_bytes: int,
    workers: int,
    max_attempts: int = 3,
    time_limit: float = 3600.0,
    limits: LibraryLimits | None = None,
    prepare: Callable[..., StoredTarget] = screen_target,
    owner_id: int | None = None,
    max_ligands: int | None = None,
) -> Job:
    """Check the target, read the library as a stream, and store the screen with its chunks.

    The store writes it in one transaction: a library that turns out unusable halfway leaves
    nothing behind. ``prepare`` checks the target (the web app runs it in its chemistry pool).
    """
    if request.library is None:
        raise InputError("A ligand library file is required.", field="library")
    if request.validate and request.target.reference_ligand is None:
        raise InputError(
            "validate=true redocks the reference ligand, and this screen has none: upload a "
            "reference_ligand (the box is then drawn around it).",
            field="validate",
        )
    options_given = {
        key: value for key, value in request.options.items() if value not in (None, "")
    }
    options_given.setdefault("num_poses", SCREEN_DEFAULT_POSES)
    target = prepare(request.target, max_upload_bytes=max_upload_bytes)
    options = DockingOptions.from_fields(options_given)
    options = options.with_seed(options.seed or random_seed())
    params = {
        **target.params,
        "library": {"filename": request.library.filename},
        "skip_duplicates": bool(request.skip_duplicates),
        **{name: getattr(options, name) for name in OPTION_FIELDS},
    }
    return store.screens.create(
        name=(request.name or "").strip()[:200] or f"screen of {request.library.filename}",
        params=params,
        files=target.files,
        entries=at_most(
            read_library(request.library.stream, request.library.filename, limits), max_ligands
        ),
        chunk_size=lambda total: chunk_size_for(total, workers, request.chunk_size),
        max_attempts=max_attempts,
        time_limit=time_limit,
        owner_id=owner_id,
        validate=request.validate,
        webhook_url=request.webhook_url,
    )


def at_most(entries: Iterable[LibraryEntry], limit: int | None) -> Iterator[LibraryEntry]:
    """The library's entries, refused as soon as there are more than ``limit`` (a quota):
    read as a stream, so an oversized library is never stored whole first."""
    for count, entry in enumerate(entries, start=1):
        if limit is not None and count > limit:
            raise QuotaError(
                f"This library has more than {limit} ligands, the most one screen of yours may "
                "have; split it into several screens, or ask an admin to raise your limit.",
                field="library",
                code="too_many_ligands",
            )
        yield entry
