"""``dockyard export`` and ``dockyard import``, run for real on a local store (SQLite and
PostgreSQL, chosen as ``dockyard serve`` chooses) and against a running server."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from dockyard.cli import app
from dockyard.config import Settings
from dockyard.jobs.models import JobStatus
from dockyard.jobs.store import Store
from tests.archives.helpers import manifest_of, snapshot
from tests.archives.test_hostile_archives import finished_docking, finished_screen
from tests.conftest import LiveServer

runner = CliRunner()


def invoke(*args: str, database_url: str):
    return runner.invoke(app, list(args), env={"DOCKYARD_DATABASE_URL": database_url})


def imported_id(output: str) -> int:
    found = re.search(r"as job (\d+)", output)
    assert found, output
    return int(found.group(1))


def test_export_and_import_on_the_local_store(tmp_path: Path, database_url: str):
    store = Store.open(database_url)
    data = ("--data-dir", str(tmp_path))
    try:
        for job_id in (finished_docking(store), finished_screen(store)):
            before = snapshot(store, job_id)
            out = tmp_path / f"study-{job_id}.zip"
            exported = invoke("export", str(job_id), "--out", str(out), *data,
                              database_url=database_url)  # fmt: skip
            assert exported.exit_code == 0, exported.output
            assert manifest_of(out.read_bytes())["source"]["job_id"] == job_id
            assert not list(tmp_path.glob("*.part"))
            store.delete_job(job_id)
            imported = invoke("import", str(out), *data, database_url=database_url)
            assert imported.exit_code == 0, imported.output
            assert snapshot(store, imported_id(imported.output)) == before
        store.accounts.add_user("carol", "pw-carol")
        owned = invoke("import", str(out), "--user", "carol", *data, database_url=database_url)
        assert owned.exit_code == 0, owned.output
        job = store.get_job(imported_id(owned.output))
        assert job.owner_id == store.accounts.user_named("carol").id
    finally:
        store.close()


def test_refusals_are_sentences_and_leave_no_file(tmp_path: Path, database_url: str):
    store = Store.open(database_url)
    data = ("--data-dir", str(tmp_path))
    try:
        pending = store.create_job(kind="dock", name="waiting", params={})
        out = tmp_path / "pending.zip"
        refused = invoke("export", str(pending.id), "--out", str(out), *data,
                         database_url=database_url)  # fmt: skip
        assert refused.exit_code == 2 and "pending" in refused.output
        assert not out.exists() and not list(tmp_path.glob("*.part"))
        missing = invoke("export", "999999", "--out", str(out), *data, database_url=database_url)
        assert missing.exit_code == 2 and "no job 999999" in missing.output
        junk = tmp_path / "junk.zip"
        junk.write_bytes(b"not a zip at all")
        bad = invoke("import", str(junk), *data, database_url=database_url)
        assert bad.exit_code == 2 and "not a readable zip" in bad.output
        assert store.get_job(pending.id).status == JobStatus.PENDING
    finally:
        store.close()


def test_export_and_import_through_a_server(tmp_path: Path, database_url: str):
    settings = Settings(data_dir=tmp_path / "server", database_url=database_url, workers=1)
    with LiveServer(settings) as live:
        job_id = finished_screen(live.store)
        before = snapshot(live.store, job_id)
        out = tmp_path / "screen.zip"
        remote = ("--out", str(out), "--server", live.url)
        exported = runner.invoke(app, ["export", str(job_id), *remote])
        assert exported.exit_code == 0, exported.output
        assert manifest_of(out.read_bytes())["source"]["server"] == live.url
        live.store.delete_job(job_id)
        imported = runner.invoke(app, ["import", str(out), "--server", live.url])
        assert imported.exit_code == 0, imported.output
        assert snapshot(live.store, imported_id(imported.output)) == before
        refused = runner.invoke(app, ["export", str(job_id), *remote])
        assert refused.exit_code == 2 and f"no job {job_id}" in refused.output
