"""The labelling driver: label the ``unlabelled`` frames of a dataset into another, resumably.

``label_dataset(IN, OUT, reference)`` reads frames of ``IN`` whose status is ``unlabelled``,
labels each with ``reference`` and writes it to ``OUT`` as soon as it is done
(``Dataset.upsert``; frames of an in-process reference such as the teacher are written in
batches: every ``flush_s`` seconds or ``flush_frames`` frames). A SIGKILL therefore loses at
most the structures in flight. A rerun skips frames whose key is already in ``OUT`` with
status ``ok``, and frames that failed unless ``retry_failed``; ``OUT``'s reference must equal
the reference's settings (else :class:`~mlmd.errors.InputError`).

External references (CP2K) run ``workers`` structures at a time in threads, each launching
its own program with the reference's ranks. Calculation failures become statuses, never
exceptions. A program stopped from outside (SIGKILL, SIGTERM: a stopped campaign, the
out-of-memory killer) is no property of its frame: the frame is not written, the others
finish, and the run then raises :class:`~mlmd.reference.protocol.CalculationInterrupted`, so
a rerun labels it again. Labels outside physical bounds become ``unphysical``
(:mod:`mlmd.reference.bounds`). One line per result (key, status, wall time, log) is appended
to ``<workdir>/results.jsonl`` (:mod:`mlmd.reference.label_output`); the default ``workdir``
is ``OUT`` with suffix ``.label``.

Concurrent runs on the same ``OUT`` share the work: each frame is claimed before it is
labelled (:mod:`mlmd.reference.claims`), so every frame is labelled once, whichever run gets
it; a run returns when every frame it planned is in ``OUT`` (labelled by it or by another).
Frame keys are checked as content hashes before anything is written
(:mod:`mlmd.reference.workdirs`): a hostile key in ``IN`` is an :class:`InputError`.
How a run goes beside what it labels (retries, work directory, bounds, batching) is one
:class:`LabelOptions` value.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from mlmd.data import Dataset, Frame
from mlmd.errors import InputError
from mlmd.progress import Progress
from mlmd.reference.bounds import LabelBounds, check_result, load_bounds
from mlmd.reference.claims import Claims
from mlmd.reference.label_output import LabelSummary, Writer, out_statuses
from mlmd.reference.process import kill_running
from mlmd.reference.protocol import CalculationInterrupted, Reference, Result
from mlmd.reference.registry import get_reference
from mlmd.reference.workdirs import check_key

log = logging.getLogger(__name__)


def _plan(
    src: Dataset, out_path: Path, retry_failed: bool
) -> tuple[list[int], dict[str, str | None], dict[str, int]]:
    """What to label: indices of ``src``, the ``OUT`` status each had when planned (None:
    absent), and the skipped frames counted by their status in ``OUT``."""
    have = out_statuses(out_path)
    keys = src.keys()
    todo, planned, skipped = [], {}, Counter()
    for i in src.select(status="unlabelled"):
        key = keys[i]
        if key in planned or key in skipped:
            continue
        status = have.get(key)
        if status == "ok" or (status not in (None, "unlabelled") and not retry_failed):
            skipped[status] += 1
            continue
        todo.append(i)
        planned[key] = status
    return todo, planned, dict(skipped)


def _frames(src: Dataset, indices: list[int]) -> Iterator[Frame]:
    """The frames at ``indices`` (sorted), read block-wise in file order."""
    wanted = set(indices)
    if not wanted:
        return
    last = max(wanted)
    for i, frame in enumerate(src):
        if i in wanted:
            yield frame
        if i >= last:
            return


def _safe_label(reference: Reference, frame: Frame, workdir: Path) -> Result:
    """One frame through an external reference; an unexpected error becomes ``failed``
    (:class:`CalculationInterrupted` propagates: it says nothing about the frame)."""
    start = time.perf_counter()
    try:
        return reference.label([frame], workdir)[0]
    except CalculationInterrupted:
        raise
    except Exception as exc:  # a bug or an OS error must not stop the campaign
        log.exception("labelling frame %s raised", frame.key)
        wall = time.perf_counter() - start
        return Result(frame.key, "failed", wall_s=wall, message=f"{type(exc).__name__}: {exc}")


@dataclass
class _Run:
    """One labelling run: where it writes, what it planned and what it has done."""

    reference: Reference
    out_path: Path
    workdir: Path
    writer: Writer
    claims: Claims
    bar: Progress
    summary: LabelSummary
    planned: dict[str, str | None]
    bounds: LabelBounds
    deferred: list[Frame] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)

    def take(self, frames: list[Frame]) -> list[Frame]:
        """The frames of ``frames`` to label now: claimed by this run and unchanged in OUT
        since planned. Frames another run holds are deferred; those it finished are
        counted as skipped."""
        mine = []
        for frame in frames:
            (mine if self.claims.try_claim(frame.key) else self.deferred).append(frame)
        if not mine:
            return []
        now = out_statuses(self.out_path)
        todo = []
        for frame in mine:
            status = now.get(frame.key)
            if status == self.planned[frame.key]:
                todo.append(frame)
                continue
            self.claims.release([frame.key], done=True)
            self.summary.skipped[status] = self.summary.skipped.get(status, 0) + 1
            self.bar.update(["elsewhere"])
        return todo

    def finish(self, frames: list[Frame], results: list[Result]) -> None:
        """Bound-check ``results``, write them (releasing the claims) and count them."""
        checked = [
            check_result(r, f.n_atoms, self.bounds) for f, r in zip(frames, results, strict=True)
        ]
        self.writer.add(frames, checked)
        for r in checked:
            self.summary.counts[r.status] = self.summary.counts.get(r.status, 0) + 1
            if r.status != "ok":
                log_path = None if r.log_path is None else str(r.log_path)
                self.summary.failures.append((r.key, r.status, log_path, r.message))
        self.bar.update([r.status for r in checked])

    def skip_interrupted(self, frame: Frame, exc: CalculationInterrupted) -> None:
        """Leave ``frame`` unlabelled (its claim released, nothing written) and remember it."""
        log.warning("frame %s: %s", frame.key, exc)
        self.claims.release([frame.key])
        self.interrupted.append(frame.key)

    def raise_if_interrupted(self) -> None:
        """Raise :class:`CalculationInterrupted` if any frame's program was stopped."""
        if self.interrupted:
            raise CalculationInterrupted(
                f"{len(self.interrupted)} frame(s) were stopped from outside (first "
                f"{self.interrupted[0]}, see the log above); every other result is written "
                f"to {self.out_path}: rerun to label the rest"
            )


@dataclass(frozen=True)
class LabelOptions:
    """How a labelling run goes, beside what it labels (the defaults are the CLI's).

    Attributes:
        retry_failed: label again frames that failed in an earlier run.
        workdir: run directories and ``results.jsonl``; default ``OUT`` with suffix ``.label``.
        bounds: physical bounds (:class:`~mlmd.reference.bounds.LabelBounds` or its mapping).
        flush_s, flush_frames: batching of writes for in-process references (s, frames).
        poll_s: how often to look again at frames a concurrent run holds, s.
    """

    retry_failed: bool = False
    workdir: str | Path | None = None
    bounds: LabelBounds | Mapping[str, Any] | None = None
    flush_s: float = 0.5
    flush_frames: int = 64
    poll_s: float = 0.2


def label_dataset(
    in_path: str | Path,
    out_path: str | Path,
    reference: Reference | str,
    *,
    workers: int = 1,
    progress: bool = True,
    options: LabelOptions | None = None,
    **build: Any,
) -> LabelSummary:
    """Label the ``unlabelled`` frames of ``in_path`` into ``out_path`` (see module docstring).

    Args:
        reference: a :class:`Reference`, or a registry name built by
            :func:`~mlmd.reference.registry.get_reference` with ``build``.
        workers: structures labelled concurrently (external references).
        progress: draw a progress bar with ETA on stderr.
        options: retries, work directory, bounds and batching (:class:`LabelOptions`).
        build: ``get_reference``'s keywords (``config``, ``preset``, ``ranks``: MPI ranks
            per structure, None = the config's) when ``reference`` is a name.

    Raises:
        InputError: unreadable ``IN``, a frame key that is not a content hash, ``OUT``
            labelled by another reference, IN == OUT, bad ``workers`` or ``bounds``;
            ReferenceSetupError (an InputError) from the reference's set-up.
        TypeError: ``build`` keywords given with a built :class:`Reference`.
    """
    start = time.perf_counter()
    opts = LabelOptions() if options is None else options
    in_path, out_path = Path(in_path), Path(out_path)
    _check_args(in_path, out_path, workers)
    bounds = load_bounds(opts.bounds)
    if isinstance(reference, str):
        reference = get_reference(reference, **build)
    elif build:
        raise TypeError(f"{sorted(build)} apply to a reference given by name only")
    src = _open_input(in_path, reference)
    out = Dataset.open_or_create(out_path, reference.reference)
    todo, planned, skipped = _plan(src, out_path, opts.retry_failed)
    workdir = Path(opts.workdir) if opts.workdir is not None else out_path.with_suffix(".label")
    workdir.mkdir(parents=True, exist_ok=True)
    claims = Claims(out_path)
    batch = reference.in_process
    writer = Writer(
        out,
        workdir / "results.jsonl",
        claims,
        flush_s=opts.flush_s if batch else 0.0,
        flush_frames=opts.flush_frames if batch else 1,
    )
    bar = Progress(len(todo), f"label[{reference.name}]", unit="frame", enabled=progress)
    summary = LabelSummary(skipped=skipped)
    run = _Run(reference, out_path, workdir, writer, claims, bar, summary, planned, bounds)
    try:
        _label_all(run, _frames(src, todo), workers, opts.flush_frames, opts.poll_s)
    finally:
        claims.release_all()
        bar.close()
    run.raise_if_interrupted()
    run.summary.out_counts = dict(Counter(Dataset(out_path).statuses().tolist()))
    run.summary.wall_s = time.perf_counter() - start
    return run.summary


def _open_input(in_path: Path, reference: Reference) -> Dataset:
    """IN, validated before OUT exists: every key a content hash, every element one the
    reference can label."""
    src = Dataset(in_path)
    for key in src.keys():
        check_key(key, file=str(in_path))
    _check_elements(reference, in_path)
    return src


def _check_elements(reference: Reference, in_path: Path) -> None:
    """Let a reference that knows its elements (``check_elements``) refuse IN's up front."""
    check = getattr(reference, "check_elements", None)
    if check is None:
        return
    with h5py.File(in_path, "r") as f:
        numbers = np.unique(f["atoms/numbers"][:])
    try:
        check(numbers.tolist())
    except InputError as exc:
        raise InputError(exc.message, file=str(in_path), field=exc.field, fix=exc.fix) from None


def _check_args(in_path: Path, out_path: Path, workers: int) -> None:
    if workers < 1:
        raise InputError("workers must be >= 1", field="workers", fix="pass --workers 1 or more")
    if in_path.resolve() == out_path.resolve():
        raise InputError(
            "input and output are the same file", file=str(out_path), fix="write to a new file"
        )


def _label_all(run: _Run, frames: Iterable[Frame], workers: int, chunk: int, poll_s: float) -> None:
    """Label ``frames``, then the frames concurrent runs held, until none is left."""

    def one_pass(batch: Iterable[Frame]) -> None:
        if run.reference.in_process:
            _run_in_process(run, batch, chunk)
        else:
            _run_concurrent(run, batch, workers)
        run.writer.flush()

    one_pass(frames)
    while run.deferred:
        pending, run.deferred = run.deferred, []
        one_pass(pending)
        if len(run.deferred) == len(pending):  # all still held elsewhere: wait a little
            time.sleep(poll_s)


def _run_in_process(run: _Run, frames: Iterable[Frame], chunk: int) -> None:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) >= chunk:
            _label_chunk(run, batch)
            batch = []
    if batch:
        _label_chunk(run, batch)


def _label_chunk(run: _Run, batch: list[Frame]) -> None:
    todo = run.take(batch)
    if todo:
        run.finish(todo, run.reference.label(todo, run.workdir))


def _run_concurrent(run: _Run, frames: Iterable[Frame], workers: int) -> None:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="label")
    running: dict[Future[Result], Frame] = {}
    try:
        for frame in frames:
            if len(running) >= workers:
                _collect(run, running)
            for todo in run.take([frame]):
                running[pool.submit(_safe_label, run.reference, todo, run.workdir)] = todo
        while running:
            _collect(run, running)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        kill_running()  # CP2K runs in their own sessions: stop them explicitly
        raise
    pool.shutdown(wait=True)


def _collect(run: _Run, running: dict[Future[Result], Frame]) -> None:
    done, _ = wait(list(running), return_when=FIRST_COMPLETED)
    for future in done:
        frame = running.pop(future)
        try:
            result = future.result()
        except CalculationInterrupted as exc:
            run.skip_interrupted(frame, exc)
            continue
        run.finish([frame], [result])
