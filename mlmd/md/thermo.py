"""Thermo lines: one whitespace-separated row per output step, to a file (and an echo stream).

The columns are ``step``, ``time_ps``, the logged observables of
:data:`mlmd.md.observables.TABLE` and ``atom_steps_per_s``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from mlmd.atomic import write_text
from mlmd.md.observables import TABLE

#: (name, format, width) of every column.
COLUMNS = (
    ("step", "d", 10),
    ("time_ps", ".4f", 11),
    *((o.column, o.fmt, o.width) for o in TABLE if o.column),
    ("atom_steps_per_s", ".4g", 17),
)


class ThermoLog:
    """Writes a header then rows (rank 0 only).

    ``restart_step``: continue an existing ``path`` after dropping its rows past that step
    (a run killed after its last checkpoint wrote them; they are written again), so a
    restarted log has every output step once."""

    def __init__(
        self,
        path: str | Path,
        *,
        restart_step: int | None = None,
        echo: TextIO | None = sys.stdout,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        append = restart_step is not None
        if append and self.path.exists():
            _truncate(self.path, restart_step)
        self.file = self.path.open("a" if append else "w")
        self.echo = echo
        header = "# " + " ".join(f"{name:>{width}}" for name, _, width in COLUMNS)
        if not append or self.path.stat().st_size == 0:
            self._emit(header)

    def _emit(self, line: str) -> None:
        self.file.write(line + "\n")
        self.file.flush()
        if self.echo is not None:
            print(line, file=self.echo, flush=True)

    def row(self, **values: float) -> None:
        """One row; a missing or None value prints as ``nan``."""
        cells = []
        for name, fmt, width in COLUMNS:
            v = values.get(name)
            cells.append(f"{'nan':>{width}}" if v is None else f"{v:>{width}{fmt}}")
        self._emit("  " + " ".join(cells))

    def close(self) -> None:
        self.file.close()


def _truncate(path: Path, step: int) -> None:
    """Keep the comment lines and the whole rows of steps ≤ ``step`` (atomic rewrite; a
    row torn by a kill has no newline or no integer step and goes too)."""

    def keep(line: str) -> bool:
        if line.startswith("#"):
            return True
        first = line.split()[0] if line.strip() and line.endswith("\n") else ""
        return first.isdigit() and int(first) <= step

    lines = path.read_text().splitlines(keepends=True)
    write_text(path, "".join(line for line in lines if keep(line)))


def read_thermo(path: str | Path) -> dict[str, list[float]]:
    """Columns of a thermo file (for tests and analysis)."""
    rows = [
        [float(x) for x in line.split()]
        for line in Path(path).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return {name: [r[k] for r in rows] for k, (name, _, _) in enumerate(COLUMNS)}
