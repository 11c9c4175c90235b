"""Scattering weights of the partial structure factors, for any element.

Faber–Ziman total structure factor: S(Q) = 1 + Σ_ab w_ab(Q) (S_ab(Q) − 1) over unordered
pairs, with

    w_aa = c_a² f_a f_a / ⟨f⟩²,   w_ab = 2 c_a c_b f_a f_b / ⟨f⟩²  (a ≠ b),   ⟨f⟩ = Σ_a c_a f_a,

so the weights sum to 1. The scattering power f_a is

- ``neutron``: the bound coherent scattering length b_a (fm, natural isotopic abundance), a
  constant, from the table ``periodictable`` ships (Sears 1992 with the Rauch 2003 Atominstitut
  evaluation; b_Si = 4.1507, b_O = 5.8037 fm: SiO2 weights Si–Si 0.0694, Si–O 0.3880, O–O
  0.5426), overridable per element (``scattering_lengths_fm``);
- ``xray``: the atomic form factor f_a(Q) of the neutral atom (electrons), Waasmaier & Kirfel,
  Acta Cryst. A51, 416 (1995): five Gaussians in s = Q/4π plus a constant, valid for
  s ≤ 6 Å⁻¹, as ``periodictable.cromermann`` tabulates it for every element (the DABAX file
  ``f0_WaasKirf.dat``); so X-ray weights depend on Q;
- ``number``: f_a = 1 (the Bhatia–Thornton number–number S(Q)), for anonymous ``type<k>``
  kinds that have no element.

An element without data in a requested weighting is an :class:`~mlmd.errors.InputError`
naming it (never a silent unit weight).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mlmd.errors import InputError

WEIGHTINGS = ("neutron", "xray", "number")
SOURCES = {
    "neutron": "bound coherent scattering lengths, Sears (1992) / Rauch (2003), periodictable",
    "xray": "neutral-atom form factors, Waasmaier & Kirfel, Acta Cryst. A51, 416 (1995), "
    "periodictable",
    "number": "unit weights (number–number S(Q))",
}


def is_element(label: str) -> bool:
    from ase.data import atomic_numbers

    return label in atomic_numbers and atomic_numbers[label] > 0


def neutron_lengths_fm(
    labels: list[str], overrides: Mapping[str, float] | None = None
) -> dict[str, float]:
    """b_a in fm of every species (``overrides`` first, then the table)."""
    import periodictable

    out = {}
    for label in labels:
        if overrides and label in overrides:
            out[label] = float(overrides[label])
            continue
        b = None
        if is_element(label):
            neutron = periodictable.elements.symbol(label).neutron
            b = None if neutron is None else neutron.b_c
        if b is None:
            raise InputError(
                f"no coherent neutron scattering length for {label}",
                field="scattering_lengths_fm",
                fix=f"give it (e.g. scattering_lengths_fm = {{ {label} = 5.0 }}), or drop "
                "neutron from sq_weightings",
            )
        out[label] = float(b)
    return out


def xray_form_factors(labels: list[str], q: np.ndarray) -> dict[str, np.ndarray]:
    """f_a(Q) [nq] in electrons for Q [nq] Å⁻¹ of every species."""
    from periodictable import cromermann

    q = np.asarray(q, dtype=float)
    out = {}
    for label in labels:
        try:
            if not is_element(label):
                raise KeyError(label)
            out[label] = np.asarray(cromermann.fxrayatq(label, q), dtype=float)
        except (KeyError, ValueError):
            raise InputError(
                f"no X-ray form factor for {label}",
                field="sq_weightings",
                fix="drop xray from sq_weightings (anonymous types have no element)",
            ) from None
    return out


def faber_ziman_weights(
    counts: Mapping[str, int], power: Mapping[str, float | np.ndarray]
) -> dict[str, float | np.ndarray]:
    """w_ab ("a-b" over unordered pairs in ``counts`` order) for scattering powers f_a
    (constants, or arrays over Q); see the module docstring."""
    labels = list(counts)
    n = sum(counts.values())
    c = {a: counts[a] / n for a in labels}
    mean = sum(c[a] * np.asarray(power[a], dtype=float) for a in labels)
    weights = {}
    for k, a in enumerate(labels):
        for b in labels[k:]:
            factor = 1.0 if a == b else 2.0
            w = factor * c[a] * c[b] * np.asarray(power[a]) * np.asarray(power[b]) / mean**2
            weights[f"{a}-{b}"] = float(w) if np.ndim(w) == 0 else w
    return weights


def weights_for(
    weighting: str,
    counts: Mapping[str, int],
    q: np.ndarray,
    overrides: Mapping[str, float] | None = None,
) -> tuple[dict[str, float | np.ndarray], dict]:
    """The pair weights of ``weighting`` on the Q grid and what they came from (for the
    summary: the lengths in fm, or the form factors at a few Q)."""
    labels = list(counts)
    if weighting == "neutron":
        b = neutron_lengths_fm(labels, overrides)
        weights = faber_ziman_weights(counts, b)
        return weights, {"scattering_lengths_fm": b, "weights": weights}
    if weighting == "xray":
        f = xray_form_factors(labels, q)
        f0 = xray_form_factors(labels, np.array([0.0, 1.5]))
        info = {"form_factor_at_Q0_and_1.5": {a: [float(v) for v in f0[a]] for a in labels}}
        return faber_ziman_weights(counts, f), info
    if weighting == "number":
        weights = faber_ziman_weights(counts, {a: 1.0 for a in labels})
        return weights, {"weights": weights}
    raise InputError(
        f"unknown weighting {weighting!r}", field="sq_weightings", fix=", ".join(WEIGHTINGS)
    )


def weighted_total(
    partials: Mapping[str, np.ndarray], weights: Mapping[str, float | np.ndarray]
) -> np.ndarray:
    """S(Q) = 1 + Σ_ab w_ab (S_ab − 1) over the unordered pairs of ``partials``."""
    keys = list(partials)
    return 1.0 + sum(np.asarray(weights[k]) * (partials[k] - 1.0) for k in keys)
