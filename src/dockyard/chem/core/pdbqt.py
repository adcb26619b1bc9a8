"""Reading PDBQT atom lines the way Vina does, so bad files fail here with a clear message.

Vina aborts the whole process (not just raises) on some malformed lines, e.g. an atom
with no type, and it silently accepts ``nan`` coordinates: every PDBQT that reaches Vina
goes through :func:`read_atoms` first.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from dockyard.chem.core.elements import HYDROGEN_TYPES, VINA_ATOM_TYPES
from dockyard.errors import InputError

ATOM_RECORDS = ("ATOM  ", "HETATM")


@dataclass(frozen=True)
class PdbqtAtom:
    name: str
    resname: str
    chain: str
    resnum: str
    x: float
    y: float
    z: float
    ad_type: str

    @property
    def is_hydrogen(self) -> bool:
        return self.ad_type in HYDROGEN_TYPES


def is_atom_line(line: str) -> bool:
    return line.startswith(ATOM_RECORDS)


def parse_atom_line(line: str, lineno: int, field: str) -> PdbqtAtom:
    """One ATOM/HETATM line, checked column by column as Vina reads it."""

    def fail(problem: str) -> InputError:
        return InputError(f"Line {lineno} of the {field} PDBQT file {problem}.", field=field)

    line = line.rstrip()
    if len(line) < 78:
        raise fail("is too short: PDBQT atom lines need an AutoDock atom type in columns 78-79")
    serial = line[6:11].strip()
    if not serial.isdigit():
        raise fail(f"has atom number {serial!r} in columns 7-11, not a whole number")
    coords = []
    for start, axis in ((30, "x"), (38, "y"), (46, "z")):
        raw = line[start : start + 8].strip()
        try:
            value = float(raw)
        except ValueError:
            raise fail(f"has {axis} coordinate {raw!r}, which is not a number") from None
        if not math.isfinite(value):
            raise fail(f"has a non-finite {axis} coordinate ({raw})")
        coords.append(value)
    charge = line[68:76].strip()
    if charge:
        try:
            float(charge)
        except ValueError:
            raise fail(f"has partial charge {charge!r} in columns 69-76, not a number") from None
    ad_type = line[77:].strip()
    if ad_type not in VINA_ATOM_TYPES:
        raise fail(
            f"has atom type {ad_type!r}, which Vina does not know "
            "(types are case-sensitive, e.g. C, A, N, NA, OA, HD, Cl, Zn)"
        )
    return PdbqtAtom(
        name=line[12:16].strip(),
        resname=line[17:21].strip(),
        chain=line[21:22].strip(),
        resnum=line[22:27].strip(),
        x=coords[0],
        y=coords[1],
        z=coords[2],
        ad_type=ad_type,
    )


def read_atoms(text: str, field: str) -> list[PdbqtAtom]:
    """Every atom of a PDBQT text (all models), each line checked."""
    return [
        parse_atom_line(line, lineno, field)
        for lineno, line in enumerate(text.splitlines(), start=1)
        if is_atom_line(line)
    ]


@functools.lru_cache(maxsize=8)
def coordinates(text: str) -> np.ndarray:
    """Every atom's x, y, z of a PDBQT already checked, as an (n, 3) array.

    Cached: a server checks the same prepared receptor for every submission against it.
    """
    rows = [
        (line[30:38], line[38:46], line[46:54]) for line in text.splitlines() if is_atom_line(line)
    ]
    return np.array(rows, dtype=float).reshape(-1, 3)


def first_model(text: str) -> tuple[str, int]:
    """The lines of the first MODEL (the whole text if there is none) and the model count."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("MODEL")]
    if not starts:
        return "\n".join(lines) + "\n", 1
    body = []
    for line in lines[starts[0] + 1 :]:
        if line.startswith("ENDMDL"):
            break
        body.append(line)
    return "\n".join(body) + "\n", len(starts)
