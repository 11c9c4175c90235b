"""Every shipped campaign config (campaigns/configs/*.toml) is checked and planned, every MD
run it implies included, by the command its own header gives: a bad edit fails here, not an
hour into a run."""

import importlib
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "campaigns/configs").glob("*.toml"))


def header_command(path: Path) -> list[str]:
    """The ``python campaigns/X.py ...`` command in the config's header comment."""
    lines = [line.lstrip("#").strip() for line in path.read_text().splitlines()]
    text = re.sub(r"\s+", " ", " ".join(lines).replace("\\", " "))
    match = re.search(r"python (campaigns/\w+\.py(?: --[\w-]+ \S+)+)", text)
    assert match, f"{path.name}: no `python campaigns/X.py ...` command in its header"
    return shlex.split(match.group(1))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_a_shipped_config_plans_by_its_own_command(path):
    from campaigns.glass import campaign_settings, parser, prepare

    script, *argv = header_command(path)
    assert f"--config campaigns/configs/{path.name}" in " ".join(argv)
    module = importlib.import_module(f"campaigns.{Path(script).stem}")
    args = parser("campaign").parse_args(argv)
    for option in ("config", "material"):  # the header's paths are relative to the repo
        if getattr(args, option) is not None:
            setattr(args, option, ROOT / getattr(args, option))
    cfg = campaign_settings(args, getattr(module, "PRESET", {}), path.name)
    material, plan = prepare(cfg)
    assert plan.validation is not None and material.name


@pytest.mark.parametrize(
    ("reference", "cutoff_A", "explore_atoms"),
    [("teacher", 5.5, 96), ("cp2k_fast", 5.0, 0), (None, 5.0, 0)],
)
def test_the_teacher_demo_sees_as_far_as_the_teacher_and_explores_the_production_path(
    reference, cutoff_A, explore_atoms
):
    """`make demo REFERENCE=teacher` trains a 5.5 Å model (the teacher's range) and explores
    along the production path in 96-atom cells; the CP2K demo (the default reference) keeps
    5 Å and its explorations of the start frames (0 atoms: the start frames themselves)."""
    from campaigns.glass import campaign_settings, parser
    from campaigns.quickstart import preset_for

    argv = ["--run-dir", "r"] + ([] if reference is None else ["--reference", reference])
    args = parser("quickstart").parse_args(argv)
    cfg = campaign_settings(args, preset_for(args), "quickstart preset")
    assert cfg.train.model.cutoff_A == cutoff_A
    assert cfg.explore.atoms == explore_atoms
    assert cfg.explore.paths == (("melt_quench", "melt") if explore_atoms else ("langevin",))
