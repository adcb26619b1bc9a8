"""Same-origin protection: another site's page cannot submit, cancel or delete jobs.

A browser lets any page post a form to any address, and it sends the user's network position
(the lab's intranet) along; what it cannot do is hide where the request came from. So a
state-changing request (POST, PUT, PATCH, DELETE) that names an origin, in ``Origin`` or,
lacking it, ``Referer``, must name this server's own (the scheme it was reached by and its
``Host`` header) or one of ``DOCKYARD_TRUSTED_ORIGINS`` (the public address behind a reverse
proxy); anything else is refused with a 403 before a route runs. A request that names no
origin at all does not come from a page (curl, the CLI, httpx) and is let through.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.errors import ForbiddenError
from dockyard.web.errors import render_error

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(url: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None if ``url`` has
    no scheme and host (``Origin: null`` from a sandboxed page, a garbled ``Referer``)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return (
        f"{scheme}://{host}"
        if port in (None, DEFAULT_PORTS[scheme])
        else f"{scheme}://{host}:{port}"
    )


class SameOriginMiddleware:
    """Refuses state-changing requests whose ``Origin`` (or ``Referer``) is another site's."""

    def __init__(self, app: ASGIApp, trusted_origins: Iterable[str] = ()):
        self.app = app
        self.trusted = {origin for origin in map(normalize_origin, trusted_origins) if origin}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in STATE_CHANGING:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        claimed = headers.get("origin")
        source = "Origin"
        if claimed is None and headers.get("referer") is not None:
            claimed, source = headers["referer"], "Referer"
        if claimed is None or self._allowed(normalize_origin(claimed), scope, headers):
            await self.app(scope, receive, send)
            return
        error = ForbiddenError(
            f"Cross-origin request refused: {source} {claimed[:200]!r} is not this server "
            f"({self._own(scope, headers) or 'unknown'}). Post from Dockyard's own pages, or add "
            "the address to DOCKYARD_TRUSTED_ORIGINS if a proxy serves them under another name.",
            field=source,
            code="cross_origin",
        )
        response = render_error(Request(scope), error)
        await response(scope, receive, send)

    def _allowed(self, origin: str | None, scope: Scope, headers: Headers) -> bool:
        return origin is not None and (
            origin == self._own(scope, headers) or origin in self.trusted
        )

    @staticmethod
    def _own(scope: Scope, headers: Headers) -> str | None:
        """This server as the client reached it: the request's scheme and ``Host``."""
        host = headers.get("host")
        return normalize_origin(f"{scope.get('scheme', 'http')}://{host}") if host else None
