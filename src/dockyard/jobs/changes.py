"""What changed: the one read of all jobs' changes a server's change feed makes, and the
notices that tell it when to make it: PostgreSQL's own, or Redis pub/sub beside SQLite.

A server process reads every job's change once (:meth:`ChangeReader.since`) and hands each
to the event streams whose viewer may see it, so its reads do not grow with its open pages.
A read returns, with each job, the groups it is shared with (its own shares and its
screen's), so a stream can apply :func:`~dockyard.jobs.accounts.can_see` without a query of
its own. On PostgreSQL a trigger (migration 0007) notifies channel :data:`CHANNEL` with the
id of each job a transaction changed; :class:`ChangeListener` hears them on a connection of
its own and wakes the feed, which then reads the state from the store: a notice says only
*which* job changed, the database stays the truth.

A database that cannot notify (SQLite) is announced for on Redis when one is configured: each
process's store publishes, after every commit that wrote to ``jobs``, the ids of the jobs it
changed on :func:`redis_channel` (:class:`CommitAnnouncer`), and :class:`RedisListener` hears
them. :func:`listener_for` picks the one push path of a deployment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String, and_, cast, event, func, or_, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, sessionmaker

from dockyard.jobs.models import Job, JobShare

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

CHANNEL = "dockyard_jobs"
"""The PostgreSQL channel the ``jobs`` trigger notifies with a changed job's id."""
RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)
"""How long the listener waits before each try to reach the database again (the last repeats)."""
LISTEN_TICK_SECONDS = 1.0
"""How often the listener looks up from its connection to see whether it is to stop."""
PUBLISH_TIMEOUT_SECONDS = 0.5
"""The longest a write waits on Redis to announce itself: a notice is a hint, not the truth."""
QUIET_AFTER_FAILURE_SECONDS = 5.0
"""How long a store stops announcing after Redis failed to take a notice (the poll covers)."""
UNKNOWN = "*"
"""A notice's payload when a transaction changed jobs in bulk: read everything from the cursor."""

Wake = Callable[[int | None], None]
"""Called with a changed job's id, or None when any job may have changed."""


def pushes_itself(url: URL) -> bool:
    """Whether the database notifies of its own changes (the ``jobs`` trigger, PostgreSQL)."""
    return url.get_backend_name() == "postgresql"


def one_try_redis(redis_url: str, connect_timeout: float, timeout: float) -> Redis:
    """A Redis client that tries each command once (redis-py retries by default): a failure
    surfaces at once, within the timeouts, to the caller that knows what to do about it."""
    from redis import Redis  # the queue extra: only used with a Redis URL
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return Redis.from_url(
        redis_url,
        socket_connect_timeout=connect_timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def redis_channel(identity: str) -> str:
    """The Redis channel of one database's job changes (:attr:`Store.identity`)."""
    return f"dockyard:{identity}:jobs"


@dataclass(frozen=True)
class JobChange:
    """A job as it is now, with the groups that may read it through a share."""

    job: Job
    shared_with: frozenset[int]


class ChangeReader:
    """The reads of a server's change feed, reached as :attr:`Store.changes`."""

    def __init__(self, session: Callable[[], Session]):
        self._session = session

    def since(
        self,
        since: datetime,
        limit: int,
        after_id: int | None = None,
        chunks: Collection[int] = (),
    ) -> list[JobChange]:
        """Every top-level job, and the screen chunks among ``chunks``, updated after
        ``since``, oldest change first, at most ``limit``: one query, whoever the changes are
        for. ``after_id`` reads on from the job of that id changed at ``since`` itself (jobs
        cancelled together share one time)."""
        groups = (
            select(func.aggregate_strings(cast(JobShare.group_id, String), ","))
            .where(or_(JobShare.job_id == Job.id, JobShare.job_id == Job.parent_id))
            .scalar_subquery()
        )
        query = (
            select(Job, groups)
            .where(
                Job.updated_at > since
                if after_id is None
                else or_(Job.updated_at > since, and_(Job.updated_at == since, Job.id > after_id))
            )
            .where(or_(Job.parent_id.is_(None), Job.id.in_(sorted(chunks))))
            .order_by(Job.updated_at, Job.id)
            .limit(limit)
        )
        with self._session() as session:
            return [
                JobChange(job, frozenset(int(part) for part in (shared or "").split(",") if part))
                for job, shared in session.execute(query)
            ]


class Listener:
    """Hears change notices in a thread and calls ``wake`` with each changed job's id.

    After (re)connecting it calls ``wake(None)``: notices sent while it was away are lost, so
    the feed reads from its cursor once. A dropped connection (a restart, a killed
    connection) is reconnected, waiting :data:`RECONNECT_SECONDS` between tries. Subclasses
    say how to listen and which errors mean the connection was lost.
    """

    def __init__(self, wake: Wake):
        self._wake = wake
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dockyard-listen", daemon=True)
        self.connections = 0
        """How many times it has connected (and so listened afresh)."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=LISTEN_TICK_SECONDS * 5)

    def _lost(self) -> tuple[type[Exception], ...]:
        raise NotImplementedError

    def _listen(self) -> None:
        """Connect, count the connection, ``wake(None)``, then hand on notices until stopped."""
        raise NotImplementedError

    def _connected(self) -> None:
        self.connections += 1
        self._wake(None)

    def _heard(self, payload: str) -> None:
        for part in payload.split(","):
            self._wake(int(part) if part.isdigit() else None)

    def _run(self) -> None:
        lost = self._lost()
        failures = 0
        while not self._stopping.is_set():
            try:
                self._listen()
                failures = 0
            except lost as error:
                pause = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                if failures == 0:
                    log.warning("change notices lost (%s); reconnecting", str(error).strip())
                failures += 1
                self._stopping.wait(pause)


class ChangeListener(Listener):
    """Listens on PostgreSQL's :data:`CHANNEL`, on a connection of its own."""

    def __init__(self, database_url: str, wake: Wake):
        super().__init__(wake)
        self._conninfo = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )

    def _lost(self) -> tuple[type[Exception], ...]:
        import psycopg  # the PostgreSQL extra: only a server on PostgreSQL listens

        return (psycopg.Error,)

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self._connected()
            while not self._stopping.is_set():
                for notice in connection.notifies(timeout=LISTEN_TICK_SECONDS):
                    self._heard(notice.payload)
                    if self._stopping.is_set():
                        return


class RedisListener(Listener):
    """Subscribes to a database's :func:`redis_channel`, on a connection of its own."""

    def __init__(self, redis_url: str, channel: str, wake: Wake):
        super().__init__(wake)
        self._redis_url = redis_url
        self.channel = channel

    def _lost(self) -> tuple[type[Exception], ...]:
        from redis.exceptions import RedisError  # the queue extra: only set with a Redis URL

        return (RedisError, OSError)

    def _listen(self) -> None:
        # No silent retries: a lost connection comes back through _connected, which re-reads.
        client = one_try_redis(self._redis_url, 10, LISTEN_TICK_SECONDS * 5)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.channel)
            self._connected()
            while not self._stopping.is_set():
                message = pubsub.get_message(timeout=LISTEN_TICK_SECONDS)
                if message is not None and message["type"] == "message":
                    self._heard(message["data"].decode())
        finally:
            pubsub.close()
            client.close()


def listener_for(url: URL, identity: str, redis_url: str | None, wake: Wake) -> Listener | None:
    """The push path of a deployment: PostgreSQL's notices, else Redis pub/sub when Redis is
    configured, else none (the feed polls)."""
    if pushes_itself(url):
        return ChangeListener(url.render_as_string(hide_password=False), wake)
    if redis_url:
        return RedisListener(redis_url, redis_channel(identity), wake)
    return None


class CommitAnnouncer:
    """Publishes on Redis, after each commit of a store's sessions that wrote to ``jobs``, the
    ids of the jobs it changed (:data:`UNKNOWN` for a bulk write).

    The publish comes after the commit, so a feed woken by it reads the change. A Redis that
    does not answer costs a write at most :data:`PUBLISH_TIMEOUT_SECONDS`, and then silences
    announcing for :data:`QUIET_AFTER_FAILURE_SECONDS`: the feed's poll brings those changes.
    """

    KEY = "dockyard_changed_jobs"

    def __init__(self, redis_url: str, channel: str):
        from redis.exceptions import RedisError

        self.channel = channel
        self._redis = one_try_redis(redis_url, PUBLISH_TIMEOUT_SECONDS, PUBLISH_TIMEOUT_SECONDS)
        self._failed = RedisError
        self._quiet_until = 0.0
        self.published = 0
        """Notices published so far (for tests)."""

    def watch(self, sessions: sessionmaker[Session]) -> None:
        event.listen(sessions, "after_flush", self._flushed)
        event.listen(sessions, "do_orm_execute", self._executed)
        event.listen(sessions, "after_commit", self._committed)
        event.listen(sessions, "after_rollback", self._forget)

    def close(self) -> None:
        self._redis.close()

    def _flushed(self, session: Session, flush: UOWTransaction) -> None:
        changed = [
            item.id
            for item in (*session.new, *session.dirty, *session.deleted)
            if isinstance(item, Job)
        ]
        if changed:
            session.info.setdefault(self.KEY, set()).update(changed)

    def _executed(self, state: ORMExecuteState) -> None:
        writes = state.is_insert or state.is_update or state.is_delete
        if writes and any(mapper.class_ is Job for mapper in state.all_mappers):
            state.session.info.setdefault(self.KEY, set()).add(None)

    def _forget(self, session: Session) -> None:
        session.info.pop(self.KEY, None)

    def _committed(self, session: Session) -> None:
        changed = session.info.pop(self.KEY, None)
        if not changed or time.monotonic() < self._quiet_until:
            return
        payload = UNKNOWN if None in changed else ",".join(str(job) for job in sorted(changed))
        try:
            self._redis.publish(self.channel, payload)
            self.published += 1
        except self._failed as error:
            self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_SECONDS
            log.warning("could not announce job changes on Redis (%s); the feed polls", error)
