"""The browser libraries Dockyard serves itself, built by ``scripts/assets.sh`` from npm.

They ship inside the wheel; a checkout has them only after ``make serve`` (or the script) ran,
so ``dockyard serve`` says at start when they are missing instead of letting the job page fail.
"""

from __future__ import annotations

from importlib.resources import files

VENDOR = files("dockyard.web") / "static" / "vendor"
VENDOR_FILES = (
    "3Dmol.es6-min.js",
    "chart.umd.min.js",
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "3Dmol.LICENSE.txt",
    "chart.js.LICENSE.md",
    "swagger-ui.LICENSE.txt",
)


def missing_assets() -> list[str]:
    """The vendored files that are not there (empty when the 3D viewer, the plots and the API
    reference can load)."""
    return [name for name in VENDOR_FILES if not (VENDOR / name).is_file()]
