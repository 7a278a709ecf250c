"""The bench's CPU readings of another process, and of callgrind's counts."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from asyncio.subprocess import PIPE
from pathlib import Path

import pytest

from bench.processes import ThreadTimes, idle_cpu_rate, thread_times, work_since
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


#: A process that, idle, wakes ten times a second for 2 ms of CPU (as a server's tick, made
#: costly), and on "go" spins 100 ms, answers, and 0.1 s later spins 50 ms more (a
#: deferred write).
_TICKING = """
import sys, threading, time

def spin(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass

def tick():
    while True:
        spin(0.002)
        time.sleep(0.1)

threading.Thread(target=tick, daemon=True).start()
print("ready", flush=True)
sys.stdin.readline()
spin(0.1)
print("done", flush=True)
time.sleep(0.1)
spin(0.05)
sys.stdin.readline()
"""


async def test_work_is_counted_with_what_it_defers_and_without_the_idle_ticking() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _TICKING, stdin=PIPE, stdout=PIPE
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert await child.stdout.readline() == b"ready\n"
        idle_rate = await idle_cpu_rate(child.pid)
        assert idle_rate >= 0.015  # 2 ms ten times a second, and the wakeups
        before = thread_times(child.pid)
        child.stdin.write(b"go\n")
        assert await child.stdout.readline() == b"done\n"
        spent = await work_since(child.pid, before, idle_rate=idle_rate)
        # then the 150 ms of work, deferred part included, and not the seconds of ticking a
        # fixed idle threshold (2 ms in 0.3 s) would have waited through and counted
        assert 0.14 <= spent <= 0.19
    finally:
        child.kill()
        await child.wait()
