"""SiO2 glass production study: the quickstart's code at production sizes.

Active learning on ≥ 72-atom cells with CP2K (production preset), an ensemble of 4, then
melt-quench production of 3000 atoms at several quench rates with replicas, analysis and
report. Meant for a cluster site file:

    python campaigns/sio2_glass.py --site sites/my-cluster.toml --run-dir runs/glass
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaigns.sio2_campaign import Sizes  # noqa: E402
from campaigns.sio2_campaign import main as campaign_main  # noqa: E402

DEFAULTS = Sizes(
    reference="cp2k",
    preset="production",
    start_frames=48,
    start_kind="medium",
    iterations=6,
    members=4,
    train={"epochs": 300, "batch_size": 4},
    explore_runs=32,
    explore_steps=5000,
    explore_temperatures_K=(300.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0),
    select_cap=64,
    production_atoms=3000,
    melt_K=4000.0,
    melt_ps=50.0,
    quench_rates_K_ps=(1.0, 3.0, 10.0),
    anneal_ps=20.0,
    replicas=3,
)


def main(argv: list[str] | None = None) -> int:
    return campaign_main("sio2_glass", __doc__, DEFAULTS, argv, None)


if __name__ == "__main__":
    sys.exit(main())
