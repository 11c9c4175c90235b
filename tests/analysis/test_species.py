"""mlmd/analysis/species.py: species pairs given by the user are read strictly against the
trajectory's species."""

import pytest

from mlmd.analysis.species import pair_values
from mlmd.errors import InputError


def test_pair_keys_are_strict():
    assert pair_values({"Cu-Zr": 3.6}, ["Zr", "Cu"], "--cutoff") == {
        ("Cu", "Zr"): 3.6,
        ("Zr", "Cu"): 3.6,
    }
    for bad, message in [
        ({"CuZr": 3.0}, "not a species pair"),
        ({"Cu-Xx": 3.0}, "'Xx'"),
        ({"Cu-Zr": 3.0, "Zr-Cu": 3.1}, "twice"),
        ({"Cu-Cu": 0.0}, "positive"),
    ]:
        with pytest.raises(InputError, match=message):
            pair_values(bad, ["Zr", "Cu"], "--cutoff")
