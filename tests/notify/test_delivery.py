"""The outbox and its sender against a real HTTP receiver and a real SMTP server, on SQLite and
PostgreSQL: written with the job's end, retried while the receiver is down, delivered once."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from dockyard.config import Settings
from dockyard.jobs.models import CHUNK_KIND, DeliveryStatus, utcnow
from dockyard.jobs.store import Store
from dockyard.runners.notify import Notifier
from tests.notify.receivers import Receiver, free_port, smtp_server

SECRET = "test-webhook-secret"


@pytest.fixture
def store(database_url: str):
    opened = Store.open(database_url)
    yield opened
    opened.close()


def settings_for(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "database_url": database_url,
        "webhook_secret": SECRET,
        "webhook_allowed_hosts": ("127.0.0.1",),
        "webhook_max_attempts": 4,
        "webhook_timeout": 5.0,
        "notify_backoff": 10.0,
    }
    return Settings(**(values | overrides))


def finished_job(store: Store, webhook_url: str | None, *, score: float = -6.5, **kw) -> int:
    job = store.create_job(kind="dock", name="benzamide", params={}, webhook_url=webhook_url, **kw)
    claim = store.claim(job.id, "test-worker", 30)
    assert store.complete(claim, results={"best_score": score}, provenance={})
    return job.id


def test_each_final_status_writes_its_delivery_with_the_status(store: Store):
    url = "http://127.0.0.1:9/hook"
    done = finished_job(store, url, score=-7.25)
    failing = store.create_job(kind="dock", name="bad", params={}, webhook_url=url)
    assert store.fail(store.claim(failing.id, "w", 30), "Vina refused the box")
    cancelled = store.create_job(kind="dock", name="stopped", params={}, webhook_url=url)
    store.cancel_job(cancelled.id)
    quiet = finished_job(store, None)

    payloads = {
        job_id: [d.payload for d in store.notifications.of_job(job_id)]
        for job_id in (done, failing.id, cancelled.id, quiet)
    }
    assert payloads[quiet] == []
    (completed,) = payloads[done]
    assert completed["event"] == "job.completed" and completed["status"] == "completed"
    assert completed["best_score"] == -7.25 and completed["link"] == f"/jobs/{done}"
    assert completed["job_id"] == done and completed["kind"] == "dock"
    assert completed["name"] == "benzamide" and completed["finished_at"]
    assert [p["event"] for p in payloads[failing.id]] == ["job.failed"]
    assert [p["event"] for p in payloads[cancelled.id]] == ["job.cancelled"]


def test_a_lost_claim_and_a_chunk_write_no_delivery(store: Store):
    url = "http://127.0.0.1:9/hook"
    job = store.create_job(kind="dock", name="re-queued", params={}, webhook_url=url)
    stale = store.claim(job.id, "w", 30)
    store.cancel_job(job.id)  # one delivery: the cancel
    assert not store.complete(stale, results={"best_score": -1.0}, provenance={})
    assert [d.payload["event"] for d in store.notifications.of_job(job.id)] == ["job.cancelled"]

    screen = store.create_job(kind="screen", name="screen", params={}, webhook_url=url)
    with store.session() as session, session.begin():
        from dockyard.jobs.models import Job

        chunk = Job(parent_id=screen.id, kind=CHUNK_KIND, name="chunk", params={},
                    created_at=utcnow(), updated_at=utcnow())  # fmt: skip
        session.add(chunk)
    assert store.complete(store.claim(chunk.id, "w", 30), results={}, provenance={})
    assert store.notifications.of_job(chunk.id) == []


def test_a_users_settings_add_their_webhook_and_email(store: Store):
    user = store.accounts.add_user("ada", "pw-ada")
    store.notifications.set_settings(
        user.id, webhook_url="http://10.1.2.3/default", email="ada@lab.test", email_on_finish=True
    )
    default = finished_job(store, None, owner_id=user.id)
    own = finished_job(store, "http://10.1.2.3/own", owner_id=user.id)
    targets = {
        job_id: sorted((d.channel, d.target) for d in store.notifications.of_job(job_id))
        for job_id in (default, own)
    }
    assert targets[default] == [("email", "ada@lab.test"), ("webhook", "http://10.1.2.3/default")]
    assert targets[own] == [("email", "ada@lab.test"), ("webhook", "http://10.1.2.3/own")]


def test_the_webhook_is_retried_while_the_receiver_is_down_then_delivered_once(
    store: Store, tmp_path: Path, database_url: str
):
    receiver = Receiver()  # not started: its port refuses connections
    job_id = finished_job(store, receiver.url)
    settings = settings_for(tmp_path, database_url, public_url="https://dock.lab.test/")
    notifier = Notifier(store, settings, name="sender-a")
    now = utcnow()

    assert notifier.run_once(now) == 1
    (row,) = store.notifications.of_job(job_id)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert "ConnectError" in row.last_error
    assert row.next_attempt_at >= now + timedelta(seconds=10)
    assert notifier.run_once(now) == 0, "nothing is due during its back-off"
    later = now + timedelta(seconds=13)  # 10 s + at most 25% jitter
    assert notifier.run_once(later) == 1
    (row,) = store.notifications.of_job(job_id)
    assert row.attempts == 2 and row.next_attempt_at >= later + timedelta(seconds=20)

    receiver.start()
    try:
        assert notifier.run_once(later + timedelta(seconds=30)) == 1
        assert notifier.run_once(later + timedelta(days=1)) == 0, "delivered rows are done"
    finally:
        receiver.stop()
    (row,) = store.notifications.of_job(job_id)
    assert row.status == DeliveryStatus.DELIVERED and row.delivered_at is not None
    assert row.last_error is None and row.attempts == 3
    (request,) = receiver.requests
    headers = {name.lower(): value for name, value in request.headers.items()}
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert headers["x-dockyard-signature"] == f"sha256={expected}"
    assert headers["x-dockyard-event-id"] == row.event_id
    assert headers["x-dockyard-event"] == "job.completed"
    assert headers["host"] == f"127.0.0.1:{receiver.port}"
    body = json.loads(request.body)
    assert body["event_id"] == row.event_id and body["job_id"] == job_id
    assert body["link"] == f"https://dock.lab.test/jobs/{job_id}"


def test_a_redirect_is_not_followed_and_the_last_error_is_kept(
    store: Store, tmp_path: Path, database_url: str
):
    target = Receiver().start()
    receiver = Receiver(status=302, location=target.url).start()
    job_id = finished_job(store, receiver.url)
    notifier = Notifier(store, settings_for(tmp_path, database_url), name="sender")
    now = utcnow()
    try:
        for attempt in range(4):
            assert notifier.run_once(now + timedelta(hours=attempt * 2)) == 1
        assert notifier.run_once(now + timedelta(days=2)) == 0
    finally:
        receiver.stop()
        target.stop()
    (row,) = store.notifications.of_job(job_id)
    assert row.status == DeliveryStatus.FAILED and row.attempts == 4
    assert "try 4: the receiver answered 302 (redirects are not followed)" in row.last_error
    assert len(receiver.requests) == 4
    assert target.requests == []
    assert {r.headers["X-Dockyard-Event-Id"] for r in receiver.requests} == {row.event_id}


def test_email_goes_through_the_smtp_server(store: Store, tmp_path: Path, database_url: str):
    controller, mailbox = smtp_server()
    user = store.accounts.add_user("ada", "pw-ada")
    store.notifications.set_settings(user.id, email="ada@lab.test", email_on_finish=True)
    job_id = finished_job(store, None, owner_id=user.id, score=-8.1)
    down = settings_for(tmp_path, database_url, smtp_host="127.0.0.1", smtp_port=free_port(),
                        smtp_starttls=False, smtp_from="dockyard@lab.test")  # fmt: skip
    now = utcnow()
    try:
        assert Notifier(store, down, name="sender").run_once(now) == 1
        (row,) = store.notifications.of_job(job_id)
        assert row.status == DeliveryStatus.PENDING and "SMTP 127.0.0.1" in row.last_error
        up = down.model_copy(update={"smtp_port": controller.port})
        assert Notifier(store, up, name="sender").run_once(now + timedelta(minutes=1)) == 1
    finally:
        controller.stop()
    (row,) = store.notifications.of_job(job_id)
    assert row.status == DeliveryStatus.DELIVERED
    ((sender, recipients, content),) = mailbox.messages
    assert sender == "dockyard@lab.test" and recipients == ["ada@lab.test"]
    message = email.message_from_bytes(content)
    assert message["Subject"] == "Dockyard: benzamide completed"
    assert message["X-Dockyard-Event-Id"] == row.event_id
    text = message.get_payload(decode=True).decode()
    assert f"Dock {job_id} (benzamide) is completed." in text
    assert "Best score: -8.10 kcal/mol" in text and f"/jobs/{job_id}" in text


def test_the_server_refuses_to_send_to_loopback_without_the_allow_list(
    store: Store, tmp_path: Path, database_url: str
):
    receiver = Receiver().start()
    job_id = finished_job(store, receiver.url)
    strict = settings_for(tmp_path, database_url, webhook_allowed_hosts=())
    try:
        assert Notifier(store, strict, name="sender").run_once() == 1
    finally:
        receiver.stop()
    (row,) = store.notifications.of_job(job_id)
    assert row.status == DeliveryStatus.FAILED, "a refused target is not tried again"
    assert "resolves to 127.0.0.1, a loopback address" in row.last_error
    assert receiver.requests == []


def test_two_senders_never_send_one_row_twice(store: Store, tmp_path: Path, database_url: str):
    receiver = Receiver().start()
    jobs = [finished_job(store, receiver.url) for _ in range(30)]
    settings = settings_for(tmp_path, database_url)
    senders = [Notifier(store, settings, name=f"sender-{n}") for n in range(2)]
    start = threading.Barrier(2)

    def drain(notifier: Notifier) -> None:
        start.wait()
        while notifier.run_once():
            pass

    threads = [threading.Thread(target=drain, args=(sender,)) for sender in senders]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        receiver.stop()
    rows = [row for job_id in jobs for row in store.notifications.of_job(job_id)]
    assert {row.status for row in rows} == {DeliveryStatus.DELIVERED}
    assert {row.attempts for row in rows} == {1}
    sent = [r.headers["X-Dockyard-Event-Id"] for r in receiver.requests]
    assert sorted(sent) == sorted(row.event_id for row in rows)


SENDER = """
import sys
from dockyard.config import Settings
from dockyard.jobs.store import Store
from dockyard.runners.notify import Notifier

store = Store.open(sys.argv[1])
settings = Settings(data_dir=sys.argv[2], database_url=sys.argv[1], webhook_secret="s",
                    webhook_allowed_hosts=("127.0.0.1",), webhook_timeout=60)
Notifier(store, settings, name="doomed").run_once()
"""


def test_a_killed_senders_row_is_sent_again_after_its_lease(
    store: Store, tmp_path: Path, database_url: str
):
    receiver = Receiver()
    receiver.release.clear()  # the first request waits: the sender is killed mid-send
    receiver.start()
    job_id = finished_job(store, receiver.url)
    source = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    doomed = subprocess.Popen([sys.executable, "-c", SENDER, database_url, str(tmp_path)], env=env)
    try:
        assert receiver.arrived.wait(60), "the doomed sender never sent"
        os.kill(doomed.pid, signal.SIGKILL)
        assert doomed.wait(30) == -signal.SIGKILL
        receiver.release.set()
        (row,) = store.notifications.of_job(job_id)
        assert row.status == DeliveryStatus.PENDING and row.claimed_by == "doomed"
        lease_end = row.next_attempt_at
        notifier = Notifier(store, settings_for(tmp_path, database_url), name="survivor")
        assert notifier.run_once(lease_end - timedelta(seconds=1)) == 0, "still leased"
        assert notifier.run_once(lease_end) == 1
    finally:
        receiver.stop()
        if doomed.poll() is None:
            doomed.kill()
    (row,) = store.notifications.of_job(job_id)
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 2
    ids = [r.headers["X-Dockyard-Event-Id"] for r in receiver.requests]
    assert ids == [row.event_id, row.event_id], "at least once, with one event id to de-dup on"


def test_a_row_whose_last_try_died_is_failed_not_sent_again(
    store: Store, tmp_path: Path, database_url: str
):
    job_id = finished_job(store, "http://127.0.0.1:9/hook")
    now = utcnow()
    (claim,) = store.notifications.claim("dies", 5, max_attempts=1, now=now)
    assert store.notifications.claim("other", 5, max_attempts=1, now=now) == []
    assert store.notifications.claim("other", 5, max_attempts=1, now=now + timedelta(6)) == []
    (row,) = store.notifications.of_job(job_id)
    assert row.status == DeliveryStatus.FAILED and "stopped during try 1 of 1" in row.last_error
    assert not store.notifications.delivered(claim), "the dead sender's late word is ignored"


def test_a_screen_notifies_once_when_its_last_chunk_has_settled(store: Store):
    from dockyard.chem.ligand.library import LibraryEntry

    screen = store.screens.create(
        name="library", params={}, files=[],
        entries=[LibraryEntry(i, f"l{i}", "NC(=O)c1ccccc1", "smi") for i in range(2)],
        chunk_size=lambda total: 1, max_attempts=1, time_limit=60,
        webhook_url="http://10.1.2.3/screens",
    )  # fmt: skip
    chunks = [job.id for job in store.list_jobs(parent_id=screen.id)]
    assert len(chunks) == 2
    first, second = (store.claim(chunk, "w", 30) for chunk in chunks)
    assert store.fail(first, "the chunk's process died")
    assert store.screens.settle() == [], "a chunk is still running"
    assert store.notifications.of_job(screen.id) == []
    assert store.complete(second, results={}, provenance={})
    assert store.screens.settle() == [screen.id]
    assert store.screens.settle() == [], "settled once"
    (row,) = store.notifications.of_job(screen.id)
    assert row.payload["event"] == "job.completed" and row.payload["kind"] == "screen"
    assert row.payload["link"] == f"/screens/{screen.id}"
    assert all(store.notifications.of_job(chunk) == [] for chunk in chunks)


def test_an_allowed_name_is_sent_to_its_checked_address_with_its_own_host_header(
    store: Store, tmp_path: Path, database_url: str
):
    receiver = Receiver().start()  # on 127.0.0.1 only: a ::1 for localhost is refused
    job_id = finished_job(store, f"http://localhost:{receiver.port}/hook")
    settings = settings_for(tmp_path, database_url, webhook_allowed_hosts=("localhost",))
    try:
        assert Notifier(store, settings, name="sender").run_once() == 1
    finally:
        receiver.stop()
    (row,) = store.notifications.of_job(job_id)
    assert row.status == DeliveryStatus.DELIVERED, row.last_error
    (request,) = receiver.requests
    assert request.headers["Host"] == f"localhost:{receiver.port}"


def test_the_next_checked_address_is_tried_when_the_first_refuses():
    import httpx

    from dockyard.runners.addresses import Destination

    receiver = Receiver().start()  # on 127.0.0.1; nothing listens on 127.0.0.2
    destination = Destination("http", "hooks.lab.test", receiver.port, ("127.0.0.2", "127.0.0.1"))
    url = httpx.URL(f"http://hooks.lab.test:{receiver.port}/hook")
    try:
        with httpx.Client(timeout=5, trust_env=False) as client:
            response, answer = Notifier._post(client, destination, url, b"{}", {"Host": "x"})
    finally:
        receiver.stop()
    assert response.status_code == 200 and answer == b"ok"
    assert len(receiver.requests) == 1
