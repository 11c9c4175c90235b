"""mlmd/analysis/scattering.py: neutron lengths, X-ray form factors and Faber–Ziman weights for any
element; elements the tables lack are clear errors."""

import numpy as np
import pytest

from mlmd.analysis.scattering import (
    faber_ziman_weights,
    neutron_lengths_fm,
    weights_for,
    xray_form_factors,
)
from mlmd.errors import InputError


def test_faber_ziman_weights_of_silica():
    """b_Si = 4.1507 fm, b_O = 5.8037 fm (periodictable's table; Sears 1992: 4.1491, 5.803)
    → Si–Si 0.0694, Si–O 0.3880, O–O 0.5426 (sio2.md: 0.0694, 0.3880, 0.5427)."""
    b = neutron_lengths_fm(["Si", "O"])
    assert b["Si"] == pytest.approx(4.1491, abs=3e-3) and b["O"] == pytest.approx(5.803, abs=1e-3)
    w = faber_ziman_weights({"Si": 100, "O": 200}, b)
    assert w["Si-Si"] == pytest.approx(0.0694, abs=1e-4)
    assert w["Si-O"] == pytest.approx(0.3880, abs=1e-4)
    assert w["O-O"] == pytest.approx(0.5427, abs=2e-4)
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-12)
    assert neutron_lengths_fm(["Si", "O"], {"Si": 4.1491})["Si"] == 4.1491


def test_tables_cover_any_element_and_refuse_what_they_lack():
    """X-ray form factors of neutral atoms: f(0) = Z; f falls with Q; weights sum to 1 at every
    Q. An element without a coherent length (Po) or a kind without an element: clear errors."""
    q = np.array([0.0, 2.0, 8.0])
    elements = {"Si": 14, "O": 8, "Cu": 29, "Zr": 40, "Ge": 32, "C": 6, "Se": 34, "Na": 11}
    f = xray_form_factors(list(elements), q)
    for name, z in elements.items():
        assert f[name][0] == pytest.approx(z, abs=0.05), name  # the fit: Zr 39.976
        assert f[name][0] > f[name][1] > f[name][2] > 0
    assert set(neutron_lengths_fm(list(elements))) == set(elements)
    weights, _ = weights_for("xray", {"Cu": 64, "Zr": 36}, np.linspace(0, 10, 11))
    np.testing.assert_allclose(sum(weights.values()), 1.0, atol=1e-12)
    cu, zr = f["Cu"][0], f["Zr"][0]  # ≈ Z: 28.99, 39.98
    assert weights["Zr-Zr"][0] == pytest.approx(0.36**2 * zr**2 / (0.64 * cu + 0.36 * zr) ** 2)
    with pytest.raises(InputError, match="neutron scattering length for Po"):
        neutron_lengths_fm(["Po", "O"])
    with pytest.raises(InputError, match="X-ray form factor for type1"):
        xray_form_factors(["type1"], q)
