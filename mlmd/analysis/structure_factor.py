"""Partial structure factors S_ab(Q) (Faber–Ziman) by two independent routes, and their
weighted totals (neutron, X-ray: :mod:`mlmd.analysis.scattering`).

1. From the partial g_ab(r) (:func:`sq_from_rdf`):
   S_ab(Q) = 1 + 4πρ ∫₀^{r_max} r² (g_ab(r) − 1) sin(Qr)/(Qr) M(r) dr, with ρ the total number
   density and M(r) = sin(πr/r_max)/(πr/r_max) the optional Lorch window (M = 1 without).
2. Directly from the positions over the reciprocal lattice vectors Q of the cell
   (:class:`DirectSq`): with ρ_a(Q) = Σ_{j∈a} e^{iQ·r_j} the amplitude of species a,
   S_ab(Q) = 1 + Re(ρ_a ρ_b*) / (N c_a c_b) − δ_ab / c_a, averaged in shells of |Q|; the
   weighted total 1 + Σ w_ab (S_ab − 1) is then exactly (|Σ_j f_j e^{iQ·r_j}|²/N − ⟨f²⟩)/⟨f⟩²
   + 1. No truncation in r, so it is the reference for the first sharp diffraction peak (the
   Lorch window lowers it by ~20 % for r_max ≤ 10 Å). Cost ∝ N × (number of vectors), the same
   for all species together as for one: e^{iQ·r} factorises over the three reciprocal axes, so
   the sum is one complex matrix product per plane of vectors and species (≈0.5 ns per
   atom-vector here, ~50× faster than evaluating exponentials), in torch on the chosen device,
   with ``threads`` CPU threads if given (on a shared, oversubscribed machine one thread was
   10–40× faster than two here). X-ray weights are evaluated at each shell's mean |Q|.
   When N × vectors × frames exceeds ``max_work``, a reciprocal sublattice of stride m (every
   m-th vector along each axis; still exact vectors of the cell) is used and reported. For a
   glass that only thins the shells; a crystal's Bragg reflections off the sublattice are
   missed, so analyse crystals with stride 1 (a larger ``max_work`` or a smaller q_max).

Both agree for a large disordered cell away from the low-Q limit (tests/analysis).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import torch

from mlmd.analysis.rdf import Rdf, smooth
from mlmd.analysis.scattering import weighted_total, weights_for


@dataclasses.dataclass(frozen=True)
class StructureFactor:
    """Partial S_ab(Q) on ``q`` [nq] Å⁻¹: ``partials`` {"Si-O": [nq]} over unordered pairs,
    ``counts`` atoms per species, ``n_vectors`` [nq] vectors per shell (route 2 only)."""

    q: np.ndarray
    partials: dict[str, np.ndarray]
    counts: dict[str, int]
    n_vectors: np.ndarray | None = None
    info: dict = dataclasses.field(default_factory=dict)

    def total(
        self, weighting: str = "neutron", lengths_fm: Mapping[str, float] | None = None
    ) -> tuple[np.ndarray, dict]:
        """The ``weighting``-weighted total S(Q) [nq] and what the weights came from."""
        weights, info = weights_for(weighting, self.counts, self.q, lengths_fm)
        return weighted_total(self.partials, weights), info


def sq_from_rdf(rdf: Rdf, q: np.ndarray, *, lorch: bool = False) -> StructureFactor:
    """Route 1: Fourier transform of the partial g(r) (midpoint rule over the bins)."""
    q = np.asarray(q, dtype=float)
    r, dr = rdf.r, np.diff(rdf.edges)
    window = np.sinc(r / rdf.edges[-1]) if lorch else np.ones_like(r)  # np.sinc(x)=sin(πx)/πx
    kernel = np.sinc(np.outer(q, r) / np.pi) * (4 * np.pi * rdf.density_A3 * r**2 * dr * window)
    return StructureFactor(
        q=q,
        partials={key: 1.0 + kernel @ (g - 1.0) for key, g in rdf.partials.items()},
        counts=dict(rdf.counts),
        info={"route": "g(r)", "lorch": lorch, "r_max_A": float(rdf.edges[-1])},
    )


class DirectSq:
    """Route 2 accumulator: ``add`` frames, then ``result`` (partials by species pair).

    Args:
        labels: species labels, ``kind`` [N] index into them.
        q_max_A: largest |Q| in Å⁻¹; ``dq_A``: shell width in Å⁻¹.
        n_frames: how many frames will be added (for the work budget).
        max_work: cap on N × vectors × frames (default 1e10 ≈ 5 s on 2 cores here).
        device: torch device for the sums (``"cuda"`` where present).
        threads: torch CPU threads for the sums (None: torch's setting).
    """

    def __init__(
        self,
        labels: list[str],
        kind: np.ndarray,
        *,
        q_max_A: float = 10.0,
        dq_A: float = 0.05,
        n_frames: int = 1,
        max_work: float = 1e10,
        device: str | torch.device = "cpu",
        threads: int | None = None,
    ):
        self.labels, self.kind = list(labels), np.asarray(kind)
        self.n = len(self.kind)
        counts = np.bincount(self.kind, minlength=len(self.labels))
        self.counts = {label: int(c) for label, c in zip(self.labels, counts, strict=True)}
        self.conc = counts / self.n
        self.pairs = [(a, b) for a in range(len(labels)) for b in range(a, len(labels))]
        self.q_max, self.dq = float(q_max_A), float(dq_A)
        self.n_frames_planned = max(1, int(n_frames))
        self.max_work = float(max_work)
        self.device = torch.device(device)
        self.threads = threads
        n_shells = int(math.ceil(self.q_max / self.dq))
        self._sum_s = np.zeros((len(self.pairs), n_shells))
        self._sum_q = np.zeros(n_shells)
        self._count = np.zeros(n_shells, dtype=np.int64)
        self.stride: int | None = None
        self.n_frames = 0
        self._cached_cell, self._cached_h = b"", np.zeros((0, 3), dtype=np.int64)

    def _vectors(self, cell: np.ndarray, stride: int) -> np.ndarray:
        """Integer h [K,3] (multiples of ``stride``) of one half-space with 0 < |Q| ≤ q_max."""
        recip = 2 * np.pi * np.linalg.inv(cell).T  # rows: reciprocal basis, Q = h @ recip
        widths = 2 * np.pi / np.linalg.norm(recip, axis=1)  # lattice plane spacings
        n = [int(math.floor(self.q_max * w / (2 * np.pi) / stride)) for w in widths]
        axes = [np.arange(-k, k + 1) * stride for k in n]
        h = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        half = (h[:, 2] > 0) | ((h[:, 2] == 0) & ((h[:, 1] > 0) | ((h[:, 1] == 0) & (h[:, 0] > 0))))
        h = h[half]
        q = np.linalg.norm(h @ recip, axis=1)
        return h[(q <= self.q_max) & (q > 0)]

    def _choose_stride(self, cell: np.ndarray) -> int:
        """Smallest sublattice stride m whose ≈ (2π/3) q_max³ V / ((2π)³ m³) vectors fit the
        work budget (never fewer than ~2000 vectors)."""
        volume = abs(np.linalg.det(cell))
        n_vec = 2 * np.pi / 3 * self.q_max**3 * volume / (2 * np.pi) ** 3
        stride = 1
        while (
            self.n * n_vec / stride**3 * self.n_frames_planned > self.max_work
            and n_vec / (stride + 1) ** 3 >= 2000
        ):
            stride += 1
        return stride

    def add(self, positions: np.ndarray, cell: np.ndarray) -> None:
        """Add one frame: positions [N,3] Å, cell [3,3] Å."""
        cell = np.asarray(cell, dtype=float)
        if self.stride is None:
            self.stride = self._choose_stride(cell)
        key = cell.tobytes()
        if key != self._cached_cell:  # NVT: one enumeration for all frames
            self._cached_cell, self._cached_h = key, self._vectors(cell, self.stride)
        h = self._cached_h
        # exp(2πi (m k)·s) = exp(2πi k·(m s)): tables over k = h/m only, not every integer
        m = self.stride
        with torch_threads(self.threads):
            rho = species_amplitudes(
                np.asarray(positions) * m,
                cell,
                h // m,
                self.kind,
                len(self.labels),
                device=self.device,
            )
        q = np.linalg.norm(h @ (2 * np.pi * np.linalg.inv(cell).T), axis=1)
        n_shells = len(self._sum_q)
        shell = np.minimum((q / self.dq).astype(np.int64), n_shells - 1)
        for p, (a, b) in enumerate(self.pairs):
            cross = (rho[a] * rho[b].conj()).real / (self.n * self.conc[a] * self.conc[b])
            s = 1.0 + cross - (1.0 / self.conc[a] if a == b else 0.0)
            self._sum_s[p] += np.bincount(shell, weights=s, minlength=n_shells)
        self._sum_q += np.bincount(shell, weights=q, minlength=n_shells)
        self._count += np.bincount(shell, minlength=n_shells)
        self.n_frames += 1

    def result(self) -> StructureFactor:
        filled = self._count > 0
        count = self._count[filled]
        return StructureFactor(
            q=self._sum_q[filled] / count,
            partials={
                f"{self.labels[a]}-{self.labels[b]}": self._sum_s[p][filled] / count
                for p, (a, b) in enumerate(self.pairs)
            },
            counts=dict(self.counts),
            n_vectors=count // max(self.n_frames, 1),
            info={
                "route": "direct",
                "n_frames": self.n_frames,
                "q_max_A": self.q_max,
                "dq_A": self.dq,
                "sublattice_stride": self.stride,
            },
        )


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run a block with ``n`` torch CPU threads (None: leave the setting alone)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def species_amplitudes(
    positions: np.ndarray,
    cell: np.ndarray,
    h: np.ndarray,
    kind: np.ndarray,
    n_species: int,
    *,
    device: torch.device,
) -> np.ndarray:
    """ρ_a(h) = Σ_{j∈a} exp(2πi h·s_j) [S, K] for integer vectors h [K,3] and each species a;
    s = fractional coordinates.

    exp(2πi h·s) = E1[h1] E2[h2] E3[h3] with per-axis tables E_d[k, j] = exp(2πi k s_jd); for
    each h1 and species the (h2, h3) block is one complex matrix product over its atoms (the
    atoms sorted by species, so each species is a contiguous slice).
    """
    order = np.argsort(kind, kind="stable")
    bounds = np.searchsorted(kind[order], np.arange(n_species + 1))
    frac = np.asarray(positions, dtype=float)[order] @ np.linalg.inv(cell)
    frac = torch.as_tensor(frac, device=device)
    lo, hi = h.min(axis=0), h.max(axis=0)
    tables = []
    for d in range(3):
        k = torch.arange(int(lo[d]), int(hi[d]) + 1, dtype=torch.float64, device=device)
        phase = 2 * math.pi * torch.outer(k, frac[:, d])
        tables.append(torch.polar(torch.ones_like(phase), phase))
    e3t = tables[2].T.contiguous()  # [N, n3]
    out = torch.empty((n_species, len(h)), dtype=torch.complex128, device=device)
    by_h1 = np.argsort(h[:, 0], kind="stable")
    h_sorted = h[by_h1]
    starts = np.flatnonzero(np.r_[True, np.diff(h_sorted[:, 0]) != 0])
    for a, z in zip(starts, np.r_[starts[1:], len(h_sorted)], strict=True):
        block = h_sorted[a:z]
        i2, i3 = block[:, 1] - lo[1], block[:, 2] - lo[2]
        a2, a3 = int(i2.min()), int(i3.min())
        rows = torch.as_tensor(i2 - a2, device=device)
        cols = torch.as_tensor(i3 - a3, device=device)
        target = torch.as_tensor(by_h1[a:z], device=device)
        e1 = tables[0][int(block[0, 0] - lo[0])]
        for sp in range(n_species):
            j0, j1 = int(bounds[sp]), int(bounds[sp + 1])
            left = tables[1][a2 : int(i2.max()) + 1, j0:j1] * e1[j0:j1]
            prod = left @ e3t[j0:j1, a3 : int(i3.max()) + 1]  # [n2, n3] block of ρ_a
            out[sp, target] = prod[rows, cols]
    return out.cpu().numpy()


def first_sharp_peak(
    q: np.ndarray,
    s: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    q_min: float = 0.8,
    window_A: float = 0.3,
    min_prominence: float = 0.1,
    side_A: float = 0.6,
) -> dict | None:
    """Position and height of the first peak of S(Q) beyond ``q_min`` Å⁻¹ (for network
    glasses the first sharp diffraction peak, silica ≈ 1.5 Å⁻¹).

    A peak is a point where S (smoothed over 3 points) is the maximum within ±``window_A``
    and stands at least ``min_prominence`` above the lowest smoothed S within ``side_A`` on
    both sides (so truncation ripples and noise between Bragg peaks are not taken). Its
    position and height are refined by a parabola: through the raw neighbours on an even
    grid (S from g(r)); on the uneven shells of the direct sum (``weights``: the vectors per
    shell) by least squares over the shells within ±``window_A``/1.5 of the maximum of S
    averaged with its neighbours by their vectors, each shell weighted by its vectors, so a
    shell of a few vectors cannot place the peak in a small cell. Returns
    ``{"q_A-1", "height", "prominence"}`` (and ``"q_err_A-1"``, the fitted position's
    standard error, from the weighted fit) or None.
    """
    q, s = np.asarray(q, float), np.asarray(s, float)
    ss = smooth(s, 3)
    for k in np.nonzero(q > q_min)[0]:
        near = np.abs(q - q[k]) <= window_A
        if ss[k] < ss[near].max() or q[k] + window_A > q[-1]:
            continue
        left = ss[(q >= q[k] - side_A) & (q <= q[k])].min()
        right = ss[(q >= q[k]) & (q <= q[k] + side_A)].min()
        prominence = float(ss[k] - max(left, right))
        if prominence < min_prominence:
            continue
        lo, hi = np.searchsorted(q, q[k] - window_A), np.searchsorted(q, q[k] + window_A)
        k = lo + int(np.argmax(s[lo:hi]))
        peak = {"q_A-1": float(q[k]), "height": float(s[k]), "prominence": prominence}
        if weights is None:
            refined = _three_point_vertex(q, s, k)
            if refined is not None:
                peak["q_A-1"], peak["height"] = refined
            return peak
        w = np.asarray(weights, float)
        centre = _weighted_centre(q, s, w, lo, hi)
        fitted = _weighted_vertex(q, s, w, centre, window_A / 1.5)
        if fitted is not None:
            peak["q_A-1"], peak["height"], peak["q_err_A-1"] = fitted
        return peak
    return None


def _three_point_vertex(q: np.ndarray, s: np.ndarray, k: int) -> tuple[float, float] | None:
    """(Q, S) of the parabola through points k-1, k, k+1 of an even grid, or None."""
    if not (0 < k < len(q) - 1 and np.allclose(np.diff(q[k - 1 : k + 2]), q[k + 1] - q[k])):
        return None
    y0, y1, y2 = s[k - 1], s[k], s[k + 1]
    denom = y0 - 2 * y1 + y2
    if denom >= 0:
        return None
    shift = float(np.clip(0.5 * (y0 - y2) / denom, -1, 1))
    return float(q[k] + shift * (q[k + 1] - q[k])), float(y1 - 0.25 * (y0 - y2) * shift)


def _weighted_centre(q: np.ndarray, s: np.ndarray, weights: np.ndarray, lo: int, hi: int) -> float:
    """Q of the maximum, among points ``lo:hi``, of S averaged over each point and its two
    neighbours weighted by their vectors: a shell of few vectors on the peak's flank does
    not move the fit's window off the peak."""
    averaged = smooth(s * weights, 3) / np.maximum(smooth(weights, 3), 1e-300)
    return float(q[lo + int(np.argmax(averaged[lo:hi]))])


def _weighted_vertex(
    q: np.ndarray, s: np.ndarray, weights: np.ndarray, centre: float, half_A: float
) -> tuple[float, float, float] | None:
    """(Q, S, standard error of Q) of the vertex of the parabola fitted to the points within
    ±``half_A`` of ``centre``, residuals weighted by ``weights``; None unless ≥ 4 points give
    a concave parabola whose vertex lies among them. The error comes from the fit's
    covariance scaled by its residuals (NaN with fewer than 5 points)."""
    sel = (np.abs(q - centre) <= half_A) & (weights > 0)
    if sel.sum() < 4:
        return None
    x = q[sel] - centre
    if sel.sum() >= 5:
        (a, b, c), cov = np.polyfit(x, s[sel], 2, w=np.sqrt(weights[sel]), cov=True)
    else:
        (a, b, c), cov = np.polyfit(x, s[sel], 2, w=np.sqrt(weights[sel])), None
    if a >= 0:
        return None
    vertex = -b / (2 * a)
    if not x.min() <= vertex <= x.max():
        return None
    error = math.nan
    if cov is not None:  # delta method on -b / 2a
        grad = np.array([b / (2 * a * a), -1 / (2 * a)])
        error = float(np.sqrt(max(grad @ cov[:2, :2] @ grad, 0.0)))
    return float(centre + vertex), float(c - b * b / (4 * a)), error
