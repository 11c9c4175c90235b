"""What one ensemble member trains on and starts from: its part of the split as samples, the
model's species (from the data), and a fresh model with fitted reference energies."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from mlmd.data import Dataset, dataset_species
from mlmd.data.species import symbols
from mlmd.errors import InputError
from mlmd.potential.model import BodyOrderPotential
from mlmd.train.batch import Sample, load_samples
from mlmd.train.config import TrainConfig


@dataclass
class Splits:
    """Samples of the train (bootstrap-resampled), validation and test frames."""

    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    base_train: list[Sample]  # the train split before any bootstrap (shared by members)
    species: list[int]  # the elements of the ok frames

    @property
    def val_or_train(self) -> list[Sample]:
        """What validation runs on: the validation split, or a tenth of the train set."""
        return self.val or self.train[: max(1, len(self.train) // 10)]


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def split_indices(
    dataset: Dataset, cfg: TrainConfig, member: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) frame indices of ``ok`` frames; train is bootstrap-resampled for
    members > 0 when ``cfg.bootstrap``."""
    ok = dataset.select(status="ok")
    if len(ok) < 3:
        raise InputError(
            f"{len(ok)} frames with status ok; training needs at least 3",
            file=str(dataset.path),
            fix="label more frames (mlmd label) before training",
        )
    train, val, test = dataset.split(tuple(cfg.split), seed=cfg.split_seed, indices=ok)
    if cfg.bootstrap and member > 0:
        rng = np.random.default_rng(cfg.member_seed(member))
        train = np.sort(rng.choice(train, size=len(train), replace=True))
    return train, val, test


def model_species(dataset: Dataset, cfg: TrainConfig) -> list[int]:
    """The model's elements: those of the ok frames, or the config's (which must cover them)."""
    present = dataset_species(dataset, dataset.select(status="ok"))
    given = sorted(int(z) for z in cfg.model.species)
    if not given:
        return present
    missing = sorted(set(present) - set(given))
    if missing:
        raise InputError(
            f"the dataset's ok frames hold {', '.join(symbols(missing))} ({missing}), which the "
            f"config's model species {given} lack",
            file=str(dataset.path),
            field="train.model.species",
            fix="leave species out to take them from the data, or add those elements",
        )
    return given


def load_splits(dataset: Dataset, cfg: TrainConfig, member: int) -> Splits:
    """Samples (graphs with labels) of member ``member``'s parts of the split."""
    train_idx, val_idx, test_idx = split_indices(dataset, cfg, member)
    base_idx = split_indices(dataset, cfg, 0)[0]  # the train split before any bootstrap
    unique = np.union1d(train_idx, base_idx)
    cutoff = cfg.model.cutoff_A
    cache = dict(zip(unique.tolist(), load_samples(dataset, unique, cutoff), strict=True))
    return Splits(
        train=[cache[int(i)] for i in train_idx],
        val=load_samples(dataset, val_idx, cutoff),
        test=load_samples(dataset, test_idx, cutoff),
        base_train=[cache[int(i)] for i in base_idx],
        species=model_species(dataset, cfg),
    )


def _fit_reference(samples: list[Sample], species: list[int]) -> tuple[np.ndarray, float, float]:
    """Per-element reference energies by least squares (E ≈ Σ_z n_z e0_z), the RMS force
    (the output scale) and the mean neighbour count."""
    counts = np.array(
        [[int((s.graph.numbers == z).sum()) for z in species] for s in samples], dtype=float
    )
    energy = np.array([float(s.energy) for s in samples])
    e0 = np.linalg.lstsq(counts, energy, rcond=None)[0]
    forces = torch.cat([s.forces for s in samples])
    rms = float(forces.pow(2).mean().sqrt()) or 1.0
    edges = sum(s.graph.edge_index.shape[1] for s in samples)
    atoms = sum(s.n_atoms for s in samples)
    return e0, rms, max(edges / atoms, 1.0)


def data_core_pairs(
    samples: list[Sample], width_A: float, margin_A: float
) -> dict[str, list[float]]:
    """{"Z1-Z2": [outer − width_A, outer]} (Å), outer = r_min − margin_A, for every element
    pair with an edge in ``samples``, r_min its shortest distance there (outer at least
    0.2 Å, inner at least 0.1 Å): frames a little beyond the data stay outside the switch."""
    shortest: dict[tuple[int, int], float] = {}
    for sample in samples:
        g = sample.graph
        r = g.edge_vectors().norm(dim=1)
        zi, zj = g.numbers[g.edge_index[0]], g.numbers[g.edge_index[1]]
        key = torch.minimum(zi, zj) * 1000 + torch.maximum(zi, zj)
        for k in torch.unique(key).tolist():
            low = float(r[key == k].min())
            shortest[divmod(k, 1000)] = min(low, shortest.get(divmod(k, 1000), low))
    outer = {pair: max(r - margin_A, 0.2) for pair, r in shortest.items()}
    return {
        f"{a}-{b}": [round(max(r - width_A, 0.1), 4), round(r, 4)]
        for (a, b), r in sorted(outer.items())
    }


def init_model(
    cfg: TrainConfig, splits: Splits, seed: int, device: torch.device, member: int = 0
) -> BodyOrderPotential:
    """A fresh model of the data's species with fitted reference energies and force scale,
    or member ``member`` of ``cfg.init_from`` (training continues from its weights)."""
    if cfg.init_from:
        model = continued_model(cfg, splits.species, member)
        return _with_data_core(model, cfg, splits.base_train).to(device)
    e0, rms, _ = _fit_reference(splits.train, splits.species)
    # The neighbour normalisation is architecture, shared by all members so they stack:
    # take it from the train split itself, not this member's bootstrap resample.
    _, _, avg_nb = _fit_reference(splits.base_train, splits.species)
    model_cfg = replace(
        cfg.model, species=splits.species, n_members=1, avg_neighbors=round(avg_nb, 3)
    )
    model = _with_data_core(BodyOrderPotential(model_cfg, seed=seed), cfg, splits.base_train)
    model = model.to(device)
    with torch.no_grad():
        model.e0.copy_(torch.as_tensor(e0)[None])
        model.scale.fill_(rms)
    return model


def _with_data_core(
    model: BodyOrderPotential, cfg: TrainConfig, samples: list[Sample]
) -> BodyOrderPotential:
    """``model`` with the core of ``samples`` (the shared train split, so all members agree;
    see :func:`data_core_pairs`), when ``core_from_data``. A model with a core already (one
    that training continues) keeps each pair's switch unless the data now reach closer:
    a core only moves down. The config's own ``repulsion_pairs_A`` win."""
    c = model.config
    if not (c.core_repulsion and c.core_from_data):
        return model
    pairs = dict(c.repulsion_pairs_A)
    for pair, radii in data_core_pairs(samples, c.core_width_A, c.core_margin_A).items():
        if pair not in pairs or radii[1] < pairs[pair][1]:
            pairs[pair] = radii
    pairs.update(cfg.model.repulsion_pairs_A)
    if pairs == c.repulsion_pairs_A:
        return model
    cored = BodyOrderPotential(replace(c, repulsion_pairs_A=pairs))
    cored.load_state_dict(model.state_dict())  # the core tables are not in the state
    return cored.train(model.training)


def continued_model(cfg: TrainConfig, species: list[int], member: int) -> BodyOrderPotential:
    """Member ``member`` of the model directory ``cfg.init_from``, to train on: its weights,
    reference energies, force scale and neighbour normalisation (part of the function it
    learned), after checking it is the architecture ``cfg.model`` asks for, of these species.

    Raises:
        InputError: no such member, another architecture, or other species.
    """
    from mlmd.potential.export import load_member

    directory = Path(cfg.init_from) / f"member_{member}"
    model = load_member(directory)
    learned = ("species", "avg_neighbors", "n_members", "repulsion_pairs_A")
    have = {k: v for k, v in asdict(model.config).items() if k not in learned}
    want = {k: v for k, v in asdict(cfg.model).items() if k not in learned}
    differ = sorted(k for k in want if have.get(k) != want[k])
    if differ or list(model.species) != list(species):
        what = f"architecture ({', '.join(differ)})" if differ else f"species {model.species}"
        raise InputError(
            f"cannot continue training from a model of another {what}",
            file=str(directory),
            field="train.init_from",
            fix="train from scratch (init_from = ''), or keep the architecture and species",
        )
    return model.train()
