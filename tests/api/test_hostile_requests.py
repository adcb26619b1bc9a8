"""What a hostile client sends at the web layer: ids past the database's range, broken stream
cursors, a field given twice, bodies of the wrong kind, wrong methods, posts from another
site. Each is a JSON 4xx naming what is wrong, no job is left stuck, and the server answers
at once afterwards. (Bad *values* in a well-formed submission are in ``test_bad_input.py``.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.config import Settings
from dockyard.jobs.models import INTEGER_MAX
from tests.conftest import SMALL_BOX, SMALL_SMILES, LiveServer

HUGE = "923463553908151568767647744"
PAST_INTEGER = str(INTEGER_MAX + 1)
EVIL = "https://evil.example"


@pytest.fixture
def server(shared_server: LiveServer) -> Iterator[LiveServer]:
    """One server per database for the module; after every test it has no job left pending or
    running and still answers ``/api/health`` within 100 ms."""
    yield shared_server
    for job in shared_server.client.get("/api/jobs", params={"limit": 500}).json()["jobs"]:
        shared_server.wait(job["id"])
    started = time.monotonic()
    assert shared_server.client.get("/api/health").status_code == 200
    assert time.monotonic() - started < 0.1


def error_of(response: httpx.Response, status: int, field: str | None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["field"] == field
    assert "<class" not in error["message"] and "UploadFile" not in error["message"]
    return error


# (method, path and query, field named)
OVERFLOWS = [
    ("GET", f"/api/jobs/{HUGE}", "job_id"),
    ("GET", f"/api/jobs/{PAST_INTEGER}", "job_id"),
    ("GET", "/api/jobs/-1", "job_id"),
    ("GET", f"/api/status/{HUGE}", "job_id"),
    ("GET", f"/api/jobs/{HUGE}/poses.sdf", "job_id"),
    ("POST", f"/api/jobs/{HUGE}/cancel", "job_id"),
    ("DELETE", f"/api/jobs/{PAST_INTEGER}", "job_id"),
    ("GET", f"/api/jobs/1/poses/{HUGE}/interactions", "rank"),
    ("GET", "/api/jobs?before=-9677150306486919168", "before"),
    ("GET", f"/api/jobs?before={PAST_INTEGER}", "before"),
    ("GET", f"/api/jobs?parent={HUGE}", "parent"),
    ("GET", f"/api/jobs?limit={HUGE}", "limit"),
    ("GET", f"/api/screens/{HUGE}", "screen_id"),
    ("GET", f"/api/screens/{PAST_INTEGER}/ligands", "screen_id"),
    ("GET", f"/api/screens/1/ligands?offset={HUGE}", "offset"),
    ("GET", f"/api/screens/1/ligands/{HUGE}", "index"),
    ("GET", f"/api/screens/1/ligands/{PAST_INTEGER}/poses.sdf", "index"),
    ("GET", f"/api/screens/{HUGE}/top.sdf", "screen_id"),
    ("GET", f"/api/events?job_id={HUGE}", "job_id"),
    ("GET", f"/jobs/{HUGE}", "job_id"),
    ("GET", f"/jobs?before={HUGE}", "before"),
    ("GET", f"/screens/{PAST_INTEGER}", "screen_id"),
    ("GET", f"/?clone={HUGE}", "clone"),
]


@pytest.mark.parametrize(("method", "url", "field"), OVERFLOWS, ids=[c[1] for c in OVERFLOWS])
def test_ids_past_the_database_range_are_422(server, method, url, field):
    # Job 1 exists: a request naming a job the caller cannot see is a 404 before anything else.
    named = server.store.create_job(kind="dock", name="named", params={}, files=[])
    server.client.post(f"/api/jobs/{named.id}/cancel")
    error = error_of(server.client.request(method, url), 422, field)
    assert field in error["message"]


def test_the_largest_id_is_only_missing(server):
    error_of(server.client.get(f"/api/jobs/{INTEGER_MAX}"), 404, "job_id")
    assert server.client.get(f"/api/screens/{INTEGER_MAX}/ligands/{INTEGER_MAX}").status_code == 404
    error_of(server.client.get("/api/jobs", params={"parent": INTEGER_MAX}), 404, "parent")
    page = server.client.get("/api/jobs", params={"before": INTEGER_MAX, "limit": 500})
    assert page.status_code == 200
    assert all(job["id"] < INTEGER_MAX for job in page.json()["jobs"])


BAD_CURSORS = [
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "1969-12-31T23:59:59Z",
    "2026-02-30T00:00:00",
    "2026-01-01",
    "yesterday",
    "",
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_bad_stream_cursors_are_refused_before_the_stream_opens(server, cursor):
    error_of(server.client.get("/api/events", params={"since": cursor}), 422, "since")
    response = server.client.get("/api/events", headers={"Last-Event-ID": cursor})
    error = error_of(response, 422, "Last-Event-ID")
    assert "ISO 8601" in error["message"] or "between" in error["message"]


def test_duplicated_fields_are_named(server, small_job):
    fields, files = small_job()
    parts = [(name, (None, value)) for name, value in fields.items()]
    receptor = ("receptor", files["receptor"])
    for name, extra in [
        ("smiles", ("smiles", (None, "CCO"))),
        ("center_x", ("center_x", (None, "1"))),
        ("receptor", receptor),
    ]:
        response = server.client.post("/api/jobs", files=[receptor, *parts, extra])
        error = error_of(response, 422, name)
        assert "more than once" in error["message"]
    library = ("library", ("l.smi", b"CCO\n"))
    response = server.client.post("/api/screens", files=[receptor, library, library, *parts])
    error_of(response, 422, "library")


@pytest.mark.parametrize("path", ["/api/jobs", "/api/screens", "/api/prepare"])
def test_bodies_that_are_not_multipart_are_415(server, path):
    body = {"receptor": "ATOM", "smiles": SMALL_SMILES, **SMALL_BOX}
    for response in (
        server.client.post(path, json=body),
        server.client.post(path, data=body),
        server.client.post(path, content=b"ATOM", headers={"Content-Type": "text/plain"}),
        server.client.post(path),
    ):
        error = error_of(response, 415, "Content-Type")
        assert error["code"] == "unsupported_media_type"
        assert "multipart/form-data" in error["message"]


def test_a_file_sent_as_text_and_a_missing_file_are_named(server):
    text_receptor = [("receptor", (None, "ATOM  1")), ("smiles", (None, SMALL_SMILES))]
    error = error_of(server.client.post("/api/jobs", files=text_receptor), 422, "receptor")
    assert "file" in error["message"]
    only_smiles = [("smiles", (None, SMALL_SMILES))]
    error = error_of(server.client.post("/api/prepare", files=only_smiles), 422, "receptor")
    assert error["message"] == "The receptor field is required."
    error = error_of(server.client.post("/api/screens", files=text_receptor), 422, "receptor")
    assert "required" in error["message"] or "file" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/jobs", "GET, POST"),
        ("PATCH", "/api/jobs/1", "GET, DELETE"),
        ("GET", "/api/jobs/1/cancel", "POST"),
        ("DELETE", "/api/health", "GET"),
        ("POST", "/api/events", "GET"),
    ],
)
def test_wrong_methods_are_405_with_allow(server, method, path, allow):
    response = server.client.request(method, path)
    error_of(response, 405, None)
    assert response.headers["allow"] == allow
    assert allow in response.json()["error"]["message"]


def test_cross_origin_posts_are_refused(server, small_job):
    fields, files = small_job()
    before = len(server.client.get("/api/jobs").json()["jobs"])
    for headers, field in [
        ({"Origin": EVIL}, "Origin"),
        ({"Origin": "null"}, "Origin"),
        ({"Referer": f"{EVIL}/innocent.html"}, "Referer"),
        ({"Origin": server.url.replace("127.0.0.1", "localhost")}, "Origin"),
    ]:
        response = server.client.post("/api/jobs", data=fields, files=files, headers=headers)
        error = error_of(response, 403, field)
        assert error["code"] == "cross_origin"
    assert len(server.client.get("/api/jobs").json()["jobs"]) == before

    job_id = server.submit(files, **fields).json()["job_id"]
    for request in (
        server.client.post(f"/api/jobs/{job_id}/cancel", headers={"Origin": EVIL}),
        server.client.delete(f"/api/jobs/{job_id}", headers={"Referer": EVIL + "/"}),
    ):
        assert request.status_code == 403
    assert server.wait(job_id)["status"] == "completed"
    own = server.client.delete(f"/api/jobs/{job_id}", headers={"Origin": server.url})
    assert own.status_code == 204
    elsewhere = server.client.get("/api/jobs", headers={"Origin": EVIL})
    assert elsewhere.status_code == 200


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Behind a reverse proxy at https://dock.lab.example, whose live streams end after 1 s."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("proxied"),
        workers=1,
        trusted_origins=("https://Dock.Lab.Example:443/",),
        events_max_seconds=1,
    )
    with LiveServer(settings) as live:
        yield live


def test_trusted_origins_pass(proxied_server):
    only_smiles = [("smiles", (None, SMALL_SMILES))]
    for origin in ("https://dock.lab.example", proxied_server.url):
        response = proxied_server.client.post(
            "/api/prepare", files=only_smiles, headers={"Origin": origin}
        )
        error_of(response, 422, "receptor")
    response = proxied_server.client.post(
        "/api/prepare", files=only_smiles, headers={"Origin": "http://dock.lab.example"}
    )
    error_of(response, 403, "Origin")


def test_a_cursor_without_zone_is_utc(proxied_server, small_job):
    fields, files = small_job()
    job_id = proxied_server.submit(files, **fields).json()["job_id"]
    proxied_server.wait(job_id)
    created = proxied_server.client.get(f"/api/jobs/{job_id}").json()["created_at"]
    naive = created[:19]  # e.g. 2026-12-01T13:40:02: up to a second before the job
    with proxied_server.client.stream("GET", "/api/events", params={"since": naive}) as stream:
        assert stream.status_code == 200
        lines = list(stream.iter_lines())
    assert any(line.startswith("data:") and f'"id":{job_id},' in line for line in lines)


def test_a_stream_nobody_closes_ends_by_itself(proxied_server):
    started = time.monotonic()
    with proxied_server.client.stream("GET", "/api/events") as stream:
        lines = list(stream.iter_lines())
    assert time.monotonic() - started < 10
    assert "retry: 2000" in lines
    started = time.monotonic()
    assert proxied_server.client.get("/api/health").status_code == 200
    assert time.monotonic() - started < 0.1


def test_settings_read_trusted_origins_comma_separated(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("DOCKYARD_TRUSTED_ORIGINS", "https://a.example, http://b.example:8080,")
    settings = Settings(data_dir=tmp_path)
    assert settings.trusted_origins == ("https://a.example", "http://b.example:8080")
