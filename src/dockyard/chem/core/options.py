"""Docking and preparation options: validated once, here, whether from a form, the CLI or code.

Kept apart from the docking and preparation code so the web process can validate a
submission without importing Vina, Meeko or RDKit. Every bad value is an InputError naming
its field.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from dockyard.chem.core.fields import is_blank, to_float, to_int
from dockyard.errors import InputError

SCORING_FUNCTIONS = ("vina", "vinardo")

EFFORT_CHOICES = ("fixed", "auto")
"""``fixed``: one search of ``exhaustiveness`` chains; ``auto``: rounds of a few chains until the
best pose repeats (:mod:`~dockyard.chem.adaptive`), ``exhaustiveness`` unused."""

MAX_SEED = 2**31 - 1
"""Vina stores its seed in a C int. Seed 0 is excluded: Vina reads it as "pick one at random"."""

_INT_RANGES = {
    "exhaustiveness": (1, 64),
    "num_poses": (1, 20),
    "cpu": (0, 1024),
    "ring_conformers": (1, 8),
}
MAX_ENERGY_RANGE = 10.0


@dataclass(frozen=True)
class DockingOptions:
    """How to dock. ``seed=None`` draws a seed at run time; the result records it."""

    scoring: str = "vina"
    exhaustiveness: int = 8
    num_poses: int = 9
    energy_range: float = 3.0
    seed: int | None = None
    cpu: int = 0
    """Threads for Vina; 0 uses every core."""
    ring_conformers: int = 3
    """Starting ring conformations to dock a ligand with a non-aromatic ring that puckers
    from (Vina keeps rings rigid); the best-scoring one's poses are kept. 1 docks the
    prepared conformer only."""
    effort: str = "fixed"
    """One of :data:`EFFORT_CHOICES`."""

    def __post_init__(self) -> None:
        effort = self.effort.strip().lower() if isinstance(self.effort, str) else None
        if effort not in EFFORT_CHOICES:
            raise InputError(
                f"effort must be one of {', '.join(EFFORT_CHOICES)}, got {self.effort!r}.",
                field="effort",
            )
        object.__setattr__(self, "effort", effort)
        scoring = self.scoring.strip().lower() if isinstance(self.scoring, str) else None
        if scoring not in SCORING_FUNCTIONS:
            raise InputError(
                f"scoring must be one of {', '.join(SCORING_FUNCTIONS)}, got {self.scoring!r}.",
                field="scoring",
            )
        object.__setattr__(self, "scoring", scoring)
        for name, (low, high) in _INT_RANGES.items():
            value = to_int(getattr(self, name), name)
            if not low <= value <= high:
                raise InputError(
                    f"{name} must be a whole number from {low} to {high}, got {value}.",
                    field=name,
                )
            object.__setattr__(self, name, value)
        energy_range = to_float(self.energy_range, "energy_range")
        if not 0 < energy_range <= MAX_ENERGY_RANGE:
            raise InputError(
                f"energy_range must be more than 0 and at most {MAX_ENERGY_RANGE:g} kcal/mol, "
                f"got {energy_range:g}.",
                field="energy_range",
            )
        object.__setattr__(self, "energy_range", energy_range)
        if self.seed is not None:
            seed = to_int(self.seed, "seed")
            if not 1 <= seed <= MAX_SEED:
                raise InputError(
                    f"seed must be a whole number from 1 to {MAX_SEED}, got {seed}; "
                    "leave it empty for a random seed.",
                    field="seed",
                )
            object.__setattr__(self, "seed", seed)

    @classmethod
    def from_fields(cls, values: Mapping[str, object]) -> DockingOptions:
        """Options from form or CLI strings; missing or empty values take the defaults."""
        given = {
            option.name: values[option.name]
            for option in dataclasses.fields(cls)
            if not is_blank(values.get(option.name))
        }
        return cls(**given)

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    def with_seed(self, seed: int) -> DockingOptions:
        return dataclasses.replace(self, seed=seed)


def random_seed() -> int:
    """A seed Vina accepts, for a docking whose options leave the seed empty."""
    return secrets.randbelow(MAX_SEED) + 1


DEFAULT_PH = 7.4

HETERO_CHOICES = ("auto", "none", "metals", "cofactors")
"""What to keep of the receptor's hetero groups (besides the polymer):
``auto`` (the default: the metals and known cofactors that line the docking box, i.e. have an
atom within :data:`HETERO_LINING` Å of it, are kept; every other hetero group is removed;
without a box every metal and known cofactor is kept); ``none`` (the bare polymer);
``metals`` (ions Vina can type); ``cofactors`` (metals plus known cofactors such as
NAD(P)H, FAD, FMN, ATP, SAM or heme, wherever they are). A comma-separated list of residue
names or ``chain:number`` ids keeps exactly those groups (and metals)."""

DEFAULT_HETERO = "auto"

HETERO_LINING = 4.0
"""Å: with ``keep_hetero=auto``, a metal or cofactor with an atom this close to the box is
kept (a box drawn around a ligand with 4 Å or more of padding holds what touches it)."""

STEREO_CHOICES = ("flag", "enumerate")
"""Unspecified stereocentres of a ligand: ``flag`` them (one configuration is embedded and a
note says so) or ``enumerate`` the stereoisomers (up to MAX_STEREOISOMERS, each docked)."""

MAX_STEREOISOMERS = 8

_RESIDUE_NAME = re.compile(r"^[A-Za-z0-9]{1,3}$")
_RESIDUE_ID = re.compile(r"^(?:[A-Za-z0-9]{1,3}\s+)?[A-Za-z0-9]{1,4}:-?\d+[A-Za-z]?$")


@dataclass(frozen=True)
class PreparationOptions:
    """How receptors and ligands are prepared. ``ph=None`` keeps protonation as given."""

    ph: float | None = DEFAULT_PH
    keep_waters: tuple[str, ...] = ()
    """Waters to keep, as ``chain:number`` ids (e.g. ``A:301``); ``("all",)`` keeps every one."""
    keep_hetero: str | tuple[str, ...] = DEFAULT_HETERO
    altloc: str = ""
    """Alternate location to keep (e.g. ``B``); empty keeps the highest occupancy."""
    stereo: str = "flag"

    def __post_init__(self) -> None:
        if self.ph is not None:
            ph = to_float(self.ph, "ph")
            if not 0 <= ph <= 14:
                raise InputError(f"ph must be from 0 to 14, got {ph:g}.", field="ph")
            object.__setattr__(self, "ph", ph)
        object.__setattr__(self, "keep_waters", _waters(self.keep_waters))
        object.__setattr__(self, "keep_hetero", _hetero(self.keep_hetero))
        altloc = (self.altloc or "").strip()
        if altloc and not (len(altloc) == 1 and altloc.isalnum()):
            raise InputError(
                f"altloc must be one letter or digit (e.g. A or B), got {self.altloc!r}; "
                "leave it empty to keep the conformation with the highest occupancy.",
                field="altloc",
            )
        object.__setattr__(self, "altloc", altloc.upper())
        stereo = (self.stereo or "").strip().lower()
        if stereo not in STEREO_CHOICES:
            raise InputError(
                f"stereo must be one of {', '.join(STEREO_CHOICES)}, got {self.stereo!r}.",
                field="stereo",
            )
        object.__setattr__(self, "stereo", stereo)

    @classmethod
    def from_fields(cls, values: Mapping[str, object]) -> PreparationOptions:
        """Options from form or CLI strings; missing or empty values take the defaults.

        ``ph`` may be ``none`` to keep the protonation states of the input.
        """
        given: dict[str, object] = {}
        for option in dataclasses.fields(cls):
            value = values.get(option.name)
            if is_blank(value):
                continue
            if (
                option.name == "ph"
                and isinstance(value, str)
                and value.strip().lower()
                in (
                    "none",
                    "keep",
                )
            ):
                given["ph"] = None
            else:
                given[option.name] = value
        return cls(**given)

    def to_dict(self) -> dict[str, object]:
        values = dataclasses.asdict(self)
        values["keep_waters"] = list(self.keep_waters)
        if isinstance(self.keep_hetero, tuple):
            values["keep_hetero"] = list(self.keep_hetero)
        return values

    @property
    def keeps_all_waters(self) -> bool:
        return self.keep_waters == ("all",)


def _split(value: object, field: str) -> list[str]:
    if isinstance(value, str):
        items = re.split(r"[,;\n]+", value)
    elif isinstance(value, list | tuple):
        items = [str(item) for item in value]
    else:
        raise InputError(f"{field} must be a list or comma-separated text.", field=field)
    return [" ".join(item.split()) for item in items if item.strip()]


def _waters(value: object) -> tuple[str, ...]:
    if value is None or value is False:
        return ()
    if value is True:
        return ("all",)
    items = _split(value, "keep_waters")
    if [item.lower() for item in items] in (["all"], ["true"], ["yes"]):
        return ("all",)
    if [item.lower() for item in items] in (["none"], ["false"], ["no"]):
        return ()
    for item in items:
        if not _RESIDUE_ID.match(item):
            raise InputError(
                f"keep_waters must list waters as chain:number (e.g. A:301, HOH B:412) "
                f"or be 'all'; {item!r} is neither.",
                field="keep_waters",
            )
    return tuple(item.split()[-1] for item in items)


def _hetero(value: object) -> str | tuple[str, ...]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_HETERO
    items = _split(value, "keep_hetero")
    if len(items) == 1 and items[0].lower() in HETERO_CHOICES:
        return items[0].lower()
    for item in items:
        if not (_RESIDUE_NAME.match(item) or _RESIDUE_ID.match(item)):
            raise InputError(
                f"keep_hetero must be one of {', '.join(HETERO_CHOICES)} or a list of residue "
                f"names or chain:number ids (e.g. NDP, ZN, A:193); {item!r} is none of these.",
                field="keep_hetero",
            )
    return tuple(item.split()[-1].upper() for item in items)
