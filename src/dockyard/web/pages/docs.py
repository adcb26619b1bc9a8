"""``/docs``: the interactive API reference (Swagger UI), served from this server.

FastAPI's own ``/docs`` loads Swagger UI from a CDN with an inline bootstrap script; this one
loads the copy ``scripts/assets.sh`` builds from the npm registry and a static bootstrap, so
the page needs nothing from another host and keeps the strict Content-Security-Policy.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dockyard.web.pages.render import render

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def api_reference(request: Request) -> HTMLResponse:
    return render(request, "docs.html")
