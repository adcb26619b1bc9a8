"""Live updates over real HTTP from one change feed per server, on SQLite and PostgreSQL.

The jobs are held by a worker of the test's own (a second store, so its writes reach the
server's database on connections of their own, as a worker's do): claimed before the server
starts, with a lease no one expires, so the server's runner leaves them alone.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest
from sqlalchemy import event

from dockyard.chem.ligand.library import LibraryEntry
from dockyard.config import Settings
from dockyard.jobs.accounts import SINGLE_USER
from dockyard.jobs.changes import JobChange
from dockyard.jobs.fence import Claim
from dockyard.jobs.models import Job, utcnow
from dockyard.jobs.store import Store
from dockyard.web.feed import QUEUE_SIZE, RESYNC, Published, Subscription
from tests.conftest import LiveServer, _libpq
from tests.scale.conftest import redis_server

LONG_POLL = 60.0
"""A poll interval no test waits for: on PostgreSQL only a notice can bring a change in time."""
PATIENCE = 20.0
"""How long a test waits for an event: well under :data:`LONG_POLL`."""

__all__ = ["redis_server"]


class Stream:
    """``/api/events`` followed in a thread over a socket of its own (HTTP/1.0, so the body is
    the bare stream): every event's id and job, as they arrive. Closing it hangs up at once."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, **params: str):
        self.events: list[tuple[str, dict]] = []
        self.opened = threading.Event()
        self.status: str | None = None
        self._stop = threading.Event()
        host, port = url.removeprefix("http://").split(":")
        lines = [f"GET /api/events?{urlencode(params)} HTTP/1.0", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self._sock = socket.create_connection((host, int(port)), timeout=10)
        self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._sock.settimeout(0.1)
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _lines(self) -> Iterator[str]:
        buffer = b""
        while not self._stop.is_set():
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for line in complete:
                yield line.rstrip(b"\r").decode()

    def _follow(self) -> None:
        fields: dict[str, str] = {}
        for line in self._lines():
            if self.status is None:
                self.status = line
            elif line.startswith("retry:"):
                self.opened.set()
            elif line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.strip()
            elif not line:
                if "data" in fields:
                    self.events.append((fields.get("id", ""), json.loads(fields["data"])))
                fields = {}

    def wait_for(self, seen: Callable[[dict], bool], what: str) -> tuple[str, dict]:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            for event_id, job in list(self.events):
                if seen(job):
                    return event_id, job
            assert self.thread.is_alive(), f"the stream ended: {self.status}"
            time.sleep(0.02)
        raise AssertionError(f"no event with {what}: {self.events[-5:]}")

    def close(self) -> None:
        self._stop.set()
        self.thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def with_stage(job_id: int, stage: str) -> Callable[[dict], bool]:
    return lambda job: job["id"] == job_id and job["stage"] == stage


class Worker:
    """Jobs held by a worker outside the server, writing their progress as a real one does."""

    def __init__(self, database_url: str, announce_to: str | None = None):
        self.store = Store.open(database_url, announce_to=announce_to)
        self.claims: dict[int, Claim] = {}

    def hold(self, name: str = "followed", owner_id: int | None = None) -> int:
        job = self.store.create_job(kind="dock", name=name, params={}, owner_id=owner_id)
        claim = self.store.claim(job.id, "elsewhere:test-worker", lease_seconds=3600)
        assert claim is not None
        self.claims[job.id] = claim
        return job.id

    def progress(self, job_id: int, stage: str) -> None:
        assert self.store.set_progress(self.claims[job_id], stage, 0.5)


@pytest.fixture
def worker(database_url: str) -> Iterator[Worker]:
    held = Worker(database_url)
    yield held
    held.store.close()


def serve(tmp_path: Path, database_url: str, redis_url: str | None = None) -> LiveServer:
    """A server whose feed polls SQLite often, and almost never when changes are pushed
    (PostgreSQL's notices, or Redis beside SQLite)."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        redis_url=redis_url,
        workers=1,
        events_poll_seconds=0.05,
        events_pushed_poll_seconds=LONG_POLL,
    )
    return LiveServer(settings)


@pytest.fixture(
    params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite with redis"]
)
def pushed(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """A deployment whose changes are pushed: (database URL, Redis URL or None)."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url"), None
    return f"sqlite:///{tmp_path / 'jobs.db'}", request.getfixturevalue("redis_server").url


def count_change_reads(store: Store) -> list[str]:
    """Every query of changed jobs the server's store runs from now on (the feed's and the
    streams' own alike), as SQL text."""
    reads: list[str] = []

    def record(conn, cursor, statement: str, *args: object) -> None:
        if "jobs.updated_at >" in statement:
            reads.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    return reads


def test_one_feed_serves_every_stream(tmp_path, database_url, worker):
    job_id = worker.hold()
    with serve(tmp_path, database_url) as live:
        streams = [Stream(live.url) for _ in range(12)]
        try:
            for stream in streams:
                assert stream.opened.wait(PATIENCE)
            worker.progress(job_id, "warming up")
            for stream in streams:
                stream.wait_for(with_stage(job_id, "warming up"), "the first stage")
            feed = live.app.state.feed
            reads = count_change_reads(live.store)
            feed_reads = feed.reads
            for step in range(3):
                worker.progress(job_id, f"step {step}")
                for stream in streams:
                    stream.wait_for(with_stage(job_id, f"step {step}"), f"step {step}")
            made, read = feed.reads - feed_reads, len(reads)
        finally:
            for stream in streams:
                stream.close()
    assert made >= 1
    # Every read of changes while 12 streams followed them was the feed's: none per stream.
    assert read in (made, made + 1), (read, made)


def test_a_notice_brings_a_change_without_waiting_for_the_poll(tmp_path, pushed):
    database_url, redis_url = pushed
    held = Worker(database_url, announce_to=redis_url)
    try:
        job_id = held.hold()
        with serve(tmp_path, database_url, redis_url) as live, Stream(live.url) as stream:
            assert live.app.state.feed.poll_seconds == LONG_POLL
            assert stream.opened.wait(PATIENCE)
            for step in range(3):
                held.progress(job_id, f"pushed {step}")
                stream.wait_for(with_stage(job_id, f"pushed {step}"), f"pushed {step}")
    finally:
        held.store.close()


@pytest.mark.postgres
def test_the_feed_listens_again_after_its_connection_is_killed(tmp_path, postgres_url):
    held = Worker(postgres_url)
    try:
        job_id = held.hold()
        with serve(tmp_path, postgres_url) as live:
            listener = live.app.state.feed._listener
            with Stream(live.url) as stream:
                assert stream.opened.wait(PATIENCE)
                held.progress(job_id, "before")
                stream.wait_for(with_stage(job_id, "before"), "the stage before")
                with psycopg.connect(_libpq(postgres_url), autocommit=True) as admin:
                    killed = admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND query = 'LISTEN dockyard_jobs'"
                    ).fetchall()
                assert killed == [(True,)]
                deadline = time.monotonic() + PATIENCE
                while listener.connections < 2:
                    assert time.monotonic() < deadline, "the listener did not reconnect"
                    time.sleep(0.05)
                for step in range(2):
                    held.progress(job_id, f"after {step}")
                    stream.wait_for(with_stage(job_id, f"after {step}"), f"after {step}")
    finally:
        held.store.close()


def test_a_reconnecting_stream_resumes_after_its_last_event(tmp_path, database_url, worker):
    job_id = worker.hold()
    with serve(tmp_path, database_url) as live:
        with Stream(live.url, since="2000-01-01T00:00:00Z") as first:
            backlog_id, _ = first.wait_for(lambda job: job["id"] == job_id, "the held job")
            worker.progress(job_id, "seen")
            last_id, _ = first.wait_for(with_stage(job_id, "seen"), "the stage seen")
        assert datetime.fromisoformat(last_id) > datetime.fromisoformat(backlog_id)
        worker.progress(job_id, "missed")
        with Stream(live.url, headers={"Last-Event-ID": last_id}) as second:
            second.wait_for(with_stage(job_id, "missed"), "the change made while away")
            worker.progress(job_id, "live again")
            second.wait_for(with_stage(job_id, "live again"), "a change after resuming")


def test_a_stream_carries_only_what_its_user_may_see(tmp_path, database_url, worker):
    accounts = worker.store.accounts
    tokens = {}
    for name in ("alice", "bob"):
        user = accounts.add_user(name, f"pw-{name}", role="member")
        tokens[name] = (user.id, accounts.create_token(user.id, "tests")[1])
    alices = worker.hold("alice's", owner_id=tokens["alice"][0])
    bobs = worker.hold("bob's", owner_id=tokens["bob"][0])
    shared = worker.hold("bob's, shared", owner_id=tokens["bob"][0])
    accounts.add_group("lab")
    accounts.add_member("lab", "alice")
    accounts.share(shared, "lab")
    with serve(tmp_path, database_url) as live:
        headers = {"Authorization": f"Bearer {tokens['alice'][1]}"}
        with Stream(live.url, headers=headers) as stream:
            assert stream.opened.wait(PATIENCE)
            for step in range(2):
                worker.progress(bobs, f"bob {step}")
                worker.progress(shared, f"shared {step}")
                worker.progress(alices, f"alice {step}")
                stream.wait_for(with_stage(alices, f"alice {step}"), f"alice's step {step}")
                stream.wait_for(with_stage(shared, f"shared {step}"), f"the shared step {step}")
    assert bobs not in {job["id"] for _, job in stream.events}


def test_a_subscriber_that_falls_behind_is_told_to_resync():
    """A slow stream's queue stays bounded: overflowing it leaves only the word to resync."""

    async def overflow() -> list[Published | None]:
        subscription = Subscription()
        job = Job(id=1)
        subscription.offer([(JobChange(job, frozenset()), "{}")] * (QUEUE_SIZE + 1))
        return await subscription.next(1.0)

    # A loop of its own, in a thread: Playwright's sync API, when the browser tests ran first
    # in this session, leaves an event loop marked running in the main thread.
    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, overflow()).result() == [RESYNC]


def test_the_feed_reads_a_screens_chunks_only_for_a_stream_that_follows_one(database_url):
    """One read for everyone: top-level jobs, and a chunk only when it is followed; each with
    the groups that may see it through a share (of the job, or of its screen)."""
    store = Store.open(database_url)
    try:
        before = utcnow() - timedelta(seconds=1)
        owner = store.accounts.add_user("carol", "pw-carol", role="member")
        lab = store.accounts.add_group("lab")
        screen = store.screens.create(
            name="carol's screen",
            params={},
            files=[],
            entries=[LibraryEntry(0, "benzamide", "NC(=O)c1ccccc1", "smi")],
            chunk_size=lambda total: 1,
            max_attempts=1,
            time_limit=60,
            owner_id=owner.id,
        )
        store.accounts.share(screen.id, "lab")
        (chunk,) = store.list_jobs(parent_id=screen.id, viewer=SINGLE_USER)
        everyone = {c.job.id: c.shared_with for c in store.changes.since(before, 200)}
        assert screen.id in everyone and chunk.id not in everyone
        followed = store.changes.since(before, 200, None, {chunk.id})
        shared = {c.job.id: c.shared_with for c in followed}
        assert shared == {screen.id: {lab.id}, chunk.id: {lab.id}}
    finally:
        store.close()


def test_a_feed_that_cannot_read_sends_its_streams_to_the_store(
    tmp_path, database_url, worker, monkeypatch
):
    """A read of the feed failing for another reason than an outage is not swallowed: its
    streams read the store themselves, fail the same way and break, so browsers reconnect."""
    job_id = worker.hold()
    with serve(tmp_path, database_url) as live, Stream(live.url) as stream:
        assert stream.opened.wait(PATIENCE)

        def broken(*args: object, **kwargs: object) -> None:
            raise ConnectionError("the database cannot be reached (a test)")

        monkeypatch.setattr(live.store.changes, "since", broken)
        monkeypatch.setattr(live.store, "changed_since", broken)
        worker.progress(job_id, "unseen")
        stream.thread.join(PATIENCE)
        assert not stream.thread.is_alive(), "the stream stayed open on a broken feed"
        monkeypatch.undo()
        with Stream(live.url, since="2000-01-01T00:00:00Z") as again:
            again.wait_for(with_stage(job_id, "unseen"), "the change once reads work")
