"""Notifications through the real app over HTTP, on SQLite and PostgreSQL: the webhook field of
the forms, a real docking that ends with a signed POST, users' settings and who sees what."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest

from dockyard.config import Settings
from tests.conftest import FAST_OPTIONS, SMALL_BOX, SMALL_SMILES, LiveServer
from tests.notify.receivers import Receiver, free_port

SECRET = "api-test-secret"


def live(tmp_path: Path, database_url: str, **overrides: object) -> LiveServer:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "database_url": database_url,
        "workers": 1,
        "webhook_secret": SECRET,
        "notify_poll_seconds": 0.2,
        "notify_backoff": 0.5,
    }
    return LiveServer(Settings(**(values | overrides)))


def submit(server: LiveServer, path: str, receptor: bytes, **fields: str) -> httpx.Response:
    parts = {name: (None, value) for name, value in fields.items()}
    files = {"receptor": ("receptor.pdbqt", receptor), **parts}
    if path == "/api/screens":
        files["library"] = ("library.smi", f"{SMALL_SMILES} benzamide\n".encode())
    return server.client.post(path, files=files)


@pytest.mark.parametrize("path", ["/api/jobs", "/api/screens"])
def test_a_webhook_to_loopback_link_local_or_not_http_is_refused(
    tmp_path: Path, database_url: str, path: str
):
    with live(tmp_path, database_url) as server:
        for url, reason in [
            ("http://127.0.0.1:8080/hook", "a loopback address"),
            ("http://localhost/hook", "a loopback address"),
            ("http://169.254.169.254/latest/meta-data", "a link-local address"),
            ("http://[fe80::1]/hook", "a link-local address"),
            ("http://[::ffff:127.0.0.1]/hook", "a loopback address"),
            ("http://0.0.0.0/hook", "the unspecified address"),
            ("ftp://files.lab.test/hook", "http:// or https://"),
            ("http://user:pw@10.0.0.5/hook", "user name or password"),
            ("http://:80/", "has no host"),
        ]:
            response = submit(server, path, b"ATOM", webhook_url=url, smiles=SMALL_SMILES)
            assert response.status_code == 422, (url, response.text)
            error = response.json()["error"]
            assert error["field"] == "webhook_url" and reason in error["message"], (url, error)
        assert server.client.get("/api/jobs").json()["jobs"] == [], "nothing was stored"


def test_without_a_signing_secret_webhooks_are_refused(tmp_path: Path, database_url: str):
    with live(tmp_path, database_url, webhook_secret=None) as server:
        response = submit(server, "/api/jobs", b"ATOM", webhook_url="http://10.0.0.5/hook")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "webhook_url"
    assert "DOCKYARD_WEBHOOK_SECRET" in response.json()["error"]["message"]


def test_a_docking_ends_with_a_signed_post_to_its_webhook(
    tmp_path: Path, database_url: str, receptor_pdbqt: bytes
):
    receiver = Receiver().start()
    settings = {"webhook_allowed_hosts": ("127.0.0.1",), "public_url": "https://dock.lab.test"}
    try:
        with live(tmp_path, database_url, **settings) as server:
            response = submit(
                server, "/api/jobs", receptor_pdbqt, smiles=SMALL_SMILES, webhook_url=receiver.url,
                **SMALL_BOX, **FAST_OPTIONS,
            )  # fmt: skip
            assert response.status_code == 201, response.text
            job_id = response.json()["job_id"]
            job = server.wait(job_id)
            assert job["status"] == "completed"
            assert "webhook_url" not in job["params"], "the URL stays out of the parameters"
            deliveries = _until_delivered(server, job_id)
    finally:
        receiver.stop()
    (delivery,) = deliveries
    assert delivery["channel"] == "webhook" and delivery["target"] == receiver.url
    assert delivery["attempts"] == 1 and delivery["last_error"] is None
    (request,) = receiver.requests
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Dockyard-Signature"] == f"sha256={expected}"
    assert request.headers["X-Dockyard-Event-Id"] == delivery["event_id"]
    body = json.loads(request.body)
    assert body["event"] == "job.completed" and body["job_id"] == job_id
    assert body["best_score"] == job["best_score"] and body["best_score"] < 0
    assert body["link"] == f"https://dock.lab.test/jobs/{job_id}"


def _until_delivered(server: LiveServer, job_id: int) -> list[dict]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        deliveries = server.client.get(f"/api/jobs/{job_id}/deliveries").json()
        if deliveries and all(d["status"] != "pending" for d in deliveries):
            return deliveries
        time.sleep(0.1)
    raise AssertionError(f"job {job_id}'s notifications were not sent: {deliveries}")


def test_users_set_their_notifications_and_only_owners_read_deliveries(
    tmp_path: Path, database_url: str
):
    smtp = {"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_starttls": False}
    with live(tmp_path, database_url, **smtp) as server:
        store = server.store
        clients = {}
        for name, role in (("admin", "admin"), ("alice", "member"), ("bob", "member")):
            user = store.accounts.add_user(name, f"pw-{name}", role=role)
            _, token = store.accounts.create_token(user.id, "tests")
            clients[name] = httpx.Client(
                base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
            )
        alice = clients["alice"]
        try:
            assert alice.get("/api/me").json()["notifications"] == {
                "webhook_url": None, "email": None, "email_on_finish": False,
            }  # fmt: skip
            refused = alice.put("/api/me/notifications", json={"email_on_finish": True})
            assert refused.status_code == 422 and refused.json()["error"]["field"] == "email"
            refused = alice.put("/api/me/notifications", json={"email": "not an address"})
            assert refused.status_code == 422 and refused.json()["error"]["field"] == "email"
            refused = alice.put("/api/me/notifications", json={"webhook_url": "http://[::1]/"})
            assert refused.json()["error"]["field"] == "webhook_url"
            changed = alice.put(
                "/api/me/notifications",
                json={"webhook_url": "http://10.9.8.7/lab", "email": "alice@lab.test",
                      "email_on_finish": True},
            )  # fmt: skip
            assert changed.status_code == 200, changed.text
            assert alice.get("/api/me").json()["notifications"]["email"] == "alice@lab.test"
            form = {"webhook_url": "http://10.9.8.7/page", "email": "alice@lab.test",
                    "email_on_finish": "true"}  # fmt: skip
            posted = alice.post("/account/notifications", data=form)
            assert posted.status_code == 303, posted.text
            assert 'value="http://10.9.8.7/page"' in alice.get("/account").text
            posted = alice.post("/account/notifications", data={**form, "email": "no"})
            assert posted.status_code == 422
            assert alice.get("/api/me").json()["notifications"] == {
                "webhook_url": "http://10.9.8.7/page", "email": "alice@lab.test",
                "email_on_finish": True,
            }  # fmt: skip

            owner = store.accounts.user_named("alice").id
            job = store.create_job(kind="dock", name="alice's", params={}, owner_id=owner)
            store.cancel_job(job.id)
            mine = alice.get(f"/api/jobs/{job.id}/deliveries")
            targets = sorted((d["channel"], d["target"]) for d in mine.json())
            assert targets == [("email", "alice@lab.test"), ("webhook", "http://10.9.8.7/page")]
            assert all(d["payload"]["event"] == "job.cancelled" for d in mine.json())
            page = alice.get(f"/jobs/{job.id}").text
            assert 'id="deliveries"' in page and "alice@lab.test" in page
            hidden = clients["bob"].get(f"/api/jobs/{job.id}/deliveries")
            assert hidden.status_code == 404 and hidden.json()["error"]["field"] == "job_id"
            store.accounts.add_group("lab")
            store.accounts.add_member("lab", "bob")
            store.accounts.share(job.id, "lab")
            shared = clients["bob"].get(f"/api/jobs/{job.id}/deliveries")
            assert shared.status_code == 403 and shared.json()["error"]["field"] == "job_id"
            assert 'id="deliveries"' not in clients["bob"].get(f"/jobs/{job.id}").text
        finally:
            for client in clients.values():
                client.close()


def test_dockyard_screen_sends_its_webhook_to_the_server(tmp_path: Path, database_url: str):
    from typer.testing import CliRunner

    from dockyard.cli import app

    receptor = tmp_path / "receptor.pdbqt"
    receptor.write_text("ATOM\n")
    library = tmp_path / "library.smi"
    library.write_text(f"{SMALL_SMILES} benzamide\n")
    arguments = ["screen", "--receptor", str(receptor), "--library", str(library),
                 "--center", "15", "54", "17", "--size", "14", "14", "14"]  # fmt: skip
    runner = CliRunner()
    alone = runner.invoke(app, [*arguments, "--webhook", "http://10.0.0.5/hook"])
    assert alone.exit_code == 2 and "--webhook needs --server" in alone.output
    with live(tmp_path, database_url) as server:
        refused = runner.invoke(
            app, [*arguments, "--server", server.url, "--webhook", "http://127.0.0.1:1/hook"]
        )
    assert refused.exit_code == 2
    assert "resolves to 127.0.0.1, a loopback address" in " ".join(refused.output.split())
