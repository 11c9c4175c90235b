"""Quickstart: a small SiO2 study end to end on this machine (what ``make demo`` runs).

CP2K labels of small cells, two active-learning iterations with a 4-member ensemble, a
melt-quench of ~1000 atoms on 2 MPI ranks with the trained ensemble, analysis and
``RUN_DIR/report.md``. Rerun with the same ``--run-dir`` to resume.

    python campaigns/quickstart.py --site sites/local.toml --run-dir runs/quickstart
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaigns.sio2_campaign import Sizes  # noqa: E402
from campaigns.sio2_campaign import main as campaign_main  # noqa: E402

DEFAULTS = Sizes(
    reference="cp2k",
    preset="fast",
    start_frames=14,
    start_kind="small",
    iterations=2,
    members=4,
    # Each member trains for at most 20 CPU-seconds (two run at once on 2 cores).
    train={
        "epochs": 1000,
        "batch_size": 2,
        "time_budget_s": 20.0,
        "budget_clock": "cpu",
        "early_stopping_patience": 60,  # validation sets of 2–3 frames are noisy
        "model": {"channels": 8, "hidden": [32], "dtype": "float32"},
    },
    explore_runs=2,
    explore_steps=200,
    explore_temperatures_K=(1500.0, 3500.0),
    select_cap=8,
    production_atoms=1002,
    melt_K=3500.0,
    melt_ps=0.5,
    quench_rates_K_ps=(2500.0,),
    anneal_ps=0.3,
)


def main(argv: list[str] | None = None) -> int:
    return campaign_main(
        "quickstart",
        __doc__,
        DEFAULTS,
        argv,
        Path(__file__).resolve().parents[1] / "sites" / "local.toml",
    )


if __name__ == "__main__":
    sys.exit(main())
