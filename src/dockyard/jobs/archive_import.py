"""Importing an archive (:mod:`dockyard.jobs.archive_format`): every archive may be hostile.

Nothing is extracted to disk and no chemistry runs: the stored bytes are checked and copied
into the store. Before anything is written the zip must be no larger than the limit, hold
at most ``MAX_ENTRIES`` entries with safe names (no absolute paths, ``..``, backslashes, links
or encryption), declare no more than the unpacked limit, and carry a manifest of a known
format and version that holds up; each entry is then read counting its bytes against what it
declared and the unpacked limit, and must match the manifest's size and SHA-256. Every
refusal is an :class:`~dockyard.errors.InputError` naming the ``archive`` field.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from pydantic import ValidationError

from dockyard.config import Settings
from dockyard.errors import FileTooLargeError, InputError, QuotaError
from dockyard.jobs.archive_format import (
    CHILD_KINDS,
    FORMAT,
    LIGANDS,
    MANIFEST,
    README,
    VERSION,
    ChunkShape,
    FileRecord,
    JobRecord,
    LigandRecord,
    LigandsRecord,
    Manifest,
    ParameterShape,
    ResultShape,
)
from dockyard.jobs.archive_store import RestoredJob
from dockyard.jobs.fence import StoredFile
from dockyard.jobs.models import CHUNK_KIND, SCREEN_KIND, Job, utcnow
from dockyard.jobs.store import Store

FIELD = "archive"
MAX_ENTRIES = 10_000
"""Entries one archive may hold (its ligands are one entry; a screen's chunks have no files)."""
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
"""Longest line of ``ligands.jsonl``: one ligand with all its poses."""
READ_BYTES = 1024 * 1024
MAX_DEPTH = 64
"""How deep the JSON of a manifest or a ligand may nest (a job's own is a few levels)."""
JOB_COLUMNS = tuple(name for name in JobRecord.model_fields if name not in ("files", "parameters"))
"""The fields of a job's record that are columns of its row by the same name."""
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError)


@dataclass(frozen=True)
class ArchiveLimits:
    archive_bytes: int
    """The zip as it arrives."""
    unpacked_bytes: int
    """Everything in it once decompressed."""
    entries: int = MAX_ENTRIES

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveLimits:
        return cls(settings.max_archive_bytes, settings.max_archive_unpacked_bytes)


def bad(message: str) -> InputError:
    return InputError(message, field=FIELD, code="invalid_archive")


def too_large(unpacked: str, limit: int) -> FileTooLargeError:
    return FileTooLargeError(
        f"The archive unpacks to {unpacked} the limit of {limit / 1e6:.1f} MB "
        "(DOCKYARD_MAX_ARCHIVE_UNPACKED_MB).",
        field=FIELD,
    )


def import_archive(
    store: Store,
    stream: IO[bytes],
    *,
    limits: ArchiveLimits,
    owner_id: int | None,
    max_ligands: int | None = None,
) -> Job:
    """Restore the archive in ``stream`` (seekable) as a new finished job of ``owner_id``."""
    size = stream.seek(0, 2)
    stream.seek(0)
    if size > limits.archive_bytes:
        raise FileTooLargeError(
            f"The archive is {size / 1e6:.1f} MB; the limit is {limits.archive_bytes / 1e6:.1f} "
            "MB (DOCKYARD_MAX_ARCHIVE_MB).",
            field=FIELD,
        )
    try:
        archive = zipfile.ZipFile(stream)
    except _ZIP_ERRORS as error:
        raise bad(f"The archive is not a readable zip file ({error}); is it truncated?") from None
    with archive:
        reader = _Reader(archive, limits)
        manifest = reader.manifest()
        reader.check_listing(manifest)
        total = manifest.screen.total if manifest.screen else 0
        if max_ligands is not None and total > max_ligands:
            raise QuotaError(
                f"This screen has {total} ligands, more than the {max_ligands} one screen of "
                "yours may have.",
                field=FIELD,
                code="too_many_ligands",
            )
        job = reader.restored(manifest, top=True)
        children = [reader.restored(child) for child in manifest.children]
        for derived in manifest.derived:
            reader.read(derived.path, derived.size, derived.sha256)
        counts = None
        ligands: Iterator[dict[str, Any]] = iter(())
        if manifest.screen is not None:
            counts = manifest.screen.model_dump(exclude={"ligands"})
            ligands = reader.ligands(manifest.screen.ligands)
        return store.archives.restore(
            job, owner_id=owner_id, children=children, counts=counts, ligands=ligands
        )


class _Reader:
    """The entries of one zip, read within the limits."""

    def __init__(self, archive: zipfile.ZipFile, limits: ArchiveLimits):
        self.archive = archive
        self.limits = limits
        self.unpacked = 0
        infos = archive.infolist()
        if len(infos) > limits.entries:
            raise bad(f"The archive has {len(infos)} entries; at most {limits.entries} are read.")
        self.entries: dict[str, zipfile.ZipInfo] = {}
        declared = 0
        for info in infos:
            _check_name(info)
            if info.is_dir():
                continue
            if info.filename in self.entries:
                raise bad(f"The archive holds {info.filename!r} twice.")
            self.entries[info.filename] = info
            declared += info.file_size
        if declared > limits.unpacked_bytes:
            raise too_large(f"{declared / 1e6:.1f} MB, more than", limits.unpacked_bytes)

    def _open(self, path: str) -> tuple[zipfile.ZipInfo, IO[bytes]]:
        info = self.entries.get(path)
        if info is None:
            raise bad(f"The manifest lists {path}, which the archive does not hold.")
        try:
            return info, self.archive.open(info)
        except _ZIP_ERRORS as error:
            raise bad(f"{path} cannot be read from the archive ({error}).") from None

    def _count(self, info: zipfile.ZipInfo, read_so_far: int, more: int) -> None:
        """Refuse an entry that unpacks past what it declared, or the archive past the limit
        (a zip bomb's declared sizes are lies)."""
        self.unpacked += more
        if read_so_far > info.file_size:
            raise bad(
                f"{info.filename} unpacks to more than the {info.file_size} bytes it declares."
            )
        if self.unpacked > self.limits.unpacked_bytes:
            raise too_large("more than", self.limits.unpacked_bytes)

    def read(self, path: str, size: int | None = None, sha256: str | None = None) -> bytes:
        """A whole entry, checked against the size and SHA-256 the manifest gives for it."""
        info, entry = self._open(path)
        if size is not None and info.file_size != size:
            raise bad(f"{path} does not match the manifest: {info.file_size} bytes, not {size}.")
        pieces: list[bytes] = []
        read = 0
        try:
            with entry:
                while piece := entry.read(READ_BYTES):
                    read += len(piece)
                    self._count(info, read, len(piece))
                    pieces.append(piece)
        except _ZIP_ERRORS as error:
            raise bad(f"{path} is damaged in the archive ({error}).") from None
        content = b"".join(pieces)
        if sha256 is not None and hashlib.sha256(content).hexdigest() != sha256:
            raise bad(f"{path} does not match the manifest: its SHA-256 differs.")
        return content

    def manifest(self) -> Manifest:
        if MANIFEST not in self.entries:
            raise bad(f"This is not a Dockyard archive: it has no {MANIFEST}.")
        if self.entries[MANIFEST].file_size > MAX_MANIFEST_BYTES:
            raise bad(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES // 2**20} MB.")
        values = _parse(self.read(MANIFEST), MANIFEST)
        if not isinstance(values, dict) or values.get("format") != FORMAT:
            raise bad(f"{MANIFEST} does not describe a {FORMAT} (its format is missing or other).")
        if "version" not in values:
            raise bad(f"{MANIFEST} gives no format version.")
        if values["version"] != VERSION:
            raise bad(
                f"The archive is of format version {values['version']!r}; this Dockyard reads "
                f"version {VERSION}. Import it on the Dockyard that made it, or a newer one."
            )
        manifest = _validated(Manifest, values, MANIFEST)
        _check_consistent(manifest)
        return manifest

    def check_listing(self, manifest: Manifest) -> None:
        """Every entry the manifest lists is held, and nothing else is."""
        listed = {MANIFEST, README}
        for job in (manifest, *manifest.children):
            listed |= {record.path for record in job.files}
        listed |= {record.path for record in manifest.derived}
        if manifest.screen is not None:
            listed.add(manifest.screen.ligands.path)
        for path in self.entries:
            if path not in listed:
                raise bad(f"{path} is in the archive but not in its manifest.")

    def restored(self, record: JobRecord, *, top: bool = False) -> RestoredJob:
        """A job's row and files as the store restores them (the top job's provenance notes
        where it came from)."""
        files = [
            (StoredFile(file.name, self.read(file.path, file.size, file.sha256), file.media_type),
             file.role)
            for file in record.files
        ]  # fmt: skip
        values = {name: getattr(record, name) for name in JOB_COLUMNS}
        values["params"] = record.parameters
        values["updated_at"] = utcnow()
        if top:
            assert isinstance(record, Manifest)
            values["provenance"] = {
                **(record.provenance or {}),
                "imported_from": {
                    **record.source.model_dump(),
                    "exported_at": record.exported_at.isoformat(),
                    "imported_at": values["updated_at"].isoformat(),
                    "dockyard_version": record.dockyard_version,
                    "format_version": record.version,
                },
            }
        return RestoredJob(values, files)

    def ligands(self, record: LigandsRecord) -> Iterator[dict[str, Any]]:
        """The rows of ``ligands.jsonl`` as a stream, each checked; the count and SHA-256 are
        checked at the end (raised then, the store's transaction is rolled back)."""
        info, entry = self._open(record.path)
        if info.file_size != record.size:
            raise bad(f"{LIGANDS} does not match the manifest: {info.file_size} bytes.")
        digest = hashlib.sha256()
        count, last, read = 0, -1, 0
        with entry:
            while True:
                try:
                    line = entry.readline(MAX_LINE_BYTES + 1)
                except _ZIP_ERRORS as error:
                    raise bad(f"{LIGANDS} is damaged in the archive ({error}).") from None
                if not line:
                    break
                read += len(line)
                self._count(info, read, len(line))
                if len(line) > MAX_LINE_BYTES:
                    raise bad(
                        f"Line {count + 1} of {LIGANDS} is longer than {MAX_LINE_BYTES} bytes."
                    )
                digest.update(line)
                where = f"{LIGANDS} line {count + 1}"
                ligand = _validated(LigandRecord, _parse(line, where), where)
                if ligand.index <= last:
                    raise bad(f"{where}: ligand {ligand.index} is repeated or out of order.")
                last = ligand.index
                count += 1
                if count > record.count:
                    raise bad(
                        f"{LIGANDS} has more than the {record.count} ligands of the manifest."
                    )
                yield ligand.model_dump()
        if count != record.count or digest.hexdigest() != record.sha256:
            raise bad(f"{LIGANDS} does not match the manifest ({count} ligands, or its SHA-256).")


def _check_name(info: zipfile.ZipInfo) -> None:
    """Refuse an entry name that could point outside a folder, or a link."""
    name = info.filename
    parts = name.rstrip("/").split("/")
    unsafe = (
        not name
        or name.startswith("/")
        or "\\" in name
        or _DRIVE.match(name)
        or _CONTROL.search(name)
        or any(part in ("", ".", "..") for part in parts)
    )
    if unsafe:
        raise bad(f"The archive holds an entry with an unsafe name: {name!r}.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise bad(f"The archive holds a link, {name!r}; archives hold files only.")
    if info.flag_bits & 0x1:
        raise bad(f"{name} is encrypted; archives are not.")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _parse(content: bytes, where: str) -> Any:
    """JSON as strict as the columns it goes to: no NaN, no NUL, at most ``MAX_DEPTH`` deep
    (what a page or a database driver may walk recursively)."""
    try:
        values = json.loads(content.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise bad(f"{where} is not valid JSON ({error}).") from None
    except RecursionError:
        values = None
        depth = MAX_DEPTH + 1
    else:
        depth = _check_text(values, where)
    if depth > MAX_DEPTH:
        raise bad(f"{where} nests its values more than {MAX_DEPTH} levels deep.")
    return values


def _check_text(value: Any, where: str, depth: int = 0) -> int:
    """How deep ``value`` nests (stopping past the limit); refuses a NUL character."""
    if isinstance(value, str):
        if "\x00" in value:
            raise bad(f"{where} holds a NUL character, which no text field may.")
        return depth
    if depth > MAX_DEPTH:
        return depth
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return depth
    return max((_check_text(item, where, depth + 1) for item in items), default=depth + 1)


def _validated(model: type[Any], values: Any, where: str) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise bad(f"{where}: {location}: {first['msg']}.") from None


def _check_consistent(manifest: Manifest) -> None:
    """What the types alone do not say: finished jobs, a screen with its counters, children
    of the kinds a screen has, no name or path given twice."""
    for job in (manifest, *manifest.children):
        if not job.status.is_finished:
            raise bad(
                f"{MANIFEST}: a {job.kind} job is {job.status.value}; archives hold finished jobs."
            )
        names = [file.name for file in job.files]
        if len(set(names)) != len(names):
            raise bad(f"{MANIFEST}: a {job.kind} job lists one of its files twice.")
    screen = manifest.kind == SCREEN_KIND
    if screen != (manifest.screen is not None):
        raise bad(
            f"{MANIFEST}: a {manifest.kind} job must {'' if screen else 'not '}have a screen."
        )
    if not screen and manifest.children:
        raise bad(f"{MANIFEST}: only a screen has children.")
    if any(child.kind not in CHILD_KINDS for child in manifest.children):
        raise bad(f"{MANIFEST}: a screen's children are its chunks and validation.")
    if manifest.screen is not None and manifest.screen.total != manifest.screen.ligands.count:
        raise bad(f"{MANIFEST}: the screen counts {manifest.screen.total} ligands but lists "
                  f"{manifest.screen.ligands.count}.")  # fmt: skip
    for job in (manifest, *manifest.children):
        shape = ChunkShape if job.kind == CHUNK_KIND else ParameterShape
        _validated(shape, job.parameters, f"{MANIFEST}: the {job.kind}'s parameters")
        if job.results is not None:
            _validated(ResultShape, job.results, f"{MANIFEST}: the {job.kind}'s results")
    paths = [record.path for job in (manifest, *manifest.children) for record in job.files]
    paths += [record.path for record in manifest.derived]
    if len(set(paths)) != len(paths) or {MANIFEST, README, LIGANDS} & set(paths):
        raise bad(f"{MANIFEST}: two entries have one path.")


__all__ = ["ArchiveLimits", "FileRecord", "import_archive"]
