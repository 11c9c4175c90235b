"""Elements: symbols and numbers both accepted, unknown ones refused naming the field; which
elements a dataset's frames hold (all frames or chosen ones)."""

from __future__ import annotations

import pytest

from mlmd.data import atomic_numbers, dataset_species
from mlmd.data.species import symbols
from mlmd.errors import InputError


def test_symbols_and_numbers_give_atomic_numbers_and_back():
    assert atomic_numbers(["Si", 8, "Zr", 29]) == [14, 8, 40, 29]
    assert symbols([14, 8, 40]) == ["Si", "O", "Zr"]


@pytest.mark.parametrize(("given", "message"), [("si", "unknown element 'si'"), (0, "number 0"),
                                               (119, "number 119")])  # fmt: skip
def test_unknown_elements_are_refused_naming_the_field(given, message):
    with pytest.raises(InputError, match=message) as info:
        atomic_numbers(["O", given])
    assert info.value.field == "species"


def test_dataset_species(ds):
    assert dataset_species(ds) == sorted({int(z) for f in ds for z in f.numbers})
    for chosen in ([0], [3, 7], [11]):
        want = sorted({int(z) for i in chosen for z in ds[i].numbers})
        assert dataset_species(ds, chosen) == want
    assert dataset_species(ds, []) == []
