"""Exporting a finished job or screen as one archive (:mod:`dockyard.jobs.archive_format`).

The zip is written entry by entry into a sink that is emptied after every piece, so the
export is a generator of bytes whose memory does not grow with the job: one stored file at
a time, a screen's ligands read ``LIGAND_BATCH`` rows at a time. The manifest is written
last, once the size and SHA-256 of every streamed entry are known (a zip reader finds it in
the central directory wherever it is).
"""

from __future__ import annotations

import enum
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dockyard._version import __version__
from dockyard.errors import ConflictError, InputError
from dockyard.jobs.archive_format import (
    FORMAT,
    LIGAND_COLUMNS,
    LIGANDS,
    MANIFEST,
    README,
    RECEPTOR_REPORT,
    SCREEN_RESULTS,
    SCREEN_TOP_SDF,
    TOP_KINDS,
    TOP_POSES,
    VERSION,
    child_prefix,
    entry_path,
    readme,
)
from dockyard.jobs.exports import poses_csv
from dockyard.jobs.files import RESULTS_CSV
from dockyard.jobs.models import SCREEN_KIND, Job, JobStatus, Screen, utcnow
from dockyard.jobs.screen_results import results_csv, top_poses_sdf
from dockyard.jobs.store import Store

COMPRESS_LEVEL = 1
"""Deflate's fastest level: poses compress well at any level, and an export runs on a busy
server (level 6 took 2.6 times as long on a 100,000-ligand screen, for an archive a fifth
smaller: 63.5 MB instead of 78.7 MB)."""
Progress = Callable[[int], None]
"""Told how many more steps (files, ligands) are in the archive."""


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream whose bytes are taken away as they come: ``zipfile``
    then writes data descriptors instead of seeking back."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._pieces.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._pieces)
        self._pieces.clear()
        return data


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _json(value: Any, **options: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, **options).encode()


def job_record(job: Job) -> dict[str, Any]:
    """The columns of a job an archive keeps (its files are added as they are written)."""
    return {
        "kind": job.kind,
        "name": job.name,
        "status": job.status.value,
        "stage": job.stage,
        "progress": job.progress,
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "time_limit": job.time_limit,
        "error": job.error,
        "error_detail": job.error_detail,
        "worker": job.worker,
        "parameters": job.params,
        "results": job.results,
        "provenance": job.provenance,
        **{
            name: _plain(getattr(job, name))
            for name in ("created_at", "started_at", "finished_at", "updated_at")
        },
    }


@dataclass
class ArchiveExport:
    """One job's archive, checked exportable before a byte of it is sent."""

    store: Store
    job: Job
    children: list[Job]
    counts: Screen | None
    server: str | None

    @classmethod
    def open(cls, store: Store, job_id: int, *, server: str | None = None) -> ArchiveExport:
        """The export of job ``job_id``; a job not finished yet is a conflict (409)."""
        job = store.get_job(job_id)
        if job.kind not in TOP_KINDS or job.parent_id is not None:
            raise InputError(
                f"Job {job_id} is part of screen {job.parent_id}; export the screen instead.",
                field="job_id",
            )
        if not job.status.is_finished:
            raise ConflictError(
                f"Job {job_id} is {job.status.value}; it can be archived once it has finished "
                f"({', '.join(s.value for s in JobStatus if s.is_finished)}).",
                field="job_id",
            )
        screen = job.kind == SCREEN_KIND
        children = store.archives.children(job_id) if screen else []
        counts = store.archives.screen_counts(job_id) if screen else None
        return cls(store, job, children, counts, server)

    @property
    def filename(self) -> str:
        return f"dockyard-{self.job.kind}-{self.job.id}.zip"

    @property
    def steps(self) -> int:
        """Files and ligands to write: what a progress bar counts."""
        jobs = [self.job, *self.children]
        files = sum(len(self.store.list_files(job.id)) for job in jobs)
        return files + (self.counts.total if self.counts else 0)

    def chunks(self, progress: Progress | None = None) -> Iterator[bytes]:
        """The zip, in pieces as they are compressed."""
        sink = _Sink()
        advance = progress or (lambda steps: None)
        exported_at = utcnow()
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "dockyard_version": __version__,
            "exported_at": exported_at.isoformat(),
            "source": {"job_id": self.job.id, "server": self.server, "store": self.store.identity},
            **job_record(self.job),
        }
        with zipfile.ZipFile(sink, "w") as archive:
            text = readme({**manifest, "exported_at": exported_at}).encode()
            yield from _entry(archive, sink, README, [text])
            manifest["files"] = yield from self._files(archive, sink, self.job, "", advance)
            manifest["derived"] = yield from self._derived(archive, sink)
            manifest["screen"] = yield from self._screen(archive, sink, advance)
            children = []
            for number, child in enumerate(self.children, start=1):
                record = job_record(child)
                prefix = child_prefix(number)
                record["files"] = yield from self._files(archive, sink, child, prefix, advance)
                children.append(record)
            manifest["children"] = children
            yield from _entry(archive, sink, MANIFEST, [_json(manifest, indent=1)])
        yield sink.take()

    def _files(
        self, archive: zipfile.ZipFile, sink: _Sink, job: Job, prefix: str, advance: Progress
    ) -> Generator[bytes, None, list[dict[str, Any]]]:
        """Every stored file of ``job``, read one at a time."""
        records = []
        for name, role, _size in self.store.list_files(job.id):
            stored = self.store.read_file(job.id, name)
            path = entry_path(name, role, prefix)
            size, digest = yield from _entry(archive, sink, path, [stored.content])
            records.append(
                {"path": path, "name": name, "role": role, "media_type": stored.media_type,
                 "size": size, "sha256": digest}
            )  # fmt: skip
            advance(1)
        return records

    def _derived(
        self, archive: zipfile.ZipFile, sink: _Sink
    ) -> Generator[bytes, None, list[dict[str, Any]]]:
        """The files people read that the downloads make from the job: its preparation
        report, and the result tables."""
        job = self.job
        made: list[tuple[str, Iterable[bytes]]] = []
        report = (job.params or {}).get("receptor_report")
        if report:
            made.append((RECEPTOR_REPORT, [_json(report, indent=1)]))
        if job.kind == SCREEN_KIND:
            made.append((SCREEN_RESULTS, _encoded(results_csv(self.store, job.id))))
            made.append((SCREEN_TOP_SDF, _encoded(top_poses_sdf(self.store, job.id, TOP_POSES))))
        elif job.status == JobStatus.COMPLETED:
            table = poses_csv((job.results or {}).get("poses", []))
            made.append((f"results/{RESULTS_CSV}", [table.encode()]))
        records = []
        for path, pieces in made:
            size, digest = yield from _entry(archive, sink, path, pieces)
            records.append({"path": path, "size": size, "sha256": digest})
        return records

    def _screen(
        self, archive: zipfile.ZipFile, sink: _Sink, advance: Progress
    ) -> Generator[bytes, None, dict[str, Any] | None]:
        """A screen's counters, and every ligand's row as one line of ``ligands.jsonl``."""
        if self.counts is None:
            return None
        count = 0

        def lines() -> Iterator[bytes]:
            nonlocal count
            for batch in self.store.archives.ligand_batches(self.job.id, LIGAND_COLUMNS):
                yield b"".join(_json(_ligand(row), separators=(",", ":")) + b"\n" for row in batch)
                count += len(batch)
                advance(len(batch))

        size, digest = yield from _entry(archive, sink, LIGANDS, lines())
        counts = self.counts
        return {
            "total": counts.total,
            "completed": counts.completed,
            "failed": counts.failed,
            "duplicates": counts.duplicates,
            "best_score": counts.best_score,
            "ligands": {"path": LIGANDS, "count": count, "size": size, "sha256": digest},
        }


def _ligand(row: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(value) for name, value in row.items()}


def _encoded(pieces: Iterable[str]) -> Iterator[bytes]:
    return (piece.encode() for piece in pieces)


def _entry(
    archive: zipfile.ZipFile, sink: _Sink, path: str, pieces: Iterable[bytes]
) -> Generator[bytes, None, tuple[int, str]]:
    """Write one entry piece by piece, passing on the compressed bytes as they come; return
    its size and SHA-256."""
    info = zipfile.ZipInfo(path, date_time=time.gmtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = COMPRESS_LEVEL  # public as compress_level only from Python 3.13
    info.external_attr = 0o644 << 16
    digest = hashlib.sha256()
    size = 0
    with archive.open(info, "w", force_zip64=True) as out:
        for piece in pieces:
            digest.update(piece)
            size += len(piece)
            out.write(piece)
            data = sink.take()
            if data:
                yield data
    data = sink.take()
    if data:
        yield data
    return size, digest.hexdigest()
