"""Live updates pushed through Redis pub/sub when the database cannot notify (SQLite); the
test that a push beats the poll, shared with PostgreSQL, is in ``test_live_feed.py``.

Each test has a private ``redis-server`` (so stopping it disturbs nobody) and an SQLite
database; the writes are a test worker's, from a store of its own that announces on Redis as
a real worker's does. The server's poll is too slow for any test to wait for it: only an
announcement can bring a change in time.
"""

from __future__ import annotations

import time

import pytest
from redis import Redis
from sqlalchemy import update

from dockyard.jobs.changes import (
    QUIET_AFTER_FAILURE_SECONDS,
    UNKNOWN,
    ChangeListener,
    RedisListener,
    listener_for,
    redis_channel,
)
from dockyard.jobs.models import Job
from dockyard.jobs.store import Store
from tests.scale.conftest import RedisServer, redis_server
from tests.web.test_live_feed import PATIENCE, Stream, Worker, serve, with_stage

__all__ = ["redis_server"]


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'jobs.db'}"


class Heard:
    """The notices published on a database's channel, as a subscriber receives them."""

    def __init__(self, redis_url: str, store: Store):
        self.pubsub = Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(redis_channel(store.identity))
        assert self.pubsub.get_message(timeout=5) is None  # the subscription is confirmed

    def next(self) -> str | None:
        message = self.pubsub.get_message(timeout=2)
        return None if message is None else message["data"].decode()

    def close(self) -> None:
        self.pubsub.close()


def test_a_store_announces_the_jobs_each_commit_changed(sqlite_url, redis_server):
    store = Store.open(sqlite_url, announce_to=redis_server.url)
    heard = Heard(redis_server.url, store)
    try:
        job = store.create_job(kind="dock", name="announced", params={})
        assert heard.next() == str(job.id)
        claim = store.claim(job.id, "test-worker", lease_seconds=60)
        assert claim is not None
        # A statement's write (a fenced update) names no job: the feed reads from its cursor.
        assert heard.next() == UNKNOWN
        store.set_progress(claim, "halfway", 0.5)
        assert heard.next() == UNKNOWN
        with store.session() as session:  # nothing committed, nothing announced
            session.execute(update(Job).where(Job.id == job.id).values(stage="undone"))
            session.rollback()
        with store.session() as session:  # nothing committed, nothing announced
            session.get(Job, job.id).stage = "undone"
            session.flush()
            session.rollback()
        store.accounts.add_user("dana", "pw-dana", role="member")  # no job changed
        assert heard.next() is None
    finally:
        heard.close()
        store.close()


def test_the_feed_listens_again_after_redis_restarts(tmp_path, sqlite_url, redis_server):
    held = Worker(sqlite_url, announce_to=redis_server.url)
    try:
        job_id = held.hold()
        with serve(tmp_path, sqlite_url, redis_server.url) as live:
            listener = live.app.state.feed._listener
            with Stream(live.url) as stream:
                assert stream.opened.wait(PATIENCE)
                held.progress(job_id, "before")
                stream.wait_for(with_stage(job_id, "before"), "the stage before")
                redis_server.stop()
                held.progress(job_id, "while away")  # stored; its announcement is lost
                redis_server.start()
                deadline = time.monotonic() + PATIENCE
                while listener.connections < 2:
                    assert time.monotonic() < deadline, "the listener did not reconnect"
                    time.sleep(0.05)
                # Listening again reads from the cursor: the change made while away arrives.
                stream.wait_for(with_stage(job_id, "while away"), "the change made while away")
                time.sleep(QUIET_AFTER_FAILURE_SECONDS)  # the worker announces again after this
                for step in range(2):
                    held.progress(job_id, f"after {step}")
                    stream.wait_for(with_stage(job_id, f"after {step}"), f"after {step}")
    finally:
        held.store.close()


def test_each_deployment_has_one_push_path(sqlite_url, postgres_url):
    def wake(job_id: int | None) -> None:
        pass

    redis_url = "redis://127.0.0.1:6379/0"
    sqlite, postgres = Store.open(sqlite_url), Store.open(postgres_url, announce_to=redis_url)
    try:
        assert listener_for(sqlite.engine.url, sqlite.identity, None, wake) is None
        assert isinstance(
            listener_for(sqlite.engine.url, sqlite.identity, redis_url, wake), RedisListener
        )
        assert isinstance(
            listener_for(postgres.engine.url, postgres.identity, redis_url, wake), ChangeListener
        )
        assert postgres.announce_to is None  # PostgreSQL's trigger notifies: no second path
    finally:
        sqlite.close()
        postgres.close()


def test_a_write_does_not_wait_on_a_redis_that_is_down(sqlite_url, tmp_path):
    down = RedisServer(tmp_path)  # never started: nothing listens on its port
    store = Store.open(sqlite_url, announce_to=down.url)
    try:
        job = store.create_job(kind="dock", name="unannounced", params={})
        assert store.get_job(job.id).name == "unannounced"
        assert store._announcer is not None and store._announcer.published == 0
    finally:
        store.close()
