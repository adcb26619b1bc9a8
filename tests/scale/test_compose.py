"""compose.yaml's own commands, settings and health checks, run as real processes.

No container engine is needed: each service's command and environment are read from
compose.yaml and started here, against this machine's PostgreSQL and a Redis started with the
compose file's own flags. The compose network's host names (``postgres``, ``redis``) become
127.0.0.1. This is what ``docker compose up -d --scale worker=2`` starts, minus the images.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.conftest import _free_port
from tests.scale.conftest import wait_finished, wait_until

COMPOSE = Path(__file__).parents[2] / "compose.yaml"
DOCKERFILE = Path(__file__).parents[2] / "Dockerfile"
VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def interpolate(value: Any) -> str:
    """``${NAME:-default}`` and ``${NAME:?error}`` as docker compose reads them, from this
    process's environment (a required variable that is unset reads as empty here)."""

    def value_of(match: re.Match) -> str:
        default = match.group(3) if match.group(2) == "-" else ""
        return os.environ.get(match.group(1), default or "")

    return VARIABLE.sub(value_of, str(value))


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def environment(service: dict, tmp_path: Path, database_url: str, redis_url: str) -> dict:
    """The service's environment, its compose host names pointed at this machine's servers."""
    declared = {name: interpolate(value) for name, value in service["environment"].items()}
    database = make_url(declared["DOCKYARD_DATABASE_URL"])
    assert (database.host, database.port, database.database) == ("postgres", 5432, "dockyard")
    assert declared["DOCKYARD_REDIS_URL"] == "redis://redis:6379/0"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKYARD_")}
    return (
        env
        | declared
        | {
            "DOCKYARD_DATABASE_URL": database_url,
            "DOCKYARD_REDIS_URL": redis_url,
            "DOCKYARD_DATA_DIR": str(tmp_path / "data"),
        }
    )


def command(service: dict, **replace: str) -> list[str]:
    """The service's command, run by this interpreter's ``dockyard``, with some values swapped."""
    words = [replace.get(word, word) for word in service["command"]]
    assert words[0] == "dockyard", words
    return [sys.executable, "-m", "dockyard", *words[1:]]


def test_the_compose_services_run_and_dock_together(services, tmp_path, postgres_url, small_job):
    assert {"postgres", "redis", "migrate", "api", "worker"} <= set(services)
    assert "DOCKYARD_WORKER_CPU" in services["worker"]["environment"]

    # redis: the compose file's own flags (append-only, never evict queued work).
    redis_port = _free_port()
    redis_command = [
        shutil.which("redis-server") or "redis-server",
        *services["redis"]["command"][1:],
    ]
    redis = subprocess.Popen(
        [*redis_command, "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    processes: list[subprocess.Popen] = [redis]
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    try:
        from redis import Redis

        client = Redis.from_url(redis_url)
        wait_until(lambda: _pings(client), 10, "redis-server")
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert client.config_get("appendonly")["appendonly"] == "yes"

        # migrate: runs once and exits 0 before anything else starts.
        env = environment(services["migrate"], tmp_path, postgres_url, redis_url)
        done = subprocess.run(
            command(services["migrate"]), env=env, capture_output=True, timeout=120
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]

        # api: on a free port instead of 5000; its health check is the compose file's own.
        port = str(_free_port())
        env = environment(services["api"], tmp_path, postgres_url, redis_url)
        api_log = (tmp_path / "api.log").open("wb")
        processes.append(
            subprocess.Popen(command(services["api"], **{"5000": port, "0.0.0.0": "127.0.0.1"}),
                             env=env, stdout=api_log, stderr=subprocess.STDOUT)
        )  # fmt: skip
        check = [part.replace("5000", port) for part in services["api"]["healthcheck"]["test"][1:]]
        check[0] = sys.executable if check[0] == "python" else check[0]
        wait_until(lambda: subprocess.run(check, capture_output=True).returncode == 0, 90,
                   "the api's health check")  # fmt: skip

        # worker, scaled to two.
        env = environment(services["worker"], tmp_path, postgres_url, redis_url)
        for number in range(2):
            log = (tmp_path / f"worker-{number}.log").open("wb")
            processes.append(
                subprocess.Popen(command(services["worker"]), env=env, stdout=log,
                                 stderr=subprocess.STDOUT)
            )  # fmt: skip

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as api:
            health = api.get("/api/health").json()
            assert health["store"] == {"ok": True, "backend": "postgresql"}, health
            assert health["queue"]["kind"] == "rq" and health["queue"]["alive"], health
            wait_until(lambda: _workers(api, 2), 60, "two workers registered")
            fields, files = small_job()
            ids = [
                api.post("/api/jobs", data=fields, files=files).json()["job_id"] for _ in range(4)
            ]
            jobs = wait_finished(api, ids, timeout=180)
        assert all(job["results"]["best_score"] < 0 for job in jobs)
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_compose_has_no_default_database_password(services):
    for service in ("postgres", "migrate"):
        for value in services[service]["environment"].values():
            assert "POSTGRES_PASSWORD:-" not in str(value)
    assert "POSTGRES_PASSWORD:?" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert "users add NAME --admin" in COMPOSE.read_text()


def test_the_image_runs_what_compose_asks(services):
    """The Dockerfile's default command is the api's, and the image installs Dockyard."""
    text = DOCKERFILE.read_text()
    cmd = re.search(r"^CMD (\[.*\])$", text, re.MULTILINE)
    assert cmd is not None and yaml.safe_load(cmd.group(1)) == services["api"]["command"]
    assert "pip install --no-deps ." in text
    assert services["worker"]["stop_signal"] == "SIGTERM"


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def _workers(api: httpx.Client, count: int) -> list[dict] | None:
    workers = [w for w in api.get("/api/workers").json()["workers"] if w["registered"]]
    return workers if len(workers) >= count else None
