"""Process lifetimes: a docking must never outlive the process that is responsible for it."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
from pathlib import Path

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


def send_stdout_to(path: Path | str) -> None:
    """File descriptor 1 (where C++ libraries such as Vina write) becomes ``path``."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(descriptor, 1)
    os.close(descriptor)
