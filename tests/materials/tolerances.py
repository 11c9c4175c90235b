"""Named tolerances of the material tests (what each number bounds, in its unit)."""

EXACT_REL = 1e-12  # float64 arithmetic of one formula (density from mass and volume)
CELL_A = 1e-6  # the same cell read back from a file (CIF/extxyz round-trip of 6-digit text)
SITE_FRACTIONAL = 1e-5  # the same site, in fractional coordinates, from a file
RATTLE_STD_REL = 0.3  # std of a 24-atom Gaussian rattle vs its σ (sampling noise)
BINDING_MARGIN_A = 0.3  # random insertion: some pair ends within this of its minimum distance
MAX_START_FORCE_EV_A = 30.0  # start frames: no force that would swamp a force loss
SW_DIAMOND_EV_PER_ATOM = -4.3366  # Stillinger–Weber diamond Si at a = 5.431 Å: −2ε
SW_ENERGY_EV_PER_ATOM = 2e-4  # LAMMPS vs −2ε (the tabulated ε = 2.1683 eV has 5 digits)
IDEAL_FORCE_EV_A = 1e-8  # forces on atoms of an ideal crystal (zero by symmetry)
NET_FORCE_EV_A = 1e-4  # |Σ forces| of an SCF label of a 9-atom cell (xTB)
CRYSTAL_DENSITY_G_CM3 = 0.01  # a shipped crystal's density vs the literature value
CRYSTAL_BOND_A = 1e-4  # a shipped crystal's bond length vs the literature value
LISTED_DENSITY_G_CM3 = 1e-3  # a density as `mlmd material` lists it (3 decimals)
