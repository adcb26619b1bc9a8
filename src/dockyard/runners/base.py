"""The small interface the web app and CLI use to hand jobs to whatever runs them."""

from __future__ import annotations

from typing import Protocol


class Runner(Protocol):
    def start(self) -> None:
        """Begin taking jobs (and recover work that an earlier run left behind)."""

    def stop(self) -> None:
        """Stop taking jobs; hand running ones back to the queue."""

    def submitted(self, job_id: int) -> None:
        """A new job is in the store: run it soon."""

    def describe(self) -> dict[str, object]:
        """What the runner is doing, for health and status pages."""
