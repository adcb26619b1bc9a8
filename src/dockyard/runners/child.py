"""What runs inside a job's own process, under :class:`dockyard.runners.supervise.JobProcess`.

The science stack is imported here, in the child, and not when a runner is imported: the web
process never loads it. The local runner's fork server preloads it once, so a job still starts
in milliseconds instead of re-importing RDKit, Meeko and Vina.
"""

from __future__ import annotations

import logging
import sys

from dockyard.errors import UnavailableError
from dockyard.jobs.live_progress import send_stdout_to_file
from dockyard.jobs.store import Claim, Store

log = logging.getLogger(__name__)

EXIT_DATABASE_LOST = 75
"""The exit status (``EX_TEMPFAIL``) of a job's process that lost the database mid-run: not the
job's fault, so its runner queues it again (:func:`dockyard.runners.supervise.record_exit`)."""


def main(database_url: str, announce_to: str | None, claim: Claim, cpu: int) -> None:
    """Run one claimed job to its end, writing its outcome to the store (announced on the
    Redis of ``announce_to``, as its runner's store announces)."""
    from dockyard.jobs.run import run_job

    store = Store.open(database_url, migrate_schema=False, announce_to=announce_to)
    send_stdout_to_file(store, claim)
    try:
        run_job(store, claim, cpu=cpu)
    except UnavailableError as error:
        log.warning("job %s: %s", claim.job_id, error.message)
        sys.exit(EXIT_DATABASE_LOST)
    finally:
        store.close()
