"""Training configuration: a strict frozen dataclass (TOML ``[train]`` table or mapping).

Loss (per batch, averaged over its frames):

    L = w_energy · ((E − Ê)/N)²  +  w_forces · mean_atoms |F − F̂|²  +  w_stress · |σ − σ̂|²

with E in eV, F in eV/Å, σ in GPa (only frames with a finite reference stress enter the
stress term). Defaults suit SiO2 with a teacher or DFT reference on 2 CPU cores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from mlmd.potential.model import ModelConfig


@dataclass(frozen=True)
class TrainConfig:
    """How to train one ensemble member.

    Attributes:
        model: architecture (``avg_neighbors`` is replaced by the training-set mean).
        seed: base seed; member i uses seed + 1000·i for weights, shuffling and bootstrap.
        split: train/val/test fractions of the ``ok`` frames (``Dataset.split``, seed 0:
            every member sees the same held-out frames).
        split_seed: seed of the split.
        bootstrap: members after the first train on a bootstrap resample of the train set.
        epochs: maximum number of epochs.
        batch_size: frames per optimiser step.
        lr: AdamW learning rate; weight_decay: its decoupled weight decay.
        lr_factor, lr_patience, min_lr: reduce-on-plateau of the validation loss.
        ema_decay: exponential moving average of the weights (0 disables); validation,
            checkpoints' "best" and the final weights use the averaged weights.
        early_stopping_patience: epochs without validation improvement before stopping.
        grad_clip: max global gradient norm.
        w_energy, w_forces, w_stress: loss weights ((eV/atom)⁻², (eV/Å)⁻², GPa⁻²).
        time_budget_s: stop after this many seconds of training (0: no limit). A budget
            makes the result depend on the machine's speed; leave 0 for reproducible runs.
        budget_clock: "wall" (elapsed seconds) or "cpu" (this process's CPU seconds, all
            threads: fair on a shared machine).
        device: "auto" (CUDA when present), "cpu", "cuda", "cuda:1", ...
        init_from: a model directory whose member i starts member i (training continues
            from its weights and normalisation; same architecture and species), or "" for
            a fresh model. Epochs and time budget count from this training's start.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    seed: int = 0
    split: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    split_seed: int = 0
    bootstrap: bool = True
    epochs: int = 100
    batch_size: int = 4
    lr: float = 5e-3
    weight_decay: float = 1e-6
    lr_factor: float = 0.5
    lr_patience: int = 4
    min_lr: float = 1e-5
    ema_decay: float = 0.99
    early_stopping_patience: int = 15
    grad_clip: float = 10.0
    w_energy: float = 10.0
    w_forces: float = 1.0
    w_stress: float = 0.01
    time_budget_s: float = 0.0
    budget_clock: Literal["wall", "cpu"] = "wall"
    device: Literal["auto", "cpu", "cuda"] | str = "auto"
    init_from: str = ""

    def __post_init__(self) -> None:
        for name in _RANGES:
            problem = _range_problem(name, getattr(self, name))
            if problem:
                raise ValueError(problem)
        split = list(self.split)
        if len(split) != 3 or any(not math.isfinite(f) or f < 0 for f in split):
            raise ValueError(f"split = {split}: must be three non-negative fractions")
        if abs(sum(split) - 1.0) > 1e-9 or split[0] <= 0:
            raise ValueError(f"split = {split}: must sum to 1 with a non-empty train part")
        if self.w_energy + self.w_forces + self.w_stress <= 0:
            raise ValueError("w_energy, w_forces and w_stress are all 0: nothing to fit")

    def member_seed(self, member: int) -> int:
        """Seed of ensemble member ``member``."""
        return self.seed + 1000 * member


#: Allowed range of each numeric field: (least, least excluded, upper bound (excluded) or None).
_RANGES: dict[str, tuple[float, bool, float | None]] = {
    "epochs": (1, False, None),
    "batch_size": (1, False, None),
    "lr": (0, True, None),
    "weight_decay": (0, False, None),
    "lr_factor": (0, True, 1),
    "lr_patience": (0, False, None),
    "min_lr": (0, False, None),
    "ema_decay": (0, False, 1),
    "early_stopping_patience": (1, False, None),
    "grad_clip": (0, True, None),
    "w_energy": (0, False, None),
    "w_forces": (0, False, None),
    "w_stress": (0, False, None),
    "time_budget_s": (0, False, None),
}


def _range_problem(name: str, value: float) -> str | None:
    low, open_low, high = _RANGES[name]
    bad = not math.isfinite(value) or value < low or (open_low and value == low)
    if bad or (high is not None and value >= high):
        want = f"{'>' if open_low else '≥'} {low}" + (f" and < {high}" if high is not None else "")
        return f"{name} = {value!r}: must be {want}"
    return None
