"""Preparing a screen's next ligands in a helper process while Vina docks the current one.

Vina holds the GIL while it docks, and between two dockings the chunk's process works alone
(embedding, protonation, Vina's own ligand set-up, storage) while the other cores wait. A
helper process that embeds and protonates a few ligands ahead puts that work on those cores.
The helper is forked from the chunk's process, shares its process group (a runner that kills
the chunk kills both) and is killed if the chunk's process dies.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from dockyard.chem import PreparedLigand, ligand_from_file, ligand_from_smiles
from dockyard.chem.ligand.properties import describe
from dockyard.errors import DockyardError
from dockyard.jobs.models import ScreenLigand
from dockyard.processes import die_with_parent

AHEAD = 2
"""Ligands prepared ahead: enough to cover one docking, few enough to waste nothing on cancel."""


@dataclass(frozen=True)
class PreparedEntry:
    ligand: PreparedLigand
    described: dict[str, Any]
    """canonical_smiles, heavy_atoms, molecular_weight and logp, as the results table keeps."""


def prepare_entry(
    source: str, source_format: str, name: str, ph: float | None
) -> PreparedEntry | str:
    """One library entry made ready to dock, or why it cannot be (that ligand's failure)."""
    try:
        if source_format == "sdf":
            ligand = ligand_from_file(source, "sdf", name=name, ph=ph)
        else:
            ligand = ligand_from_smiles(source, name=name, ph=ph)
        properties = describe(ligand.smiles)
    except DockyardError as error:
        return error.message
    except Exception as error:
        return f"could not prepare the ligand: {error}"
    return PreparedEntry(ligand, dataclasses.asdict(properties))


def prepared_ahead(
    ligands: Iterable[ScreenLigand], ph: float | None
) -> Iterator[tuple[ScreenLigand, PreparedEntry | str]]:
    """Each ligand with its preparation, in order, prepared ``AHEAD`` ligands early.

    A ligand whose preparation crashes the helper (RDKit and Meeko are C++) fails alone: the
    helper is replaced and the ligands after it are prepared again.
    """
    remaining = iter(ligands)
    waiting: deque[tuple[ScreenLigand, Future]] = deque()
    helper = _start_helper()

    def submit(ligand: ScreenLigand) -> None:
        job = (ligand.source, ligand.source_format, ligand.name, ph)
        waiting.append((ligand, helper.submit(prepare_entry, *job)))

    try:
        for ligand in itertools.islice(remaining, AHEAD):
            submit(ligand)
        while waiting:
            ligand, future = waiting.popleft()
            try:
                outcome = future.result()
            except BrokenProcessPool:
                outcome = "preparing this ligand crashed RDKit or Meeko"
                helper.shutdown(wait=True)
                helper = _start_helper()
                lost = [again for again, _future in waiting]
                waiting.clear()
                for again in lost:
                    submit(again)
            following = next(remaining, None)
            if following is not None:
                submit(following)
            yield ligand, outcome
    finally:
        helper.shutdown(wait=True, cancel_futures=True)


def _start_helper() -> ProcessPoolExecutor:
    context = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(
        1, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)
    )
