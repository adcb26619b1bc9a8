"""Process lifetimes: a docking must never outlive the process that is responsible for it; and
what a process works on, for the one that watches it."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
from collections.abc import Callable
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


_report_field: Callable[[str], None] | None = None


def report_fields_to(reporter: Callable[[str], None] | None) -> None:
    """Where :func:`working_on` tells which input this process works on (the chemistry pool's
    worker sends it up its pipe)."""
    global _report_field
    _report_field = reporter


def working_on(field: str) -> None:
    """Say which input (a request's field) the work that follows is about, so a time or memory
    limit it hits names that input; nothing happens outside a chemistry worker."""
    if _report_field is not None:
        _report_field(field)
