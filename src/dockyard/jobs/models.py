"""The job database: the only source of truth for every job.

The API writes a job row and reads status, progress and results back from here; runners
write every state change here. Inputs and outputs are stored as rows of ``job_files`` so no
result lives only on one worker's disk.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

INTEGER_MAX = 2**31 - 1
"""The largest value an ``Integer`` column (ids, ligand indexes) holds on every backend:
PostgreSQL's ``integer`` is 32 bits."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobStatus(enum.StrEnum):
    """One status vocabulary for the database column, the API schema and every runner."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self in FINISHED_STATUSES


FINISHED_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})

DOCK_KIND = "dock"
SCREEN_KIND = "screen"
CHUNK_KIND = "screen_chunk"
VALIDATION_KIND = "screen_validation"
"""A screen's redocking of its reference ligand (``validate=true``), run before its chunks."""
CONTAINER_KINDS = frozenset({SCREEN_KIND})
"""Kinds that no runner executes: a screen is done by its chunks (jobs with ``parent_id``)."""


class LigandStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    DUPLICATE = "duplicate"


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_id", "status", "id"),
        Index("ix_jobs_parent_id", "parent_id", "id"),
        Index("ix_jobs_owner_status", "owner_id", "status"),
        Index("ix_jobs_finished_at", "finished_at"),
        {"sqlite_autoincrement": True},
    )
    """AUTOINCREMENT: SQLite never gives the id of a deleted job to a new one (migration 0004)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), nullable=True
    )
    owner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The user who submitted it (a chunk: its screen's owner); None until the first admin
    claims it. No foreign key: users are disabled, never deleted (see migration 0005)."""
    kind: Mapped[str] = mapped_column(String(32), default=DOCK_KIND)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[JobStatus] = mapped_column(
        Enum(
            JobStatus,
            native_enum=False,
            length=16,
            values_callable=lambda statuses: [status.value for status in statuses],
            validate_strings=True,
        ),
        default=JobStatus.PENDING,
    )
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(200), default="queued")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    time_limit: Mapped[float] = mapped_column(Float, default=3600.0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Where to POST the job's end (a column, not a parameter: it may hold a receiver's secret,
    which shares and archives must not carry)."""
    keep: Mapped[bool] = mapped_column(Boolean, default=False)
    """Pinned by its owner: no retention pass purges or compacts it."""
    compacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When a retention pass dropped the poses of this screen's ligands outside its best."""


class JobFile(Base):
    """An input or output file of a job, stored in the database itself."""

    __tablename__ = "job_files"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Screen(Base):
    """Counters of a screening job, kept up to date by its chunks (one row per screen)."""

    __tablename__ = "screens"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    best_score: Mapped[float | None] = mapped_column(Float, nullable=True)


class ScreenLigand(Base):
    """One ligand of a screen: its input, and its result once a chunk has docked it.

    The primary key (screen, index in the library) makes every result write idempotent: a
    chunk that runs again after a crash updates the same row, never adds a second one.
    """

    __tablename__ = "screen_ligands"
    __table_args__ = (
        Index("ix_screen_ligands_score", "screen_id", "score"),
        Index("ix_screen_ligands_status", "screen_id", "status"),
        Index("ix_screen_ligands_canonical", "screen_id", "canonical_smiles"),
    )

    screen_id: Mapped[int] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    index: Mapped[int] = mapped_column("idx", Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(8))
    status: Mapped[LigandStatus] = mapped_column(
        Enum(
            LigandStatus,
            native_enum=False,
            length=16,
            values_callable=lambda statuses: [status.value for status in statuses],
        ),
        default=LigandStatus.PENDING,
    )
    canonical_smiles: Mapped[str | None] = mapped_column(Text, nullable=True)
    duplicate_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    ligand_efficiency: Mapped[float | None] = mapped_column(Float, nullable=True)
    heavy_atoms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    molecular_weight: Mapped[float | None] = mapped_column(Float, nullable=True)
    logp: Mapped[float | None] = mapped_column(Float, nullable=True)
    num_poses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    poses_sdf: Mapped[str | None] = mapped_column(Text, nullable=True)
    plausible: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    """PoseBusters' verdict on the top pose; checked for the screen's best ligands only."""
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    """The top pose's evidence, as a docking's poses carry it (see ``chem.evidence``)."""
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


ADMIN_ROLE = "admin"
MEMBER_ROLE = "member"
ROLES = (ADMIN_ROLE, MEMBER_ROLE)


class User(Base):
    """An account of a shared server; the quota columns override the settings when set."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default=MEMBER_ROLE)
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    max_active_jobs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_screen_ligands: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_stored_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Days their finished jobs are kept; None: the server's setting, 0: forever."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The webhook of every job of theirs that names none of its own."""
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    email_on_finish: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN_ROLE


class ApiToken(Base):
    """A bearer token: only its SHA-256 is kept (the secret is random, so no slow hash)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class Lease(Base):
    """A turn that one process of a fleet holds until ``expires_at`` (the reaper's pass)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class JobShare(Base):
    """A job or screen its group's members may read (never cancel or delete)."""

    __tablename__ = "job_shares"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


WEBHOOK_CHANNEL = "webhook"
EMAIL_CHANNEL = "email"
CHANNELS = (WEBHOOK_CHANNEL, EMAIL_CHANNEL)


class Delivery(Base):
    """One notification of one job's end to one target (the outbox): written in the
    transaction that finishes the job, sent at least once by a notification sender."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_job", "job_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    """A UUID the receiver de-duplicates on: the same on every try of this delivery."""
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(
            DeliveryStatus,
            native_enum=False,
            length=16,
            values_callable=lambda statuses: [status.value for status in statuses],
        ),
        default=DeliveryStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """When a sender may take it next: after its back-off, or once a sender's lease on it ran
    out (a claimed row's ``next_attempt_at`` is the end of the claim)."""
    claimed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
