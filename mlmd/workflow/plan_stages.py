"""The validation and property stages of a campaign, planned and checked before anything runs.

:func:`validation_config` builds the :class:`mlmd.validate.ValidateConfig` of the final
validation from the campaign's ``[validation]`` and the material (its schedule, density and
bond cutoffs), :func:`validation_starts` the cells it starts from, and
:func:`properties_config` the ``mlmd properties`` config of the optional property stages;
each is parsed strictly here, so a bad key fails in the campaign process, naming it.
Paths known only later are the stand-ins of :mod:`mlmd.workflow.plan`.
"""

from __future__ import annotations

from mlmd.config import from_mapping, to_mapping
from mlmd.data import Frame
from mlmd.workflow.config import CampaignConfig
from mlmd.workflow.plan import MODEL, STARTS, melt_quench

#: Stand-in for the production trajectory a property stage starts from (its last frame).
GLASS = "<glass>"


def validation_parts(reference_name: str) -> tuple[str, ...]:
    """("a", "b") for a reference that runs MD (teacher, lammps), else ("a",)."""
    from mlmd.validate import MD_ENGINES

    return ("a", "b") if reference_name in MD_ENGINES else ("a",)


def validation_config(cfg: CampaignConfig, material):
    """The final validation's :class:`mlmd.validate.ValidateConfig` (see the campaign's
    :class:`~mlmd.workflow.config.ValidationConfig`); its start cells are frames 0 (liquid
    and glass) and 1 (DFT replicas) of the ``STARTS`` dataset (:func:`validation_starts`)."""
    from mlmd.materials import bond_cutoffs_A
    from mlmd.validate import ValidateConfig

    v, p = cfg.validation, cfg.production
    mq = melt_quench(cfg, material)
    schedule = mq.schedule(max(mq.quench_rates_K_ps))
    cell = {"dataset": STARTS, "index": 0}
    data = {
        "md": {
            "timestep_fs": mq.timestep_fs,
            "damping_fs": p.thermostat_fs,
            "output_every_fs": v.output_every_fs,
            "reference_seeds": v.reference_seeds,
            "seed": 1 + cfg.seed,
        },
        "liquid": {
            "temperature_K": v.liquid_K or mq.melt_K,
            "equilibration_ps": v.equilibration_ps,
            "sampling_ps": v.sampling_ps,
            "structure": cell,
        },
        "glass": {
            "enabled": v.glass,
            **schedule,
            "barostat_damping_fs": p.barostat_fs,
            "structure": cell,
        },
        "analysis": {"cutoffs_A": bond_cutoffs_A(material)},
        "tolerances": dict(v.tolerances),
        "aposteriori": {
            "frames_from": "auto",
            "frames_per_phase": v.frames_per_phase,
            "replica_structure": {"dataset": STARTS, "index": 1},
            "force_rmse_eV_A": dict(v.force_rmse_eV_A),
            "energy_rmse_meV_atom": dict(v.energy_rmse_meV_atom),
        },
    }
    return from_mapping(ValidateConfig, data, source="campaign [validation]")


def glass_rows_spec(cfg: CampaignConfig, material) -> dict:
    """The settings of the validation's material rows of the glass
    (:func:`mlmd.workflow.glass_rows.structure_rows`); a centre species the material does
    not hold is a ConfigError naming ``validation.icosahedra_centres``."""
    from mlmd.errors import ConfigError
    from mlmd.validate import Tolerances

    v = cfg.validation
    unknown = [c for c in v.icosahedra_centres if c not in material.elements]
    if unknown:
        raise ConfigError(
            f"{unknown[0]!r} is not an element of the material {material.name}",
            file="campaign [validation]",
            field="validation.icosahedra_centres",
            fix=f"use elements of {', '.join(material.elements)}",
        )
    tolerances = from_mapping(Tolerances, dict(v.tolerances), source="campaign [validation]")
    return {
        "icosahedra_centres": list(v.icosahedra_centres),
        "tolerances": {
            "coordination_mean": v.coordination_mean_tolerance,
            "icosahedral_fraction": v.icosahedral_fraction_tolerance,
            "noise_allowance": tolerances.noise_allowance,
            "voronoi_frames": v.voronoi_frames,
        },
    }


def stop_spec(cfg: CampaignConfig):
    """The :class:`mlmd.validate.APosterioriSpec` of the rounds' stopping rule: frames of the
    round's own exploration trajectories against the validation's targets."""
    from mlmd.validate import APosterioriSpec

    v = cfg.validation
    data = {
        "frames_from": "trajectories",
        "frames_per_phase": cfg.stop.frames_per_phase,
        "force_rmse_eV_A": dict(v.force_rmse_eV_A),
        "energy_rmse_meV_atom": dict(v.energy_rmse_meV_atom),
    }
    return from_mapping(APosterioriSpec, data, source="campaign [stop]")


def validation_starts(cfg: CampaignConfig, material) -> list[Frame]:
    """The validation's cells: a random cell of ``validation.atoms`` atoms (liquid and glass,
    model and reference) and one of ``validation.replica_atoms`` (DFT replicas), at the
    material's nominal density."""
    from mlmd.materials import random_structure

    v, seed = cfg.validation, cfg.seed * 1000 + 900
    return [
        random_structure(material, v.atoms, seed=seed),
        random_structure(material, v.replica_atoms, seed=seed + 1),
    ]


def properties_config(cfg: CampaignConfig) -> dict | None:
    """The ``mlmd properties`` mapping of the optional property stages (None: none asked),
    checked strictly: the campaign's ``[properties]`` with the model, the glass and the
    output directory set by the campaign."""
    from mlmd.properties import PropertiesConfig

    if not cfg.properties:
        return None
    for key in ("output", "structure"):
        if key in cfg.properties:
            raise _set_by_campaign(f"properties.{key}")
    if "potential" in cfg.properties.get("md", {}):
        raise _set_by_campaign("properties.md.potential")
    data = {
        **cfg.properties,
        "output": "<output>",
        "md": {**cfg.properties.get("md", {}), "potential": MODEL},
        "structure": {"trajectory": GLASS},
    }
    return to_mapping(from_mapping(PropertiesConfig, data, source="campaign [properties]"))


def _set_by_campaign(key: str):
    from mlmd.errors import ConfigError

    return ConfigError(
        "is set by the campaign (the final model, the production glass, the step directory)",
        file="campaign [properties]",
        field=key,
        fix="leave it out",
    )
