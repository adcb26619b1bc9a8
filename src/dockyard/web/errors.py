"""One place that turns errors into responses: JSON under ``/api``, an HTML page elsewhere.

An error with a ``retry_after`` (a busy chemistry pool, a database that does not answer, a
full disk) also sends ``Retry-After``; a full disk met outside the store (an ``OSError``) is
rendered as the same :class:`~dockyard.errors.StorageFullError` the store raises.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from dockyard.errors import DockyardError, StorageFullError

log = logging.getLogger(__name__)


def error_response(request: Request, status: int, code: str, message: str, field: str | None):
    if request.url.path.startswith("/api") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(
            {"error": {"code": code, "message": message, "field": field}}, status_code=status
        )
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "code": code, "message": message, "field": field},
        status_code=status,
    )


def render_error(request: Request, error: DockyardError) -> Response:
    """The response for one of Dockyard's errors; middleware outside the handlers uses it too."""
    if error.retry_after is not None:
        log.warning("%s %s: %s", request.method, request.url.path, error.message)
    elif error.status_code >= 500:
        log.exception("request failed", exc_info=error)
    response = error_response(request, error.status_code, error.code, error.message, error.field)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


async def _dockyard_error(request: Request, error: DockyardError) -> Response:
    return render_error(request, error)


LOCATIONS = ("body", "query", "path", "header", "cookie")
PYTHON_TYPE = re.compile(r"<class '|\bNoneType\b")


def validation_message(detail: dict[str, Any], field: str | None) -> str:
    """What FastAPI's validator found, as a sentence that names the field and no Python type."""
    message = str(detail.get("msg") or "invalid value").removeprefix("Value error, ")
    if field is None:
        return message
    if detail.get("type") == "missing":
        return f"The {field} field is required."
    if "UploadFile" in message:
        return f"{field} must be a file upload, not a text value."
    if PYTHON_TYPE.search(message):
        return f"{field} has a value of the wrong kind."
    return f"{field}: {message}"


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ()) if part not in LOCATIONS]
    field = location[0] if location else None
    return error_response(request, 422, "invalid_input", validation_message(first, field), field)


HTTP_CODES = {
    400: "invalid_body",
    404: "not_found",
    405: "method_not_allowed",
    413: "file_too_large",
}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path; Starlette's own 405 names only those of the
    first route it met, so each method is tried against the app's routes."""
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


async def _http_error(request: Request, error: HTTPException) -> Response:
    """Starlette's own errors (no route, wrong method, unparsable body), headers kept; a 405
    names, in ``Allow`` and its message, the methods the path takes."""
    code = HTTP_CODES.get(error.status_code, "http_error")
    headers = dict(error.headers or {})
    message = str(error.detail)
    if error.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
        message = f"{request.method} is not allowed on {request.url.path}; use {headers['Allow']}."
    response = error_response(request, error.status_code, code, message, None)
    response.headers.update(headers)
    return response


async def _unexpected_error(request: Request, error: Exception) -> Response:
    full = StorageFullError.from_os_error(error) if isinstance(error, OSError) else None
    if full is not None:
        return render_error(request, full)
    log.exception("unexpected error", exc_info=error)
    message = "Something went wrong on the server; the error is in its log."
    return error_response(request, 500, "internal_error", message, None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DockyardError, _dockyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
