"""Paths in the MD app's shell command are names, never commands: hostile run-directory names
through real bash, and a real MD run through the real Parsl MPI bash app in such a directory."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from apps import parsl_config as pc
from apps.tasks import md_command
from mlmd.sites import Workload

#: Each would create a file named X, Y, Z, W or V in the shell's working directory if it ran.
HOSTILE = ["a;touch X", "$(touch Y)", "`touch Z`", "q\"u'o;touch W", "sp ace", "nl\n;touch V"]
ALL_HOSTILE = "a;touch X $(touch Y) `touch Z` \"q'"  # one directory with all of them


def _planted(*roots: Path) -> list[Path]:
    """Files the hostile names would have created."""
    return [p for r in roots for p in r.rglob("*") if p.name in {"X", "Y", "Z", "W", "V"}]


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("resume", [False, True])
def test_md_command_passes_hostile_paths_as_single_arguments(tmp_path, name, resume):
    run = tmp_path / name
    run.mkdir()
    config, checkpoint = run / "md.toml", run / "checkpoint.npz"
    config.write_text("steps = 1\n")
    if resume:
        checkpoint.write_bytes(b"")
    # the MPI prefix prints its argv, one argument per line (NUL-separated: names hold \n)
    env = {"PARSL_MPI_PREFIX": "printf %s\\0", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        ["bash", "-c", md_command(str(config), str(checkpoint))],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    args = out.decode().split("\0")[:-1]
    restart = ["--restart", str(checkpoint)] if resume else ["--overwrite"]
    assert args == ["mlmd", "md", "run", str(config), *restart]
    assert not _planted(tmp_path)


def test_worker_init_quotes_the_venv_and_the_node_file(tmp_path, monkeypatch):
    root = tmp_path / ALL_HOSTILE
    root.mkdir()
    monkeypatch.setattr(sys, "prefix", str(root / "venv"))
    workload = Workload(mpi=True, worker_init='printf "%s\\0" {venv}')
    provider = pc._provider(workload, root)
    script = provider.worker_init + '; printf "%s\\0" "$PBS_NODEFILE"'
    out = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, check=True
    ).stdout
    assert out.decode().split("\0")[:-1] == [str(root / "venv"), str(root / "nodefile")]
    assert not _planted(tmp_path)


def test_parsl_gets_plain_paths_for_a_hostile_run_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("MLMD_PARSL_LINKS", str(tmp_path / "links"))
    run_dir = tmp_path / ALL_HOSTILE
    root = pc.parsl_dir(run_dir)
    assert pc._PLAIN_PATH.fullmatch(str(root)) and root.resolve() == (run_dir / "parsl")
    assert pc.parsl_dir(run_dir) == root  # stable: a rerun reuses the link
    plain = tmp_path / "plain"
    assert pc.parsl_dir(plain) == plain / "parsl"
    monkeypatch.setenv("MLMD_PARSL_LINKS", str(tmp_path / "bad links"))
    with pytest.raises(pc.ConfigError, match="MLMD_PARSL_LINKS"):
        pc.parsl_dir(run_dir)


@pytest.mark.mpi
def test_md_bash_app_runs_in_a_hostile_run_directory(tmp_path, monkeypatch):
    """The real Parsl MPI executor of sites/local.toml, a real 5-step teacher MD."""
    import parsl

    from apps import bindings
    from mlmd.sites import load_site

    monkeypatch.setenv("MLMD_PARSL_LINKS", str(tmp_path / "links"))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # where a command hidden in a name would create its file
    run_dir = tmp_path / ALL_HOSTILE
    out = run_dir / "steps" / "md one"
    out.mkdir(parents=True)
    config = out / "md.toml"
    config.write_text(
        "steps = 5\npotential = 'teacher'\n"
        "[structure]\nbuilder = 'sio2_crystal'\ncrystal = 'cristobalite'\n"
        f"[output]\ndirectory = {json.dumps(str(out / 'md'))}\ntrajectory_every = 5\n"
    )
    site = load_site(Path(__file__).resolve().parents[2] / "sites/local.toml")
    with parsl.load(pc.parsl_config([site], run_dir)):
        bindings.md(
            str(config),
            str(out / "md" / "checkpoint.npz"),
            parsl_resource_specification={"num_nodes": 1, "num_ranks": 1},
            stdout=str(out / "md.out"),
            stderr=str(out / "md.err"),
        ).result(timeout=120)
    assert (out / "md" / "trajectory.h5").is_file()
    assert not _planted(tmp_path)
    assert shlex.quote(str(config)) != str(config)  # the name really needed quoting
