"""Child processes on loopback: free ports, start, wait until ready, stop, /proc readings."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In the child before exec: receive SIGTERM if the bench process dies first."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Process:
    """A subprocess of the bench in a session of its own, its output in ``log_path``; ``stop``
    ends its whole process group. Use as a context manager or call ``stop``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        cwd: Path = REPO,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - argv built by the bench
            list(argv),
            cwd=cwd,
            env=None if env is None else {**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only the bench; it stops the children
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to the group, SIGKILL after ``timeout`` seconds; idempotent."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        self._log.close()

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class Child(Process):
    """A Python module of this project run by the project's interpreter."""

    def __init__(self, name: str, module_args: Sequence[str], log_path: Path) -> None:
        super().__init__(name, [sys.executable, "-m", *module_args], log_path)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of the whole line
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def status_mb(pid: int, key: str) -> float:
    """A ``kB`` line of /proc/<pid>/status (VmHWM, VmRSS) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


@dataclass(frozen=True)
class ThreadTimes:
    """The CPU time of each thread of a process, in nanoseconds, from
    ``/proc/<pid>/task/<tid>/schedstat``: to the nanosecond, where ``cpu_seconds`` counts
    10 ms clock ticks (a third of a 30-page block of 1 ms pages)."""

    by_thread: Mapping[int, int]

    def since(self, earlier: ThreadTimes) -> float:
        """CPU seconds between ``earlier`` and this reading: each thread's growth, a thread
        started in between counted whole (a thread that ended in between is not counted
        after ``earlier``; a serving gateway keeps its threads)."""
        spent = 0
        for tid, ns in self.by_thread.items():
            before = earlier.by_thread.get(tid, 0)
            spent += ns - before if ns >= before else ns  # a reused thread id: a new thread
        return spent / 1e9


def thread_times(pid: int) -> ThreadTimes:
    """The CPU time of each live thread of ``pid`` (see ``ThreadTimes``)."""
    times: dict[int, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            times[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the thread ended while being read
    return ThreadTimes(times)


async def idle_cpu_rate(pid: int, *, window: float = 0.5, windows: int = 2) -> float:
    """CPU seconds per second that ``pid`` spends while nothing is asked of it (uvicorn's
    tick, its timers): the least of ``windows`` readings ``window`` seconds long.

    Not nothing on every machine: on a virtual machine whose idle vCPUs are descheduled,
    each wakeup from idle was charged about a millisecond (an asyncio loop sleeping 0.1 s at
    a time read 12 ms of CPU a second; a gateway serving nothing, 11)."""
    reading = thread_times(pid)
    rates = []
    for _ in range(windows):
        await asyncio.sleep(window)
        now = thread_times(pid)
        rates.append(now.since(reading) / window)
        reading = now
    return min(rates)


async def work_since(
    pid: int,
    before: ThreadTimes,
    *,
    idle_rate: float = 0.0,
    quiet: float = 0.3,
    idle_cpu: float = 0.002,
    within: float = 3.0,
) -> float:
    """CPU seconds ``pid`` spent on work since ``before`` (read just before the work began),
    counted until it is idle again, so that work it defers past its last answer (a batched
    write, a timer) counts with the requests that caused it.

    Idle again: less than ``idle_cpu`` seconds of CPU in ``quiet`` seconds beyond what an
    idle process spends (``idle_rate``, from ``idle_cpu_rate``), waited for at most
    ``within`` seconds. The settling time's idle spending is not work and is taken off; the
    quiet window that ends it is not counted. Returns once the process is idle (or
    ``within`` has passed), so that the next reading starts from idle."""
    started = time.monotonic()
    end_of_work = last = thread_times(pid)
    last_at = started
    while time.monotonic() < started + within:
        await asyncio.sleep(quiet)
        now, now_at = thread_times(pid), time.monotonic()
        if now.since(last) < idle_cpu + idle_rate * (now_at - last_at):
            break
        last, last_at = now, now_at
    deferred = last.since(end_of_work) - idle_rate * (last_at - started)
    return end_of_work.since(before) + max(deferred, 0.0)
