"""Named tolerances of the MD tests (float64 throughout; the same numbers as before naming).

Agreement of a decomposed evaluation with a direct periodic one differs only by summation
order; trajectories on different rank counts differ by that order compounded over 100–200
chaotic steps; the integrator bounds are physics (splitting error, sampling noise).
"""

#: Decomposed vs direct periodic evaluation of the same configuration (float64).
ENERGY_EV = 1e-9
FORCE_EV_A = 1e-11
FORCE_SPREAD_EV_A = 1e-10  # an ensemble's mean and spread: K members' sums
VIRIAL_EV = 1e-9
UNWRAP_A = 1e-12  # wrapped positions + images @ cell vs the input positions

#: The same run on 1, 2 and 4 ranks after 100–200 steps: positions (Å), velocities (Å/fs).
RANKS_POSITION_A = 1e-8
RANKS_VELOCITY_A_FS = 1e-8

#: NVE at 1 fs, 108 Morse atoms over 0.5 ps: total-energy range and drift per atom.
NVE_RANGE_EV_PER_ATOM = 2e-5
NVE_DRIFT_EV_PER_ATOM_PS = 1e-5
#: Nosé–Hoover chain: range of the extended (conserved) energy per atom, same run length.
NHC_RANGE_EV_PER_ATOM = 3e-5
#: Langevin BAOAB: range of E + heat relative to the range of E.
LANGEVIN_HEAT_RELATIVE = 0.05

#: Canonical sampling: relative error of <T> and of var(K) against ½ N_f (kT)².
CANONICAL_MEAN_T = 0.01
CANONICAL_VAR_K = 0.10
#: NPT: relative error of <T>, and of var(V)/(kT<V>) against β_T from two pressures.
NPT_MEAN_T = 0.02
NPT_COMPRESSIBILITY = 0.3
