"""Child process of the crash test: append batches of known frames forever (or N times).

Usage: python _crash_writer.py DATASET ACK_FILE BATCH [N_APPENDS]

After each ``append`` returns it appends a line ``<frames now in the file>`` to ACK_FILE;
before the first append it writes ``ready``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mlmd.data import Dataset  # noqa: E402
from tests.data._helpers import make_frame  # noqa: E402


def main() -> None:
    path, ack, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
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


if __name__ == "__main__":
    main()
