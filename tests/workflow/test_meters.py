"""Meters read a running step's own files; the wait loop shows done/total with an ETA."""

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from mlmd.md.thermo import ThermoLog
from mlmd.workflow.meters import journal_meter, thermo_meter, wait_all


def test_journal_meter_counts_finished_frames(tmp_path):
    journal = tmp_path / "labelled.label" / "results.jsonl"
    meter = journal_meter(journal, total=14)
    assert meter() == (0, 14)  # the step has not started writing
    journal.parent.mkdir()
    journal.write_text('{"key": "a"}\n{"key": "b"}\n')
    assert meter() == (2, 14)


def test_thermo_meter_reads_the_last_step_of_a_real_thermo_log(tmp_path):
    path = tmp_path / "thermo.log"
    meter = thermo_meter(path, steps=500)
    assert meter() == (0, 500)
    log = ThermoLog(path, echo=None)
    for step in (0, 100, 200):
        log.row(step=step, time_ps=step / 1000, T_K=300.0)
    assert meter() == (200, 500)
    log.close()


def test_wait_all_draws_progress_lines_with_eta_and_returns_when_done(tmp_path, monkeypatch):
    monkeypatch.setenv("MLMD_PROGRESS", "1")  # draw plain lines into the StringIO
    journal = tmp_path / "results.jsonl"
    journal.write_text("{}\n")  # one frame done by an earlier, killed attempt
    release = threading.Event()

    def label_three_more():
        for _ in range(3):
            time.sleep(0.15)
            with journal.open("a") as fh:
                fh.write("{}\n")
        release.wait(5)
        return "ok"

    stream = io.StringIO()
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(label_three_more)
        threading.Timer(0.8, release.set).start()
        wait_all(
            {"label start": future},
            {"label start": (journal_meter(journal, 4), "frame")},
            poll_s=0.05,
            stream=stream,
        )
    assert future.result() == "ok"
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("label start") and " 3/3 100%" in lines[-1]
    assert "frame/s" in lines[-1]
    assert " 0/3 " in lines[0] and "ETA 0:00:00" in lines[-1]  # drawn at once, and at the end
