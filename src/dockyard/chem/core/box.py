"""The docking search box: the one place a box is validated, whoever supplies it.

Web forms, the CLI, Vina config files and reference ligands all end up as a :class:`Box`,
so a bad value always gets the same message naming its field (``center_x`` … ``size_z``).
This module imports no science packages, so the web process can validate boxes cheaply;
boxes around a ligand, residues or a whole protein are drawn by :mod:`dockyard.chem.site`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dockyard.chem.core.fields import is_blank, to_float
from dockyard.errors import InputError

MAX_BOX_SIDE = 126.0
"""Largest side in Å: Vina's grids stop being practical (and memory explodes) beyond this."""

MAX_CENTER = 10000.0
"""Largest absolute centre coordinate in Å; PDB columns cannot hold more."""

LARGE_BOX_SIDE = 30.0
"""Sides above this (Å) make the search space large enough to need a warning."""

MAX_PADDING = 30.0
"""Largest padding in Å added around a reference ligand on each side."""

DEFAULT_PADDING = 4.0
"""Å added around a reference ligand or residues on each side."""

BLIND_PADDING = 4.0
"""Å added around the whole protein for blind docking."""

OPTIMAL_SIZE_PER_RG = 2.857
"""Feinstein & Brylinski (2015): docking is most accurate with a cubic box of side
2.857 x the ligand's radius of gyration; a box much smaller than that cramps the search."""

BOX_FIELDS = ("center_x", "center_y", "center_z", "size_x", "size_y", "size_z")


@dataclass(frozen=True)
class Box:
    """A search box: ``center`` and ``size`` in Å along x, y and z."""

    center: tuple[float, float, float]
    size: tuple[float, float, float]

    def __post_init__(self) -> None:
        center = _triple(self.center, "center")
        size = _triple(self.size, "size")
        for axis, value in zip("xyz", center, strict=True):
            if abs(value) >= MAX_CENTER:
                raise InputError(
                    f"center_{axis} must be between -{MAX_CENTER:g} and {MAX_CENTER:g} Å, "
                    f"got {value:g}.",
                    field=f"center_{axis}",
                )
        for axis, value in zip("xyz", size, strict=True):
            if not 0 < value <= MAX_BOX_SIDE:
                raise InputError(
                    f"size_{axis} must be more than 0 and at most {MAX_BOX_SIDE:g} Å, "
                    f"got {value:g}.",
                    field=f"size_{axis}",
                )
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "size", size)

    @classmethod
    def from_fields(cls, values: Mapping[str, object]) -> Box:
        """A box from ``center_x`` … ``size_z`` as a form, CLI or JSON gives them."""
        numbers = []
        for key in BOX_FIELDS:
            value = values.get(key)
            if is_blank(value):
                raise InputError(f"{key} is required.", field=key)
            numbers.append(to_float(value, key))
        return cls(center=tuple(numbers[:3]), size=tuple(numbers[3:]))

    @classmethod
    def from_config(cls, text: str) -> Box:
        """A box from a Vina config file (``center_x = 15.19`` lines; other keys ignored)."""
        values: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() in BOX_FIELDS:
                values[key.strip()] = value.split("#")[0]
        return cls.from_fields(values)

    @classmethod
    def around_points(
        cls, coords: Sequence[Sequence[float]], padding: float, field: str, advice: str = ""
    ) -> Box:
        """The box around points (n by 3), ``padding`` Å wider on every side."""
        points = [tuple(float(v) for v in point) for point in coords]
        if not points:
            raise InputError(f"No atoms to put a box around ({field}).", field=field)
        low = [min(point[axis] for point in points) for axis in range(3)]
        high = [max(point[axis] for point in points) for axis in range(3)]
        size = tuple(h - lo + 2 * padding for lo, h in zip(low, high, strict=True))
        if max(size) > MAX_BOX_SIDE:
            raise InputError(
                f"The box around the {field.replace('_', ' ')} would be {max(size):.0f} Å "
                f"wide, more than the {MAX_BOX_SIDE:g} Å allowed"
                f"{'; ' + advice if advice else ''}.",
                field=field,
            )
        center = tuple((lo + h) / 2 for lo, h in zip(low, high, strict=True))
        return cls(center=center, size=size)

    def distance_to(self, coords: Sequence[Sequence[float]] | np.ndarray) -> float:
        """Å from the box to the nearest of the points (0 if one is inside)."""
        points = np.asarray(coords, dtype=float).reshape(-1, 3)
        if not len(points):
            return math.inf
        outside = np.maximum(np.abs(points - self.center) - np.asarray(self.size) / 2, 0.0)
        return float(np.linalg.norm(outside, axis=1).min())

    def fit_warnings(self, ligand_coords: Sequence[Sequence[float]]) -> list[str]:
        """A warning if the box is smaller than the ligand needs (2.857 x its radius of
        gyration per side, Feinstein & Brylinski 2015) or narrower than the ligand itself."""
        points = [tuple(float(v) for v in point) for point in ligand_coords]
        if len(points) < 2:
            return []
        centre = [sum(p[axis] for p in points) / len(points) for axis in range(3)]
        gyration = math.sqrt(sum(math.dist(p, centre) ** 2 for p in points) / len(points))
        length = max(math.dist(p, q) for p in points for q in points)
        needed = OPTIMAL_SIZE_PER_RG * gyration
        smallest = min(self.size)
        if smallest >= needed and smallest >= length * 0.8:
            return []
        return [
            f"The box ({smallest:.1f} Å on its smallest side) is small for this ligand "
            f"({length:.1f} Å long, radius of gyration {gyration:.1f} Å): Vina finds poses "
            f"best with sides of at least {needed:.1f} Å. Enlarge the box or its padding."
        ]

    def to_dict(self) -> dict[str, float]:
        return dict(zip(BOX_FIELDS, (*self.center, *self.size), strict=True))

    @property
    def volume(self) -> float:
        return math.prod(self.size)

    def warnings(self) -> list[str]:
        """Advice about a valid box that is still likely to dock poorly."""
        large = [
            f"size_{axis}"
            for axis, side in zip("xyz", self.size, strict=True)
            if side > LARGE_BOX_SIDE
        ]
        if not large:
            return []
        return [
            f"{', '.join(large)} over {LARGE_BOX_SIDE:g} Å makes a large search space "
            f"({self.volume:,.0f} Å³): docking is slower and may miss the best pose unless "
            "exhaustiveness is raised or the box is narrowed to the binding site."
        ]


def padding_value(padding: float | str | None) -> float:
    """Å of padding around a box's points: the default when blank, checked otherwise."""
    pad = DEFAULT_PADDING if is_blank(padding) else to_float(padding, "padding")
    if not 0 < pad <= MAX_PADDING:
        raise InputError(
            f"padding must be more than 0 and at most {MAX_PADDING:g} Å, got {pad:g}.",
            field="padding",
        )
    return pad


def _triple(values: object, name: str) -> tuple[float, float, float]:
    try:
        items = list(values)  # type: ignore[call-overload]
    except TypeError:
        raise InputError(f"{name} must be three numbers (x, y, z).", field=name) from None
    if len(items) != 3:
        raise InputError(f"{name} must be three numbers (x, y, z), got {len(items)}.", field=name)
    return tuple(
        to_float(value, f"{name}_{axis}") for axis, value in zip("xyz", items, strict=True)
    )
