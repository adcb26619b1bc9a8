"""Where a webhook may point: no request forgery through Dockyard.

A webhook URL must be ``http`` or ``https``, and every address its host resolves to must be a
place a stranger's server could be: not loopback, link-local (``169.254/16``, where cloud
metadata services answer; ``fe80::/10``), unspecified, multicast or reserved, and not one of
this machine's own addresses (an address this process can bind to is its own). Private LAN
ranges (``10/8``, ``172.16/12``, ``192.168/16``, ``fc00::/7``) are allowed: a lab's receiver
often lives there. A host named in ``DOCKYARD_WEBHOOK_ALLOWED_HOSTS`` skips the address check.

The check runs when a URL is submitted (a 422 naming the field) and again at every send, on
the addresses the sender then connects to (:func:`resolve`), so a name that resolves elsewhere
by the time of sending (DNS rebinding) is caught too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from dockyard.errors import InputError

SCHEMES = ("http", "https")
MAX_URL_LENGTH = 2000
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class WebhookRefused(InputError):
    """The URL may not be a webhook: its error names the field and says why."""

    code = "webhook_refused"


@dataclass(frozen=True)
class Destination:
    """A checked webhook URL and the addresses it may be sent to."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def parse(url: str, field: str = "webhook_url") -> tuple[str, str, int]:
    """The scheme, host and port of a webhook URL, or a field-named refusal."""
    text = url.strip()
    if len(text) > MAX_URL_LENGTH:
        raise WebhookRefused(f"{field} is longer than {MAX_URL_LENGTH} characters.", field=field)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise WebhookRefused(f"{field} is not a URL: {error}.", field=field) from None
    if parts.scheme.lower() not in SCHEMES:
        raise WebhookRefused(f"{field} must be an http:// or https:// URL.", field=field)
    if not parts.hostname:
        raise WebhookRefused(f"{field} has no host.", field=field)
    if parts.username or parts.password:
        raise WebhookRefused(f"{field} may not carry a user name or password.", field=field)
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80)


def resolve(url: str, allowed_hosts: Iterable[str], field: str = "webhook_url") -> Destination:
    """Resolve the URL's host and check every address it gave (see the module's docstring)."""
    scheme, host, port = parse(url, field)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise WebhookRefused(f"{field}: the host {host} cannot be resolved ({error}).",
                             field=field) from None  # fmt: skip
    addresses = tuple(dict.fromkeys(str(info[4][0]).partition("%")[0] for info in found))
    if host not in {allowed.strip().lower() for allowed in allowed_hosts}:
        for text in addresses:
            reason = forbidden(ipaddress.ip_address(text))
            if reason:
                raise WebhookRefused(
                    f"{field}: {host} resolves to {text}, {reason}; webhooks may not reach it "
                    "unless an admin adds the host to DOCKYARD_WEBHOOK_ALLOWED_HOSTS.",
                    field=field,
                )
    return Destination(scheme, host, port, addresses)


def forbidden(address: Address) -> str | None:
    """Why a webhook may not reach ``address``, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if _is_own(address):
        return "an address of this server"
    return None


def _is_own(address: Address) -> bool:
    """Whether this machine holds ``address``: only a local address can be bound to."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((str(address), 0))
    except OSError:
        return False
    return True


__all__ = ["Destination", "WebhookRefused", "forbidden", "parse", "resolve"]
