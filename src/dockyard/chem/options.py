"""Docking options: validated once, here, whether they come from a form, the CLI or code.

Kept apart from :mod:`dockyard.chem.docking` so the web process can validate a submission
without importing Vina and Meeko.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from dockyard.chem._fields import is_blank, to_float, to_int
from dockyard.errors import InputError

SCORING_FUNCTIONS = ("vina", "vinardo")

MAX_SEED = 2**31 - 1
"""Vina stores its seed in a C int. Seed 0 is excluded: Vina reads it as "pick one at random"."""

_INT_RANGES = {"exhaustiveness": (1, 64), "num_poses": (1, 20), "cpu": (0, 1024)}
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

    def __post_init__(self) -> None:
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
