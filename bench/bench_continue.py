"""Latency of `continue`: 8 new bars, 8 candidates, from a 16-bar primer (p50, p95 over 50 runs).

    .venv/bin/python bench/bench_continue.py [--checkpoint PATH] [--runs 50] [--threads 1]
    .venv/bin/python bench/bench_continue.py --compare OTHER.pt [--runs 60]   # CPU time, alternating
    .venv/bin/python bench/bench_continue.py --compare OLD.pt --compare-exact  # OLD as round 2d's code ran it

Measures the shipped written-form checkpoint (tokenizer v2, one step per note).
Round 1's checkpoint (tokenizer v1, two steps per note) was measured beside it in
one run on 2026-11-29 (bench/RESULTS.md) before it was retired; commit b1cb07b
holds both.  Goal: no slower than round 1 (p50 ~116 ms on a quiet 2-core
machine); long term p50 <= 25 ms.  Prints one line per setting.
"""
from __future__ import annotations

import argparse
import statistics
import time
from fractions import Fraction

import torch

from st4rt_repl.tune import Key, Tune


def primer_16_bars() -> Tune:
    """A 16-bar 4/4 reel-like primer in D (eighth notes), built without a parser."""
    e = Fraction(1, 2)
    a = [74, 73, 74, 76, 78, 76, 74, 73, 71, 69, 71, 73, 74, 76, 78, 79]
    b = [81, 79, 78, 76, 74, 76, 78, 79, 81, 83, 81, 79, 78, 76, 74, 73]
    bars = []
    for phrase in (a, b, a, b, a, b, a, b):
        bars.append([(p, e) for p in phrase[:8]])
        bars.append([(p, e) for p in phrase[8:]])
    return Tune.from_bars(bars, meter=(4, 4), key=Key("D", "major"))


def bench(module, checkpoint, label: str, runs: int, threads: int) -> None:
    """Time module.continue_tune (warm primer, then a new primer each call)."""
    model, ck = module.load(checkpoint)
    torch.set_num_threads(threads)     # after load(), which sets 1 thread
    primer = primer_16_bars()
    # "new primer": the stepper's cached primer run is dropped before each call, as when
    # the user continues a tune for the first time; otherwise the REPL's usual case of
    # asking again for more candidates from the same tune (primer run cached).
    for mode, cold in [("sample", False), ("sample, new primer", True)]:
        for i in range(3):   # warm-up
            module.continue_tune(primer, 8, candidates=8, seed=i, checkpoint=checkpoint)
        times = []
        for i in range(runs):
            if cold:
                module.forget_primer()
            t0 = time.perf_counter()
            module.continue_tune(primer, 8, candidates=8, seed=100 + i, checkpoint=checkpoint)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print(f"{label}: continue 8 bars x 8 candidates ({mode}, hidden {model.cfg.hidden}, window "
              f"{model.cfg.window}, threads {threads}): p50 {statistics.median(times):.1f} ms, "
              f"p95 {p95:.1f} ms over {len(times)} runs", flush=True)


def compare(module, a: str, b: str, runs: int, exact_a: bool = False) -> None:
    """CPU time of checkpoints a and b under this code, calls alternating in one process
    (steadier than two runs on a shared machine).  `exact_a`: a runs all in float32, as
    the code before the bfloat16 output layers (round 2e) ran every checkpoint; for a
    checkpoint without a pointer head that is the earlier code's computation."""
    primer = primer_16_bars()
    if exact_a:
        model, _ = module.load(a)
        model._st4rt_half = False          # continuation._stepper then runs it all in float32
    cpu: dict = {a: [], b: []}
    for i in range(runs):
        for path in (a, b):
            module.continue_tune(primer, 8, candidates=8, seed=i, checkpoint=path)   # primer cached
            t0 = time.process_time()
            module.continue_tune(primer, 8, candidates=8, seed=1000 + i, checkpoint=path)
            cpu[path].append((time.process_time() - t0) * 1000)
    for path, times in cpu.items():
        print(f"{path}: continue 8 bars x 8 candidates, CPU p50 {statistics.median(times):.1f} ms "
              f"over {runs} alternating runs", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", help="v2 checkpoint (default: the shipped one)")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--compare", metavar="OTHER", help="also time this checkpoint, alternating, CPU time")
    p.add_argument("--compare-exact", action="store_true",
                   help="run OTHER in float32 throughout (the code before round 2e)")
    args = p.parse_args()
    from st4rt_repl.models import continuation
    if args.compare:
        torch.set_num_threads(args.threads)
        compare(continuation, args.compare, args.checkpoint or str(continuation.checkpoint_path()), args.runs,
                args.compare_exact)
        return
    bench(continuation, args.checkpoint, "v2 written, 1 step/note", args.runs, args.threads)


if __name__ == "__main__":
    main()
