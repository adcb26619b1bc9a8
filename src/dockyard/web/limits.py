"""Request bodies limited while they stream, before anything parses or spools them.

Starlette's multipart parser writes every upload to a temporary file before a route sees it,
so a size check in a route comes after the whole body is on disk. This ASGI middleware answers
413 at once when ``Content-Length`` is over the limit, and otherwise counts the body as it
arrives and answers 413 as soon as the count passes the limit (a chunked body has no length).

The limit of a route is what its file fields may hold in all: ``DOCKYARD_MAX_UPLOAD_MB`` per
file field (receptor, ligand, reference ligand), and for a screen the library's own
``DOCKYARD_MAX_LIBRARY_MB`` plus the receptor and reference ligand, for an archive's import
``DOCKYARD_MAX_ARCHIVE_MB``; plus a margin for the text fields and the multipart framing.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from starlette.requests import Request

from dockyard.config import Settings
from dockyard.errors import FileTooLargeError
from dockyard.web.errors import error_response

FORM_MARGIN = 1024 * 1024
"""Bytes allowed beyond the file fields: text fields and multipart boundaries and headers."""

UPLOAD_FIELDS = 3
"""File fields of a docking or a pre-flight check: receptor, ligand, reference ligand."""

SCREEN_PATH = "/api/screens"
ARCHIVE_PATH = "/api/archives"

_PART_NAME = re.compile(rb'content-disposition:[^\r\n]*?\bname="([^"\r\n]{1,100})"', re.IGNORECASE)
_TAIL = 512
"""Bytes of the previous chunk kept to find a part header split between two chunks."""


class BodyTooLarge(Exception):
    """Raised into the app from ``receive`` once the body passes the limit."""


def body_limit(settings: Settings, path: str) -> tuple[int, str | None]:
    """The largest body a request to ``path`` may send, and the field that limit is for."""
    if path.rstrip("/") == SCREEN_PATH:
        return settings.max_library_bytes + 2 * settings.max_upload_bytes + FORM_MARGIN, "library"
    if path.rstrip("/") == ARCHIVE_PATH:
        return settings.max_archive_bytes + FORM_MARGIN, "archive"
    return UPLOAD_FIELDS * settings.max_upload_bytes + FORM_MARGIN, None


class BodyLimitMiddleware:
    """Refuse request bodies over the route's limit as they stream (see the module docstring)."""

    def __init__(self, app: Any, settings: Settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit, field = body_limit(self.settings, scope["path"])
        length = _content_length(scope)
        if length is not None and length > limit:
            await _refuse(scope, send, limit, field, length)
            return
        state = {"received": 0, "over": False, "started": False, "field": field, "tail": b""}

        async def limited_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                state["received"] += len(chunk)
                names = _PART_NAME.findall(state["tail"] + chunk)
                if names:
                    state["field"] = names[-1].decode("ascii", "replace")
                state["tail"] = chunk[-_TAIL:]
                if state["received"] > limit:
                    state["over"] = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: dict) -> None:
            if state["over"]:
                return  # whatever the app made of the aborted body, the answer is 413
            state["started"] = True
            await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, limited_receive, guarded_send)
        if state["over"] and not state["started"]:
            await _refuse(scope, send, limit, state["field"], None)


def _content_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"


async def _refuse(
    scope: dict, send: Any, limit: int, field: str | None, length: int | None
) -> None:
    """The 413, rendered as every other error is (:func:`dockyard.web.errors.error_response`)."""
    size = "is larger" if length is None else f"of {_mb(length)} is larger"
    error = FileTooLargeError(
        f"The request body {size} than the limit of {_mb(limit)} for {scope['path']}; "
        "upload smaller files.",
        field=field,
    )
    response = error_response(
        Request(scope), error.status_code, error.code, error.message, error.field
    )
    response.headers["connection"] = "close"
    await response(scope, _nothing, send)


async def _nothing() -> dict:
    return {"type": "http.disconnect"}
