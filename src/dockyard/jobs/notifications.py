"""The notification outbox: what to tell whom when a job ends, and each delivery's state.

Part of the store (reached as ``store.notifications``). :func:`record_finished` runs inside
the transaction that writes a job's final status, so a job never ends without its
notifications and a notification never exists for a job that did not end. Senders
(:mod:`dockyard.runners.notify`) then :meth:`~NotificationStore.claim` due rows with a lease:
a claim is a compare-and-set on the row's ``attempts``, so two senders never hold one row at
once, and a sender killed mid-send leaves a row that is due again once its lease runs out.
A row is ``delivered`` only once its receiver said so; the outcome of a sender whose lease was
lost meanwhile is ignored (the receiver de-duplicates on the event id).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dockyard.errors import NotFoundError
from dockyard.jobs.models import (
    EMAIL_CHANNEL,
    FINISHED_STATUSES,
    SCREEN_KIND,
    WEBHOOK_CHANNEL,
    Delivery,
    DeliveryStatus,
    Job,
    User,
    utcnow,
)

MAX_ERROR_LENGTH = 1000
SPARE_CANDIDATES = 4
"""Due rows read beyond those asked for, to claim in place of those another sender took."""


def event_type(status: str) -> str:
    """``job.completed``, ``job.failed`` or ``job.cancelled``."""
    return f"job.{status}"


def job_path(job_id: int, kind: str) -> str:
    """The job's page on the server, relative to its public address."""
    return f"/screens/{job_id}" if kind == SCREEN_KIND else f"/jobs/{job_id}"


def record_finished(session: Session, job_ids: Iterable[int]) -> int:
    """Add the deliveries of the top-level jobs among ``job_ids`` that are finished now: the
    outbox hook every final write calls inside its own transaction. Returns the rows added.

    A job's own webhook replaces its owner's default one; its owner's e-mail is added when
    they asked for e-mail on finish.
    """
    ids = list(job_ids)
    if not ids:
        return 0
    query = (
        select(Job.id, Job.kind, Job.name, Job.status, Job.results, Job.finished_at,
               Job.webhook_url, User.webhook_url, User.email, User.email_on_finish)
        .outerjoin(User, User.id == Job.owner_id)
        .where(Job.id.in_(ids), Job.parent_id.is_(None), Job.status.in_(FINISHED_STATUSES))
    )  # fmt: skip
    added = 0
    now = utcnow()
    for row in session.execute(query):
        job_id, kind, name, status, results, finished_at, own_hook, user_hook, email, mail = row
        targets = []
        if own_hook or user_hook:
            targets.append((WEBHOOK_CHANNEL, own_hook or user_hook))
        if email and mail:
            targets.append((EMAIL_CHANNEL, email))
        for channel, target in targets:
            event_id = str(uuid.uuid4())
            payload = {
                "event_id": event_id,
                "event": event_type(status.value),
                "job_id": job_id,
                "kind": kind,
                "name": name,
                "status": status.value,
                "best_score": (results or {}).get("best_score"),
                "link": job_path(job_id, kind),
                "finished_at": (finished_at or now).isoformat(),
            }
            session.add(
                Delivery(
                    event_id=event_id, job_id=job_id, channel=channel, target=target,
                    payload=payload, status=DeliveryStatus.PENDING, attempts=0,
                    next_attempt_at=now, created_at=now,
                )
            )  # fmt: skip
            added += 1
    return added


@dataclass(frozen=True)
class DeliveryClaim:
    """A delivery held by one sender: ``attempts`` (this try's number) fences its outcome."""

    id: int
    event_id: str
    channel: str
    target: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class NotificationSettings:
    webhook_url: str | None
    email: str | None
    email_on_finish: bool


class NotificationStore:
    """The deliveries of one store and the notification settings of its users."""

    def __init__(self, sessions: Callable[[], Session]):
        self.session = sessions

    # -- senders ------------------------------------------------------------------------

    def claim(
        self,
        sender: str,
        lease_seconds: float,
        *,
        max_attempts: int,
        limit: int = 20,
        now: datetime | None = None,
    ) -> list[DeliveryClaim]:
        """Take up to ``limit`` due deliveries for ``sender`` until ``now + lease_seconds``.

        A due row that has used up its tries (its last sender died mid-send) is failed here.
        """
        now = now or utcnow()
        due = (
            select(Delivery.id, Delivery.attempts)
            .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit + SPARE_CANDIDATES)
        )
        claims: list[DeliveryClaim] = []
        with self.session() as session:
            candidates = session.execute(due).all()
        for delivery_id, attempts in candidates:
            if len(claims) == limit:
                break
            with self.session() as session, session.begin():
                still = (
                    Delivery.id == delivery_id,
                    Delivery.status == DeliveryStatus.PENDING,
                    Delivery.attempts == attempts,
                    Delivery.next_attempt_at <= now,
                )
                if attempts >= max_attempts:
                    session.execute(
                        update(Delivery)
                        .where(*still)
                        .values(status=DeliveryStatus.FAILED, claimed_by=None,
                                last_error=f"its sender stopped during try {attempts} of "
                                f"{max_attempts}; giving up")
                    )  # fmt: skip
                    continue
                taken = session.execute(
                    update(Delivery)
                    .where(*still)
                    .values(
                        attempts=attempts + 1,
                        claimed_by=sender,
                        next_attempt_at=now + timedelta(seconds=lease_seconds),
                    )
                )
                if taken.rowcount != 1:
                    continue
                row = session.get(Delivery, delivery_id)
                assert row is not None
                claims.append(
                    DeliveryClaim(
                        row.id, row.event_id, row.channel, row.target, row.payload, row.attempts
                    )
                )
        return claims

    def delivered(self, claim: DeliveryClaim, now: datetime | None = None) -> bool:
        """The receiver took it; False when the claim was lost meanwhile (nothing written)."""
        return self._settle(
            claim,
            status=DeliveryStatus.DELIVERED,
            delivered_at=now or utcnow(),
            last_error=None,
        )

    def failed(self, claim: DeliveryClaim, error: str, *, retry_at: datetime | None) -> bool:
        """This try failed: due again at ``retry_at``, or failed for good when it is None."""
        values: dict[str, Any] = {"last_error": error[:MAX_ERROR_LENGTH]}
        if retry_at is None:
            values["status"] = DeliveryStatus.FAILED
        else:
            values["next_attempt_at"] = retry_at
        return self._settle(claim, **values)

    def _settle(self, claim: DeliveryClaim, **values: Any) -> bool:
        with self.session() as session, session.begin():
            result = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == claim.id,
                    Delivery.status == DeliveryStatus.PENDING,
                    Delivery.attempts == claim.attempts,
                )
                .values(claimed_by=None, **values)
            )
        return result.rowcount == 1

    # -- readers ------------------------------------------------------------------------

    def of_job(self, job_id: int) -> list[Delivery]:
        query = select(Delivery).where(Delivery.job_id == job_id).order_by(Delivery.id)
        with self.session() as session:
            return list(session.scalars(query))

    def get(self, delivery_id: int) -> Delivery:
        with self.session() as session:
            row = session.get(Delivery, delivery_id)
        if row is None:
            raise NotFoundError(f"There is no delivery {delivery_id}.", field="delivery_id")
        return row

    # -- a user's settings --------------------------------------------------------------

    def settings_of(self, user_id: int) -> NotificationSettings:
        with self.session() as session:
            user = session.get(User, user_id)
        if user is None:
            raise NotFoundError(f"There is no user {user_id}.", field="user_id")
        return NotificationSettings(user.webhook_url, user.email, bool(user.email_on_finish))

    def set_settings(self, user_id: int, **values: Any) -> NotificationSettings:
        """Change some of ``webhook_url``, ``email``, ``email_on_finish`` (checked by the
        caller, which knows the server's policy)."""
        allowed = {"webhook_url", "email", "email_on_finish"}
        changes = {name: value for name, value in values.items() if name in allowed}
        if changes:
            with self.session() as session, session.begin():
                session.execute(update(User).where(User.id == user_id).values(**changes))
        return self.settings_of(user_id)


__all__ = [
    "DeliveryClaim",
    "NotificationSettings",
    "NotificationStore",
    "event_type",
    "job_path",
    "record_finished",
]
