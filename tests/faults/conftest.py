"""Real faults under a running server: a PostgreSQL server stopped and started, a disk filled.

Each test gets a PostgreSQL server of its own (``initdb`` into a temporary folder, on a free
port), so stopping it disturbs no other test or user of the machine's cluster, just as
``tests/scale`` starts a Redis of its own. The tests need the PostgreSQL server programs
(``initdb``, ``pg_ctl``) and skip without them; as root they run them as ``postgres``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import _free_port
from tests.scale.conftest import redis_server, start_worker


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=os.path.getmtime)
    return Path(versions[-1]).parent if versions else None


class PostgresServer:
    """A PostgreSQL server of our own (trust authentication, no durability: a test's data)."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="dockyard-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{program} failed:\n{result.stdout}\n{result.stderr}"

    def init(self) -> PostgresServer:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                  "-o", options, "start")  # fmt: skip
        self.wait_ready()

    def stop(self) -> None:
        """A fast shutdown: every session is cut, as in a restart or a failover."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(
                    f"postgresql://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2
                ):
                    return
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "PostgreSQL did not come back"
                time.sleep(0.1)

    def remove(self) -> None:
        if self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    """A running PostgreSQL server for one test; whatever the test did, it is gone after."""
    bin_dir = _postgres_bin()
    if bin_dir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("the PostgreSQL server programs (initdb, pg_ctl) are not installed")
    server = PostgresServer(bin_dir).init()
    try:
        server.start()
        yield server
    finally:
        server.remove()


__all__ = ["PostgresServer", "private_postgres", "redis_server", "start_worker"]
