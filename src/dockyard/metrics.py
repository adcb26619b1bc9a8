"""The process-local Prometheus metrics every layer may count into.

What the database knows (jobs by status and kind, queue depth, durations) is read from the
store when ``/metrics`` is scraped, so every server of a fleet reports the same truth; what
only a process sees (its event streams, the reaper passes it ran) is counted here. The
objects live in one registry of their own, not prometheus-client's global one, so tests and
several apps in one process never collide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

SSE_CONNECTIONS = Gauge(
    "dockyard_sse_connections",
    "Event streams (Server-Sent Events) open on this process.",
    registry=REGISTRY,
)
REAPER_RUNS = Counter(
    "dockyard_reaper_runs",
    "Retention passes this process ran (expired jobs purged, old screens compacted).",
    registry=REGISTRY,
)
REAPER_BYTES_FREED = Counter(
    "dockyard_reaper_freed_bytes",
    "Bytes of stored files the retention passes of this process removed.",
    registry=REGISTRY,
)

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""The methods counted by name; any other a client sends counts as ``other``, so no request
adds a label value of its own."""
HTTP_REQUESTS = Counter(
    "dockyard_http_requests",
    "HTTP requests this process answered, by method, route template (`unmatched`: no route) "
    "and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "dockyard_http_request_duration_seconds",
    "Seconds this process took to answer a request, by route template (a live stream: how "
    "long it stayed open).",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 300),
    registry=REGISTRY,
)
