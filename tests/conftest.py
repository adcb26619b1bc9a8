"""Fixtures that build real things: prepared molecules, databases, running servers."""

from __future__ import annotations

import faulthandler
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from dockyard.cli.serve import SHUTDOWN_GRACE_SECONDS
from dockyard.config import Settings
from dockyard.web.app import create_app

TEST_DATA = Path(__file__).resolve().parent / "data"
EXAMPLE = Path(__file__).resolve().parents[1] / "src" / "dockyard" / "examples" / "1iep"
POSTGRES_URL = os.environ.get(
    "DOCKYARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# A 14 Å box in the imatinib pocket of 1IEP: small ligands dock there in about a second.
SMALL_BOX = {
    "center_x": "15.19",
    "center_y": "53.90",
    "center_z": "16.92",
    "size_x": "14",
    "size_y": "14",
    "size_z": "14",
}
FAST_OPTIONS = {"exhaustiveness": "1", "num_poses": "3", "seed": "42"}
SMALL_SMILES = "NC(=O)c1ccccc1"


@pytest.fixture(scope="session")
def receptor_pdb() -> bytes:
    return (EXAMPLE / "1iep_receptorH.pdb").read_bytes()


@pytest.fixture(scope="session")
def receptor_pdbqt(receptor_pdb: bytes) -> bytes:
    """1IEP prepared once per session, so job tests skip the receptor preparation."""
    from dockyard.chem import prepare_receptor

    return prepare_receptor(receptor_pdb.decode(), "pdb").pdbqt.encode()


@pytest.fixture(scope="session")
def imatinib_sdf() -> bytes:
    return (EXAMPLE / "1iep_ligand.sdf").read_bytes()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    try:
        with psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=5):
            pass
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL} ({error}); start it first.")
    return POSTGRES_URL


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def _fresh_postgres(admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"dockyard_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


EXIT_GRACE_SECONDS = 60.0
"""How long the interpreter may take to exit once the session is over."""


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A test that leaves a thread or a process behind (a failed one, say) must not keep CI
    waiting for ever: if the interpreter has not exited a minute after the session, say what
    is still running and leave with the session's status."""

    def leave() -> None:
        alive = [thread.name for thread in threading.enumerate() if thread.is_alive()]
        print(f"\nthe test process did not exit; still running: {alive}", flush=True)
        os._exit(int(exitstatus))

    timer = threading.Timer(EXIT_GRACE_SECONDS, leave)
    timer.daemon = True  # it never delays a clean exit
    timer.start()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that reaches PostgreSQL carries the ``postgres`` marker, however it gets there,
    so ``pytest -m "not postgres"`` runs on a machine without the server."""
    for item in items:
        if "postgres_admin_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    with _fresh_postgres(postgres_admin_url) as url:
        yield url


@pytest.fixture(scope="module")
def shared_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for the tests of one module."""
    with _fresh_postgres(postgres_admin_url) as url:
        yield url


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dockyard.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="module", params=DATABASES)
def shared_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('shared-db') / 'dockyard.db'}"
    return request.getfixturevalue("shared_postgres_url")


class AppClient(httpx.Client):
    """An HTTP client of a :class:`LiveServer` that can also reach the app it talks to (tests
    write finished states straight into its store)."""

    def __init__(self, app: FastAPI, **kwargs: Any):
        super().__init__(**kwargs)
        self.app = app


class LiveServer:
    """The real app served by uvicorn in a thread, talked to over real HTTP."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        self.client = AppClient(self.app, base_url=self.url, timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)
        if self.thread.is_alive():  # its runner would go on against a database soon dropped
            self.server.force_exit = True
            self.thread.join(timeout=10)
            if self.thread.is_alive():
                faulthandler.dump_traceback(all_threads=True)  # where it is stuck, for the log
                warnings.warn(
                    f"the test server on port {self.port} did not shut down in 40 s",
                    stacklevel=2,
                )

    @property
    def store(self):
        return self.app.state.store

    def submit(self, files: dict | None = None, **fields: str) -> httpx.Response:
        """POST /api/jobs as a browser's form does: multipart, even with no file in it."""
        parts = {name: (None, value) for name, value in fields.items()}
        return self.client.post("/api/jobs", files={**parts, **(files or {})})

    def wait(self, job_id: int, statuses=("completed", "failed", "cancelled"), timeout=120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.client.get(f"/api/jobs/{job_id}").json()
            if job["status"] in statuses:
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not reach {statuses}: {job}")


def _api_server(data_dir: Path, database_url: str) -> LiveServer:
    """The server the API tests talk to: two workers, uploads up to 2 MB."""
    settings = Settings(data_dir=data_dir, database_url=database_url, workers=2, max_upload_mb=2)
    return LiveServer(settings)


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    """A server with an empty database, for a test that looks at every job there is."""
    with _api_server(tmp_path, database_url) as live:
        yield live


@pytest.fixture(scope="module")
def shared_server(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str
) -> Iterator[LiveServer]:
    """One server for the tests of a module that look only at the jobs they made, or make
    none: starting a server per test costs more than most API tests."""
    with _api_server(tmp_path_factory.mktemp("server"), shared_database_url) as live:
        yield live


@pytest.fixture
def small_job(receptor_pdbqt: bytes):
    """The form fields and files of a docking that takes about a second."""

    def make(**overrides: str) -> tuple[dict, dict]:
        fields = {**SMALL_BOX, **FAST_OPTIONS, "smiles": SMALL_SMILES, **overrides}
        files = {"receptor": ("1iep.pdbqt", receptor_pdbqt, "chemical/x-pdbqt")}
        return fields, files

    return make
