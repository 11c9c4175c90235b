"""What a member trains on: its seeded bootstrap of the shared split, only ``ok`` frames."""

import numpy as np
import pytest
import torch

from mlmd.data import Dataset
from mlmd.errors import InputError
from mlmd.train.loop import train_member
from mlmd.train.setup import split_indices

from .conftest import tiny_config


def test_members_differ_by_seed_and_bootstrap(small_dataset):
    ds = Dataset(small_dataset)
    cfg = tiny_config()
    t0, v0, s0 = split_indices(ds, cfg, 0)
    t1, v1, s1 = split_indices(ds, cfg, 1)
    assert np.array_equal(v0, v1) and np.array_equal(s0, s1)  # same held-out frames
    assert len(t1) == len(t0) and set(t1) <= set(t0)
    assert len(set(t1.tolist())) < len(t1)  # a bootstrap resample repeats frames
    assert cfg.member_seed(0) != cfg.member_seed(1)


def test_only_ok_frames_are_used(small_dataset, tmp_path):
    src = Dataset(small_dataset)
    path = tmp_path / "mixed.h5"
    ds = Dataset.create(path, src.reference)
    frames = list(src)
    ds.append(frames[:2] + [f.unlabelled() for f in frames[2:]])
    with pytest.raises(InputError, match="2 frames with status ok"):
        train_member(path, tmp_path / "m", tiny_config())


def test_continued_training_starts_from_the_previous_members_weights(small_dataset, tmp_path):
    from dataclasses import replace

    from mlmd.potential.export import load_member
    from mlmd.train.setup import continued_model

    train_member(small_dataset, tmp_path / "a", tiny_config(), member=1)
    previous = load_member(tmp_path / "a" / "member_1")
    cfg = tiny_config(init_from=str(tmp_path / "a"))
    start = continued_model(cfg, [8, 14], member=1)
    for name, value in previous.state_dict().items():  # weights and normalisation, as saved
        assert torch.equal(start.state_dict()[name], value), name
    metrics = train_member(small_dataset, tmp_path / "b", cfg, member=1)
    assert metrics["epochs"] == 3  # it trains on from there
    trained = load_member(tmp_path / "b" / "member_1")
    assert not torch.equal(trained.weights[0], previous.weights[0])
    assert trained.config.avg_neighbors == previous.config.avg_neighbors
    with pytest.raises(InputError, match="member_0: not a trained model member"):
        continued_model(cfg, [8, 14], member=0)  # that member was never trained
    wider = replace(cfg, model=replace(cfg.model, channels=5))
    with pytest.raises(InputError, match=r"architecture \(channels\)"):
        continued_model(wider, [8, 14], member=1)
    with pytest.raises(InputError, match="species"):
        continued_model(cfg, [8, 14, 11], member=1)


def test_each_pairs_core_sits_just_below_its_shortest_distance_in_the_data(small_dataset, tmp_path):
    from mlmd.data import frame_to_atoms
    from mlmd.potential.export import load_member

    train_member(small_dataset, tmp_path / "m", tiny_config(epochs=1))
    pairs = load_member(tmp_path / "m" / "member_0").config.repulsion_pairs_A
    train, _, _ = split_indices(Dataset(small_dataset), tiny_config(), 0)
    shortest = {}
    for i in train:  # independently: ASE's minimum-image distances
        atoms = frame_to_atoms(Dataset(small_dataset)[int(i)])
        d = atoms.get_all_distances(mic=True)
        z = atoms.numbers
        for a, b in ((8, 8), (8, 14), (14, 14)):
            block = d[np.ix_(z == a, z == b)]
            low = block[block > 0].min()
            shortest[f"{a}-{b}"] = min(low, shortest.get(f"{a}-{b}", low))
    assert sorted(pairs) == ["14-14", "8-14", "8-8"]
    for pair, (inner, outer) in pairs.items():
        assert outer == pytest.approx(shortest[pair] - 0.25, abs=1e-4)
        assert inner == pytest.approx(outer - 0.5, abs=1e-4)


def test_a_continued_models_core_moves_down_to_where_the_data_now_reach(small_dataset, tmp_path):
    from dataclasses import replace

    from mlmd.potential.export import load_member, save_member
    from mlmd.train.setup import data_core_pairs, init_model, load_splits

    cfg = tiny_config(epochs=1)
    train_member(small_dataset, tmp_path / "a", cfg)
    trained = load_member(tmp_path / "a" / "member_0")
    data = dict(trained.config.repulsion_pairs_A)
    # as if an earlier round's data had reached no closer than 0.3 Å beyond today's (O–O),
    # and nearer than today's (Si–O)
    earlier = {**data, "8-8": [r + 0.3 for r in data["8-8"]], "8-14": [0.3, 0.8]}
    older = type(trained)(replace(trained.config, repulsion_pairs_A=earlier))
    older.load_state_dict(trained.state_dict())
    save_member(older, tmp_path / "b" / "member_0")
    splits = load_splits(Dataset(small_dataset), cfg, 0)
    go_on = replace(cfg, init_from=str(tmp_path / "b"))
    model = init_model(go_on, splits, 0, torch.device("cpu"))
    pairs = model.config.repulsion_pairs_A
    assert pairs["8-8"] == data["8-8"]  # moved down to the data
    assert pairs["8-14"] == [0.3, 0.8]  # already below: kept
    assert pairs == {**data_core_pairs(splits.base_train, 0.5, 0.25), "8-14": [0.3, 0.8]}
    for name, value in older.state_dict().items():  # the weights it trains on from
        assert torch.equal(model.state_dict()[name], value), name


@pytest.mark.parametrize(
    "pairs", [{"Si-O": [1.0, 1.5]}, {"14-8": [1.0, 1.5]}, {"8-14": [1.5, 1.0]}]
)
def test_bad_core_pairs_name_the_key(pairs):
    from mlmd.potential.model import BodyOrderPotential, ModelConfig

    with pytest.raises(ValueError, match="repulsion_pairs_A"):
        BodyOrderPotential(ModelConfig(species=[8, 14], repulsion_pairs_A=pairs))
