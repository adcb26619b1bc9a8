"""Result tables as files people open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

POSE_COLUMNS = ("rank", "affinity", "inter", "intra", "torsions", "rmsd_lb", "rmsd_ub")


def poses_csv(poses: Iterable[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=POSE_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(poses)
    return buffer.getvalue()
