from __future__ import annotations

import pytest

from dockyard.chem import DockingOptions
from dockyard.chem.core.options import MAX_SEED
from dockyard.errors import InputError


def test_defaults_are_vinas():
    options = DockingOptions()
    assert (options.scoring, options.exhaustiveness, options.num_poses) == ("vina", 8, 9)
    assert options.energy_range == 3.0 and options.seed is None and options.cpu == 0


def test_from_fields_parses_form_strings_and_fills_defaults():
    options = DockingOptions.from_fields(
        {"scoring": " Vinardo ", "exhaustiveness": "16", "seed": "7", "num_poses": "", "x": "1"}
    )
    assert options == DockingOptions(scoring="vinardo", exhaustiveness=16, seed=7)
    assert DockingOptions.from_fields({}) == DockingOptions()
    assert DockingOptions.from_fields({"energy_range": "2.5"}).energy_range == 2.5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scoring", "ad4"),
        ("scoring", "Vina 1.2"),
        ("exhaustiveness", "0"),
        ("exhaustiveness", "65"),
        ("exhaustiveness", "8.5"),
        ("exhaustiveness", "eight"),
        ("num_poses", "0"),
        ("num_poses", "21"),
        ("energy_range", "0"),
        ("energy_range", "-1"),
        ("energy_range", "10.5"),
        ("energy_range", "nan"),
        ("seed", "-1"),
        ("seed", "0"),
        ("seed", str(MAX_SEED + 1)),
        ("seed", "1.5"),
        ("cpu", "-1"),
    ],
)
def test_bad_values_name_their_field(field: str, value: str):
    with pytest.raises(InputError) as caught:
        DockingOptions.from_fields({field: value})
    assert caught.value.field == field
    assert field in caught.value.message


def test_largest_seed_and_limits_are_accepted():
    options = DockingOptions(exhaustiveness=64, num_poses=20, energy_range=10, seed=MAX_SEED)
    assert options.seed == MAX_SEED
    assert options.with_seed(5).seed == 5
    assert options.to_dict()["exhaustiveness"] == 64


def test_constructor_validates_programmatic_values():
    with pytest.raises(InputError) as caught:
        DockingOptions(scoring="")
    assert caught.value.field == "scoring"
    with pytest.raises(InputError) as caught:
        DockingOptions(num_poses=True)  # type: ignore[arg-type]
    assert caught.value.field == "num_poses"
    assert DockingOptions(exhaustiveness="4", seed=9.0).exhaustiveness == 4  # type: ignore[arg-type]
