"""MD tests run `mlmd ... --json` in-process; the dispatcher's `progress.silence()` for --json
is process-wide, so each test leaves the bars as it found them (automatic)."""

import pytest

from mlmd import progress


@pytest.fixture(autouse=True)
def _bars_back_to_automatic():
    yield
    progress.silence(False)
