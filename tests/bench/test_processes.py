"""The bench's CPU readings of another process, and of callgrind's counts."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from bench.processes import ThreadTimes, thread_times
from bench.served import read_total


def test_cpu_between_readings_counts_each_threads_growth() -> None:
    earlier = ThreadTimes({1: 5_000_000, 2: 1_000_000, 3: 9_000_000})
    # thread 3 ended, thread 4 started, thread 2's id was reused by a new thread
    later = ThreadTimes({1: 7_000_000, 2: 400_000, 4: 3_000_000})
    assert later.since(earlier) == (2_000_000 + 400_000 + 3_000_000) / 1e9


def test_a_busy_thread_of_this_process_is_read_to_the_millisecond() -> None:
    done, release = threading.Event(), threading.Event()

    def spin() -> None:
        end = time.thread_time() + 0.02
        while time.thread_time() < end:
            pass
        done.set()
        release.wait(5)  # alive until read

    before = thread_times(os.getpid())
    worker = threading.Thread(target=spin)
    worker.start()
    done.wait(5)
    after = thread_times(os.getpid())
    release.set()
    worker.join()
    assert worker.native_id in after.by_thread
    assert after.since(before) >= 0.015


def test_a_callgrind_dump_is_read_for_its_total(tmp_path: Path) -> None:
    dump = tmp_path / "out.1"
    dump.write_text("version: 1\ncmd: python\nevents: Ir\nfn=main\n3 17\nsummary: 1234567\n")
    assert read_total(dump) == 1234567
    (tmp_path / "empty.1").write_text("version: 1\n")
    with pytest.raises(RuntimeError, match="no totals"):
        read_total(tmp_path / "empty.1")
