"""The Quantum ESPRESSO reference: write a ``pw.x`` input, run it under the site's launcher,
parse it, climb the SCF ladder.

Each frame runs in ``<workdir>/<frame key>/`` (:mod:`mlmd.reference.workdirs`), each attempt
in a numbered subdirectory (``0-base``, ``1-mixing``, ``2-cg``) whose ``pw.in`` and ``pw.out``
are kept; the wavefunction directory is deleted. Pseudopotentials are chosen per element
(:mod:`mlmd.reference.qe_pseudo`) for the elements of the dataset being labelled
(:meth:`QE.check_elements`, called by the driver before anything is written) and recorded
with their sha256 in the reference. k-points follow the cell (``kspacing_A_inv``).
Debian's ``pw.x`` is linked to Open MPI: launch it with ``launcher = "openmpi"``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ase.data import chemical_symbols

from mlmd.config import to_mapping
from mlmd.data import Frame
from mlmd.reference.process import launcher_prefix, run_process
from mlmd.reference.protocol import (
    CalculationCrashed,
    CalculationFailed,
    CalculationTimeout,
    ReferenceSetupError,
    Result,
    SCFError,
)
from mlmd.reference.qe_input import INPUT_NAME, OUTPUT_NAME, Rung, ladder, write_input
from mlmd.reference.qe_parser import read_labels, read_status
from mlmd.reference.qe_pseudo import choose, file_hashes, pseudo_dir
from mlmd.reference.qe_settings import QERunSettings, QESettings, load_qe_config
from mlmd.reference.registry import register
from mlmd.reference.workdirs import fresh_frame_workdir, label_in_workdirs


def find_pw(setting: str = "") -> Path:
    """The ``pw.x`` binary: ``setting``, else ``$MLMD_PW``, else ``pw.x`` on PATH."""
    name = setting or os.environ.get("MLMD_PW") or "pw.x"
    found = shutil.which(name)
    if not found:
        raise ReferenceSetupError(
            f"Quantum ESPRESSO executable {name!r} not found",
            field="run.executable",
            fix="apt-get install quantum-espresso, or set run.executable or $MLMD_PW",
        )
    return Path(found)


class QE:
    """Quantum ESPRESSO ``pw.x`` as a :class:`~mlmd.reference.protocol.Reference`.

    Raises:
        ReferenceSetupError: ``pw.x``, the pseudopotential directory, a given
            pseudopotential or the launcher cannot be found.
    """

    name = "qe"
    in_process = False

    def __init__(self, settings: QESettings, run: QERunSettings | None = None):
        self.settings, self.run = settings, run or QERunSettings()
        self.executable = find_pw(self.run.executable)
        self.pseudo_dir = pseudo_dir(self.run.pseudo_dir).resolve()
        self.command = [*launcher_prefix(self.run.launcher, self.run.ranks), str(self.executable)]
        self.pseudos = self._choose(list(settings.pseudopotentials))

    def _choose(self, elements: list[str]) -> dict[str, str]:
        s = self.settings
        return choose(sorted(set(elements)), s.pseudopotentials, self.pseudo_dir, s.functional)

    def check_elements(self, numbers: Iterable[int]) -> None:
        """Choose the pseudopotentials of these elements (recorded in :attr:`reference`).

        Raises:
            ReferenceSetupError: an element without a pseudopotential (named, with the
                directory).
        """
        symbols = [chemical_symbols[int(z)] for z in numbers]
        self.pseudos = {**self.pseudos, **self._choose(symbols)}

    @property
    def reference(self) -> dict[str, Any]:
        settings = to_mapping(self.settings)
        settings.pop("pseudopotentials")
        return {
            "name": self.name,
            **settings,
            "pseudopotentials": file_hashes(self.pseudos, self.pseudo_dir),
        }

    def label(self, frames: Sequence[Frame], workdir: Path) -> list[Result]:
        """Label each frame in ``workdir/<key>/``; failures become results with a status.

        Raises:
            InputError: a key that is not a content hash; ReferenceSetupError: an element
                without a pseudopotential.
        """
        return label_in_workdirs(self, frames, workdir)

    def calculate(self, frame: Frame, root: Path, attempts: list[int] | None = None) -> Result:
        """Label one frame in ``root/<key>/``, climbing the SCF ladder.

        Raises:
            CalculationFailed: :class:`SCFError` after the last rung, :class:`CalculationTimeout`,
                :class:`CalculationCrashed`, or ReadError for missing output.
        """
        start = time.perf_counter()
        if not frame.pbc.all():
            raise CalculationFailed("the QE backend labels fully periodic cells only")
        workdir = fresh_frame_workdir(root, frame.key)
        rungs = ladder(self.settings)
        output = workdir / OUTPUT_NAME
        for i, rung in enumerate(rungs):
            if attempts is not None:
                attempts[0] = i + 1
            rundir = workdir / f"{i}-{rung.name}"
            output = rundir / OUTPUT_NAME
            if self._attempt(frame, rundir, rung):
                energy, forces, stress = read_labels(output, frame.n_atoms)
                wall = time.perf_counter() - start
                return Result(frame.key, "ok", energy, forces, stress, wall, output, "", i + 1)
        raise SCFError(f"SCF not converged after {len(rungs)} attempt(s)", log_path=output)

    def _attempt(self, frame: Frame, rundir: Path, rung: Rung) -> bool:
        """One ``pw.x`` run of ``rung`` in ``rundir``; True if its SCF converged.

        Raises:
            CalculationTimeout, CalculationCrashed: the run timed out or stopped on an error.
        """
        rundir.mkdir()
        text = write_input(frame, self.settings, rung, self.pseudos, self.pseudo_dir)
        (rundir / INPUT_NAME).write_text(text)
        env = {**os.environ, "OMP_NUM_THREADS": str(self.run.omp_threads)}
        argv = [*self.command, "-in", INPUT_NAME]
        outcome = run_process(
            argv, rundir, stdout_name=OUTPUT_NAME, timeout_s=self.run.timeout_s, env=env
        )
        shutil.rmtree(rundir / "tmp", ignore_errors=True)
        output = rundir / OUTPUT_NAME
        if outcome.timed_out:
            raise CalculationTimeout(f"pw.x ran past {self.run.timeout_s} s", log_path=output)
        status = read_status(output)
        if not status.scf_converged:
            return False
        if outcome.returncode != 0 or status.error:
            raise CalculationCrashed(
                f"pw.x exited with code {outcome.returncode} ({rung.name}): "
                f"{status.error or 'see ' + str(output)}",
                log_path=output,
            )
        return True


@register("qe")
def make_qe(
    *,
    config: Mapping[str, Any] | str | Path | None = None,
    preset: str | None = None,
    ranks: int | None = None,
) -> QE:
    """Registry factory: ``get_reference("qe", config=..., ranks=...)`` (no presets)."""
    if preset is not None:
        raise ReferenceSetupError("qe has no presets", field="preset", fix="set the keys")
    settings, run, source = load_qe_config(config, ranks=ranks)
    try:
        return QE(settings, run)
    except ReferenceSetupError as exc:
        if source.startswith("<"):
            raise
        raise ReferenceSetupError(exc.message, file=source, field=exc.field, fix=exc.fix) from None
