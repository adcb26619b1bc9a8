"""Every HTTP request counted and timed by the route it matched (its template, not its path).

Pure ASGI, like the security headers, so streamed responses pass untouched; the counts go to
:data:`dockyard.metrics.HTTP_REQUESTS` and :data:`dockyard.metrics.HTTP_SECONDS`. Labels take
a bounded set of values: a route template (``/api/jobs/{job_id}``), ``/static``, or
``unmatched``; a known method or ``other``; a status.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.metrics import HTTP_METHODS, HTTP_REQUESTS, HTTP_SECONDS


def route_template(scope: Scope) -> str:
    """The template of the route the router matched (it leaves the route in the scope)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if isinstance(template, str):
        return template
    return scope.get("root_path") or "unmatched"


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before it starts a response

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = route_template(scope)
            method = scope["method"] if scope["method"] in HTTP_METHODS else "other"
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(route).observe(time.perf_counter() - started)
