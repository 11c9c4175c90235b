"""Frame claims shared by concurrent labelling runs of one output file.

Several ``mlmd label`` runs (or Parsl tasks) given the same output share its frames instead
of each labelling all of them: before labelling a frame a run takes an exclusive
``flock`` on ``.<OUT name>.claims/<key>`` beside ``OUT``, holds it until the label is in
``OUT`` and then releases it. A run that finds a frame claimed leaves it for later; once it
holds the claim it looks the frame up in ``OUT`` again and labels it only if nobody did in
the meantime. The kernel drops the locks of a killed run, so a SIGKILL never leaves a frame
claimed forever. Keys are checked (:func:`mlmd.reference.workdirs.check_key`) before they
name a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from mlmd.reference.workdirs import check_key


def claims_dir(out_path: str | Path) -> Path:
    """Where the claims of ``out_path`` live: ``.<name>.claims`` beside it."""
    out_path = Path(out_path)
    return out_path.parent / f".{out_path.name}.claims"


class Claims:
    """The claims one labelling run holds on ``out_path``'s frames.

    ``flock`` locks belong to an open file description, so two runs in one process (or two
    threads each with its own :class:`Claims`) exclude each other as two processes do.
    """

    def __init__(self, out_path: str | Path):
        self.dir = claims_dir(out_path)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._held: dict[str, int] = {}

    def try_claim(self, key: str) -> bool:
        """Claim ``key`` without waiting; False when another run holds it."""
        if key in self._held:
            return True
        fd = os.open(self.dir / check_key(key), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._held[key] = fd
        return True

    def release(self, keys: list[str] | tuple[str, ...], *, done: bool = False) -> None:
        """Release the claims on ``keys`` that this run holds.

        Args:
            done: the frames' labels are in OUT: their claim files are removed too. (A run
                that opened the old file, or creates a new one, may then claim the key again,
                but it finds the frame in OUT and skips it. Frames not written keep their
                file, so two runs can never hold one undone frame through two files.)
        """
        for key in keys:
            fd = self._held.pop(key, None)
            if fd is None:
                continue
            if done:
                with contextlib.suppress(FileNotFoundError):
                    (self.dir / key).unlink()
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def release_all(self) -> None:
        """Release every claim this run holds."""
        self.release(list(self._held))

    @property
    def held(self) -> set[str]:
        return set(self._held)
