"""Progress from inside Vina's ``dock()``, which holds the GIL of the job's process.

Nothing in the job's process can run while Vina searches, but Vina itself draws a progress bar
on standard output. The job's process sends its standard output to a file of its own; the
process that supervises it (the local runner, or an RQ work-horse, on the same machine) reads
the bar at every tick and writes the progress to the database, so the pages move during a long
docking instead of sitting at one value.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from dockyard.chem.core.progress import DOCKING_STAGE, docking_progress
from dockyard.jobs.store import Claim, Store
from dockyard.processes import send_stdout_to

log = logging.getLogger(__name__)

READ_LIMIT = 64 * 1024
"""Bytes read from the end of the output: a bar and a few notes are a few hundred."""


def output_path(store: Store, claim: Claim) -> Path:
    """Per user (the job's process and its supervisor run as the same user, others may not)
    and per database (job ids repeat across the servers of one machine)."""
    folder = Path(tempfile.gettempdir()) / f"dockyard-progress-{os.getuid()}" / store.identity
    return folder / f"job-{claim.job_id}-attempt-{claim.attempt}.out"


def send_stdout_to_file(store: Store, claim: Claim) -> None:
    """In the job's process: file descriptor 1 (where Vina writes) becomes the job's file.

    Without a writable temporary folder the job runs all the same, its progress in steps.
    """
    path = output_path(store, claim)
    try:
        path.parent.parent.mkdir(mode=0o700, exist_ok=True)
        path.parent.mkdir(mode=0o700, exist_ok=True)
        send_stdout_to(path)
    except OSError as error:
        log.warning("job %s: no progress during docking (%s)", claim.job_id, error)


class ProgressWatcher:
    """In the supervising process: turns the bar of each running job into database progress."""

    def __init__(self, store: Store):
        self.store = store
        self._seen: dict[tuple[int, int], float] = {}

    def update(self, claim: Claim) -> None:
        progress = docking_progress(_tail(output_path(self.store, claim)))
        key = (claim.job_id, claim.attempt)
        if progress is None or self._seen.get(key) == progress:
            return
        self._seen[key] = progress
        self.store.advance_progress(claim, DOCKING_STAGE, progress)

    def forget(self, claim: Claim) -> None:
        self._seen.pop((claim.job_id, claim.attempt), None)
        with contextlib.suppress(OSError):
            output_path(self.store, claim).unlink(missing_ok=True)


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError), path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - READ_LIMIT))
        return handle.read().decode(errors="replace")
    return ""
