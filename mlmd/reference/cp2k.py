"""The CP2K reference backend: write the input, run it, parse it, climb the SCF ladder.

Each frame runs in ``<workdir>/<frame key>/``, each attempt in a numbered subdirectory
(``0-base``, ``1-restart``, ``2-diagonalization``, ``3-outer_loop``) whose ``cp2k.out`` is
kept. A converged run's wavefunction files are deleted unless ``run.keep_wavefunction``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ase.data import atomic_numbers, chemical_symbols

from mlmd.config import to_mapping
from mlmd.data import Frame
from mlmd.reference.cp2k_input import (
    INPUT_NAME,
    OUTPUT_NAME,
    PROJECT,
    Rung,
    ladder,
    write_input,
)
from mlmd.reference.cp2k_kinds import Kind, choose_kind
from mlmd.reference.cp2k_parser import read_energy, read_forces, read_status, read_stress
from mlmd.reference.cp2k_runner import find_data_dir, find_executable, launcher_prefix, run_cp2k
from mlmd.reference.cp2k_settings import CP2KRunSettings, CP2KSettings, load_cp2k_config
from mlmd.reference.protocol import (
    CalculationCrashed,
    CalculationFailed,
    CalculationTimeout,
    Result,
    SCFError,
)
from mlmd.reference.registry import register
from mlmd.reference.workdirs import fresh_frame_workdir, label_in_workdirs


class CP2K:
    """CP2K (Quickstep, GPW) as a :class:`~mlmd.reference.protocol.Reference`.

    Args:
        settings: what determines the labels (stored as the dataset's reference).
        run: how to launch CP2K. The binary, data directory and launcher are checked here.

    Raises:
        ReferenceSetupError: CP2K, its data directory or the launcher cannot be found.
    """

    name = "cp2k"
    in_process = False

    def __init__(self, settings: CP2KSettings, run: CP2KRunSettings | None = None):
        self.settings = settings
        self.run = run or CP2KRunSettings()
        self.executable = find_executable(self.run.executable)
        self.data_dir = find_data_dir(self.run.data_dir)
        self.command = [*launcher_prefix(self.run.launcher, self.run.ranks), str(self.executable)]
        self.kinds: dict[str, Kind] = {}
        overridden = {*settings.basis_sets, *settings.potentials}
        self.check_elements(atomic_numbers[el] for el in overridden if el in atomic_numbers)

    def check_elements(self, numbers: Iterable[int]) -> None:
        """Choose basis set and pseudopotential of these elements from CP2K's data files
        (:mod:`mlmd.reference.cp2k_kinds`; the driver calls this before writing anything).

        Raises:
            ReferenceSetupError: an element without a basis set or matching potential.
        """
        s = self.settings
        for symbol in sorted({chemical_symbols[int(z)] for z in numbers} - set(self.kinds)):
            self.kinds[symbol] = choose_kind(
                symbol,
                basis_set=s.basis_set,
                pseudopotential=s.pseudopotential,
                basis_file=self.data_dir / s.basis_set_file,
                potential_file=self.data_dir / s.potential_file,
                basis_override=s.basis_sets.get(symbol),
                potential_override=s.potentials.get(symbol),
            )

    @property
    def reference(self) -> dict[str, Any]:
        """The settings, plus ``kinds`` for elements whose basis set or potential is not the
        settings' family name (so SiO2 references are unchanged)."""
        ref = {"name": self.name, **to_mapping(self.settings)}
        for key in ("basis_sets", "potentials"):  # recorded through "kinds" when used
            ref.pop(key)
        default = Kind(self.settings.basis_set, self.settings.pseudopotential)
        special = {el: k for el, k in sorted(self.kinds.items()) if k != default}
        if special:
            ref["kinds"] = {el: to_mapping(k) for el, k in special.items()}
        return ref

    def label(self, frames: Sequence[Frame], workdir: Path) -> list[Result]:
        """Label each frame in ``workdir/<key>/`` (sequentially; the driver runs several
        calls concurrently). Failures become results with their status.

        Raises:
            InputError: a frame key that is not a content hash (see
                :mod:`mlmd.reference.workdirs`); nothing is written or removed then.
        """
        return label_in_workdirs(self, frames, workdir)

    def calculate(self, frame: Frame, root: Path, attempts: list[int] | None = None) -> Result:
        """Label one frame in ``root/<key>/``, climbing the SCF ladder.

        Args:
            root: the label directory; the frame's run directory is made (fresh) inside it.
            attempts: if given, ``attempts[0]`` is set to the number of runs made so far.

        Raises:
            CalculationFailed: :class:`SCFError` after the last rung, :class:`CalculationTimeout`,
                :class:`CalculationCrashed`, or :class:`ReadError` for missing output.
            InputError: the frame's key is not a content hash.
        """
        start = time.perf_counter()
        if not frame.pbc.all():
            raise CalculationFailed("the CP2K backend labels fully periodic cells only")
        workdir = fresh_frame_workdir(root, frame.key)
        previous_wfn: Path | None = None
        output = workdir / OUTPUT_NAME
        rungs = ladder(self.settings)
        for i, rung in enumerate(rungs):
            if attempts is not None:
                attempts[0] = i + 1
            rundir = workdir / f"{i}-{rung.name}"
            restart = previous_wfn if rung.restart and previous_wfn is not None else None
            output = rundir / OUTPUT_NAME
            if not self._attempt(frame, rundir, rung, restart):
                wfn = rundir / f"{PROJECT}-RESTART.wfn"
                previous_wfn = wfn if wfn.is_file() else previous_wfn
                continue
            result = self._read(frame, rundir, output, attempts=i + 1, start=start)
            if not self.run.keep_wavefunction:
                for wfn in workdir.glob("*/*.wfn*"):
                    wfn.unlink()
            return result
        raise SCFError(f"SCF not converged after {len(rungs)} attempt(s)", log_path=output)

    def _attempt(self, frame: Frame, rundir: Path, rung: Rung, restart: Path | None) -> bool:
        """One CP2K run of ``rung`` in ``rundir``; True if its SCF converged.

        Raises:
            CalculationTimeout, CalculationCrashed: the run timed out, exited non-zero or
                aborted.
        """
        rundir.mkdir()
        (rundir / INPUT_NAME).write_text(
            write_input(frame, self.settings, rung, restart, self.kinds)
        )
        outcome = run_cp2k(
            self.command,
            rundir,
            input_name=INPUT_NAME,
            output_name=OUTPUT_NAME,
            run=self.run,
            data_dir=self.data_dir,
        )
        output = rundir / OUTPUT_NAME
        if outcome.timed_out:
            raise CalculationTimeout(
                f"CP2K ran past {self.run.timeout_s} s ({rung.name})", log_path=output
            )
        status = read_status(output)
        if outcome.returncode != 0 or status.aborted:
            raise CalculationCrashed(
                f"CP2K exited with code {outcome.returncode} ({rung.name}): "
                f"{status.message or 'see ' + str(rundir / 'stdout.txt')}",
                log_path=output,
            )
        return status.scf_converged

    def _read(self, frame: Frame, rundir: Path, output: Path, *, attempts: int, start: float):
        """The ``ok`` result of a converged run (raises :class:`ReadError` on missing output)."""
        return Result(
            key=frame.key,
            status="ok",
            energy=read_energy(output),
            forces=read_forces(rundir, PROJECT, frame.n_atoms, output),
            stress=read_stress(rundir, PROJECT, output),
            wall_s=time.perf_counter() - start,
            log_path=output,
            attempts=attempts,
        )


@register("cp2k")
def make_cp2k(
    *,
    config: Mapping[str, Any] | str | Path | None = None,
    preset: str | None = None,
    ranks: int | None = None,
) -> CP2K:
    """Registry factory: ``get_reference("cp2k", config=..., preset=..., ranks=...)``."""
    settings, run = load_cp2k_config(config, preset=preset, ranks=ranks)
    return CP2K(settings, run)
