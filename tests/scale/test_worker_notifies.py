"""A fleet without the API still notifies: every ``dockyard worker`` runs a sender."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dockyard.config import Settings
from dockyard.jobs.models import DeliveryStatus
from dockyard.jobs.store import Store
from tests.notify.receivers import Receiver
from tests.scale.conftest import settings_env, wait_until


def test_a_worker_sends_the_notifications_of_jobs_that_ended(
    scale_settings: Settings, tmp_path: Path
):
    receiver = Receiver().start()
    store = Store.open(scale_settings.resolved_database_url)
    job = store.create_job(kind="dock", name="ended", params={}, webhook_url=receiver.url)
    assert store.complete(store.claim(job.id, "elsewhere", 30), results={}, provenance={})
    env = settings_env(scale_settings) | {
        "DOCKYARD_WEBHOOK_SECRET": "fleet-secret",
        "DOCKYARD_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "DOCKYARD_NOTIFY_POLL_SECONDS": "0.2",
    }
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "dockyard", "worker"], env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert receiver.arrived.wait(120), log.read_text(errors="replace")[-3000:]
        wait_until(
            lambda: store.notifications.of_job(job.id)[0].status == DeliveryStatus.DELIVERED,
            60,
            "the delivery to be marked delivered",
        )
    finally:
        worker.terminate()
        worker.wait(30)
        receiver.stop()
        store.close()
    (request,) = receiver.requests
    assert request.headers["X-Dockyard-Event"] == "job.completed"
