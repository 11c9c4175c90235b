"""Which MD runs a validation needs, planned once so that everyone who runs or reads them
agrees: ``mlmd validate`` (one process, :func:`mlmd.validate.validate`) and a campaign,
which runs each planned :class:`~mlmd.validate.runs.Run` as its own task
(:func:`~mlmd.validate.runs.execute`) and then analyses them all in one more
(:func:`mlmd.validate.validate` given the plan's ``runs``).

The plan is a pure function of the :class:`ValidateConfig`, the model (its spec and
files), the reference and the output directory: part (b)'s runs
(``OUT/<state>/<role>-<digest>``, :func:`~mlmd.validate.runs.plan_runs`) and, when part (a)
labels frames of small-cell replicas (a reference that runs out of process: DFT), the
model's replica (``OUT/replica/model-<digest>``). The digest hashes what the run is, so a
campaign plans them into one directory shared by all its validations: a reference's runs
serve every model validated against it with the same settings.
"""

from __future__ import annotations

from pathlib import Path

from mlmd.errors import InputError
from mlmd.validate.config import ValidateConfig
from mlmd.validate.runs import Run, md_engine, plan_runs, replica_run

PARTS = ("a", "b")


def check_parts(parts: tuple[str, ...], cfg: ValidateConfig) -> tuple[str, ...]:
    """The parts to do (``a`` only when ``[aposteriori]`` is enabled); InputError for an
    unknown part or none."""
    bad = [p for p in parts if p not in PARTS] or ([] if parts else ["(none)"])
    if bad:
        raise InputError(f"unknown part {bad[0]!r}", field="--parts", fix="use a, b or a,b")
    return tuple(p for p in parts if p != "a" or cfg.aposteriori.enabled)


def frames_from(cfg: ValidateConfig, ref) -> str:
    """Where part (a) takes frames: ``trajectories`` or ``replicas`` (auto: by reference)."""
    mode = cfg.aposteriori.frames_from
    if mode == "auto":
        return "trajectories" if getattr(ref, "in_process", False) else "replicas"
    return mode


def plan_validation(
    model: str | Path,
    reference: str,
    out_dir: str | Path,
    *,
    config: ValidateConfig | None = None,
    reference_config=None,
    parts: tuple[str, ...] = PARTS,
) -> list[Run]:
    """Every MD run ``validate(model, reference, out_dir, ...)`` needs, in the order it runs
    them, with their start structures written under ``out_dir``.

    Args: as :func:`mlmd.validate.validate`'s (``reference`` a name, ``reference_config``
        its settings).

    Raises:
        InputError: an unknown part; part (b) with a reference that cannot run MD.
    """
    cfg, parts, ref = checked_inputs(reference, config, reference_config, parts)
    out = Path(out_dir)
    return planned_runs(cfg, model=str(model), name=reference, ref=ref, out=out, parts=parts)


def checked_inputs(
    reference: str, config: ValidateConfig | None, reference_config, parts: tuple[str, ...]
) -> tuple[ValidateConfig, tuple[str, ...], object]:
    """(the config, the parts to do, the built reference) before anything runs.

    Raises:
        InputError: an unknown part; part (b) with a reference that cannot run MD; bad
            reference settings.
    """
    from mlmd.reference import get_reference

    cfg = config or ValidateConfig()
    parts = check_parts(tuple(parts), cfg)
    if "b" in parts:
        md_engine(reference)
    return cfg, parts, get_reference(reference, config=reference_config)


def planned_runs(
    cfg: ValidateConfig, *, model: str, name: str, ref, out: Path, parts: tuple[str, ...]
) -> list[Run]:
    """The plan of :func:`plan_validation` for a built reference ``ref`` named ``name``."""
    runs = []
    if "b" in parts:
        runs = plan_runs(cfg, model, name, ref, out)
    if "a" in parts and frames_from(cfg, ref) == "replicas":
        runs.append(replica_run(cfg, model, out))
    return runs
