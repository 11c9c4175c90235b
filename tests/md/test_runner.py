"""run_md's loop: callers' hooks see every observables row."""

from __future__ import annotations


def test_on_output_is_called_with_the_step_of_every_observables_row(tmp_path):
    """A caller's own progress (e.g. `mlmd validate`'s bar over several runs) advances at
    every thermo row, not only when run_md returns."""
    from mlmd.md import run_md
    from tests.md.helpers import Morse, fcc_crystal, small_config

    steps: list[int] = []
    cfg = small_config(tmp_path, steps=12, output={"thermo_every": 5, "trajectory_every": 0})
    run_md(cfg, potential=Morse(), structure=fcc_crystal((3, 3, 3)), echo=False,
           on_output=steps.append)  # fmt: skip
    assert steps == [0, 5, 10]
    rows = (tmp_path / "thermo.log").read_text().splitlines()
    assert [int(r.split()[0]) for r in rows if not r.startswith("#")] == steps
