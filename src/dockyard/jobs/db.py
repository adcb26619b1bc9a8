"""Database engines and schema migrations (Alembic, applied automatically on start).

Every engine translates the errors of a database that is out of reach or out of space into
Dockyard's own (:func:`database_error`), so that callers in every layer see one kind of
error: :class:`~dockyard.errors.UnavailableError` (try again later) or its subclass
:class:`~dockyard.errors.StorageFullError` (the disk is full). Workers wait those out
(:func:`patiently`); the web layer answers 503 or 507 with ``Retry-After``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from importlib.resources import files
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url

from dockyard.config import require_extra
from dockyard.errors import StorageFullError, UnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")

CONNECT_TIMEOUT = 10
"""Seconds a PostgreSQL connection may take: a request answers 503, never hangs on a dead host."""
SQLITE_FULL, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CANTOPEN = 13, 5, 6, 10, 14
PG_DISK_FULL = "53100"
PG_UNAVAILABLE_CLASSES = ("08", "53", "57P")
"""Connection exceptions, insufficient resources, operator intervention (shutdown, restart)."""

MIGRATIONS = files("dockyard.jobs") / "migrations"


def make_engine(url: str) -> Engine:
    """An engine tuned for many short writes from several processes."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql":
            require_extra("postgres", "The database URL names PostgreSQL")
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = CONNECT_TIMEOUT
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    event.listen(engine, "handle_error", _translate)
    return engine


def database_error(error: BaseException, *, disconnect: bool = False) -> UnavailableError | None:
    """What a database driver's error means, when it is not the query's fault: the disk is
    full (:class:`StorageFullError`), or the database is out of reach for now
    (:class:`UnavailableError`). None for anything else (a bug, a constraint): raised as is."""
    sqlite_code = getattr(error, "sqlite_errorcode", None)
    sqlstate = getattr(error, "sqlstate", None)
    if sqlite_code is not None:
        primary = sqlite_code & 0xFF
        if primary == SQLITE_FULL:
            return StorageFullError.because("the job database")
        if primary not in (SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CANTOPEN):
            return None
    elif sqlstate == PG_DISK_FULL:
        return StorageFullError.because("the job database")
    elif not disconnect and not _postgres_unreachable(error, sqlstate):
        return None
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return UnavailableError(
        f"The job database does not answer ({reason}). Nothing was lost; try again in a few "
        "seconds.",
        code="database_unavailable",
    )


def _postgres_unreachable(error: BaseException, sqlstate: str | None) -> bool:
    if sqlstate is not None:
        return sqlstate.startswith(PG_UNAVAILABLE_CLASSES)
    # No SQLSTATE: the driver could not connect or lost the connection (refused, reset, timeout).
    return type(error).__name__ in ("OperationalError", "InterfaceError")


def _translate(context: ExceptionContext) -> UnavailableError | None:
    """SQLAlchemy's hook for driver errors: swap in Dockyard's error when it is an outage."""
    return database_error(context.original_exception, disconnect=context.is_disconnect)


def patiently(
    call: Callable[[], T],
    what: str,
    *,
    give_up_after: float = math.inf,
    first_pause: float = 0.5,
    longest_pause: float = 10.0,
) -> T:
    """``call()``, again and again while the database is unavailable or full: for a worker,
    which holds a job it must not drop and has nothing better to do than wait. Raises the
    last :class:`UnavailableError` after ``give_up_after`` seconds."""
    deadline = time.monotonic() + give_up_after
    pause = first_pause
    while True:
        try:
            return call()
        except UnavailableError as error:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("%s: %s; trying again in %.1f s", what, error.message, pause)
            time.sleep(pause)
            pause = min(pause * 2, longest_pause)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    command.upgrade(alembic_config(engine), "head")
