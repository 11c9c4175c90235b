"""Site files: strict validation with messages naming the key, and workload routing."""

from pathlib import Path

import pytest

from mlmd.errors import ConfigError
from mlmd.sites import WORKLOADS, load_site, merge_sites

SITES = Path(__file__).resolve().parents[1] / "sites"


@pytest.mark.parametrize("name", ["local", "slurm", "pbs", "slurm-local"])
def test_shipped_site_files_validate_and_declare_every_workload(name):
    site = load_site(SITES / f"{name}.toml")
    assert set(site.workloads) == set(WORKLOADS)


def _write(tmp_path, text):
    path = tmp_path / "site.toml"
    path.write_text('[site]\nname = "t"\n' + text)
    return path


@pytest.mark.parametrize(
    "text, field, hint",
    [
        (
            '[workloads.dft]\nprovidr = "local"\n',
            "workloads.dft.providr",
            "did you mean 'provider'",
        ),
        ('[workloads.dft]\nprovider = "lsf"\n', "workloads.dft.provider", "'slurm'"),
        ('[workloads.dft]\nranks_per_task = "2"\n', "workloads.dft.ranks_per_task", "integer"),
        ('[workloads.gpu]\nprovider = "local"\n', "workloads.gpu", "valid workloads"),
        ('[workloads.md]\nwalltime = "2h"\n', "workloads.md", "HH:MM:SS"),
    ],
)
def test_bad_keys_and_values_name_the_file_and_key(tmp_path, text, field, hint):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_site(path)
    message = str(err.value)
    assert str(path) in message and field in message and hint in message


def test_first_site_declaring_a_workload_runs_it_and_gaps_are_errors(tmp_path):
    a = tmp_path / "a.toml"
    a.write_text('[site]\nname = "a"\n[workloads.dft]\nprovider = "slurm"\n')
    local = load_site(SITES / "local.toml")
    chosen = merge_sites([load_site(a), local])
    assert chosen["dft"][0].name == "a" and chosen["md"][0].name == "local"
    with pytest.raises(ConfigError, match="md"):
        merge_sites([load_site(a)])


def test_launch_prefix_substitutes_ranks():
    dft = load_site(SITES / "local.toml").workload("dft")
    assert dft.launch_prefix().endswith("-np 2")
    assert dft.launch_prefix(ranks=4).endswith("-np 4")
