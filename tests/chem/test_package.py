from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import dockyard.chem as chem
from dockyard.chem import example_box, example_paths, versions

CHEM_SOURCE = Path(chem.__file__).parent


def test_all_names_are_exported_and_nothing_else_public_is_missing():
    for name in chem.__all__:
        assert getattr(chem, name) is not None, name
    assert sorted(chem.__all__) == sorted(set(chem.__all__))
    assert callable(chem.versions)  # not shadowed by the versions module


def test_chem_imports_no_upper_layer():
    for path in CHEM_SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(
                    ("dockyard.web", "dockyard.jobs", "dockyard.runners", "dockyard.cli")
                ), f"{path.name} imports {name}"


def test_box_and_options_do_not_load_the_science_stack():
    code = (
        "import sys; from dockyard.chem import Box, DockingOptions; "
        "Box.from_fields(dict(center_x=0, center_y=0, center_z=0, size_x=1, size_y=1, size_z=1));"
        "DockingOptions.from_fields({'seed': '3'});"
        "print(sorted({'vina', 'meeko', 'rdkit', 'gemmi'} & set(sys.modules)))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_versions_name_the_science_stack():
    found = versions()
    assert set(found) == {
        "vina", "meeko", "rdkit", "gemmi", "pdbfixer", "openmm", "dimorphite-dl", "fpocket-rs",
        "dockyard",
    }  # fmt: skip
    assert found["vina"].startswith("1.2")
    assert all(found.values())


def test_example_files_are_packaged():
    paths = example_paths()
    assert set(paths) == {"receptor", "ligand", "box"}
    assert all(path.is_file() for path in paths.values())
    assert (paths["receptor"].parent / "README.md").read_text().count("Apache-2.0") == 1
    assert example_box().size == (20.0, 20.0, 20.0)
