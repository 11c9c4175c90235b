"""A-posteriori errors: reference single points on frames production MD visits, per phase.

:func:`aposteriori_errors` draws ``frames_per_phase`` frames from each phase window
(:mod:`mlmd.validate.phases`) of each trajectory, labels them with the reference through
:func:`mlmd.reference.label_dataset` (resumable; failed frames become statuses and are left
out), and evaluates the model on the labelled frames (:func:`mlmd.train.metrics.errors_on`):
per phase the force and energy RMSE, the ensemble spread on the same frames, how well it
ranks the bad frames (Spearman ρ between per-frame max force spread and max force error) and
its scale (calibration = mean max spread / mean max error; 1 is calibrated, < 1
over-confident), and pass/fail against the target errors. The campaign's active learning
calls it each round as its stopping rule: ``summary["pass"]``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from mlmd import units
from mlmd.analysis.reader import open_trajectory
from mlmd.analysis.window import stored_run_config
from mlmd.data import Dataset, Frame, write_frames
from mlmd.errors import InputError
from mlmd.validate import plots
from mlmd.validate.config import PHASES, APosterioriSpec
from mlmd.validate.phases import frames_in, in_window, phase_windows, quench_window
from mlmd.validate.verdict import Row, failed_check

#: The verdict row of a phase whose every frame the reference refused.
UNLABELLED_CHECK = "the reference labels the production frames"
#: The verdict row of a phase whose window no trajectory reached (every run ended before).
UNREACHED_CHECK = "a run reaches the phase"


def check_trajectories(trajectories: list[Path], spec: APosterioriSpec) -> None:
    """Raise the :class:`InputError` :func:`sample_frames` would (no run config, a phase
    window without frames) before anything is computed or written."""
    for path in trajectories:
        with open_trajectory(path) as reader:
            _picks(reader, spec)


def sample_frames(
    trajectories: list[Path], spec: APosterioriSpec, windows: dict | None = None
) -> dict[str, list[Frame]]:
    """Frames per phase, evenly spaced in each trajectory's phase windows (recorded per
    trajectory into ``windows``: the phase windows in ps, the T_g they used and the phases
    it ``not_reached``: a run that ended before a window did, e.g. an exploration its spread
    stopped, gives the windows it reached).

    Raises:
        InputError: a trajectory ran past a phase window that holds none of its frames; no
            phase at all.
    """
    out: dict[str, list[Frame]] = {}
    used_by: dict[str, dict] = {}
    for path in trajectories:
        with open_trajectory(path) as reader:
            picks, used_by[str(path)] = _picks(reader, spec)
            if not picks:
                continue
            for snap in reader.frames(slice(0, max(picks) + 1)):
                phase = picks.get(snap.index)
                if phase is not None:
                    frame = Frame(reader.numbers, snap.positions, snap.cell, snap.pbc)
                    source = f"{path}:{phase}:step {snap.step}"
                    out.setdefault(phase, []).append(replace(frame, source=source))
    if windows is not None:
        windows.update(used_by)
    if not out:
        stopped = [path for path, used in used_by.items() if used["stopped_early"]]
        raise InputError(
            "no liquid, supercooled or glass phase in the trajectories' schedules"
            + (f" ({len(stopped)} of the runs stopped before their windows)" if stopped else ""),
            file=stopped[0] if stopped else None,
            field="--trajectory",
            fix="give production runs (melt hold, quench, anneal) that reached their windows",
        )
    return {p: out[p] for p in PHASES if p in out}


def _picks(reader, spec: APosterioriSpec) -> tuple[dict[int, str], dict]:
    """Frame index → the phase it is drawn for (a window the run went past must hold a frame;
    a frame on the boundary of two windows is the earlier phase's), and the windows, the T_g
    used and the phases the run ended before."""
    config = stored_run_config(reader, "the a-posteriori phase windows")
    steps, times_fs = reader.frame_times()
    times_ps = times_fs / 1e3
    early = stopped_early(steps, config)
    tg = {"tg_K": spec.glass_transition_K, "source": "configured"}
    if tg["tg_K"] is None:
        tg = {**quench_glass_transition(reader, config), "source": "enthalpy kink of the quench"}
    if tg.get("tg_K") is None:
        tg["source"] = "middle of the quench's temperature range (no resolved kink)"
    windows = phase_windows(config, tg.get("tg_K"))
    if quench_window(config) is None and spec.glass_transition_K is None and windows:
        windows, tg = _one_temperature_phase(reader, times_ps, windows, spec.liquid_msd_A2, early)
    picks: dict[int, str] = {}
    claimed = np.zeros(len(times_ps), dtype=bool)
    not_reached = []
    for phase, window in windows.items():  # in the schedule's order (phase_windows)
        picked = frames_in(times_ps, window, spec.frames_per_phase, claimed)
        claimed |= in_window(times_ps, window)
        if len(picked) == 0 and early and (len(times_ps) == 0 or times_ps[-1] < window[1]):
            not_reached.append(phase)
        elif len(picked) == 0:
            raise InputError(
                f"the {phase} window {window[0]:g}–{window[1]:g} ps holds no frame",
                file=str(reader.path),
                field=f"{phase} window",
                fix="write trajectory frames more often (output.trajectory_every)",
            )
        picks.update((int(k), phase) for k in picked)
    return picks, {
        "windows_ps": windows,
        "glass_transition": tg,
        "not_reached": not_reached,
        "stopped_early": early,
    }


def stopped_early(frame_steps: np.ndarray, config: dict) -> bool:
    """Did the run end before its configured ``steps`` (e.g. an exploration its spread
    stopped)? Its last frame lies more than one frame interval before them (a run that
    completed writes a frame at least every interval)."""
    if len(frame_steps) < 2:
        return len(frame_steps) == 0 or int(frame_steps[-1]) < int(config.get("steps", 0))
    interval = int(np.max(np.diff(frame_steps)))
    return int(frame_steps[-1]) + interval < int(config.get("steps", 0))


def _one_temperature_phase(reader, times_ps, windows: dict, threshold_A2: float, early: bool):
    """A run held at one temperature, with no T_g given: liquid when its atoms move more than
    ``threshold_A2`` (mean squared displacement over the window), else glass; no phase when
    the run stopped ``early``, before its window."""
    from mlmd.analysis.dynamics import Unwrapper

    (window,) = windows.values()
    inside = np.flatnonzero(in_window(times_ps, window))
    if inside.size == 0 and early:
        return {}, {"tg_K": None, "source": "one temperature: the run stopped before its window"}
    if inside.size == 0:
        raise InputError(
            f"the window {window[0]:g}–{window[1]:g} ps holds no frame",
            file=str(reader.path),
            field="one-temperature window",
            fix="give a run that reached its window (or write frames more often)",
        )
    unwrap, ends = Unwrapper(reader.masses), []
    for snap in reader.frames(slice(int(inside[0]), int(inside[-1]) + 1)):
        r = unwrap(snap.positions, snap.cell, snap.image)
        ends = [r] if not ends else [ends[0], r]
    msd = float(np.mean(np.sum((ends[-1] - ends[0]) ** 2, axis=1)))
    phase = "liquid" if msd > threshold_A2 else "glass"
    source = f"one temperature: MSD {msd:.3g} Å² over the window vs {threshold_A2:g} Å²"
    return {phase: window}, {"tg_K": None, "source": source}


def quench_glass_transition(reader, config: dict) -> dict:
    """T_g of a trajectory's quench from the kink of its enthalpy per atom (E_pot + PV)
    against the measured temperature (:func:`mlmd.properties.glass_transition`):
    ``{"tg_K", "tg_err_K"}`` when the kink is resolved, else ``{"reason"}``."""
    from mlmd.properties.glass_transition import glass_transition

    window = quench_window(config)
    obs = reader.observables()
    if window is None or not {"temperature", "potential_energy"} <= set(obs):
        return {"reason": "no quench with temperature and potential energy samples"}
    t_ps = obs["temperature"].time_fs / 1e3
    inside = (t_ps >= window[0]) & (t_ps <= window[1])
    aligned = [k for k in ("potential_energy", "pressure", "volume") if k in obs]
    aligned = [k for k in aligned if np.array_equal(obs[k].step, obs["temperature"].step)]
    if "potential_energy" not in aligned:
        return {"reason": "potential energy and temperature are sampled at different steps"}
    h = obs["potential_energy"].value[inside]
    if {"pressure", "volume"} <= set(aligned):
        h = h + obs["pressure"].value[inside] * obs["volume"].value[inside] * units.GPA
    try:
        fit = glass_transition(obs["temperature"].value[inside], h / reader.n_atoms)
    except InputError as exc:
        return {"reason": str(exc)}
    if not fit.resolved:
        return {"reason": fit.reason}
    return {"tg_K": fit.tg_K, "tg_err_K": fit.tg_err_K}


def test_set_errors(model: str | Path) -> dict | None:
    """Member-mean test-set errors of a model directory (``metrics.json``), else None."""
    files = sorted(Path(model).glob("member_*/metrics.json")) if Path(model).is_dir() else []
    tests = [json.loads(f.read_text()).get("test", {}) for f in files]
    if not tests:
        return None
    keys = ("forces_rmse", "energy_per_atom_rmse")
    return {k: float(np.nanmean([t.get(k, np.nan) for t in tests])) for k in keys}


def aposteriori_errors(
    model: str | Path,
    reference,
    trajectories: list[Path],
    out_dir: Path,
    spec: APosterioriSpec,
    *,
    device: str = "cpu",
    progress: bool = False,
    plot_parity: bool = True,
) -> dict:
    """Per-phase errors of ``model`` against ``reference`` on frames of ``trajectories``.

    Args:
        model: a potential spec (model directory, export, registered name).
        reference: a :class:`mlmd.reference.Reference` (its labels are the truth).
        out_dir: ``frames.h5`` (unlabelled), ``labelled.h5`` and the workdir go here.

    Returns:
        ``{"pass", "phases": {phase: {...errors, spread, targets, pass}}, "unlabelled":
        {phase: why}, "test_set", "datasets"}``; per phase ``n_frames``,
        ``force_rmse_eV_A``, ``energy_rmse_meV_atom``, ``spread_max_mean_eV_A``,
        ``spearman``, ``calibration``. A phase whose every frame the reference refused (e.g.
        as unphysical) is in ``unlabelled``, not ``phases``, and fails ``pass``; so does one
        that every trajectory ended before (``unreached``, :func:`unreached_phases`); when
        no phase is labelled, ``reason`` says why.
    """
    from mlmd.potential import load_potential
    from mlmd.reference import label_dataset
    from mlmd.train.metrics import errors_on

    out_dir.mkdir(parents=True, exist_ok=True)
    windows: dict = {}
    by_phase = sample_frames(trajectories, spec, windows)
    unreached = unreached_phases(windows, by_phase)
    frames_path, labelled = out_dir / "frames.h5", out_dir / "labelled.h5"
    write_frames(
        frames_path, {"name": "none"}, [f for fs in by_phase.values() for f in fs], overwrite=True
    )
    label_dataset(frames_path, labelled, reference, progress=progress)
    potential = load_potential(model, device)
    data = Dataset(labelled)
    phases, accumulators, unlabelled = {}, {}, {}
    for phase, frames in by_phase.items():
        indices = data.select(status="ok", keys=[f.key for f in frames])
        if not indices:  # e.g. a model whose MD put atoms on top of each other
            unlabelled[phase] = (
                f"every {phase} frame ({len(frames)}) failed its reference calculation "
                f"(statuses in {labelled}; see the labelling log)"
            )
            continue
        errors, acc = errors_on(potential, labelled, indices, device=device)
        phases[phase] = _phase_summary(phase, errors, acc, len(frames), spec)
        accumulators[phase] = acc
    plot = plots.plot_parity(accumulators, out_dir / "parity.png") if plot_parity else None
    summary = {
        "pass": not unlabelled and not unreached and all(p["pass"] for p in phases.values()),
        "phases": phases,
        "unlabelled": unlabelled,
        "unreached": unreached,
        "test_set": test_set_errors(model),
        "windows": windows,
        "datasets": {"frames": str(frames_path), "labelled": str(labelled)},
        "plots": [] if plot is None else [str(plot)],
    }
    if not phases:
        summary["reason"] = "; ".join([*unreached.values(), *unlabelled.values()])
    return summary


def unreached_phases(windows: dict, by_phase: dict) -> dict[str, str]:
    """{phase: why} for the phases of the trajectories' schedules (``windows`` as
    :func:`sample_frames` records them) that none of them reached."""
    out = {}
    for phase in PHASES:
        missed = [path for path, w in windows.items() if phase in w.get("not_reached", ())]
        if phase not in by_phase and missed:
            out[phase] = f"every run ended before its {phase} window ({len(missed)} of them)"
    return out


def _phase_summary(phase: str, errors: dict, acc, n_drawn: int, spec: APosterioriSpec) -> dict:
    std, err = np.array(acc.max_f_std), np.array(acc.max_f_err)
    f_target = spec.force_rmse_eV_A.get(phase)
    e_target = spec.energy_rmse_meV_atom.get(phase)
    f_rmse = errors["forces_rmse"]
    e_rmse = 1e3 * errors["energy_per_atom_rmse"]
    ok = (f_target is None or f_rmse <= f_target) and (e_target is None or e_rmse <= e_target)
    return {
        "n_frames": int(errors["n_frames"]),
        "n_failed_labels": n_drawn - int(errors["n_frames"]),
        "force_rmse_eV_A": f_rmse,
        "force_mae_eV_A": errors["forces_mae"],
        "energy_rmse_meV_atom": e_rmse,
        "max_force_error_mean_eV_A": float(err.mean()),
        "spread_max_mean_eV_A": float(std.mean()) if len(std) else None,
        "spearman": errors.get("spearman_max_std_vs_max_error"),
        "calibration": float(std.mean() / err.mean()) if len(std) and err.mean() > 0 else None,
        "target_force_rmse_eV_A": f_target,
        "target_energy_rmse_meV_atom": e_target,
        "pass": bool(ok),
    }


def aposteriori_rows(summary: dict) -> list[Row]:
    """Verdict rows per phase: force and energy RMSE against their targets; for a phase no
    run reached, or the reference refused to label, one failed row (:data:`UNREACHED_CHECK`,
    :data:`UNLABELLED_CHECK`)."""
    rows: list[Row] = []
    unlabelled, unreached = summary.get("unlabelled", {}), summary.get("unreached", {})
    for phase in PHASES:
        if phase in unreached:
            rows.append(failed_check(f"a-posteriori {phase}", UNREACHED_CHECK, unreached[phase]))
        elif phase in unlabelled:
            rows.append(failed_check(f"a-posteriori {phase}", UNLABELLED_CHECK, unlabelled[phase]))
        elif phase in summary["phases"]:
            rows += _error_rows(phase, summary["phases"][phase])
    return rows


def _error_rows(phase: str, p: dict) -> list[Row]:
    rows = []
    for name, key, target, unit in (
        ("force RMSE", "force_rmse_eV_A", "target_force_rmse_eV_A", "eV/Å"),
        ("energy RMSE", "energy_rmse_meV_atom", "target_energy_rmse_meV_atom", "meV/atom"),
    ):
        if p.get(target) is None:
            continue
        v, t = p[key], p[target]
        title = f"{name} ({p['n_frames']} frames)"
        rows.append(Row(f"a-posteriori {phase}", title, unit, v, t, v <= t, f"≤ {t:g} {unit}", v))
    return rows
