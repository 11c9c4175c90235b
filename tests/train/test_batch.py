"""Batches with cached edge terms predict what plain batches do (values and gradients)."""

import torch

from mlmd.data import Dataset

from .conftest import tiny_config


def test_cached_edge_terms_give_the_same_predictions(small_dataset):
    from mlmd.potential.model import BodyOrderPotential
    from mlmd.train.batch import collate, load_samples, with_edge_terms
    from mlmd.train.loss import predict

    cfg = tiny_config()
    samples = load_samples(Dataset(small_dataset), [0, 1, 2], cfg.model.cutoff_A)
    model = BodyOrderPotential(cfg.model, seed=1)
    plain = predict(model, collate(samples), training=True)
    cached = predict(model, collate(with_edge_terms(samples, model)), training=True)
    for a, b in [(plain.energy, cached.energy), (plain.forces, cached.forces),
                 (plain.stress, cached.stress)]:  # fmt: skip
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    grads = [torch.autograd.grad(p.forces.square().sum(), model.mix[0])[0] for p in (plain, cached)]
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-12)
