"""The one table of a run's observables: H5MD name, unit, thermo-log column, summary key.

:func:`measure` computes every scalar from a state (global sums, no communication);
the H5MD writer, the thermo log and :func:`mlmd.md.runner.run_md`'s summary all take their
names from :data:`TABLE`, so an observable is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlmd import units
from mlmd.md.state import MDState


@dataclass(frozen=True)
class Observable:
    """``name``: ``/observables/<name>`` in the trajectory and the key of :func:`measure`;
    ``unit``: its unit string (H5MD units module syntax); ``column``, ``fmt``, ``width``:
    its thermo-log column (None: not logged); ``summary``: its key in the run summary (None:
    not there)."""

    name: str
    unit: str
    column: str | None = None
    fmt: str = ".6f"
    width: int = 16
    summary: str | None = None


#: Every scalar observable, in thermo-log column order.
TABLE: tuple[Observable, ...] = (
    Observable("temperature", "K", "T_K", ".2f", 10, "temperature_K"),
    Observable("pressure", "GPa", "P_GPa", ".4f", 10, "pressure_GPa"),
    Observable("potential_energy", "eV", "Epot_eV", ".6f", 16, "potential_energy_eV"),
    Observable("total_energy", "eV", "Etot_eV", ".6f", 16, "total_energy_eV"),
    Observable("conserved_energy", "eV", "Econs_eV", ".6f", 16),
    Observable("volume", "Angstrom3", "volume_A3", ".3f", 13, "volume_A3"),
    Observable("density", "g cm-3", "density_g_cm3", ".5f", 14, "density_g_cm3"),
    Observable("force_std_max", "eV Angstrom-1", "fstd_max_eV_A", ".4f", 14),
    Observable("kinetic_energy", "eV"),
    Observable("force_std_mean", "eV Angstrom-1"),
    # pairs inside the potential's core switch at the last spread step (an ensemble's runs)
    Observable("core_pairs", ""),
)

#: The full pressure tensor (kinetic + virial, pressure = +trace/3) [3, 3] in GPa, written
#: every ``output.pressure_tensor_every`` steps as its own series (own step/time).
PRESSURE_TENSOR = Observable("pressure_tensor", "GPa")

#: name → unit string.
UNITS = {o.name: o.unit for o in (*TABLE, PRESSURE_TENSOR)}


def pressure_tensor_GPa(state: MDState) -> np.ndarray:
    """[3, 3] GPa: (2 K + W) / V of the global kinetic and virial tensors (no communication)."""
    return units.ev_per_a3_to_gpa(state.pressure_tensor)


def measure(
    state: MDState, conserved_eV: float, total_mass_amu: float, spread: dict
) -> dict[str, float]:
    """Every observable of :data:`TABLE` at ``state`` (``conserved_eV``: the integrator's
    conserved quantity; ``spread``: the ensemble's last reduced ``force_std_max`` /
    ``force_std_mean`` and ``core_pairs``, empty without an ensemble)."""
    kinetic = state.kinetic_energy
    return {
        "temperature": state.temperature_K,
        "pressure": state.pressure_GPa,
        "potential_energy": state.potential_energy,
        "total_energy": state.potential_energy + kinetic,
        "conserved_energy": conserved_eV,
        "volume": state.volume,
        "density": units.density_g_cm3(total_mass_amu, state.volume),
        "kinetic_energy": kinetic,
        **spread,
    }


def summary_values(values: dict[str, float]) -> dict[str, float]:
    """The summary keys of :data:`TABLE` for ``values`` from :func:`measure`."""
    return {o.summary: values[o.name] for o in TABLE if o.summary}
