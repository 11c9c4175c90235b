"""Quickstart: a small SiO2 study end to end on this machine (what ``make demo`` runs).

The SiO2 material file with CP2K labels (``fast`` preset) of small cells, two active-learning
iterations with a 4-member ensemble, a melt–quench of ~1000 atoms on 2 MPI ranks with the
trained ensemble, analysis of its glass and liquid, and ``RUN_DIR/report.md``. A size preset
of ``campaigns/glass.py`` (every option of it works here). Rerun with the same ``--run-dir``
to resume.

    python campaigns/quickstart.py --site sites/local.toml --run-dir runs/quickstart
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaigns.glass import ROOT  # noqa: E402
from campaigns.glass import main as glass_main  # noqa: E402

PRESET = {
    "material": str(ROOT / "campaigns/materials/sio2.toml"),
    "reference": "cp2k_fast",
    "iterations": 2,
    "members": 4,
    "continue_training": True,  # each round's members train on from the last round's
    "start": {"recipe": "small", "frames": 14},
    # Where the reference runs MD (the teacher), two 4 ps melt–quench runs of 96-atom random
    # cells (the production schedule, slowed to 4 ps) give 300 frames of the melt, the
    # supercooled liquid and the glass before the first model trains; CP2K skips this.
    "reference_md": {"runs": 2, "steps": 4000, "atoms": 96, "frames": 150},
    # Each member trains for at most 30 CPU-seconds (two run at once on 2 cores).
    "train": {
        "epochs": 1000,
        "batch_size": 2,
        "time_budget_s": 30.0,
        "budget_clock": "cpu",
        "early_stopping_patience": 60,  # validation sets of 2–3 frames are noisy
        "w_stress": 0.1,  # pressures: the validation compares them to 0.3 GPa
        "model": {"channels": 8, "hidden": [32], "dtype": "float32"},
    },
    "explore": {"runs": 2, "steps": 200, "temperatures_K": [1500.0, 3500.0], "select_cap": 8},
    "production": {
        "atoms": 1002,
        "start": "random",  # a crystal would not melt in the 0.5 ps hold
        "melt_K": 3500.0,
        "melt_hold_ps": 0.5,
        "quench_rates_K_ps": [2500.0],
        "anneal_ps": 0.3,
    },
    # The final model beside its reference: (b) for the teacher, a 192-atom liquid at 3500 K
    # (1 ps equilibration, 3 ps sampled) and glass; (a) for CP2K on 48-atom ML-MD replicas.
    "validation": {
        "atoms": 192,
        "equilibration_ps": 1.0,
        "sampling_ps": 3.0,
        "output_every_fs": 25.0,
        "frames_per_phase": 2,
        "replica_atoms": 48,
    },
}


#: What a reference that runs MD cheaply changes in :data:`PRESET`: the teacher's model sees
#: 5.5 Å, as far as its pairs reach (those between 5 and 5.5 Å carry 1.2–1.4 GPa of its
#: liquid's pressure: a 5 Å demo model was 1.2 GPa low), and explores along the production
#: path (the melt–quench and the compressed melt) in 96-atom cells, where it reaches pairs
#: closer than its data did, which the selection takes first (fixed-T Langevin of the start
#: frames did not reach them, production did: Si–Si bound at 1.75 Å). CP2K keeps 5 Å and
#: 24-atom explorations: its labels of 96-atom frames would cost minutes each.
BY_REFERENCE = {
    "teacher": {
        "train": {"model": {"cutoff_A": 5.5}},
        "explore": {"steps": 2000, "paths": ["melt_quench", "melt"], "atoms": 96, "frames": 20},
    },
}


def preset_for(args: argparse.Namespace) -> dict:
    """:data:`PRESET` with :data:`BY_REFERENCE`'s changes for the reference of ``--reference``."""
    from mlmd.workflow.config import merge

    return merge(PRESET, BY_REFERENCE.get(args.reference or PRESET["reference"], {}))


def main(argv: list[str] | None = None) -> int:
    return glass_main(argv, name="quickstart", doc=__doc__, preset=preset_for)


if __name__ == "__main__":
    sys.exit(main())
