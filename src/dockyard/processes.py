"""Process lifetimes: a docking must never outlive the process that is responsible for it."""

from __future__ import annotations

import ctypes
import logging
import os
import signal

PR_SET_PDEATHSIG = 1

log = logging.getLogger(__name__)


def die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process when ``parent_pid``, its parent, dies (and now, if it already has)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.warning("cannot ask to die with the parent on this system")
    if os.getppid() != parent_pid:
        os._exit(1)
