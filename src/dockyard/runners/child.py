"""What runs inside a job's own process, under :class:`dockyard.runners.supervise.JobProcess`.

The science stack is imported here, in the child, and not when a runner is imported: the web
process never loads it. The local runner's fork server preloads it once, so a job still starts
in milliseconds instead of re-importing RDKit, Meeko and Vina.
"""

from __future__ import annotations

from dockyard.jobs.live_progress import send_stdout_to_file
from dockyard.jobs.store import Claim, Store


def main(database_url: str, claim: Claim, cpu: int) -> None:
    """Run one claimed job to its end, writing its outcome to the store."""
    from dockyard.jobs.run import run_job

    store = Store.open(database_url, migrate_schema=False)
    send_stdout_to_file(store, claim)
    try:
        run_job(store, claim, cpu=cpu)
    finally:
        store.close()
