"""Latency of `continue`: 8 new bars, 8 candidates, from a 16-bar primer (p50, p95 over 50 runs).

    .venv/bin/python bench/bench_continue.py [--checkpoint PATH] [--runs 50] [--threads 1]

Goal: p50 <= 25 ms on the 2-core dev machine.  Prints one line per setting.
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint")
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    from st4rt_repl.models.continuation import continue_tune, forget_primer, load
    model, ck = load(args.checkpoint)
    torch.set_num_threads(args.threads)     # after load(), which sets 1 thread
    primer = primer_16_bars()
    # "new primer": the stepper's cached primer run is dropped before each call, as when
    # the user continues a tune for the first time; otherwise the REPL's usual case of
    # asking again for more candidates from the same tune (primer run cached).
    for label, kw, cold in [("sample", {}, False), ("sample, new primer", {}, True),
                            ("beam 8", {"beam": 8}, False)]:
        for i in range(3):   # warm-up
            continue_tune(primer, 8, candidates=8, seed=i, checkpoint=args.checkpoint, **kw)
        times = []
        for i in range(args.runs if label != "beam 8" else max(5, args.runs // 5)):
            if cold:
                forget_primer()
            t0 = time.perf_counter()
            continue_tune(primer, 8, candidates=8, seed=100 + i, checkpoint=args.checkpoint, **kw)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print(f"continue 8 bars x 8 candidates ({label}, hidden {model.cfg.hidden}, window "
              f"{model.cfg.window}, threads {args.threads}): p50 {statistics.median(times):.1f} ms, "
              f"p95 {p95:.1f} ms over {len(times)} runs")


if __name__ == "__main__":
    main()
