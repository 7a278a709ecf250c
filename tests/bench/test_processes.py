"""The bench's CPU readings of another process."""

from __future__ import annotations

import os
import threading
import time

from bench.processes import ThreadTimes, thread_times


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
