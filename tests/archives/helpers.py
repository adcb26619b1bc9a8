"""What the archive tests share: a store snapshot to compare jobs by, and zip surgery."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from sqlalchemy import select

from dockyard.jobs.models import Job, JobFile, Screen, ScreenLigand

NOT_KEPT = {"id", "owner_id", "parent_id", "updated_at", "lease_expires_at"}
"""Columns an import gives anew: the id, the owner (the importer), the parent (the new
screen's id), the time of the row's last change (the import) and the lease (none)."""


def _columns(row: Any, skip: set[str]) -> dict[str, Any]:
    return {
        attribute.key: getattr(row, attribute.key)
        for attribute in row.__mapper__.column_attrs
        if attribute.key not in skip
    }


def snapshot(store, job_id: int) -> dict[str, Any]:
    """Every column of a job, its files, children, counters and ligands, minus what an
    import gives anew (and the provenance note it adds)."""
    with store.session() as session:
        job = session.get(Job, job_id)
        children = list(
            session.scalars(select(Job).where(Job.parent_id == job_id).order_by(Job.id))
        )
        jobs = [job, *children]
        files = [
            [_columns(row, {"job_id"}) for row in session.scalars(
                select(JobFile).where(JobFile.job_id == each.id).order_by(JobFile.name))]
            for each in jobs
        ]  # fmt: skip
        counts = session.get(Screen, job_id)
        ligands = [
            _columns(row, {"screen_id"})
            for row in session.scalars(
                select(ScreenLigand)
                .where(ScreenLigand.screen_id == job_id)
                .order_by(ScreenLigand.index)
            )
        ]
    rows = [_columns(each, NOT_KEPT) for each in jobs]
    for row in rows:
        kept = (row["provenance"] or {}).items()
        row["provenance"] = {key: value for key, value in kept if key != "imported_from"} or None
    return {
        "jobs": rows,
        "files": files,
        "counts": _columns(counts, {"job_id"}) if counts else None,
        "ligands": ligands,
    }


def entries(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        return {info.filename: zipped.read(info) for info in zipped.infolist()}


def rezip(contents: dict[str, bytes], manifest: dict | None = None) -> bytes:
    """A zip of ``contents``, with ``manifest`` (as JSON) as its manifest when given."""
    if manifest is not None:
        contents = {**contents, "dockyard-archive.json": json.dumps(manifest).encode()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, content in contents.items():
            zipped.writestr(name, content)
    return buffer.getvalue()


def manifest_of(archive: bytes) -> dict:
    return json.loads(entries(archive)["dockyard-archive.json"])
