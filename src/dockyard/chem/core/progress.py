"""A docking's stages and progress, as the runners, the CLI and the web pages all show them.

Kept apart from :mod:`dockyard.chem.docking` so that a process watching a docking (or a page
drawing its bar) reads Vina's progress without importing Vina.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

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


ROUND_LINE = "Dockyard: search round {number} of at most {total}"
"""Written before each round of an adaptive search (``effort="auto"``): the progress of a
starting conformation advances by one round's share as each round's bar fills."""
_ROUND = re.compile(r"Dockyard: search round (\d+) of at most (\d+)")


def docking_progress(output: str) -> float | None:
    """A docking's progress (0 to 1, as :meth:`DockingSession.dock` reports it) read from
    Vina's output while the search runs, or None before it starts."""
    number, total, output = _last_marker(_START, output)
    round_number, rounds, output = _last_marker(_ROUND, output)
    fraction = bar_progress(output)
    if fraction is None:
        if number == 1 and round_number == 1:
            return None
        fraction = 0.0
    start, end = DOCKING_PROGRESS
    within = (round_number - 1 + fraction) / rounds
    return start + (end - start) * (number - 1 + within) / total


def search_summary(search: Mapping[str, object]) -> str:
    """A docking's ``results["search"]`` in words: ``8 chains`` or ``auto: 3 rounds,
    12 chains, converged``."""
    text = f"{search['exhaustiveness_used']} chains"
    if search.get("effort") != "auto":
        return text
    ceiling = search.get("ceiling")
    ending = "converged" if search.get("converged") else f"stopped at the ceiling of {ceiling}"
    return f"auto: {search['rounds']} rounds, {text}, {ending}"


def _last_marker(marker: re.Pattern[str], output: str) -> tuple[int, int, str]:
    """The number and total of the last ``marker`` line in ``output`` and what follows it
    (1, 1 and all of it when there is none)."""
    found = list(marker.finditer(output))
    if not found:
        return 1, 1, output
    return int(found[-1][1]), int(found[-1][2]), output[found[-1].end() :]
