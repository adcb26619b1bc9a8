"""One place that turns errors into responses: JSON under ``/api``, an HTML page elsewhere."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from dockyard.errors import DockyardError

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


async def _dockyard_error(request: Request, error: DockyardError) -> Response:
    retry_after = getattr(error, "retry_after", None)
    if error.status_code >= 500 and retry_after is None:
        log.exception("request failed", exc_info=error)
    response = error_response(request, error.status_code, error.code, error.message, error.field)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    first = error.errors()[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = location[0] if location else None
    message = f"{field}: {first.get('msg', 'invalid value')}" if field else first.get("msg", "")
    return error_response(request, 422, "invalid_input", message, field)


async def _http_error(request: Request, error: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed", 413: "file_too_large"}
    code = codes.get(error.status_code, "http_error")
    return error_response(request, error.status_code, code, str(error.detail), None)


async def _unexpected_error(request: Request, error: Exception) -> Response:
    log.exception("unexpected error", exc_info=error)
    message = "Something went wrong on the server; the error is in its log."
    return error_response(request, 500, "internal_error", message, None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DockyardError, _dockyard_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
