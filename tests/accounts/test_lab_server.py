"""A shared lab server over real HTTP, on SQLite and PostgreSQL: who may see and do what.

Jobs are written straight into the store in the states the tests need (no docking runs);
every request goes through the real app, its session cookies and its tokens.
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from dockyard.chem.ligand.library import LibraryEntry
from dockyard.config import Settings
from dockyard.jobs.models import Job, JobStatus, User, utcnow
from tests.conftest import LiveServer

EXAMPLE_VALUES = {"filename": "poses.sdf", "rank": "1", "index": "0", "group": "lab"}


class Lab:
    """A server with an admin and two members, each with an HTTP client holding a token."""

    def __init__(self, live: LiveServer):
        self.live = live
        self.store = live.store
        self.clients: dict[str, httpx.Client] = {}
        self.users: dict[str, User] = {}
        for name, role in (("admin", "admin"), ("alice", "member"), ("bob", "member")):
            self.users[name] = self.store.accounts.add_user(name, f"pw-{name}", role=role)
            _, secret = self.store.accounts.create_token(self.users[name].id, "tests")
            self.clients[name] = httpx.Client(
                base_url=live.url, timeout=30, headers={"Authorization": f"Bearer {secret}"}
            )
        self.anonymous = httpx.Client(base_url=live.url, timeout=30)

    def job(self, owner: str, *, kind: str = "dock", status: JobStatus = JobStatus.COMPLETED):
        """A job of ``owner`` in ``status``; a running one holds a lease no one will expire."""
        job = self.store.create_job(
            kind=kind, name=f"{owner}'s {kind}", params={}, owner_id=self.users[owner].id
        )
        lease = utcnow() + timedelta(hours=1) if status == JobStatus.RUNNING else None
        with self.store.session() as session, session.begin():
            session.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(status=status, lease_expires_at=lease, updated_at=utcnow())
            )
        return job

    def screen(self, owner: str) -> Job:
        """A screen of ``owner`` with one pending ligand (and so one chunk)."""
        return self.store.screens.create(
            name=f"{owner}'s screen",
            params={},
            files=[],
            entries=[LibraryEntry(0, "benzamide", "NC(=O)c1ccccc1", "smi")],
            chunk_size=lambda total: 1,
            max_attempts=1,
            time_limit=60,
            owner_id=self.users[owner].id,
        )

    def close(self) -> None:
        for client in [*self.clients.values(), self.anonymous]:
            client.close()


@pytest.fixture
def lab(tmp_path: Path, database_url: str):
    settings = Settings(data_dir=tmp_path, database_url=database_url, workers=1)
    with LiveServer(settings) as live:
        lab = Lab(live)
        yield lab
        lab.close()


def login(lab: Lab, name: str) -> tuple[httpx.Client, str]:
    """A browser-like client logged in through the login form, and its CSRF token."""
    client = httpx.Client(base_url=lab.live.url, timeout=30)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/login", data={"name": name, "password": f"pw-{name}", "csrf_token": token}
    )
    assert answer.status_code == 303, answer.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/jobs").text).group(1)
    return client, csrf


def test_single_user_mode_until_the_first_user_then_everything_needs_credentials(
    tmp_path: Path, database_url: str
):
    settings = Settings(data_dir=tmp_path, database_url=database_url, workers=1)
    with LiveServer(settings) as live:
        before = live.store.create_job(kind="dock", name="before accounts", params={})
        assert live.client.get("/api/jobs").status_code == 200
        assert live.client.delete(f"/api/jobs/{before.id}").status_code == 204
        kept = live.store.create_job(kind="dock", name="kept", params={})
        admin = live.store.accounts.add_user("admin", "pw", role="admin")
        assert live.store.get_job(kept.id).owner_id == admin.id

        refused = live.client.get("/api/jobs")
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "not_authenticated"
        assert refused.headers["www-authenticate"] == "Bearer"
        assert live.client.delete(f"/api/jobs/{kept.id}").status_code == 401
        page = live.client.get("/jobs", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/jobs"
        for open_path in ("/api/health", "/login", "/static/style.css", "/openapi.json"):
            assert live.client.get(open_path).status_code == 200, open_path
        bad = live.client.get("/api/jobs", headers={"Authorization": "Bearer dy_nonsense"})
        assert bad.status_code == 401


def test_another_users_job_is_missing_on_every_path_of_the_api(lab: Lab):
    dock = lab.job("alice")
    screen = lab.screen("alice")
    paths = lab.anonymous.get("/openapi.json").json()["paths"]
    values = {"job_id": dock.id, "screen_id": screen.id, **EXAMPLE_VALUES}
    walked = []
    for path, methods in paths.items():
        names = set(re.findall(r"{(\w+)}", path))
        if not names & {"job_id", "screen_id"}:
            continue
        url = re.sub(r"{(\w+)}", lambda match: str(values[match.group(1)]), path)
        for method in methods:
            answer = lab.clients["bob"].request(method.upper(), url)
            assert answer.status_code == 404, (method, url, answer.text)
            assert answer.json()["error"]["code"] == "not_found"
            walked.append((method, path))
    assert len(walked) >= 12, walked
    for name in ("alice", "admin"):
        assert lab.clients[name].get(f"/api/jobs/{dock.id}").status_code == 200
        assert lab.clients[name].get(f"/api/screens/{screen.id}").status_code != 404
    for query in (f"/api/events?job_id={dock.id}", f"/api/jobs?parent={screen.id}"):
        assert lab.clients["bob"].get(query).status_code == 404, query
    assert lab.clients["bob"].get(f"/?clone={dock.id}").status_code == 404
    assert lab.clients["bob"].get(f"/jobs/{dock.id}").status_code == 404
    assert lab.clients["bob"].get(f"/screens/{screen.id}").status_code == 404


def test_members_list_delete_and_cancel_only_their_own_jobs_admins_all(lab: Lab):
    alices = lab.job("alice", status=JobStatus.RUNNING)
    bobs = lab.job("bob")

    def listed(name: str) -> set[int]:
        return {job["id"] for job in lab.clients[name].get("/api/jobs").json()["jobs"]}

    assert listed("alice") == {alices.id}
    assert listed("bob") == {bobs.id}
    assert listed("admin") == {alices.id, bobs.id}
    page = lab.clients["bob"].get("/jobs").text
    assert "alice&#39;s dock" not in page and "bob&#39;s dock" in page

    assert lab.clients["bob"].delete(f"/api/jobs/{alices.id}").status_code == 404
    assert lab.clients["bob"].post(f"/api/jobs/{alices.id}/cancel").status_code == 404
    assert lab.store.get_job(alices.id).status == JobStatus.RUNNING
    assert lab.clients["alice"].post(f"/api/jobs/{alices.id}/cancel").status_code == 200
    assert lab.clients["admin"].delete(f"/api/jobs/{bobs.id}").status_code == 204


def test_a_job_shared_with_a_group_is_read_only_for_its_members(lab: Lab):
    alices = lab.job("alice")
    lab.store.accounts.add_group("crystallography")
    lab.store.accounts.add_member("crystallography", "bob")
    assert lab.clients["bob"].get(f"/api/jobs/{alices.id}").status_code == 404
    lab.store.accounts.share(alices.id, "crystallography")
    assert lab.clients["bob"].get(f"/api/jobs/{alices.id}").status_code == 200
    refused = lab.clients["bob"].delete(f"/api/jobs/{alices.id}")
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "job_id"
    assert lab.store.get_job(alices.id)


def test_an_owner_shares_a_job_over_the_api_and_only_the_owner_may(lab: Lab):
    alices = lab.job("alice")
    lab.store.accounts.add_group("lab")
    lab.store.accounts.add_member("lab", "bob")
    shared = lab.clients["alice"].post(f"/api/shares/{alices.id}", json={"group": "lab"})
    assert shared.status_code == 200 and shared.json()["groups"] == ["lab"]
    assert lab.clients["bob"].get(f"/api/jobs/{alices.id}").status_code == 200
    assert lab.clients["bob"].delete(f"/api/shares/{alices.id}/lab").status_code == 403
    missing = lab.clients["alice"].post(f"/api/shares/{alices.id}", json={"group": "nope"})
    assert missing.status_code == 404 and missing.json()["error"]["field"] == "group"
    assert lab.clients["alice"].delete(f"/api/shares/{alices.id}/lab").json()["groups"] == []
    assert lab.clients["bob"].get(f"/api/jobs/{alices.id}").status_code == 404


def _events(client: httpx.Client, until_id: int, limit_seconds: float = 20) -> list[int]:
    """The job ids of the event stream from long ago until ``until_id`` shows up."""
    seen: list[int] = []
    deadline = time.monotonic() + limit_seconds
    with client.stream("GET", "/api/events", params={"since": "2000-01-01T00:00:00+00:00"}) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                seen.append(json.loads(line[5:])["id"])
                if seen[-1] == until_id:
                    return seen
            assert time.monotonic() < deadline, f"no event of job {until_id}: {seen}"
    return seen


def test_the_event_stream_carries_only_the_users_own_jobs(lab: Lab):
    alices = lab.job("alice")
    bobs_first = lab.job("bob")
    lab.job("alice", status=JobStatus.FAILED)
    bobs_last = lab.job("bob")
    seen = _events(lab.clients["bob"], bobs_last.id)
    assert set(seen) == {bobs_first.id, bobs_last.id}
    assert alices.id in _events(lab.clients["admin"], bobs_last.id)


def test_a_revoked_token_answers_401(lab: Lab):
    client = lab.clients["alice"]
    token_id = lab.store.accounts.list_tokens(lab.users["alice"].id)[0].id
    assert client.get("/api/me").json()["name"] == "alice"
    lab.store.accounts.revoke_token(lab.users["alice"].id, token_id)
    assert client.get("/api/me").status_code == 401


def test_a_disabled_user_is_refused(lab: Lab):
    lab.store.accounts.update_user(lab.users["bob"].id, disabled=True)
    assert lab.clients["bob"].get("/api/jobs").status_code == 401


def test_tokens_through_the_api_are_shown_once_and_revocable(lab: Lab):
    created = lab.clients["alice"].post("/api/me/tokens", json={"name": "script"})
    assert created.status_code == 201
    secret = created.json()["token"]
    with httpx.Client(
        base_url=lab.live.url, headers={"Authorization": f"Bearer {secret}"}
    ) as script:
        assert script.get("/api/me").json()["name"] == "alice"
        listed = lab.clients["alice"].get("/api/me/tokens").json()
        assert all("token" not in row for row in listed)
        mine = created.json()["id"]
        assert lab.clients["bob"].delete(f"/api/me/tokens/{mine}").status_code == 404
        assert lab.clients["alice"].delete(f"/api/me/tokens/{mine}").status_code == 200
        assert script.get("/api/me").status_code == 401


def test_a_form_or_script_without_the_csrf_token_is_refused(lab: Lab):
    job = lab.job("alice", status=JobStatus.RUNNING)
    browser, csrf = login(lab, "alice")
    try:
        refused = browser.post(f"/api/jobs/{job.id}/cancel")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf_failed"
        wrong = browser.post(f"/api/jobs/{job.id}/cancel", headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403
        forged = browser.post("/account/tokens", data={"name": "evil"})
        assert forged.status_code == 403
        assert lab.store.get_job(job.id).status == JobStatus.RUNNING
        allowed = browser.post(f"/api/jobs/{job.id}/cancel", headers={"X-CSRF-Token": csrf})
        assert allowed.status_code == 200
        made = browser.post("/account/tokens", data={"name": "mine", "csrf_token": csrf})
        assert made.status_code == 200 and 'id="new-token"' in made.text
        browser.post("/logout", data={"csrf_token": csrf})
        assert browser.get("/api/jobs").status_code == 401
    finally:
        browser.close()


def test_the_login_page_refuses_a_wrong_password_and_a_foreign_next(lab: Lab):
    with httpx.Client(base_url=lab.live.url) as client:
        page = client.get("/login?next=//evil.example/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        assert 'name="next" value="/jobs"' in page.text
        wrong = client.post("/login", data={"name": "alice", "password": "no", "csrf_token": token})
        assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
        stale = client.post("/login", data={"name": "alice", "password": "pw-alice"})
        assert stale.status_code == 403


def test_quotas_answer_429_and_413_naming_the_limit(lab: Lab):
    lab.job("alice", status=JobStatus.RUNNING)
    lab.store.accounts.update_user(lab.users["alice"].id, max_active_jobs=1)
    refused = lab.clients["alice"].post("/api/jobs", files={"name": (None, "quota")})
    assert refused.status_code == 429
    assert refused.json()["error"]["field"] == "max_active_jobs"
    assert "cancel" in refused.json()["error"]["message"]
    usage = lab.clients["alice"].get("/api/me").json()["usage"]
    assert usage["active_jobs"] == 1 and usage["max_active_jobs"] == 1
    assert lab.clients["bob"].post("/api/jobs", files={"name": (None, "quota")}).status_code == 422

    lab.store.accounts.update_user(lab.users["bob"].id, max_stored_bytes=1)
    from dockyard.jobs.fence import StoredFile

    lab.store.create_job(
        kind="dock",
        name="big",
        params={},
        owner_id=lab.users["bob"].id,
        files=[StoredFile("receptor.pdbqt", b"x" * 10, "text/plain")],
    )
    too_big = lab.clients["bob"].post("/api/screens", files={"name": (None, "quota")})
    assert too_big.status_code == 413
    assert "delete jobs" in too_big.json()["error"]["message"]
    assert "Stored" in lab.clients["bob"].get("/account").text


def test_the_openapi_document_declares_the_bearer_and_cookie_schemes(lab: Lab):
    document = lab.anonymous.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyCookie"]["in"] == "cookie"
    assert document["paths"]["/api/jobs"]["get"]["security"]
    assert "security" not in document["paths"]["/api/health"]["get"]


def test_every_response_carries_the_security_headers(lab: Lab):
    for path in ("/login", "/api/health", "/static/common.js", "/api/jobs"):
        headers = lab.anonymous.get(path).headers
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy
        assert headers["x-content-type-options"] == "nosniff"
    docs = lab.anonymous.get("/docs")
    assert docs.headers["content-security-policy"] == policy  # nothing from another host
    assert re.findall(r'(?:src|href)="([^"]+)"', docs.text) == [
        "/static/favicon.svg",
        "/static/vendor/swagger-ui.css",
        "/static/vendor/swagger-ui-bundle.js",
        "/static/docs.js",
    ]


def test_the_status_of_the_workers_names_only_the_viewers_running_jobs(lab: Lab):
    running = lab.job("alice", status=JobStatus.RUNNING)

    def named(name: str) -> set[int]:
        workers = lab.clients[name].get("/api/workers").json()["workers"]
        return {job["id"] for worker in workers for job in worker["jobs"]}

    assert running.id in named("admin") and running.id in named("alice")
    assert named("bob") == set()
    assert "alice&#39;s dock" not in lab.clients["bob"].get("/status").text


def test_the_first_user_made_on_the_admin_page_is_an_admin_and_logged_in(
    tmp_path: Path, database_url: str
):
    settings = Settings(data_dir=tmp_path, database_url=database_url, workers=1)
    with LiveServer(settings) as live, httpx.Client(base_url=live.url, timeout=30) as browser:
        page = browser.get("/admin")
        assert page.status_code == 200, "the single-user mode's one person is its admin"
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        member = browser.post("/admin/users", data={"name": "bob", "csrf_token": csrf})
        assert member.status_code == 422 and not live.store.accounts.has_users()
        made = browser.post(
            "/admin/users", data={"name": "alice", "role": "admin", "csrf_token": csrf}
        )
        assert made.status_code == 200 and 'id="created-password"' in made.text
        assert browser.get("/api/me").json()["name"] == "alice"
        assert live.client.get("/api/jobs").status_code == 401


@pytest.mark.parametrize("secure", [False, True])
def test_the_session_cookie_is_secure_when_the_server_is_reached_over_https(
    tmp_path: Path, secure: bool
):
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'db'}", secure_cookies=secure
    )
    with LiveServer(settings) as live:
        live.store.accounts.add_user("alice", "pw-alice", role="admin")
        cookie = live.client.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert ("; secure" in cookie) is secure
