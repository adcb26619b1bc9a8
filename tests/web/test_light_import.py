"""The web process starts light: the science stack loads only where chemistry runs."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "vina",
    "meeko",
    "rdkit",
    "openmm",
    "pdbfixer",
    "scipy",
    "prolif",
    "MDAnalysis",
    "fpocket_rs",
    "propka",
)


def test_importing_the_web_app_loads_no_science_library():
    code = (
        "import json, sys\n"
        "import dockyard.web.app\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []
