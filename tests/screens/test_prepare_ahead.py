"""Ligands prepared ahead in a helper process come back in order, failures included."""

from __future__ import annotations

import os

from dockyard.jobs import prepare_ahead
from dockyard.jobs.models import ScreenLigand
from dockyard.jobs.prepare_ahead import PreparedEntry, prepared_ahead


def library(*sources: str) -> list[ScreenLigand]:
    return [
        ScreenLigand(index=i, name=f"ligand {i}", source=source, source_format="smi")
        for i, source in enumerate(sources)
    ]


def test_ligands_come_back_in_order_with_their_failures():
    ligands = library("CCO", "not a smiles", "c1ccccc1O", "CC(=O)O", "CCN")
    results = list(prepared_ahead(ligands, ph=7.4))
    assert [ligand.index for ligand, _ in results] == [0, 1, 2, 3, 4]
    outcomes = [outcome for _, outcome in results]
    assert isinstance(outcomes[1], str) and "SMILES" in outcomes[1]
    prepared = [o for i, o in enumerate(outcomes) if i != 1]
    assert all(isinstance(o, PreparedEntry) for o in prepared)
    assert [o.described["canonical_smiles"] for o in prepared] == [
        "CCO",
        "Oc1ccccc1",
        "CC(=O)[O-]",
        "CC[NH3+]",
    ]
    assert all("ROOT" in o.ligand.pdbqt for o in prepared)


def test_a_crash_in_preparation_fails_that_ligand_alone(monkeypatch):
    real = prepare_ahead.prepare_entry

    def crashing(source, source_format, name, ph):
        if source == "C[crash]":
            os._exit(1)  # what a segfault in RDKit or Meeko does to the helper
        return real(source, source_format, name, ph)

    # The helper is forked after this patch and finds the function by its module and name.
    crashing.__module__, crashing.__qualname__ = real.__module__, real.__qualname__
    monkeypatch.setattr(prepare_ahead, "prepare_entry", crashing)
    ligands = library("CCO", "C[crash]", "c1ccccc1O", "CCN")
    outcomes = [outcome for _, outcome in prepared_ahead(ligands, ph=None)]
    assert isinstance(outcomes[0], PreparedEntry)
    assert outcomes[1] == "preparing this ligand crashed RDKit or Meeko"
    assert isinstance(outcomes[2], PreparedEntry) and isinstance(outcomes[3], PreparedEntry)


def test_stopping_early_leaves_no_helper_behind():
    before = _children()
    stream = prepared_ahead(library(*["CCO"] * 10), ph=None)
    next(stream)
    assert _children() - before, "no helper process was started"
    stream.close()
    assert _children() <= before


def _children() -> set[int]:
    return {int(p) for p in os.listdir("/proc") if p.isdigit() and _is_child(int(p))}


def _is_child(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1]) == os.getpid()
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return False
