from __future__ import annotations

import math
from pathlib import Path

import pytest

from dockyard.chem import (
    MAX_BOX_SIDE,
    Box,
    box_around_ligand,
    example_box,
    read_reference_coordinates,
)
from dockyard.errors import InputError, UnsupportedFileError

from .conftest import DATA

GOOD = {
    "center_x": "15.19",
    "center_y": 53.9,
    "center_z": "16.92",
    "size_x": "20",
    "size_y": 20,
    "size_z": 20.0,
}
TUTORIAL_CENTER = (15.19, 53.90, 16.92)


def test_from_fields_accepts_strings_and_numbers():
    box = Box.from_fields(GOOD)
    assert box.center == (15.19, 53.9, 16.92)
    assert box.size == (20.0, 20.0, 20.0)
    assert Box.from_fields(box.to_dict()) == box


@pytest.mark.parametrize("field", list(GOOD))
@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_value_names_the_field(field: str, value: object):
    with pytest.raises(InputError, match=f"{field} is required") as caught:
        Box.from_fields({**GOOD, field: value})
    assert caught.value.field == field


def test_absent_key_names_the_field():
    values = dict(GOOD)
    del values["size_y"]
    with pytest.raises(InputError) as caught:
        Box.from_fields(values)
    assert caught.value.field == "size_y"


@pytest.mark.parametrize("field", list(GOOD))
@pytest.mark.parametrize("value", ["abc", "1,5", "nan", "inf", "-inf", math.nan, math.inf, True])
def test_non_numbers_and_non_finite_values_name_the_field(field: str, value: object):
    with pytest.raises(InputError) as caught:
        Box.from_fields({**GOOD, field: value})
    assert caught.value.field == field
    assert field in caught.value.message


@pytest.mark.parametrize("axis", "xyz")
@pytest.mark.parametrize("value", ["0", "-5", "0.0", str(MAX_BOX_SIDE + 0.1), "1e6"])
def test_bad_sizes_name_the_field(axis: str, value: str):
    field = f"size_{axis}"
    with pytest.raises(InputError, match=field) as caught:
        Box.from_fields({**GOOD, field: value})
    assert caught.value.field == field


def test_largest_allowed_side_is_accepted():
    assert Box(center=(0, 0, 0), size=(MAX_BOX_SIDE, 1, 0.5)).size[0] == MAX_BOX_SIDE


@pytest.mark.parametrize("value", ["10000", "-1e5"])
def test_far_away_centre_is_refused(value: str):
    with pytest.raises(InputError) as caught:
        Box.from_fields({**GOOD, "center_z": value})
    assert caught.value.field == "center_z"


def test_constructor_validates_too():
    with pytest.raises(InputError) as caught:
        Box(center=(0, 0, math.nan), size=(10, 10, 10))
    assert caught.value.field == "center_z"
    with pytest.raises(InputError) as caught:
        Box(center=(0, 0), size=(10, 10, 10))  # type: ignore[arg-type]
    assert caught.value.field == "center"


def test_large_box_warns_and_small_box_does_not():
    assert Box(center=(0, 0, 0), size=(20, 20, 20)).warnings() == []
    (warning,) = Box(center=(0, 0, 0), size=(40, 20, 35)).warnings()
    assert "size_x" in warning and "size_z" in warning and "size_y" not in warning


def test_example_box_is_the_tutorial_box():
    box = example_box()
    assert box.center == (15.19, 53.903, 16.917)
    assert box.size == (20.0, 20.0, 20.0)


def test_from_config_reads_vina_config_text():
    box = Box.from_config(
        "receptor = r.pdbqt\ncenter_x = 1\ncenter_y=2\ncenter_z = 3 # c\n"
        "size_x = 10\nsize_y = 11\nsize_z = 12\nexhaustiveness = 8\n"
    )
    assert box == Box(center=(1, 2, 3), size=(10, 11, 12))


def test_around_crystal_ligand_matches_tutorial_box(example: dict[str, Path]):
    box = box_around_ligand(example["ligand"].read_text(), "sdf")
    assert math.dist(box.center, TUTORIAL_CENTER) < 2.0
    coords = read_reference_coordinates(example["ligand"].read_text(), "sdf")
    assert len(coords) == 37  # imatinib's heavy atoms
    extent = coords.max(axis=0) - coords.min(axis=0)
    assert box.size == pytest.approx(tuple(extent + 8.0))


def test_around_ligand_in_every_reference_format(example, benzamide):
    mol2 = (DATA / "benzamide.mol2").read_text()
    sdf_box = box_around_ligand(example["ligand"].read_text(), "sdf", padding="5")
    pdb_text = "".join(
        line + "\n"
        for line in example["receptor"].read_text().splitlines()
        if line.startswith("ATOM") and line[22:26].strip() == "315"
    )
    for text, fmt in ((mol2, "mol2"), (benzamide.pdbqt, "pdbqt"), (pdb_text, "pdb")):
        box = box_around_ligand(text, fmt)
        assert all(4.0 * 2 < side < 30 for side in box.size)
    assert min(sdf_box.size) > 10


@pytest.mark.parametrize("padding", ["0", "-1", "31", "abc", "nan"])
def test_bad_padding_names_the_field(example, padding: str):
    with pytest.raises(InputError) as caught:
        box_around_ligand(example["ligand"].read_text(), "sdf", padding=padding)
    assert caught.value.field == "padding"


def test_reference_that_is_a_whole_protein_is_refused(example):
    with pytest.raises(InputError, match="upload only the ligand") as caught:
        box_around_ligand(example["receptor"].read_text(), "pdb")
    assert caught.value.field == "reference_ligand"


@pytest.mark.parametrize(
    ("text", "fmt"),
    [("", "sdf"), ("just some words\n", "sdf"), ("just some words\n", "pdb"), ("x\n", "mol2")],
)
def test_unreadable_reference_is_refused(text: str, fmt: str):
    with pytest.raises(InputError) as caught:
        box_around_ligand(text, fmt)
    assert caught.value.field == "reference_ligand"


def test_unknown_reference_format_is_unsupported(example):
    with pytest.raises(UnsupportedFileError) as caught:
        box_around_ligand(example["ligand"].read_text(), "xyz")
    assert caught.value.field == "reference_ligand"
