"""mlmd/analysis/thermo.py: energy drift, series statistics and ensemble-spread trends of the
observables, on series whose answer is known exactly."""

import numpy as np
import pytest

from mlmd.analysis.thermo import thermo_summary
from mlmd.analysis.trajectory import Series
from tests.analysis import tolerances as tol


def test_thermo_drift_and_ensemble_spread():
    """A conserved energy rising by 2e-4 eV/atom/ps over 10 ps for 100 atoms: drift exact."""
    t = np.linspace(0.0, 10_000.0, 101)  # fs
    steps = np.arange(101)
    e = -500.0 + 2e-4 * 100 * t / 1e3
    obs = {
        "conserved_energy": Series(e, steps, t, "eV"),
        "temperature": Series(300.0 + np.sin(t), steps, t, "K"),
        "force_std_max": Series(0.1 + 1e-3 * t / 1e3, steps, t, "eV/Angstrom"),
    }
    s = thermo_summary(obs, n_atoms=100)
    assert s["energy_drift"]["drift_eV_per_atom_per_ps"] == pytest.approx(2e-4, rel=tol.EXACT_REL)
    assert s["energy_drift"]["max_excursion_eV_per_atom"] == pytest.approx(2e-3, rel=tol.EXACT_REL)
    assert s["series"]["temperature"]["mean"] == pytest.approx(300.0, abs=0.1)
    assert s["ensemble_spread"]["force_std_max"]["trend_per_ps"] == pytest.approx(1e-3)
