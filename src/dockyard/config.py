"""Settings: read once from the environment (``DOCKYARD_*``) and passed down from there.

Nothing else in Dockyard reads ``os.environ``; build a :class:`Settings` with
:func:`get_settings` (or directly, in tests) and hand it to the app, store and runner.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dockyard.errors import DockyardError

EXTRAS = {"queue": ("rq", "Redis and RQ workers"), "postgres": ("psycopg", "PostgreSQL")}
"""The optional parts of an install: ``pip install 'dockyard[NAME]'`` and the module it brings."""


def require_extra(name: str, because: str) -> None:
    """Refuse clearly, at start, a setting that needs an optional part that is not installed."""
    module, what = EXTRAS[name]
    if importlib.util.find_spec(module) is None:
        raise DockyardError(
            f"{because}, but {what} support is not installed: pip install 'dockyard[{name}]'.",
            code="missing_extra",
        )


def default_workers() -> int:
    """Half the cores: Vina's own threads use the rest as well as more processes would."""
    return max(1, (os.cpu_count() or 2) // 2)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCKYARD_", extra="forbid")

    data_dir: Path = Field(
        default=Path("dockyard-data"), description="Where the SQLite database and logs live."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means a SQLite file in the data dir.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL: set, the API queues jobs on RQ for `dockyard worker` processes "
        "(and, on SQLite, live updates are pushed through Redis pub/sub); unset, `serve` runs "
        "them itself.",
    )
    workers: int = Field(
        default_factory=default_workers, ge=1, description="Jobs run at once by `serve`."
    )
    job_time_limit: float = Field(
        default=3600.0, gt=0, description="Seconds a job may run before it is killed and failed."
    )
    max_attempts: int = Field(
        default=3, ge=1, description="Runs of a job whose process died before it is failed."
    )
    lease_seconds: float = Field(
        default=30.0, gt=0, description="How long a running job stays claimed without heartbeat."
    )
    database_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Seconds a starting server or `dockyard migrate` waits for a database that "
        "does not answer yet (one started at the same moment, or restarting).",
    )
    max_upload_mb: float = Field(default=50.0, gt=0, description="Largest accepted upload.")
    max_library_mb: float = Field(
        default=200.0, gt=0, description="Largest screening library upload, as it arrives."
    )
    max_library_unpacked_mb: float = Field(
        default=2000.0, gt=0, description="Largest screening library once decompressed."
    )
    max_library_line_kb: float = Field(
        default=100.0, gt=0, description="Longest line of a screening library."
    )
    max_archive_mb: float = Field(
        default=1000.0,
        gt=0,
        description="Largest archive `POST /api/archives` accepts, as it arrives.",
    )
    max_archive_unpacked_mb: float = Field(
        default=10000.0,
        gt=0,
        description="Largest archive once decompressed (a zip bomb stops here).",
    )
    queue: str = Field(
        default="dockyard",
        min_length=1,
        description="RQ queue the API puts jobs on (and `dockyard worker` takes them from).",
    )
    worker_cpu: int = Field(
        default=1,
        ge=0,
        description="Vina threads per job on a `dockyard worker` (0 = all cores); "
        "run one worker per core with the default.",
    )
    reconcile_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How often the RQ reconciler re-queues jobs that Redis lost and retries "
        "jobs whose lease expired.",
    )
    retry_backoff: float = Field(
        default=10.0,
        ge=0,
        description="Seconds before a job whose process died runs again (RQ runner); "
        "doubles with each attempt, at most 10 minutes.",
    )
    chem_workers: int = Field(
        default=2,
        ge=1,
        description="Processes that run the chemistry requests ask for (pre-flight, preparation "
        "at submission, pockets, depictions, interactions); the web process runs none itself.",
    )
    chem_queue: int = Field(
        default=8,
        ge=0,
        description="Chemistry requests that may wait for a free process; more are refused at "
        "once with 503 and Retry-After (each waiting request holds one of the server's threads).",
    )
    chem_memory_mb: float = Field(
        default=2048.0,
        gt=0,
        description="Resident memory a chemistry process may use; over it, it is killed and "
        "replaced and the request refused as too complex.",
    )
    chem_depict_seconds: float = Field(
        default=5.0, gt=0, description="Seconds a 2D depiction may take before it is stopped."
    )
    chem_prepare_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Seconds a pre-flight check or the preparation at submission may take "
        "(a raw receptor takes several) before it is stopped.",
    )
    chem_interactions_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds finding the interactions of a job's poses may take.",
    )

    events_max_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Seconds a live stream (`/api/events`) stays open; the browser then "
        "reconnects by itself and resumes from the last event it saw.",
    )
    events_poll_seconds: float = Field(
        default=0.5,
        gt=0,
        description="Seconds between the reads of a server's change feed when nothing pushes "
        "changes to it (SQLite without Redis): the delay of a live update there.",
    )
    events_pushed_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Seconds between the feed's reads when changes are pushed (PostgreSQL's "
        "notices, or Redis pub/sub beside SQLite): only the safety net for a notice lost while "
        "the listener reconnects.",
    )
    trusted_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Comma-separated origins (e.g. `https://dock.lab.org`) whose pages may post "
        "to the API besides the server's own: the public address behind a reverse proxy.",
    )

    secret_key: str | None = Field(
        default=None,
        description="Signs the session cookies; unset, one is generated once and kept in the "
        "data dir (every server process sharing the database must see the same one).",
    )
    secure_cookies: bool = Field(
        default=False,
        description="Mark the session cookie `Secure` (sent over HTTPS only): set it when the "
        "server is reached through HTTPS, e.g. behind a TLS reverse proxy.",
    )
    metrics_token: str | None = Field(
        default=None,
        min_length=16,
        description="A bearer token that may read `/metrics` (for a Prometheus scraper) besides "
        "an admin's session or API token; unset, only admins may once accounts exist.",
    )
    max_active_jobs: int | None = Field(
        default=None, ge=1, description="Pending and running jobs one user may have (unset: any)."
    )
    max_screen_ligands: int | None = Field(
        default=None, ge=1, description="Ligands one screen of a user may have (unset: any)."
    )
    max_stored_bytes: int | None = Field(
        default=None, ge=1, description="Bytes the jobs of one user may store (unset: any)."
    )

    retention_days: int = Field(
        default=0,
        ge=0,
        description="Days a finished job is kept after it finished before the reaper purges it "
        "with its files (0: forever); a user's own setting and a job's keep pin override it.",
    )
    compact_days: int = Field(
        default=0,
        ge=0,
        description="Days after which a finished screen keeps every ligand's scores but the "
        "poses of its best `DOCKYARD_COMPACT_KEEP` ligands only (0: never).",
    )
    compact_keep: int = Field(
        default=100, ge=0, description="Ligands whose poses a compacted screen keeps, best first."
    )
    reaper_interval: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between two retention passes; one server of a fleet runs each.",
    )
    reaper_batch: int = Field(
        default=200,
        ge=1,
        description="Jobs purged (or screens compacted) per transaction of a retention pass: "
        "small batches keep every lock short.",
    )

    public_url: str | None = Field(
        default=None,
        description="The server's address as people reach it (e.g. `https://dock.lab.org`): "
        "notifications link to jobs under it; unset, they carry a path (`/jobs/7`).",
    )
    webhook_secret: str | None = Field(
        default=None,
        description="Signs every webhook body (`X-Dockyard-Signature: sha256=<HMAC>`); "
        "webhooks are refused at submission while it is unset.",
    )
    webhook_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Comma-separated hosts a webhook may reach although they resolve to a "
        "loopback, link-local or this server's own address (private LAN ranges are allowed "
        "without it).",
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, description="Tries of one notification before it is marked failed."
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a webhook receiver or SMTP server may take."
    )
    notify_backoff: float = Field(
        default=30.0,
        gt=0,
        description="Seconds before a failed notification is tried again; doubles with each "
        "try (with jitter), at most an hour.",
    )
    notify_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often the notification sender looks for work."
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for e-mail notifications (unset: no e-mail)."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    smtp_user: str | None = Field(default=None, description="SMTP login (unset: none).")
    smtp_password: str | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(
        default="dockyard@localhost", description="The From address of notification e-mails."
    )
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the SMTP connection with STARTTLS before logging in."
    )

    @field_validator("trusted_origins", "webhook_allowed_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator(
        "database_url",
        "redis_url",
        "metrics_token",
        "public_url",
        "webhook_secret",
        "smtp_host",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'dockyard.db').resolve()}"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_library_bytes(self) -> int:
        return int(self.max_library_mb * 1024 * 1024)

    @property
    def max_archive_bytes(self) -> int:
        return int(self.max_archive_mb * 1024 * 1024)

    @property
    def max_archive_unpacked_bytes(self) -> int:
        return int(self.max_archive_unpacked_mb * 1024 * 1024)

    @property
    def cpu_per_job(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.workers)


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) on top."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})
