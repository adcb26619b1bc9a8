"""``dockyard users``, ``tokens``, ``groups``, ``--token`` and the refusal to serve exposed."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from dockyard.cli import app
from dockyard.config import Settings
from dockyard.jobs.store import Store
from tests.conftest import LiveServer

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def test_users_add_prints_a_one_time_password_that_logs_in(tmp_path: Path):
    data = ["--data-dir", str(tmp_path)]
    added = invoke("users", "add", "alice", "--admin", *data)
    assert added.exit_code == 0, added.output
    password = added.output.strip().splitlines()[-1]
    assert len(password) >= 16
    again = invoke("users", "add", "alice", *data)
    assert again.exit_code != 0 and "already a user" in again.output
    assert invoke("users", "add", "bob", *data).exit_code == 0
    listing = invoke("users", "list", *data)
    assert "alice" in listing.output and "admin" in listing.output and "member" in listing.output
    store = Store.open(Settings(data_dir=tmp_path).resolved_database_url)
    try:
        assert store.accounts.check_password("alice", password) is not None
    finally:
        store.close()


def test_tokens_on_the_server_machine_and_through_the_server(tmp_path: Path):
    data = ["--data-dir", str(tmp_path)]
    invoke("users", "add", "alice", *data)
    made = invoke("tokens", "create", "laptop", "--user", "alice", *data)
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("dy_")
    settings = Settings(data_dir=tmp_path, workers=1)
    with LiveServer(settings) as live:
        refused = invoke("jobs", "--server", live.url)
        assert refused.exit_code != 0 and "Log in, or send an API token" in refused.output
        listed = invoke("jobs", "--server", live.url, env={"DOCKYARD_TOKEN": secret})
        assert listed.exit_code == 0, listed.output
        second = invoke("tokens", "create", "script", "--server", live.url, "--token", secret)
        assert second.exit_code == 0, second.output
        tokens = invoke("tokens", "list", "--server", live.url, "--token", secret)
        assert "laptop" in tokens.output and "script" in tokens.output
        first_id = re.search(r"(\d+)\s+.\s*laptop", tokens.output).group(1)
        revoked = invoke("tokens", "revoke", first_id, "--user", "alice", *data)
        assert revoked.exit_code == 0, revoked.output
        gone = invoke("jobs", "--server", live.url, "--token", secret)
        assert gone.exit_code != 0 and "revoked" in gone.output


def test_groups_share_a_job_read_only(tmp_path: Path):
    data = ["--data-dir", str(tmp_path)]
    invoke("users", "add", "alice", *data)
    invoke("users", "add", "bob", *data)
    store = Store.open(Settings(data_dir=tmp_path).resolved_database_url)
    try:
        alice = store.accounts.user_named("alice")
        job = store.create_job(kind="dock", name="j", params={}, owner_id=alice.id)
        assert invoke("groups", "add", "lab", "bob", *data).exit_code == 0
        shared = invoke("groups", "share", str(job.id), "lab", *data)
        assert shared.exit_code == 0 and "lab" in shared.output
        bob = store.accounts.viewer(store.accounts.user_named("bob"))
        assert store.job_for(bob, job.id).id == job.id
    finally:
        store.close()


def test_serve_refuses_a_public_address_until_there_is_a_user(tmp_path: Path):
    refused = invoke("serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path))
    assert refused.exit_code != 0
    assert "dockyard users add NAME --admin" in " ".join(refused.output.split())
