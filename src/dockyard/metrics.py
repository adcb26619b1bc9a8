"""The process-local Prometheus metrics every layer may count into.

What the database knows (jobs by status and kind, queue depth, durations) is read from the
store when ``/metrics`` is scraped, so every server of a fleet reports the same truth; what
only a process sees (its event streams, the reaper passes it ran) is counted here. The
objects live in one registry of their own, not prometheus-client's global one, so tests and
several apps in one process never collide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

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
