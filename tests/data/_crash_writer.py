"""Child process of the crash test: a fork server of appending writers.

Usage: python _crash_writer.py (commands on stdin, one per line; one answer line each)

- ``start DATASET ACK_FILE BATCH [N_APPENDS]``: fork a writer and answer its pid. mlmd.data
  is imported once here, so a writer starts in milliseconds, not the ~0.7 s of an import.
  The writer appends batches of known frames forever (or N times); after each ``append``
  returns it appends a line ``<frames now in the file>`` to ACK_FILE; before the first append
  it writes ``ready``.
- ``poll PID``: the writer's exit status, or ``None`` while it runs (negative: the signal
  that killed it).
- ``wait PID``: the writer's exit status once it has ended.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mlmd.data import Dataset  # noqa: E402
from tests.data._helpers import make_frame  # noqa: E402


def write(path: str, ack: str, batch: int, limit: int | None) -> None:
    """Append ``batch`` frames at a time to ``path``, acknowledging each in ``ack``."""
    ds = Dataset(path)
    n = len(ds)
    fd = os.open(ack, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.write(fd, b"ready\n")
    done = 0
    while limit is None or done < limit:
        ds.append([make_frame(n + j, n_min=40) for j in range(batch)])
        n += batch
        done += 1
        os.write(fd, f"{n}\n".encode())


def start(path: str, ack: str, batch: str, limit: str | None = None) -> int:
    """Fork a writer; the child never returns (``os._exit``: no duplicated buffers flushed)."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        write(path, ack, int(batch), None if limit is None else int(limit))
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


def serve() -> None:
    """Answer the commands of the module docstring until stdin closes."""
    ended: dict[int, int] = {}
    for line in sys.stdin:
        command, *args = line.split()
        if command == "start":
            answer = start(*args)
        else:
            pid = int(args[0])
            if pid not in ended:
                got, status = os.waitpid(pid, os.WNOHANG if command == "poll" else 0)
                if got:
                    ended[pid] = os.waitstatus_to_exitcode(status)
            answer = ended.get(pid)
        print(answer, flush=True)


if __name__ == "__main__":
    serve()
