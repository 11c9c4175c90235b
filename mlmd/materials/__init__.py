"""Material files: one TOML file describes a melt or glass to study (``campaigns/materials/``).

Schema (every table is strict: an unknown key is an error with a did-you-mean; Å, g/cm³, K,
GPa, ps; ``campaigns/materials/sio2.toml`` is the commented example)::

    name = "SiO2"                       # required
    description = "..."
    composition = { Si = 1, O = 2 }     # atoms per formula unit, or fractions summing to 1
    reference = "cp2k"                  # default label in [references]

    [density]        nominal_g_cm3 = 2.2, random_g_cm3 = [2.0, 2.6]   (low ≤ high)
    [min_distance]   factor = 0.75 (× sum of covalent radii), pairs_A = { "Si-O" = 1.4 }
    [crystals.NAME]  exactly one of
                       file = "x.cif" (+ index, format; relative to this file; ASE reads it)
                       spacegroup = 154, symbols = [...], basis = [[x, y, z], ...],
                         cellpar = [a, b, c, α, β, γ], setting = 1
                       bulk = "diamond", symbols = ["Si"], a_A = 5.431, c_A, cubic, orthorhombic
                     and repeat = [1, 1, 1] (default supercell), source = "paper"
    [melt_quench]    melt_K, melt_GPa, melt_hold_ps, quench_rates_K_ps = [...], glass_K,
                     glass_GPa, anneal_ps, timestep_fs, explore_temperatures_K = [...]
    [references.LABEL]  name = "teacher" | "cp2k" | "lammps" | ... (a registered backend),
                        settings = { ... } (given to get_reference as its config)
    [experiment.QUANTITY]  value, uncertainty, unit, source, temperature_K?, note?
    [analysis]       bond_cutoffs_A = { "Si-O" = 2.3 }, rings = true (a network),
                     ring_bond = "Si-O" (former-bridge link of the rings)
    [start.RECIPE]   frames = 12, strain = 0.05, rattle_A = [0.02, 0.05, 0.08],
                     sources = [{ crystal = "quartz", repeat = [2, 2, 2] },
                                { random_atoms = 72, density_g_cm3 = [2.0, 2.6] }]

Public API: :func:`load_material` → :class:`Material` (frozen; ``formula``, ``elements``,
``species`` derived), :func:`make_reference` (the backend, its settings validated then),
:func:`random_structure`, :func:`crystal_structure`, :func:`min_distances_A`,
:func:`~mlmd.materials.structures.repeat_for_atoms` (a near-cubic supercell of ≥ N atoms),
:func:`start_frames` and :func:`write_start_frames` (a campaign's first frames), and
:func:`experiment_table`, :func:`bond_cutoffs_A` (plain values for analysis and reports).
"""

from mlmd.materials.load import load_material, make_reference
from mlmd.materials.schema import Material
from mlmd.materials.start import start_frames, write_start_frames
from mlmd.materials.structures import crystal_structure, min_distances_A, random_structure


def experiment_table(material: Material) -> dict[str, dict]:
    """{quantity: {"value", "uncertainty", "unit", "source"[, "temperature_K", "note"]}}."""
    out = {}
    for key, row in material.experiment.items():
        out[key] = {"value": row.value, "uncertainty": row.uncertainty, "unit": row.unit}
        out[key]["source"] = row.source
        if row.temperature_K is not None:
            out[key]["temperature_K"] = row.temperature_K
        if row.note:
            out[key]["note"] = row.note
    return out


def bond_cutoffs_A(material: Material) -> dict[str, float]:
    """{"A-B": cutoff Å} of ``[analysis]``, pairs in the material's element order."""
    from mlmd.materials.load import pair_key

    return {
        pair_key(material, k, f"analysis.bond_cutoffs_A.{k}"): v
        for k, v in material.analysis.bond_cutoffs_A.items()
    }


__all__ = [
    "Material",
    "bond_cutoffs_A",
    "crystal_structure",
    "experiment_table",
    "load_material",
    "make_reference",
    "min_distances_A",
    "random_structure",
    "start_frames",
    "write_start_frames",
]
