"""Turn the loose values of forms, CLI flags and JSON into numbers, naming the field on failure.

Box and DockingOptions both read user values through these, so a bad value gets the same
kind of message wherever it came from.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from numbers import Integral, Real

from dockyard.errors import InputError, UnsupportedFileError

ACCEPT_WARNINGS = "accept_warnings"
"""The one form field (``--accept-warnings`` on the command line) that lets a submission go
ahead despite a refused input that could be deliberate: a receptor too small to be a protein,
a ligand with radical electrons. The job then records the problem in ``params.warnings``."""

ACCEPT_HINT = (
    f"If this is what you mean, set {ACCEPT_WARNINGS}=true (--accept-warnings on the command "
    "line) to go ahead with a warning."
)
ACCEPTABLE = frozenset({"receptor_too_small", "radical_ligand"})
"""Codes of the refusals ``accept_warnings`` lifts."""


def refuse_unless_accepted(problem: str, *, field: str, code: str, accepted: bool) -> str:
    """``problem`` as the warning to record when it is accepted; else an InputError naming
    ``field`` that says how to accept it."""
    if not accepted:
        raise InputError(f"{problem} {ACCEPT_HINT}", field=field, code=code)
    return problem


@contextmanager
def offering_acceptance() -> Iterator[None]:
    """Where the user can accept a refusal (a submission), say how in its message. Elsewhere
    (a screen's library entry) the same refusal is the ligand's failure, without the hint."""
    try:
        yield
    except InputError as error:
        if error.code not in ACCEPTABLE:
            raise
        hinted = f"{error.message} {ACCEPT_HINT}"
        raise InputError(hinted, field=error.field, code=error.code) from None


def is_blank(value: object) -> bool:
    """True for a missing form value: None or a string of only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def to_float(value: object, field: str) -> float:
    """A finite float from a number or numeric string; InputError naming ``field`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, Real | str):
        raise InputError(f"{field} must be a number, got {value!r}.", field=field)
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        raise InputError(f"{field} must be a number, got {value!r}.", field=field) from None
    if not math.isfinite(number):
        raise InputError(f"{field} must be a finite number, got {value!r}.", field=field)
    return number


def to_int(value: object, field: str) -> int:
    """A whole number from an int, an integral float or a string such as "8" or "8.0"."""
    if isinstance(value, Integral) and not isinstance(value, bool):
        return int(value)
    number = to_float(value, field)
    if not number.is_integer():
        raise InputError(f"{field} must be a whole number, got {value!r}.", field=field)
    return int(number)


def file_format(fmt: str, allowed: tuple[str, ...], field: str) -> str:
    """The lower-case format name (".SDF" -> "sdf"); UnsupportedFileError if not ``allowed``."""
    name = (fmt or "").strip().lower().lstrip(".")
    if name not in allowed:
        kinds = ", ".join(kind.upper() for kind in allowed)
        raise UnsupportedFileError(
            f"{field} must be one of {kinds}; got a file of type {fmt!r}.", field=field
        )
    return name
