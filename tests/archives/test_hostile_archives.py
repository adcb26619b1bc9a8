"""Hostile archives over real HTTP, on SQLite and PostgreSQL: each is a JSON 4xx naming the
``archive`` field and what is wrong with it, and leaves nothing behind in the store.

The archives are real exports of jobs written straight into the store (no docking runs),
then taken apart and put together wrong.
"""

from __future__ import annotations

import hashlib
import io
import json
import stat
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import update

from dockyard.chem.ligand.library import LibraryEntry
from dockyard.config import Settings
from dockyard.jobs.archive import ArchiveExport
from dockyard.jobs.fence import StoredFile
from dockyard.jobs.models import Job, JobStatus, LigandStatus, Screen, ScreenLigand, utcnow
from tests.archives.helpers import entries, manifest_of, rezip
from tests.conftest import LiveServer

POSE = "benzamide\n  made by hand\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n$$$$\n"


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory, shared_database_url: str):
    """A server that takes archives up to 5 MB, unpacking to at most 2 MB."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("archives"),
        database_url=shared_database_url,
        workers=1,
        max_archive_mb=5,
        max_archive_unpacked_mb=2,
    )
    with LiveServer(settings) as live:
        yield live


def finished_docking(store) -> int:
    files = [
        StoredFile("receptor.pdbqt", b"ATOM      1  N   ALA A   1\n" * 50, "chemical/x-pdbqt"),
        StoredFile("ligand_input.sdf", POSE.encode()),
    ]
    job = store.create_job(kind="dock", name="by hand", params={"seed": 1}, files=files)
    now = utcnow()
    with store.session() as session, session.begin():
        session.execute(
            update(Job).where(Job.id == job.id).values(
                status=JobStatus.COMPLETED, stage="completed", progress=1.0, started_at=now,
                finished_at=now, results={"best_score": -5.0, "poses": []},
                provenance={"seed": 1, "vina": "1.2"})
        )  # fmt: skip
    return job.id


def finished_screen(store) -> int:
    ligands = [LibraryEntry(i, f"ligand {i}", "c1ccccc1O", "smi") for i in range(3)]
    screen = store.screens.create(
        name="three", params={}, files=[], entries=ligands, chunk_size=lambda total: 3,
        max_attempts=1, time_limit=60,
    )  # fmt: skip
    now = utcnow()
    with store.session() as session, session.begin():
        done = {"status": JobStatus.COMPLETED, "finished_at": now, "progress": 1.0}
        session.execute(update(Job).where(Job.id == screen.id).values(**done))
        session.execute(update(Job).where(Job.parent_id == screen.id).values(**done))
        session.execute(
            update(ScreenLigand).where(ScreenLigand.screen_id == screen.id).values(
                status=LigandStatus.COMPLETED, score=-4.5, poses_sdf=POSE, finished_at=now)
        )  # fmt: skip
        session.execute(
            update(Screen).where(Screen.job_id == screen.id).values(completed=3, best_score=-4.5)
        )
    return screen.id


def export(store, job_id: int) -> bytes:
    return b"".join(ArchiveExport.open(store, job_id).chunks())


@pytest.fixture(scope="module")
def docking_archive(small_server) -> bytes:
    return export(small_server.store, finished_docking(small_server.store))


@pytest.fixture(scope="module")
def screen_archive(small_server) -> bytes:
    return export(small_server.store, finished_screen(small_server.store))


def post(server, content: bytes):
    return server.client.post("/api/archives", files={"archive": ("x.zip", content)})


def jobs_in(store) -> int:
    return sum(store.count_jobs().values())


def relisted(archive: bytes, change: Callable[[dict, dict], None]) -> bytes:
    """The archive with ``change(contents, manifest)`` applied, the manifest kept in step
    with the files it lists only where ``change`` updates it."""
    contents = entries(archive)
    manifest = manifest_of(archive)
    change(contents, manifest)
    return rezip(contents, manifest)


def listed(manifest: dict, path: str, content: bytes) -> None:
    """Make the manifest agree with a new ``content`` of ``path``."""
    for record in manifest["files"]:
        if record["path"] == path:
            record["size"] = len(content)
            record["sha256"] = hashlib.sha256(content).hexdigest()


def with_entry(name: str, content: bytes = b"x", mode: int | None = None):
    def change(contents: dict, manifest: dict) -> None:
        contents[name] = content

    if mode is None:
        return lambda archive: relisted(archive, change)

    def linked(archive: bytes) -> bytes:
        buffer = io.BytesIO(relisted(archive, lambda contents, manifest: None))
        with zipfile.ZipFile(buffer, "a") as zipped:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zipped.writestr(info, content)
        return buffer.getvalue()

    return linked


def manifest_edit(edit: Callable[[dict], None]):
    return lambda archive: relisted(archive, lambda contents, manifest: edit(manifest))


def manifest_bytes(content: bytes):
    def make(archive: bytes) -> bytes:
        contents = entries(archive)
        contents["dockyard-archive.json"] = content
        return rezip(contents)

    return make


def tampered(contents: dict, manifest: dict) -> None:
    original = contents["prepared/receptor.pdbqt"]
    contents["prepared/receptor.pdbqt"] = original.replace(b"ALA", b"GLY", 1)


def bomb(contents: dict, manifest: dict) -> None:
    content = b"\0" * (3 * 1024 * 1024)  # a few kB compressed, past the 2 MB unpacked limit
    contents["inputs/ligand_input.sdf"] = content
    listed(manifest, "inputs/ligand_input.sdf", content)


def lying_sizes(archive: bytes) -> bytes:
    """A bomb whose central directory declares 10 bytes for an entry of a megabyte."""
    content = b"\0" * (1024 * 1024)
    contents = entries(archive)
    manifest = manifest_of(archive)
    contents["inputs/ligand_input.sdf"] = content
    listed(manifest, "inputs/ligand_input.sdf", content)
    for record in manifest["files"]:
        if record["path"] == "inputs/ligand_input.sdf":
            record["size"] = 10
    data = bytearray(rezip(contents, manifest))
    name = b"inputs/ligand_input.sdf"
    at = data.find(name, data.find(b"PK\x01\x02"))
    while data[at - 46 : at - 42] != b"PK\x01\x02":
        at = data.find(name, at + 1)
    struct.pack_into("<I", data, at - 46 + 24, 10)
    return bytes(data)


def many_entries(archive: bytes) -> bytes:
    contents = entries(archive)
    contents.update({f"d/{number}": b"" for number in range(10_001)})
    return rezip(contents)


def twice(archive: bytes) -> bytes:
    buffer = io.BytesIO(archive)
    with pytest.warns(UserWarning), zipfile.ZipFile(buffer, "a") as zipped:
        zipped.writestr("README.md", b"again")
    return buffer.getvalue()


def dropped(path: str):
    return lambda archive: rezip({k: v for k, v in entries(archive).items() if k != path})


def not_nan(manifest: dict) -> None:
    manifest["progress"] = float("nan")


DOCKING_CASES = {
    "traversal": (with_entry("../../etc/cron.d/evil"), 422, "unsafe name"),
    "absolute path": (with_entry("/etc/passwd"), 422, "unsafe name"),
    "backslashes": (with_entry("inputs\\..\\..\\evil"), 422, "unsafe name"),
    "drive letter": (with_entry("C:/evil"), 422, "unsafe name"),
    "a link": (with_entry("inputs/link", b"/etc/passwd", stat.S_IFLNK | 0o777), 422, "link"),
    "truncated": (lambda archive: archive[: len(archive) // 2], 422, "not a readable zip"),
    "not a zip": (lambda archive: b"PK but not really", 422, "not a readable zip"),
    "no manifest": (dropped("dockyard-archive.json"), 422, "no dockyard-archive.json"),
    "manifest not JSON": (manifest_bytes(b'{"format": '), 422, "not valid JSON"),
    "manifest a list": (manifest_bytes(b"[]"), 422, "does not describe"),
    "another format": (manifest_edit(lambda m: m.update(format="zip")), 422, "does not describe"),
    "no version": (manifest_edit(lambda m: m.pop("version")), 422, "no format version"),
    "a future version": (manifest_edit(lambda m: m.update(version=2)), 422, "version 2"),
    "still running": (manifest_edit(lambda m: m.update(status="running")), 422, "finished"),
    "NaN": (manifest_edit(not_nan), 422, "not a number"),
    "deeply nested": (
        manifest_bytes(b'{"format": "dockyard-archive", "version": 1, "x": ' + b"[" * 100_000),
        422,
        "levels deep",
    ),
    "nested parameters": (
        manifest_edit(lambda m: m.update(parameters={"p": json.loads("[" * 80 + "]" * 80)})),
        422,
        "64 levels",
    ),
    "nested, within bounds": (
        manifest_edit(lambda m: m.update(parameters={"p": json.loads("[" * 60 + "]" * 60)})),
        201,
        "",
    ),
    "a box of words": (
        manifest_edit(lambda m: m["parameters"].update(box={"center_x": "middle"})),
        422,
        "parameters: box.center_x",
    ),
    "poses not a list": (
        manifest_edit(lambda m: m["results"].update(poses="many")),
        422,
        "results: poses",
    ),
    "NUL in a name": (manifest_edit(lambda m: m.update(name="a\x00b")), 422, "NUL"),
    "wrong type": (manifest_edit(lambda m: m.update(progress="lots")), 422, "progress"),
    "unknown key": (manifest_edit(lambda m: m.update(surprise=1)), 422, "surprise"),
    "unknown kind": (manifest_edit(lambda m: m.update(kind="sorcery")), 422, "kind"),
    "file changed": (lambda archive: relisted(archive, tampered), 422, "SHA-256 differs"),
    "file missing": (dropped("inputs/ligand_input.sdf"), 422, "does not hold"),
    "file unlisted": (with_entry("results/extra.txt"), 422, "not in its manifest"),
    "entry twice": (twice, 422, "twice"),
    "zip bomb": (lambda archive: relisted(archive, bomb), 413, "unpacks to"),
    "lying sizes": (lying_sizes, 422, "damaged"),
    "too many entries": (many_entries, 422, "entries"),
}


@pytest.mark.parametrize("case", DOCKING_CASES)
def test_a_hostile_archive_is_refused_naming_the_archive(small_server, docking_archive, case):
    make, status, words = DOCKING_CASES[case]
    store = small_server.store
    before = jobs_in(store)
    response = post(small_server, make(docking_archive))
    assert response.status_code == status, response.text
    if status == 201:  # as deep as a JSON reader goes: stored, and read back
        assert small_server.client.get(response.json()["url"]).status_code == 200
        return
    error = response.json()["error"]
    assert error["field"] == "archive" and words in error["message"], error
    assert jobs_in(store) == before


def test_the_untouched_archive_imports(small_server, docking_archive, screen_archive):
    for archive in (docking_archive, screen_archive, relisted(docking_archive, lambda c, m: None)):
        response = post(small_server, archive)
        assert response.status_code == 201, response.text


def lines_changed(change: Callable[[list[bytes]], list[bytes]], *, relist: bool = True):
    def make(archive: bytes) -> bytes:
        def edit(contents: dict, manifest: dict) -> None:
            lines = change(contents["ligands.jsonl"].splitlines(keepends=True))
            content = b"".join(lines)
            contents["ligands.jsonl"] = content
            if relist:
                manifest["screen"]["ligands"]["size"] = len(content)
                manifest["screen"]["ligands"]["sha256"] = hashlib.sha256(content).hexdigest()

        return relisted(archive, edit)

    return make


def rescored(lines: list[bytes]) -> list[bytes]:
    row = json.loads(lines[1])
    row["score"] = -99.0
    return [lines[0], json.dumps(row).encode() + b"\n", lines[2]]


def counted(manifest: dict) -> None:
    manifest["screen"]["ligands"]["count"] = 2
    manifest["screen"]["total"] = 2


SCREEN_CASES = {
    "ligands out of order": (lines_changed(lambda lines: lines[::-1]), "out of order"),
    "ligand repeated": (lines_changed(lambda lines: [lines[0], *lines[:2]]), "out of order"),
    "ligand line not JSON": (lines_changed(lambda lines: [lines[0], b"{\n", lines[2]]), "JSON"),
    "ligand of a wrong shape": (
        lines_changed(lambda lines: [lines[0], b'{"index": 1}\n', lines[2]]),
        "line 2",
    ),
    "ligand changed": (lines_changed(rescored, relist=False), "does not match"),
    "fewer ligands listed": (manifest_edit(counted), "more than the 2"),
    "ligands missing": (dropped("ligands.jsonl"), "does not hold"),
}


@pytest.mark.parametrize("case", SCREEN_CASES)
def test_a_screen_with_bad_ligands_leaves_nothing_behind(small_server, screen_archive, case):
    make, words = SCREEN_CASES[case]
    store = small_server.store
    before = jobs_in(store)
    response = post(small_server, make(screen_archive))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "archive" and words in error["message"], error
    assert jobs_in(store) == before


def test_an_archive_over_the_size_limit_is_refused_as_it_arrives(small_server):
    response = post(small_server, b"PK" + bytes(6 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["error"]["field"] == "archive"


@pytest.mark.parametrize(
    ("send", "status"),
    [
        ({"data": {"archive": "not a file"}, "files": {"x": ("x", b"")}}, 422),
        ({"files": {"other": ("x.zip", b"PK")}}, 422),
        ({"json": {"archive": "x"}}, 415),
    ],
)
def test_the_form_needs_an_archive_file(small_server, send, status):
    response = small_server.client.post("/api/archives", **send)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] in ("archive", "Content-Type")


def test_a_chunk_is_not_archived_alone(small_server):
    store = small_server.store
    screen_id = finished_screen(store)
    chunk = store.list_jobs(parent_id=screen_id)[0]
    response = small_server.client.get(f"/api/jobs/{chunk.id}/archive.zip")
    assert response.status_code == 422
    assert f"screen {screen_id}" in response.json()["error"]["message"]
    docking = finished_docking(store)
    assert small_server.client.get(f"/api/screens/{docking}/archive.zip").status_code == 404


def test_a_path_in_the_archive_is_never_written_anywhere(small_server, docking_archive, tmp_path):
    """Nothing is extracted: a traversal name is refused before any entry is read, and no
    file appears outside (or inside) the data dir."""
    before = sorted(Path(small_server.settings.data_dir).rglob("*"))
    post(small_server, with_entry("../../archive-escaped")(docking_archive))
    assert sorted(Path(small_server.settings.data_dir).rglob("*")) == before
    assert not (Path(small_server.settings.data_dir).parent / "archive-escaped").exists()
