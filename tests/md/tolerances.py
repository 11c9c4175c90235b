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
#: Berendsen weak coupling after 600 steps: |<T> − target| / target over the last 20 rows,
#: and |<P>| over the last 20 rows as a fraction of the starting |P|.
BERENDSEN_T_RELATIVE = 0.1
BERENDSEN_P_OF_START = 0.3
#: Per-axis NPT: the cell's volume against the summary's volume_A3 (relative).
VOLUME_RELATIVE = 1e-6

#: Teacher NVE on ideal cristobalite (100 steps at 1 fs): range of the total energy as a
#: fraction of the kinetic energy's range (the crystal heats itself by ~900 K).
TEACHER_NVE_OF_KINETIC_RANGE = 0.005
#: Pressure tensor of central pair forces: |P − Pᵀ| (GPa), summation order only.
PRESSURE_TENSOR_SYMMETRY_GPA = 1e-9
#: Forces exported as extxyz text (eV/Å) against the H5MD ones (kJ mol⁻¹ Å⁻¹ converted back).
EXPORTED_FORCE_EV_A = 1e-6

#: Counter-based normals of 100 ids × 3 components: |mean| (≈ 3.5 σ of the mean of 300) and
#: |std − 1| (≈ 3.7 σ).
NOISE_MEAN = 0.2
NOISE_STD = 0.15
