"""What each driver error means: a full disk, a database out of reach, or a bug raised as is."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg.errors
import pytest

from dockyard.errors import StorageFullError, UnavailableError
from dockyard.jobs.db import database_error


def test_a_locked_sqlite_database_is_unavailable_and_a_bad_query_is_not(tmp_path: Path):
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("SELECT * FROM t")
    with pytest.raises(sqlite3.OperationalError) as missing:
        holder.execute("SELECT * FROM no_such_table")
    holder.close()
    other.close()

    error = database_error(locked.value)
    assert type(error) is UnavailableError and error.code == "database_unavailable"
    assert error.status_code == 503 and error.retry_after > 0
    assert database_error(missing.value) is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (psycopg.errors.DiskFull("could not extend file"), StorageFullError),
        (psycopg.errors.AdminShutdown("terminating connection"), UnavailableError),
        (psycopg.errors.CannotConnectNow("the database system is starting up"), UnavailableError),
        (psycopg.errors.TooManyConnections("too many clients"), UnavailableError),
        (psycopg.OperationalError("connection refused"), UnavailableError),
        (psycopg.errors.UniqueViolation("duplicate key"), type(None)),
        (psycopg.errors.UndefinedTable("relation does not exist"), type(None)),
    ],
)
def test_postgresql_errors_by_sqlstate(error: Exception, expected: type):
    assert type(database_error(error)) is expected


def test_a_full_disk_is_one_error_class_and_says_what_to_do():
    from_os = StorageFullError.from_os_error(OSError(28, "No space left on device", "/data/x"))
    from_db = database_error(psycopg.errors.DiskFull("could not extend file"))
    for error in (from_os, from_db):
        assert isinstance(error, StorageFullError) and isinstance(error, UnavailableError)
        assert (error.status_code, error.code) == (507, "storage_full")
        assert "disk is full" in error.message and "Free space" in error.message
    assert StorageFullError.from_os_error(OSError(13, "Permission denied")) is None
