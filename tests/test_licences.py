"""Dockyard is Apache-2.0: nothing GPL may be in what ``pip install dockyard`` brings.

LGPL is fine (Meeko, psycopg, MDAnalysis, PROPKA are used as libraries); GPL code cannot be
combined with Apache-2.0 code. The licence is read from each installed distribution's own
metadata: its SPDX ``License-Expression``, else its trove classifiers, else the first line of
its ``License`` field.
"""

from __future__ import annotations

import re
from importlib.metadata import Distribution, PackageNotFoundError, distribution

from packaging.requirements import Requirement

GPL = re.compile(r"(?<![L])GPL|(?<!Lesser )General Public License", re.IGNORECASE)
LGPL = re.compile(r"LGPL|Lesser General Public|Library General Public", re.IGNORECASE)


def licences(dist: Distribution) -> list[str]:
    meta = dist.metadata
    if meta.get("License-Expression"):
        return [meta["License-Expression"]]
    classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    if classifiers:
        return classifiers
    text = (meta.get("License") or "").strip()
    return text.splitlines()[:1]


def is_gpl(licence: str) -> bool:
    """GPL in any version, but not the Lesser (or Library) GPL, in any term of an expression."""
    return any(
        GPL.search(term) and not LGPL.search(term)
        for term in re.split(r"\s+(?:OR|AND|WITH)\s+|[()]", licence)
    )


def core_closure(root: str = "dockyard") -> dict[str, Distribution]:
    """Every distribution ``root`` needs without extras, found from installed metadata."""
    seen: dict[str, Distribution] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        seen[key] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            todo.append(requirement.name)
    return seen


def test_the_gpl_rule_tells_gpl_from_lgpl():
    assert is_gpl("GPL-2.0-only") and is_gpl("GPL-3.0-or-later")
    assert is_gpl("License :: OSI Approved :: GNU General Public License v2 (GPLv2)")
    assert not is_gpl("LGPL-2.1-or-later") and not is_gpl("LGPL-3.0-only")
    assert not is_gpl(
        "License :: OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)"
    )
    assert not is_gpl("Apache-2.0") and not is_gpl("MIT OR BSD-3-Clause")


def test_the_core_install_has_no_gpl_dependency():
    closure = core_closure()
    assert {"dockyard", "vina", "rdkit", "fastapi"} <= set(closure)
    offending = {
        name: licence
        for name, dist in closure.items()
        for licence in licences(dist)
        if is_gpl(licence)
    }
    assert offending == {}


def test_posebusters_brings_no_gpl():
    """The plausibility checks' package and everything it needs (pandas, PyYAML …)."""
    closure = core_closure("posebusters")
    assert {"posebusters", "pandas", "pyyaml", "rdkit"} <= set(closure)
    assert licences(closure["posebusters"]) == ["License :: OSI Approved :: BSD License"]
    assert not [name for name, dist in closure.items() for x in licences(dist) if is_gpl(x)]
