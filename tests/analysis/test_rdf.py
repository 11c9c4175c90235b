"""g(r), coordination and bond angles: exact cases and an independent implementation (ASE)."""

import numpy as np
import pytest
from ase.build import bulk
from ase.geometry.analysis import Analysis
from ase.geometry.rdf import get_rdf

from mlmd.analysis import (
    AngleAccumulator,
    CoordinationAccumulator,
    RdfAccumulator,
    first_minimum,
    first_peak,
    max_r_max,
    open_trajectory,
)
from mlmd.analysis.coordination import bonds
from mlmd.errors import InputError
from tests.analysis import tolerances as tol
from tests.analysis.trajectories import quartz, write_h5md

TRICLINIC = np.array([[12.0, 0.0, 0.0], [4.0, 11.0, 0.0], [-3.0, 2.5, 12.5]])


@pytest.mark.parametrize("cell", [np.diag([13.0, 14.0, 15.0]), TRICLINIC], ids=["ortho", "tri"])
def test_ideal_gas_g_is_one_within_noise(cell):
    """Uniform random points: every g_ab(r) = 1, like pairs and the total included (the
    N_a (N_a − 1) normalisation), within the Poisson noise of the pair counts, for
    orthorhombic and triclinic cells up to r_max."""
    rng = np.random.default_rng(7)
    n, frames = 600, 20
    numbers = np.array([14] * 200 + [8] * 400)
    r_max = max_r_max(cell)
    acc = RdfAccumulator(numbers, r_max, 0.25)
    for _ in range(frames):
        acc.add(rng.random((n, 3)) @ cell, cell, np.array([True] * 3))
    rdf = acc.result()
    volume = abs(np.linalg.det(cell))
    shell = 4 / 3 * np.pi * (rdf.edges[1:] ** 3 - rdf.edges[:-1] ** 3)
    sel = rdf.r > 1.0  # bins with enough pairs for a Gaussian noise estimate
    cases = [("total", rdf.total, n, n - 1, 1.0)]
    cases += [("Si-O", rdf.partial("Si", "O"), 200, 400, 1.0)]
    cases += [("O-O", rdf.partial("O", "O"), 400, 399, 1.0)]
    for name, g, na, nb, expected in cases:
        pairs = na * nb / volume * shell * frames / (1 if name == "Si-O" else 2)  # unordered
        sigma = expected / np.sqrt(pairs)
        z = (g - expected) / sigma
        assert np.abs(z[sel]).max() < tol.NOISE_SIGMAS, name
        assert abs(z[sel].mean()) < tol.NOISE_SIGMAS / np.sqrt(sel.sum()), name


def test_r_max_beyond_half_width_is_refused():
    acc = RdfAccumulator(np.array([14, 8]), max_r_max(TRICLINIC) + 0.1, 0.1)
    with pytest.raises(InputError, match="perpendicular"):
        acc.add(np.zeros((2, 3)), TRICLINIC, np.array([True] * 3))


def test_fcc_shells_and_coordination_in_a_triclinic_primitive_cell():
    """FCC (a = 4.05 Å) in its rhombohedral primitive cell: shells at a/√2 (12), a (6), a√1.5
    (24); coordination 12 at the first minimum."""
    a = 4.05
    atoms = bulk("Al", "fcc", a=a).repeat((6, 6, 6))  # 216 atoms, triclinic cell
    cell = atoms.cell.array
    acc = RdfAccumulator(atoms.numbers, max_r_max(cell), 0.01)
    acc.add(atoms.positions, cell, atoms.pbc)
    rdf = acc.result()
    peak = first_peak(rdf.r, rdf.total)
    assert abs(peak["r_A"] - a / np.sqrt(2)) < tol.PEAK_A
    rho = (len(atoms) - 1) / atoms.get_volume()  # partners per volume: N − 1 (normalisation)
    rc = first_minimum(rdf.r, rdf.total)
    assert a / np.sqrt(2) < rc < a
    shells = [(a / np.sqrt(2), 12), (a, 6), (a * np.sqrt(1.5), 24)]
    for r_shell, n_shell in shells:
        sel = np.abs(rdf.r - r_shell) < 0.05
        n = 4 * np.pi * rho * np.sum(rdf.r[sel] ** 2 * rdf.total[sel] * 0.01)
        # the midpoint rule over the bin holding the shell: exact up to (dr/2r)² ~ 1e-5
        assert n == pytest.approx(n_shell, rel=tol.SHELL_COUNT_REL)
    coord = CoordinationAccumulator(["Al"], np.zeros(len(atoms), int), {("Al", "Al"): rc})
    i, j, vec = bonds(atoms.positions, cell, atoms.pbc, rc)
    coord.add_bonds(i, j, np.linalg.norm(vec, axis=1))
    assert coord.result()["Al-Al"]["distribution"] == {"12": 1.0}


def test_alpha_quartz_distances_coordination_and_angles():
    """alpha-quartz: Si–O 1.605/1.614 Å, 4 O around each Si and 2 Si around each O at the
    first minimum of g_SiO, Si–O–Si 143.7°, O–Si–O mean 109.47° (Levien et al. 1980)."""
    atoms = quartz((3, 3, 3))
    cell = atoms.cell.array
    acc = RdfAccumulator(atoms.numbers, max_r_max(cell), 0.005)
    acc.add(atoms.positions, cell, atoms.pbc)
    rdf = acc.result()
    assert rdf.labels == ["Si", "O"]
    peak = first_peak(rdf.r, rdf.partial("Si", "O"))
    assert 1.600 < peak["r_A"] < 1.620
    assert 3.0 < first_peak(rdf.r, rdf.partial("Si", "Si"))["r_A"] < 3.1
    rc = first_minimum(rdf.r, rdf.partial("Si", "O"))
    kind = (atoms.numbers == 8).astype(int)
    coord = CoordinationAccumulator(["Si", "O"], kind, {("Si", "O"): rc, ("O", "Si"): rc})
    angles = AngleAccumulator(["Si", "O"], kind, {("Si", "O"): rc}, bin_deg=0.5)
    i, j, vec = bonds(atoms.positions, cell, atoms.pbc, rc)
    coord.add_bonds(i, j, np.linalg.norm(vec, axis=1))
    angles.add_bonds(i, j, vec)
    c = coord.result()
    assert c["Si-O"]["distribution"] == {"4": 1.0}
    assert c["O-Si"]["distribution"] == {"2": 1.0}
    a = angles.result()
    assert set(a) == {"O-Si-O", "Si-O-Si"}
    assert a["Si-O-Si"]["mean_deg"] == pytest.approx(143.7, abs=0.3)
    assert a["Si-O-Si"]["std_deg"] < tol.ANGLE_SPREAD_DEG  # one symmetry-equivalent bridge
    assert a["O-Si-O"]["mean_deg"] == pytest.approx(109.47, abs=0.1)
    assert a["O-Si-O"]["n_per_frame"] == 6 * 81  # 6 pairs per SiO4 tetrahedron, 81 Si


def test_agrees_with_ase_get_rdf_on_the_same_sio2_frames(tmp_path):
    """mlmd's g(r), read back from an H5MD file, equals ASE's independent implementation
    (ase.geometry.rdf.get_rdf, which Analysis.get_rdf and ase.ga.utilities.get_rdf wrap) to
    1e-6 on thermally disordered alpha-quartz frames in the triclinic hexagonal cell.

    Conventions matched: same bin edges (ASE: nbins over [0, rmax]); ASE normalises each frame
    by n_centres · (N_b / V) · exact shell volume and averages frames; mlmd's like pairs and
    total use N_a − 1 partners instead of N_a (LAMMPS, MDAnalysis), so they are ASE's times
    N_a / (N_a − 1); ASE's partial (a, b) counts b around a, and mlmd's g_ab = g_ba. The one
    difference is which side of a bin a distance exactly on an edge goes to (ASE's bins are
    (lo, hi], mlmd's [lo, hi)), which never happens for these random displacements.
    """
    base = quartz((4, 4, 4))
    rng = np.random.default_rng(3)
    frames = []
    for _ in range(3):
        atoms = base.copy()
        atoms.positions += rng.normal(0.0, 0.1, atoms.positions.shape)
        atoms.wrap()
        frames.append(atoms)
    path = write_h5md(
        tmp_path / "quartz.h5",
        np.stack([f.positions for f in frames]),
        base.cell.array,
        base.numbers,
    )
    r_max, n_bins = 8.0, 320
    acc = RdfAccumulator(base.numbers, r_max, r_max / n_bins)
    with open_trajectory(path) as reader:
        for snap in reader.frames():
            acc.add(snap.positions, snap.cell, snap.pbc)
    ours = acc.result()
    g_ase, r_ase = get_rdf(frames, r_max, n_bins)
    np.testing.assert_allclose(ours.r, r_ase, atol=tol.EXACT_A)
    n = len(base)
    to_ase = (n - 1) / n
    np.testing.assert_allclose(ours.total * to_ase, g_ase, rtol=0, atol=tol.ASE_G)
    with pytest.warns(FutureWarning):  # ASE points to get_rdf, which is checked below too
        per_frame = Analysis(frames).get_rdf(r_max, n_bins)
    np.testing.assert_allclose(
        ours.total * to_ase, np.mean(per_frame, axis=0), rtol=0, atol=tol.ASE_G
    )
    counts = {14: int((base.numbers == 14).sum()), 8: int((base.numbers == 8).sum())}
    for a, b in [(14, 14), (14, 8), (8, 8)]:
        g_ab = get_rdf(frames, r_max, n_bins, elements=(a, b), no_dists=True)
        names = {14: "Si", 8: "O"}
        factor = (counts[a] - 1) / counts[a] if a == b else 1.0
        ours_ab = ours.partial(names[a], names[b]) * factor
        np.testing.assert_allclose(ours_ab, g_ab, rtol=0, atol=tol.ASE_G)
    assert ours.partial("Si", "O").max() > 5  # a structured g(r), not a trivial comparison
