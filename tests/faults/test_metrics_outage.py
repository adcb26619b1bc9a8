"""``/metrics`` while PostgreSQL is stopped: the scraper's token still reads this process's own
metrics, and ``dockyard_store_up`` says the database did not answer; then it answers again."""

from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dockyard.config import Settings
from tests.conftest import LiveServer

pytestmark = pytest.mark.postgres

TOKEN = "scraper-token-0123456789abcdef"


def scrape(live: LiveServer) -> dict[str, float]:
    response = live.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_a_scrape_during_an_outage_reports_the_store_down(private_postgres, tmp_path):
    settings = Settings(
        data_dir=tmp_path, database_url=private_postgres.url, workers=1, metrics_token=TOKEN
    )
    with LiveServer(settings) as live:
        live.store.accounts.add_user("admin", "pw-admin", role="admin")
        assert scrape(live)["dockyard_store_up"] == 1
        try:
            private_postgres.stop()
            down = scrape(live)
            assert down["dockyard_store_up"] == 0
            assert "dockyard_sse_connections" in down
            assert not any(name.startswith("dockyard_jobs") for name in down)
            refused = live.client.get("/metrics")  # who else asks cannot be checked: 503
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "database_unavailable"
        finally:
            if not private_postgres.running():
                private_postgres.start()
        deadline = time.monotonic() + 30  # the pool's dead connections are replaced by then
        while (up := scrape(live))["dockyard_store_up"] != 1:
            assert time.monotonic() < deadline, "the store did not come back"
            time.sleep(0.2)
        assert "dockyard_jobs" in up
