"""A docking's stages and progress, as the runners, the CLI and the web pages all show them.

Kept apart from :mod:`dockyard.chem.docking` so that a process watching a docking (or a page
drawing its bar) reads Vina's progress without importing Vina.
"""

from __future__ import annotations

import re
from collections.abc import Callable

StageCallback = Callable[[str, float], None]
"""Called with a stage message and the progress (0 to 1) when a stage starts."""

DOCKING_STAGE = "docking"
DOCKING_PROGRESS = (0.2, 0.9)
"""The progress when Vina's search starts and when it ends (poses are written after)."""

BAR_STARS = 51
"""Vina's progress bar: 51 stars, drawn as its Monte Carlo runs advance."""


def bar_progress(output: str) -> float | None:
    """How far the last docking in Vina's output has gone (0 to 1), or None before it starts.

    Vina draws ``0%   10 ... 100%``, a ruler ``|----|...|`` and then one star per 2%.
    """
    ruler = output.rfind("|----")
    if ruler < 0:
        return None
    return min(output.count("*", ruler) / BAR_STARS, 1.0)


START_LINE = "Dockyard: starting conformation {number} of {total}"
"""Written to the same output as Vina's bar before each docking of a ligand that is docked
from several ring conformations, so the bars add up to one progress."""
_START = re.compile(r"Dockyard: starting conformation (\d+) of (\d+)")


def docking_progress(output: str) -> float | None:
    """A docking's progress (0 to 1, as :meth:`DockingSession.dock` reports it) read from
    Vina's output while the search runs, or None before it starts."""
    starts = list(_START.finditer(output))
    number, total = (int(starts[-1][1]), int(starts[-1][2])) if starts else (1, 1)
    fraction = bar_progress(output[starts[-1].end() :] if starts else output)
    if fraction is None:
        if number == 1:
            return None
        fraction = 0.0
    start, end = DOCKING_PROGRESS
    return start + (end - start) * (number - 1 + fraction) / total
