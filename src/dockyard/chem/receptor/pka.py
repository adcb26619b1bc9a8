"""pKa values of a receptor's titratable groups, by PROPKA 3 run in memory.

PROPKA (Olsson, Søndergaard, Rostkowski and Jensen, J. Chem. Theory Comput. 2011) shifts each
group's model pKa by its burial and by the hydrogen bonds and charges around it, so a buried
aspartate can stay protonated and a histidine next to a carboxylate be charged at pH 7.4.
It reads a PDB text and places its own hydrogens; nothing is written to disk, and its log
and printed notes are kept out of the server's. Its PDB reader takes one character of chain
name, so chains are renamed for it (mmCIF allows longer names), and every residue is written
as ATOM so that a modified residue read as its parent is titrated like it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import string

import gemmi
import propka
import propka.run

PROPKA_ARGS: tuple[str, ...] = ("--log-level=ERROR",)
"""Command-line options PROPKA runs with: its notes on the structure are not logged."""
VERSION = f"PROPKA {propka.__version__}"

_CHAIN_NAMES = string.ascii_uppercase + string.ascii_lowercase + string.digits
_EXCLUDED = 99.0
"""PROPKA gives 99.99 for groups it leaves out (a cysteine in a disulfide bond)."""


def propka_pkas(structure: gemmi.Structure) -> dict[tuple[str, str], float]:
    """PROPKA's pKa of each titratable group of the first model, by (group, residue key).

    The group is the residue name (ASP, GLU, HIS, CYS, LYS, TYR, ARG) or N+ / C- for a
    chain terminus. PROPKA's own errors propagate.
    """
    pdb, original = _pdb_for_propka(structure)
    logging.getLogger("propka").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a few notes on files
        molecule = propka.run.single(
            "receptor.pdb", optargs=PROPKA_ARGS, stream=io.StringIO(pdb), write_pka=False
        )
    pkas = {}
    for group in molecule.conformations["AVR"].groups:
        atom = group.atom
        if atom.type != "atom" or group.pka_value > _EXCLUDED:
            continue
        residue_key = f"{original[atom.chain_id]}:{atom.res_num}{atom.icode.strip()}"
        pkas[(group.residue_type, residue_key)] = round(group.pka_value, 2)
    return pkas


def _pdb_for_propka(structure: gemmi.Structure) -> tuple[str, dict[str, str]]:
    """The first model as PDB with one-character chain names, and the original name of each."""
    copy = gemmi.Structure()
    model = structure[0].clone()
    names = list(dict.fromkeys(chain.name for chain in model))
    if len(names) > len(_CHAIN_NAMES):
        raise ValueError(f"{len(names)} chains, more than PDB chain names can tell apart")
    short = dict(zip(names, _CHAIN_NAMES, strict=False))
    for chain in model:
        chain.name = short[chain.name]
        for residue in chain:
            residue.het_flag = "A"
    copy.add_model(model)
    copy.remove_hydrogens()
    return copy.make_pdb_string(gemmi.PdbWriteOptions(minimal=True)), {
        one: name for name, one in short.items()
    }
