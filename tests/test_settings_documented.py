"""Every setting is in the README's Configuration table, and the table names no setting that
does not exist: the table is the one place an operator looks."""

from __future__ import annotations

import re
from pathlib import Path

from dockyard.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def documented() -> set[str]:
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(DOCKYARD_[A-Z0-9_]+)` \|", section, flags=re.MULTILINE))


def test_every_setting_has_a_row_in_the_configuration_table():
    settings = {f"DOCKYARD_{name.upper()}" for name in Settings.model_fields}
    assert settings - documented() == set(), "settings missing from README's Configuration"
    assert documented() - settings == set(), "README documents settings that do not exist"
