"""Campaign.many: each of several sibling steps is recorded done as soon as it finishes."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest


def test_a_finished_sibling_is_done_before_the_others_end_and_survives_their_failure(tmp_path):
    """Step ``fast`` ends at once; step ``slow`` waits (≤ 10 s) until ``fast`` is recorded
    done, then fails, as a killed or crashed sibling would: ``fast`` was recorded while
    ``slow`` ran (it was not, before: a campaign killed then ran ``fast`` again), and a
    rerun reuses it."""
    from campaigns.runner import Campaign, Job

    c = Campaign("test", None, None, None, tmp_path, {})
    done_file = c.store.root / "train-fast" / "done.json"

    def slow_step():
        deadline = time.monotonic() + 10.0
        while not done_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        raise RuntimeError(f"sibling saw fast done: {done_file.exists()}")

    with ThreadPoolExecutor(2) as pool:
        jobs = [
            Job("fast", "fast", lambda _: pool.submit(lambda: {"model": "m0"})),
            Job("slow", "slow", lambda _: pool.submit(slow_step)),
        ]
        with pytest.raises(RuntimeError, match="sibling saw fast done: True"):
            c.many("train", jobs)
    assert c.store.outputs("train", "fast") == {"model": "m0"}
    assert not c.store.is_done("train", "slow")
    again = c.many("train", jobs[:1])  # nothing submitted: the pool is closed
    assert again == [{"model": "m0"}]
