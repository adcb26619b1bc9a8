"""What runs inside a job's own process (started from a fork server that preloaded the science
stack, so a job starts in milliseconds instead of re-importing RDKit, Meeko and Vina)."""

from __future__ import annotations

import contextlib
import os
import signal
from multiprocessing import forkserver

from dockyard.jobs.live_progress import send_stdout_to_file
from dockyard.jobs.run import run_job
from dockyard.jobs.store import Claim, Store
from dockyard.processes import die_with_parent


def detach() -> None:
    """Own process group (so the runner can kill it whole) and SIGKILL if the parent dies.

    The parent is the fork server, which exits once every holder of its "alive" pipe has
    closed it. Forked children inherit that pipe, so the child closes its copy: otherwise a
    killed ``dockyard serve`` would leave the fork server, and with it the docking, running.
    """
    os.setpgid(0, 0)
    alive_fd = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
    if alive_fd is not None:
        with contextlib.suppress(OSError):
            os.close(alive_fd)
        forkserver._forkserver._forkserver_alive_fd = None
    die_with_parent(os.getppid())


def main(database_url: str, claim: Claim, cpu: int) -> None:
    detach()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    send_stdout_to_file(claim)
    store = Store.open(database_url, migrate_schema=False)
    try:
        run_job(store, claim, cpu=cpu)
    finally:
        store.close()
