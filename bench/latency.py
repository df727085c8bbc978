"""The timing loop the latency benches share: wall and CPU milliseconds per call.

    >>> line = latency_line("noop", lambda i: None, runs=4, threads=1)
    >>> line.startswith("noop: p50 ") and line.endswith("(4 runs, 1 thread(s))")
    True
"""
from __future__ import annotations

import statistics
import time
from typing import Callable


def latency_line(label: str, call: Callable[[int], object], *, runs: int, threads: int) -> str:
    """Time `call(i)` for i < runs; one line: p50 wall and CPU, p95 wall.

    CPU time is what one thread costs (what a quiet machine shows as wall time); on a
    shared machine the wall clock adds the wait for a core.
    """
    times, cpu = [], []
    for i in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        call(i)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    return (f"{label}: p50 {statistics.median(times):.1f} ms wall, {statistics.median(cpu):.1f} ms CPU, "
            f"p95 {times[int(0.95 * len(times)) - 1]:.1f} ms wall ({runs} runs, {threads} thread(s))")
