"""Result tables as files people open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

POSE_COLUMNS = ("rank", "affinity", "inter", "intra", "torsions", "rmsd_lb", "rmsd_ub")
EVIDENCE_COLUMNS = ("rmsd_to_reference", "rmsd_kind", "mcs_atoms")
PLAUSIBILITY_COLUMNS = ("plausible", "plausibility_failed")


def poses_csv(poses: Iterable[Mapping[str, Any]]) -> str:
    """One row per pose; the evidence columns only when some pose has that evidence."""
    rows = [_flat(pose) for pose in poses]
    columns = list(POSE_COLUMNS)
    for group in (EVIDENCE_COLUMNS, PLAUSIBILITY_COLUMNS):
        if any(group[0] in row for row in rows):
            columns += group
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _flat(pose: Mapping[str, Any]) -> dict[str, Any]:
    """A pose's fields with its plausibility as two cells (valid, the failed checks)."""
    row = dict(pose)
    plausibility = row.pop("plausibility", None)
    if plausibility is not None:
        row["plausible"] = plausibility["valid"]
        row["plausibility_failed"] = " ".join(plausibility["failed"])
    return row
