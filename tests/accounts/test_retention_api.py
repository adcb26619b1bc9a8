"""Retention over real HTTP on SQLite and PostgreSQL: when a job expires, pinning it, one's
own retention (API, account page, CLI-free), and a compacted screen's ligands."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dockyard.config import Settings
from dockyard.jobs.models import utcnow
from tests.accounts.test_lab_server import Lab, login
from tests.conftest import LiveServer
from tests.jobs.aging import old_job, old_screen

RETENTION_DAYS = 30


@pytest.fixture
def lab(tmp_path: Path, database_url: str):
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, workers=1, retention_days=RETENTION_DAYS
    )
    with LiveServer(settings) as live:
        lab = Lab(live)
        yield lab
        lab.close()


def when(answer: dict, field: str) -> datetime | None:
    value = answer[field]
    return datetime.fromisoformat(value) if value is not None else None


def test_the_owner_pins_a_job_and_sees_when_it_expires(lab: Lab):
    job_id = old_job(lab.store, 1, owner_id=lab.users["alice"].id, now=utcnow())
    alice, bob = lab.clients["alice"], lab.clients["bob"]
    job = alice.get(f"/api/jobs/{job_id}").json()
    expires = when(job, "finished_at") + timedelta(days=RETENTION_DAYS)
    assert job["keep"] is False and when(job, "expires_at") == expires

    pinned = alice.post(f"/api/jobs/{job_id}/keep", json={"keep": True})
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["keep"] is True and pinned.json()["expires_at"] is None
    assert lab.store.get_job(job_id).keep is True

    assert bob.post(f"/api/jobs/{job_id}/keep", json={"keep": False}).status_code == 404
    assert lab.store.get_job(job_id).keep is True
    bad = alice.post(f"/api/jobs/{job_id}/keep", json={"keep": "forever"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "keep"
    assert alice.post(f"/api/jobs/{job_id}/keep", json={}).status_code == 422

    unpinned = alice.post(f"/api/jobs/{job_id}/keep", json={"keep": False}).json()
    assert unpinned["keep"] is False and when(unpinned, "expires_at") == expires


def test_a_users_own_retention_through_api_me(lab: Lab):
    alice = lab.clients["alice"]
    job_id = old_job(lab.store, 1, owner_id=lab.users["alice"].id, now=utcnow())
    me = alice.get("/api/me").json()
    assert me["retention_days"] is None and me["default_retention_days"] == RETENTION_DAYS

    changed = alice.put("/api/me", json={"retention_days": 7})
    assert changed.status_code == 200 and changed.json()["retention_days"] == 7
    job = alice.get(f"/api/jobs/{job_id}").json()
    assert when(job, "expires_at") == when(job, "finished_at") + timedelta(days=7)
    assert alice.put("/api/me", json={"retention_days": 0}).json()["retention_days"] == 0
    assert alice.get(f"/api/jobs/{job_id}").json()["expires_at"] is None

    for bad in ({"retention_days": -1}, {"retention_days": "long"}, {}):
        refused = alice.put("/api/me", json=bad)
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["field"] == "retention_days", refused.json()
    assert alice.put("/api/me", json={"retention_days": None}).json()["retention_days"] is None
    assert lab.store.accounts.get_user(lab.users["alice"].id).retention_days is None
    assert lab.store.accounts.get_user(lab.users["bob"].id).retention_days is None


def test_the_job_page_shows_the_expiry_and_its_button_pins(lab: Lab):
    job_id = old_job(lab.store, 2, owner_id=lab.users["alice"].id, now=utcnow())
    browser, _csrf = login(lab, "alice")
    page = browser.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    expires = lab.store.retention.expires_at(lab.store.get_job(job_id), RETENTION_DAYS)
    assert f'<time datetime="{expires.isoformat(timespec="seconds")}">' in page.text
    assert "then purged with its files" in page.text and "Keep (pin)" in page.text
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    pinned = browser.post(f"/jobs/{job_id}/keep", data={"keep": "true", "csrf_token": form_token})
    assert pinned.status_code == 303 and lab.store.get_job(job_id).keep is True
    assert "pinned: kept until you unpin it" in browser.get(f"/jobs/{job_id}").text
    assert browser.post(f"/jobs/{job_id}/keep", data={"keep": "false"}).status_code == 403

    intruder, _ = login(lab, "bob")
    bob_page = intruder.get(f"/jobs/{job_id}")
    assert bob_page.status_code == 404
    bob_token = re.search(r'name="csrf-token" content="([^"]+)"', intruder.get("/jobs").text)
    refused = intruder.post(
        f"/jobs/{job_id}/keep", data={"keep": "false", "csrf_token": bob_token.group(1)}
    )
    assert refused.status_code == 404 and lab.store.get_job(job_id).keep is True
    browser.close()
    intruder.close()


def test_the_account_page_sets_ones_retention(lab: Lab):
    browser, _ = login(lab, "alice")
    page = browser.get("/account")
    assert 'name="retention_days"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    saved = browser.post("/account/retention", data={"retention_days": "10", "csrf_token": token})
    assert saved.status_code == 303
    assert lab.store.accounts.get_user(lab.users["alice"].id).retention_days == 10
    assert 'value="10"' in browser.get("/account").text
    bad = browser.post("/account/retention", data={"retention_days": "-3", "csrf_token": token})
    assert bad.status_code == 422
    browser.post("/account/retention", data={"retention_days": "", "csrf_token": token})
    assert lab.store.accounts.get_user(lab.users["alice"].id).retention_days is None
    browser.close()


def test_a_compacted_screens_ligands_keep_scores_and_say_their_poses_are_gone(lab: Lab):
    now = utcnow()
    screen = old_screen(lab.store, 1, 50, owner_id=lab.users["alice"].id, now=now)
    freed = lab.store.retention.compact(now + timedelta(days=40), 30, 1, batch=10)
    assert freed.screens_compacted == 1 and freed.poses == 49
    alice = lab.clients["alice"]
    dropped = alice.get(f"/api/screens/{screen}/ligands/0")
    assert dropped.status_code == 200
    assert dropped.json()["poses_removed"] is True and dropped.json()["poses_sdf"] is None
    assert dropped.json()["score"] == 0.0
    gone = alice.get(f"/api/screens/{screen}/ligands/0/poses.sdf")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "poses_removed"
    assert gone.json()["error"]["field"] == "index"
    best = alice.get(f"/api/screens/{screen}/ligands/49/poses.sdf")
    assert best.status_code == 200 and "M  END" in best.text
    assert alice.get(f"/api/screens/{screen}/ligands/49").json()["poses_removed"] is False
    table = alice.get(f"/api/screens/{screen}/ligands", params={"limit": 500}).json()
    assert table["total"] == 50
    assert all(row["score"] is not None for row in table["ligands"])
