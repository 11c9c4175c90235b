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
exceptions. One line per result (key, status, wall time, log) is appended to
``<workdir>/results.jsonl``; the default ``workdir`` is ``OUT`` with suffix ``.label``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlmd.data import Dataset, Frame
from mlmd.errors import InputError
from mlmd.reference.cp2k_runner import kill_running
from mlmd.reference.progress import Progress
from mlmd.reference.protocol import Reference, Result
from mlmd.reference.registry import get_reference

log = logging.getLogger(__name__)


@dataclass
class LabelSummary:
    """What one labelling run did.

    Attributes:
        counts: results of this run per status.
        skipped: frames not labelled because ``OUT`` already has them (``ok``, or failed
            without ``retry_failed``), per their status in ``OUT``.
        out_counts: frames in ``OUT`` per status after the run.
        wall_s: wall time of the run, s.
        failures: ``(key, status, log path or None, message)`` of this run's failed frames.
    """

    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    out_counts: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    failures: list[tuple[str, str, str | None, str]] = field(default_factory=list)

    @property
    def labelled(self) -> int:
        """Frames this run produced a result for (any status)."""
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "skipped": self.skipped,
            "out_counts": self.out_counts,
            "wall_s": round(self.wall_s, 3),
            "failures": [list(f) for f in self.failures],
        }


class _Writer:
    """Buffers results and upserts them into ``OUT`` every ``flush_s`` s / ``flush_frames``."""

    def __init__(self, out: Dataset, journal: Path, flush_s: float, flush_frames: int):
        self.out, self.journal = out, journal
        self.flush_s, self.flush_frames = flush_s, flush_frames
        self.frames: list[Frame] = []
        self.results: list[Result] = []
        self.last = time.perf_counter()

    def add(self, frames: list[Frame], results: list[Result]) -> None:
        """Buffer labelled ``frames``; write all buffered ones if a flush is due."""
        for frame, result in zip(frames, results, strict=True):
            self.frames.append(result.apply(frame))
            self.results.append(result)
        due = time.perf_counter() - self.last >= self.flush_s
        if due or len(self.frames) >= self.flush_frames:
            self.flush()

    def flush(self) -> None:
        if self.frames:
            self.out.upsert(self.frames)
            with self.journal.open("a") as fh:
                for r in self.results:
                    row = {
                        "key": r.key,
                        "status": r.status,
                        "wall_s": round(r.wall_s, 4),
                        "attempts": r.attempts,
                        "log": None if r.log_path is None else str(r.log_path),
                        "message": r.message,
                    }
                    fh.write(json.dumps(row) + "\n")
        self.frames, self.results = [], []
        self.last = time.perf_counter()


def _plan(src: Dataset, out: Dataset, retry_failed: bool) -> tuple[list[int], dict[str, int]]:
    """Indices of ``src`` to label, and the skipped ones counted by their status in OUT."""
    have = dict(zip(out.keys(), out.statuses().tolist(), strict=True)) if len(out) else {}
    keys = src.keys()
    todo, seen, skipped = [], set(), Counter()
    for i in src.select(status="unlabelled"):
        key = keys[i]
        if key in seen:
            continue
        seen.add(key)
        status = have.get(key)
        if status == "ok" or (status not in (None, "unlabelled") and not retry_failed):
            skipped[status] += 1
            continue
        todo.append(i)
    return todo, dict(skipped)


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
    """One frame through an external reference; an unexpected error becomes ``failed``."""
    start = time.perf_counter()
    try:
        return reference.label([frame], workdir)[0]
    except Exception as exc:  # a bug or an OS error must not stop the campaign
        log.exception("labelling frame %s raised", frame.key)
        wall = time.perf_counter() - start
        return Result(frame.key, "failed", wall_s=wall, message=f"{type(exc).__name__}: {exc}")


def label_dataset(
    in_path: str | Path,
    out_path: str | Path,
    reference: Reference | str,
    *,
    workers: int = 1,
    ranks: int | None = None,
    retry_failed: bool = False,
    config: Mapping[str, Any] | str | Path | None = None,
    preset: str | None = None,
    workdir: str | Path | None = None,
    progress: bool = True,
    flush_s: float = 0.5,
    flush_frames: int = 64,
) -> LabelSummary:
    """Label the ``unlabelled`` frames of ``in_path`` into ``out_path`` (see module docstring).

    Args:
        reference: a :class:`Reference`, or a registry name built with ``config``, ``preset``
            and ``ranks``.
        workers: structures labelled concurrently (external references).
        ranks: MPI ranks per structure (when ``reference`` is a name; None: the config's).
        retry_failed: label again frames that failed in an earlier run.
        workdir: run directories and ``results.jsonl``; default ``OUT`` with suffix ``.label``.
        progress: draw a progress bar with ETA on stderr.
        flush_s, flush_frames: batching of writes for in-process references.

    Raises:
        InputError: unreadable ``IN``, ``OUT`` labelled by another reference, IN == OUT, bad
            ``workers``; ReferenceSetupError (an InputError) from the reference's set-up.
    """
    start = time.perf_counter()
    in_path, out_path = Path(in_path), Path(out_path)
    if workers < 1:
        raise InputError("workers must be >= 1", field="workers", fix="pass --workers 1 or more")
    if in_path.resolve() == out_path.resolve():
        raise InputError(
            "input and output are the same file", file=str(out_path), fix="write to a new file"
        )
    if isinstance(reference, str):
        reference = get_reference(reference, config=config, preset=preset, ranks=ranks)
    src = Dataset(in_path)
    len(src)  # open and validate IN before creating OUT
    out = Dataset.open_or_create(out_path, reference.reference)
    todo, skipped = _plan(src, out, retry_failed)
    workdir = Path(workdir) if workdir is not None else out_path.with_suffix(".label")
    workdir.mkdir(parents=True, exist_ok=True)
    in_process = reference.in_process
    writer = _Writer(
        out,
        workdir / "results.jsonl",
        flush_s=flush_s if in_process else 0.0,
        flush_frames=flush_frames if in_process else 1,
    )
    bar = Progress(len(todo), label=f"label[{reference.name}]", enabled=progress)
    summary = LabelSummary(skipped=skipped)
    frames = _frames(src, todo)
    try:
        if in_process:
            _run_in_process(reference, frames, workdir, writer, bar, summary, flush_frames)
        else:
            _run_concurrent(reference, frames, workdir, writer, bar, summary, workers)
        writer.flush()
    finally:
        bar.close()
    summary.out_counts = dict(Counter(Dataset(out_path).statuses().tolist()))
    summary.wall_s = time.perf_counter() - start
    return summary


def _record(summary: LabelSummary, bar: Progress, results: list[Result]) -> None:
    for r in results:
        summary.counts[r.status] = summary.counts.get(r.status, 0) + 1
        if r.status != "ok":
            log_path = None if r.log_path is None else str(r.log_path)
            summary.failures.append((r.key, r.status, log_path, r.message))
    bar.update([r.status for r in results])


def _run_in_process(
    reference: Reference,
    frames: Iterator[Frame],
    workdir: Path,
    writer: _Writer,
    bar: Progress,
    summary: LabelSummary,
    chunk: int,
) -> None:
    batch: list[Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) >= chunk:
            _label_chunk(reference, batch, workdir, writer, bar, summary)
            batch = []
    if batch:
        _label_chunk(reference, batch, workdir, writer, bar, summary)


def _label_chunk(
    reference: Reference,
    batch: list[Frame],
    workdir: Path,
    writer: _Writer,
    bar: Progress,
    summary: LabelSummary,
) -> None:
    results = reference.label(batch, workdir)
    writer.add(batch, results)
    _record(summary, bar, results)


def _run_concurrent(
    reference: Reference,
    frames: Iterator[Frame],
    workdir: Path,
    writer: _Writer,
    bar: Progress,
    summary: LabelSummary,
    workers: int,
) -> None:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="label")
    running: dict[Future[Result], Frame] = {}
    try:
        for frame in frames:
            if len(running) >= workers:
                _collect(running, writer, bar, summary, block=True)
            running[pool.submit(_safe_label, reference, frame, workdir)] = frame
        while running:
            _collect(running, writer, bar, summary, block=True)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        kill_running()  # CP2K runs in their own sessions: stop them explicitly
        raise
    pool.shutdown(wait=True)


def _collect(
    running: dict[Future[Result], Frame],
    writer: _Writer,
    bar: Progress,
    summary: LabelSummary,
    block: bool,
) -> None:
    done, _ = wait(list(running), timeout=None if block else 0, return_when=FIRST_COMPLETED)
    for future in done:
        frame = running.pop(future)
        result = future.result()
        writer.add([frame], [result])
        _record(summary, bar, [result])
