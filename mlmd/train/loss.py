"""Loss and error metrics of a potential on batches of labelled frames."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import torch

from mlmd.potential import evaluate
from mlmd.potential.contract import edge_gradient_result
from mlmd.train.batch import Batch
from mlmd.train.config import TrainConfig
from mlmd.units import GPA


@dataclass
class Prediction:
    """Model outputs for a batch: energy [S] eV, forces [n, 3] eV/Å, stress [S, 3, 3] GPa,
    and force_std [n] eV/Å for ensembles (else None)."""

    energy: torch.Tensor
    forces: torch.Tensor
    stress: torch.Tensor
    force_std: torch.Tensor | None = None


def predict(model: torch.nn.Module, batch: Batch, *, training: bool) -> Prediction:
    """Energy, forces and stress of ``batch`` (differentiable when ``training``).

    With cached edge terms (see :func:`mlmd.train.batch.with_edge_terms`) the model's
    analytic edge Jacobian replaces autograd through the edge basis: the same numbers, a
    fraction of the cost (the edge basis is constant for fixed positions).
    """
    graph = batch.graph
    if batch.terms is not None and hasattr(model, "energies_and_edge_gradients"):
        energies, g = model.energies_and_edge_gradients(graph, batch.terms, create_graph=training)
        ev = edge_gradient_result(
            graph, graph.edge_vectors(), energies, g, forces=True, virial=True, create_graph=True
        )
        if model.n_members == 1:
            ev = replace(ev, energy_std=None, force_std=None)
    else:
        ev = evaluate(model, graph, forces=True, virial=True, create_graph=training)
    volume = torch.linalg.det(graph.cell).abs().clamp_min(1e-12)
    stress = -ev.virial / volume[:, None, None] / GPA
    return Prediction(ev.energy, ev.forces, stress, ev.force_std)


def loss(pred: Prediction, batch: Batch, cfg: TrainConfig) -> torch.Tensor:
    """Weighted loss (see :mod:`mlmd.train.config`), averaged over the batch's frames."""
    e_term = (((pred.energy - batch.energy) / batch.n_atoms) ** 2).mean()
    f_term = ((pred.forces - batch.forces) ** 2).sum(-1).mean()
    total = cfg.w_energy * e_term + cfg.w_forces * f_term
    has_stress = torch.isfinite(batch.stress).all(dim=(1, 2))
    if cfg.w_stress > 0 and bool(has_stress.any()):
        diff = pred.stress[has_stress] - batch.stress[has_stress]
        total = total + cfg.w_stress * (diff**2).sum((1, 2)).mean()
    return total


class ErrorAccumulator:
    """Collects per-frame errors; :meth:`summary` gives MAE/RMSE and parity data.

    Units: energy per atom eV/atom, forces eV/Å (per component), stress GPa (per
    component, frames with a reference stress only).
    """

    def __init__(self) -> None:
        self.e_ref: list[float] = []
        self.e_pred: list[float] = []
        self.f_ref: list[np.ndarray] = []
        self.f_pred: list[np.ndarray] = []
        self.s_ref: list[np.ndarray] = []
        self.s_pred: list[np.ndarray] = []
        self.max_f_err: list[float] = []
        self.max_f_std: list[float] = []

    def add(self, pred: Prediction, batch: Batch) -> None:
        n = batch.n_atoms.cpu().numpy()
        e_ref = (batch.energy.cpu().numpy() / n).tolist()
        e_pred = (pred.energy.detach().cpu().numpy() / n).tolist()
        self.e_ref += e_ref
        self.e_pred += e_pred
        f_ref = batch.forces.cpu().numpy()
        f_pred = pred.forces.detach().cpu().numpy()
        self.f_ref.append(f_ref)
        self.f_pred.append(f_pred)
        bounds = np.cumsum(np.concatenate([[0], n]))
        err = np.linalg.norm(f_pred - f_ref, axis=1)
        std = None if pred.force_std is None else pred.force_std.detach().cpu().numpy()
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            self.max_f_err.append(float(err[a:b].max()))
            if std is not None:
                self.max_f_std.append(float(std[a:b].max()))
        s_ref = batch.stress.cpu().numpy()
        s_pred = pred.stress.detach().cpu().numpy()
        ok = np.isfinite(s_ref).all(axis=(1, 2))
        self.s_ref.append(s_ref[ok])
        self.s_pred.append(s_pred[ok])

    def summary(self) -> dict[str, float]:
        """MAE and RMSE of energy/atom (eV), forces (eV/Å), stress (GPa); NaN if absent."""
        out: dict[str, float] = {"n_frames": float(len(self.e_ref))}
        pairs: Iterable[tuple[str, np.ndarray, np.ndarray]] = [
            ("energy_per_atom", np.array(self.e_pred), np.array(self.e_ref)),
            ("forces", _cat(self.f_pred), _cat(self.f_ref)),
            ("stress", _cat(self.s_pred), _cat(self.s_ref)),
        ]
        for name, p, r in pairs:
            d = (p - r).ravel()
            out[f"{name}_mae"] = float(np.abs(d).mean()) if d.size else float("nan")
            out[f"{name}_rmse"] = float(np.sqrt((d**2).mean())) if d.size else float("nan")
        return out


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if p.size]
    return np.concatenate(parts) if parts else np.zeros(0)
