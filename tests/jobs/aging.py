"""Old jobs for the retention tests: real rows and files, written through the store, then
aged by writing ``finished_at`` in the past (no docking runs)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from dockyard.chem.ligand.library import LibraryEntry
from dockyard.jobs.models import Job, JobStatus, LigandStatus, ScreenLigand, utcnow
from dockyard.jobs.store import Store, StoredFile

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=utcnow().tzinfo)
"""The clock the tests pass to the reaper: jobs are aged relative to it."""
RECEPTOR = b"ATOM      1  N   ALA A   1      11.104   6.134  -6.504  1.00  0.00     0.000 N\n"
POSES = "pose\n  dockyard\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n$$$$\n"


def age(
    store: Store,
    job_id: int,
    days_ago: float,
    status: JobStatus = JobStatus.COMPLETED,
    now: datetime = NOW,
) -> None:
    """Make a job (and its chunks) ``status``, finished ``days_ago`` days before ``now``."""
    finished = now - timedelta(days=days_ago)
    values = {"status": status, "finished_at": finished, "updated_at": finished}
    if not status.is_finished:
        values["finished_at"] = None
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(**values))
        session.execute(update(Job).where(Job.parent_id == job_id).values(**values))


def old_job(
    store: Store,
    days_ago: float,
    *,
    owner_id: int | None = None,
    status: JobStatus = JobStatus.COMPLETED,
    size: int = 4000,
    now: datetime = NOW,
) -> int:
    """A docking with a receptor and a poses file of ``size`` bytes each."""
    job = store.create_job(
        kind="dock",
        name=f"{days_ago} days old",
        params={},
        files=[
            StoredFile("receptor.pdbqt", RECEPTOR * (size // len(RECEPTOR) + 1)),
            StoredFile("poses.sdf", b"x" * size),
        ],
        owner_id=owner_id,
    )
    age(store, job.id, days_ago, status, now)
    return job.id


def old_screen(
    store: Store,
    days_ago: float,
    ligands: int,
    *,
    owner_id: int | None = None,
    now: datetime = NOW,
) -> int:
    """A finished screen of ``ligands`` docked ligands, each with poses; ligand i scores
    ``-(i % 50) / 10`` (the best are those with i % 50 == 49)."""
    screen = store.screens.create(
        name="old screen",
        params={},
        files=[StoredFile("receptor.pdbqt", RECEPTOR)],
        entries=[LibraryEntry(i, f"ligand {i}", "CCO", "smi") for i in range(ligands)],
        chunk_size=lambda total: 50,
        max_attempts=1,
        time_limit=60,
        owner_id=owner_id,
    )
    with store.session() as session, session.begin():
        session.execute(
            update(ScreenLigand)
            .where(ScreenLigand.screen_id == screen.id)
            .values(
                status=LigandStatus.COMPLETED,
                score=-(ScreenLigand.index % 50) / 10.0,
                num_poses=1,
                poses_sdf=POSES,
            )
        )
    age(store, screen.id, days_ago, now=now)
    return screen.id
