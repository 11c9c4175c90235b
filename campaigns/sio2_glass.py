"""SiO2 glass production study: ``campaigns/glass.py`` with the SiO2 material at production
sizes.

Active learning on ≥ 72-atom cells with CP2K (production preset), an ensemble of 4, then
melt–quench production of 3000 atoms at the material's quench rates (1, 3, 10 K/ps) with 3
replicas, analysis and report. Meant for a cluster site file:

    python campaigns/sio2_glass.py --site sites/my-cluster.toml --run-dir runs/glass
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaigns.glass import ROOT  # noqa: E402
from campaigns.glass import main as glass_main  # noqa: E402

PRESET = {
    "material": str(ROOT / "campaigns/materials/sio2.toml"),
    "reference": "cp2k",
    "iterations": 6,
    "members": 4,
    "start": {"recipe": "medium", "frames": 48},
    "train": {"epochs": 300, "batch_size": 4},
    "explore": {
        "runs": 32,
        "steps": 5000,
        "temperatures_K": [300.0, 1000.0, 2000.0, 3000.0, 4000.0, 5000.0],
        "select_cap": 64,
    },
    "production": {"atoms": 3000, "crystal": "cristobalite", "replicas": 3},
}


def main(argv: list[str] | None = None) -> int:
    return glass_main(argv, name="sio2_glass", doc=__doc__, preset=PRESET, default_site=None)


if __name__ == "__main__":
    sys.exit(main())
