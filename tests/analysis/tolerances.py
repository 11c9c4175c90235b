"""Named tolerances of the analysis tests (float64 NumPy throughout; the direct S(Q) sums run
in torch float64 too). Each says what it bounds, in its unit."""

# arithmetic: the same quantity by two orders of float64 operations
EXACT_REL = 1e-9  # closed forms (ballistic MSD v²t², drift of a linear ramp)
EXACT_A = 1e-12  # positions, bin centres and bond vectors (Å) computed two ways
SUM_ORDER = 1e-10  # |ρ(Q)| of the factorised vs the plain structure-factor sum

# statistics
NOISE_SIGMAS = 5.0  # ideal-gas g(r) bins: |g − 1| within this many Poisson σ
D_SIGMAS = 4.0  # fitted D vs the random walk's D, in units of the fit's block error
D_REL = 0.05  # ... and relative, for 1000-atom walks

# independent implementations and exact structures
ASE_G = 1e-6  # mlmd's g(r) vs ASE's get_rdf (both float64; differences are rounding)
PEAK_A = 0.01  # a first peak of g(r) vs the crystal's shell radius (the bin width)
SHELL_COUNT_REL = 1e-3  # ∫4πρr²g dr over a shell vs its neighbour count (midpoint rule)
ANGLE_SPREAD_DEG = 1e-4  # std of symmetry-equivalent bond angles (rounding only)
ROUTES_MAX = 0.06  # S(Q) from g(r) vs the direct sum, largest |difference| at Q ≥ 2 Å⁻¹
ROUTES_RMS = 0.03  # ... and rms difference (3000 random SiO2 atoms)
TG_WITHIN_K = 60.0  # T_g of the quench curves vs the kink built into the synthetic data
