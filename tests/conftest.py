"""Suite-wide collection rules for pytest-xdist (``make test``: ``-n 2 --dist loadgroup``).

Two kinds of tests must not be spread over the workers freely:

- tests that launch MPI ranks, an external reference code, Parsl workers or a Slurm cluster
  ("heavy": they use both cores themselves, or wait on output with time limits) join one
  ``xdist_group``, so they run one after another on one worker, never beside each other;
- tests that share an expensive fixture of module, package or session scope (a teacher
  validation, a trained kit) join one group per fixture, so it is built once, not once per
  worker. Tests sharing two such fixtures join both groups into one.

The rest (most tests) is shared out test by test. Each worker gets its share of the cores
for OpenMP/torch threads (OMP_NUM_THREADS = cores // workers, 1 on CI's 2 cores, unless set):
two workers with a thread per core each would oversubscribe the machine, where OpenMP threads
spin. Without xdist nothing is changed.
"""

from __future__ import annotations

import os

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):  # set by xdist before a worker reads this file
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))

#: Directories whose tests start services or external codes (Parsl, Slurm, CP2K, QE, LAMMPS).
HEAVY_DIRS = ("tests/campaigns/", "tests/apps/", "tests/reference/")
#: Markers of tests that launch ranks or a reference code themselves.
HEAVY_MARKERS = ("mpi", "cp2k")
HEAVY = "heavy"


def _heavy(item: pytest.Item) -> bool:
    path = item.nodeid.split("::")[0]
    marked = any(item.get_closest_marker(name) for name in HEAVY_MARKERS)
    return marked or path.startswith(HEAVY_DIRS)


def _shared_fixtures(item: pytest.Item) -> list[str]:
    """The suite's own non-autouse fixtures of a wider scope than one test that ``item`` uses,
    as ``owner::name`` (pytest's and plugins' fixtures have no baseid: left out)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    autouse = set(getattr(info, "initialnames", ())) - set(getattr(info, "argnames", ()))
    module = item.nodeid.split("::")[0]
    names = []
    for name, defs in info.name2fixturedefs.items():
        fixture = defs[-1]
        if fixture.scope == "function" or not fixture.baseid or name in autouse:
            continue
        # a module (or class) fixture of a conftest is built once per module: group by module
        owner = module if fixture.scope in ("module", "class") else fixture.baseid
        names.append(f"{owner}::{name}")
    return names


class _Groups:
    """Union-find over group keys (``HEAVY`` and shared fixtures)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def join(self, keys: list[str]) -> None:
        roots = [self.find(k) for k in keys]
        top = HEAVY if HEAVY in roots else min(roots)  # HEAVY names its whole set
        for root in roots:
            self.parent[root] = top


@pytest.hookimpl(tryfirst=True)  # before xdist appends the group to the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    groups, keys = _Groups(), {}
    for item in items:
        keys[item] = _shared_fixtures(item) + ([HEAVY] if _heavy(item) else [])
        if keys[item]:
            groups.join(keys[item])
    for item in items:
        if keys[item]:
            item.add_marker(pytest.mark.xdist_group(groups.find(keys[item][0])))


def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """In the xdist controller: stop a ``--dist loadgroup`` run whose groups were lost (the
    worker's test ids carry no ``@group``), instead of running heavy tests side by side."""
    if node.config.getvalue("dist") != "loadgroup":
        return
    lost = [i for i in ids if i.startswith(HEAVY_DIRS) and "@" not in i]
    if lost:
        raise pytest.UsageError(
            f"pytest-xdist did not group {lost[0]}: this pytest/pytest-xdist pair ignores"
            " xdist_group (see the pins in pyproject.toml)"
        )
