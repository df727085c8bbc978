"""Latency of `generate` (the shipped sampler): 8 bars x 4 candidates; prints p50/p95 (wall and CPU).

Run: ``.venv/bin/python bench/bench_generate.py [--runs 30] [--threads 1]``
"""
from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=30)
    args = p.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    from st4rt_repl.models.generation import generate
    from st4rt_repl.tune import Key
    cases = [((6, 8), Key("G")), ((4, 4), Key("D")), ((3, 4), Key("A", "dorian"))]
    for i in range(3):
        generate(*cases[i % 3], 8, 4, seed=i)
    times, cpu = [], []
    for i in range(args.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        generate(*cases[i % 3], 8, 4, seed=100 + i)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    # CPU time is what a quiet machine would show as wall time (one thread); on a shared
    # machine the wall clock also counts waiting for a core
    print(f"generate 8 bars x 4 candidates: p50 {statistics.median(times):.1f} ms wall, "
          f"{statistics.median(cpu):.1f} ms CPU, p95 {times[int(0.95 * len(times)) - 1]:.1f} ms wall "
          f"({args.runs} runs, {args.threads} thread(s))")


if __name__ == "__main__":
    main()
