"""The notification sender: delivers the outbox's rows, by webhook or e-mail, at least once.

One runs in every ``dockyard serve`` and every ``dockyard worker``; they share the work through
the store's leases (:mod:`dockyard.jobs.notifications`). A webhook is a JSON POST signed with
``DOCKYARD_WEBHOOK_SECRET`` (``X-Dockyard-Signature: sha256=<hex HMAC-SHA256 of the body>``),
sent to an address checked just before connecting (:mod:`dockyard.runners.addresses`), with a
short timeout, no redirects followed and at most :data:`MAX_RESPONSE_BYTES` of the answer read.
Only a 2xx answer delivers it; anything else is tried again after an exponential back-off with
jitter, up to ``DOCKYARD_WEBHOOK_MAX_ATTEMPTS`` tries. E-mail goes through the SMTP server of
the ``DOCKYARD_SMTP_*`` settings, with the same rows and retries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import smtplib
import ssl
import threading
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx

from dockyard import __version__
from dockyard.config import Settings
from dockyard.errors import UnavailableError
from dockyard.jobs.models import EMAIL_CHANNEL, utcnow
from dockyard.jobs.notifications import DeliveryClaim
from dockyard.jobs.store import Store
from dockyard.runners.addresses import Destination, WebhookRefused, resolve

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 4096
"""The most of a receiver's answer read (into the delivery's error, when it is one)."""
MAX_BACKOFF = 3600.0
MAX_ADDRESSES = 2
"""Addresses of a host tried in turn when the first cannot be connected to."""
BATCH = 20


class DeliveryError(Exception):
    """This try failed; ``final``: trying again cannot help (the target is refused)."""

    def __init__(self, message: str, *, final: bool = False):
        super().__init__(message)
        self.final = final


def signature(secret: str, body: bytes) -> str:
    """The ``X-Dockyard-Signature`` of ``body``: what a receiver computes to check it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int, base: float) -> float:
    """Seconds before the try after try number ``attempts``: doubling, with up to +25% jitter
    so that many deliveries to one receiver that was down do not all come back at once."""
    delay = min(MAX_BACKOFF, base * 2 ** max(0, attempts - 1))
    return delay * (1 + random.random() / 4)


def public_payload(payload: dict[str, Any], public_url: str | None) -> dict[str, Any]:
    """The stored payload with its link made absolute under the server's public address."""
    if not public_url:
        return payload
    return {**payload, "link": public_url.rstrip("/") + payload["link"]}


class Notifier:
    """Claims due deliveries and sends them, in a thread of its own (or by :meth:`run_once`)."""

    def __init__(self, store: Store, settings: Settings, *, name: str):
        self.store = store
        self.settings = settings
        self.name = name
        self.lease_seconds = (2 * MAX_ADDRESSES + 1) * settings.webhook_timeout + 30
        """Longer than a try can take (each phase of each address may use the whole timeout),
        so a row is only taken from a sender that has stopped."""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="dockyard-notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.settings.webhook_timeout + 5)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                while self.run_once() and not self._stopping.is_set():
                    pass
            except UnavailableError as error:
                log.warning("notifications: %s; trying again later", error.message)
            except Exception:
                log.exception("notification pass failed; trying again later")
            self._stopping.wait(self.settings.notify_poll_seconds)

    def run_once(self, now: datetime | None = None) -> int:
        """Send up to :data:`BATCH` deliveries due at ``now`` (tests pass a later time instead
        of sleeping); return how many were tried. Each is claimed just before it is sent, so
        its lease covers its own try only, however long the ones before it took."""
        tried = 0
        while tried < BATCH:
            claims = self.store.notifications.claim(
                self.name,
                self.lease_seconds,
                max_attempts=self.settings.webhook_max_attempts,
                limit=1,
                now=now,
            )
            if not claims:
                break
            self.deliver(claims[0], now)
            tried += 1
        return tried

    def deliver(self, claim: DeliveryClaim, now: datetime | None = None) -> None:
        """Try one claimed delivery and record the outcome (ignored if the claim was lost)."""
        try:
            if claim.channel == EMAIL_CHANNEL:
                self.send_email(claim)
            else:
                self.send_webhook(claim)
        except DeliveryError as error:
            last = error.final or claim.attempts >= self.settings.webhook_max_attempts
            retry_at = None
            if not last:
                wait = backoff(claim.attempts, self.settings.notify_backoff)
                retry_at = (now or utcnow()) + timedelta(seconds=wait)
            message = f"try {claim.attempts}: {error}"
            self.store.notifications.failed(claim, message, retry_at=retry_at)
            log.info("delivery %s (%s) failed: %s", claim.id, claim.channel, message)
            return
        self.store.notifications.delivered(claim, now)

    # -- channels -----------------------------------------------------------------------

    def send_webhook(self, claim: DeliveryClaim) -> None:
        """POST the payload to the checked address of the target; a 2xx answer delivers it."""
        secret = self.settings.webhook_secret
        if not secret:
            raise DeliveryError("DOCKYARD_WEBHOOK_SECRET is not set, so nothing can be signed")
        try:
            destination = resolve(claim.target, self.settings.webhook_allowed_hosts)
        except WebhookRefused as error:
            raise DeliveryError(error.message, final=True) from None
        body = json.dumps(
            public_payload(claim.payload, self.settings.public_url), separators=(",", ":")
        ).encode()
        url = httpx.URL(claim.target)
        host_header = url.netloc.decode("ascii")
        headers = {
            "Host": host_header,
            "Content-Type": "application/json",
            "User-Agent": f"Dockyard/{__version__}",
            "X-Dockyard-Event-Id": claim.event_id,
            "X-Dockyard-Event": str(claim.payload.get("event")),
            "X-Dockyard-Signature": signature(secret, body),
        }
        timeout = self.settings.webhook_timeout
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response, answer = self._post(client, destination, url, body, headers)
        if not 200 <= response.status_code < 300:
            moved = " (redirects are not followed)" if response.is_redirect else ""
            raise DeliveryError(
                f"the receiver answered {response.status_code}{moved}: {answer[:300]!r}"
            )

    @staticmethod
    def _post(
        client: httpx.Client,
        destination: Destination,
        url: httpx.URL,
        body: bytes,
        headers: dict[str, str],
    ) -> tuple[httpx.Response, bytes]:
        """POST to the addresses just checked (not to whatever the name resolves to next),
        the next one only when one cannot be connected to (a host with IPv6 and IPv4)."""
        failure = ""
        for address in destination.addresses[:MAX_ADDRESSES]:
            request = client.build_request(
                "POST", url.copy_with(host=address), content=body, headers=headers,
                extensions={"sni_hostname": destination.host},
            )  # fmt: skip
            try:
                response = client.send(request, stream=True)
                try:
                    return response, _read_capped(response)
                finally:
                    response.close()
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                failure = f"{type(error).__name__} at {address}: {error}"
            except httpx.HTTPError as error:
                failure = f"{type(error).__name__}: {error}"
                break
        raise DeliveryError(f"{destination.host}: {failure}")

    def send_email(self, claim: DeliveryClaim) -> None:
        settings = self.settings
        if not settings.smtp_host:
            raise DeliveryError("DOCKYARD_SMTP_HOST is not set, so no e-mail can be sent")
        payload = public_payload(claim.payload, settings.public_url)
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = claim.target
        message["Subject"] = f"Dockyard: {payload['name']} {payload['status']}"
        message["X-Dockyard-Event-Id"] = claim.event_id
        message.set_content(email_text(payload))
        try:
            with smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.webhook_timeout
            ) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password or "")
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP {settings.smtp_host}: {error}") from None


def email_text(payload: dict[str, Any]) -> str:
    """The plain-text body of a notification e-mail."""
    lines = [
        f"{payload['kind'].capitalize()} {payload['job_id']} ({payload['name']}) "
        f"is {payload['status']}."
    ]
    if payload.get("best_score") is not None:
        lines.append(f"Best score: {payload['best_score']:.2f} kcal/mol")
    lines += [
        f"Finished at {payload['finished_at']}",
        f"See it at {payload['link']}",
        "",
        f"Event {payload['event_id']}",
    ]
    return "\n".join(lines) + "\n"


def _read_capped(response: httpx.Response) -> bytes:
    taken = b""
    for piece in response.iter_bytes():
        taken += piece
        if len(taken) >= MAX_RESPONSE_BYTES:
            break
    return taken[:MAX_RESPONSE_BYTES]


__all__ = ["DeliveryError", "Notifier", "backoff", "email_text", "public_payload", "signature"]
