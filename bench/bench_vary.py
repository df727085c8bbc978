"""Latency of the MusicVAE operations with the shipped checkpoint; prints the numbers.

* vary one bar, 8 candidates: p50/p95 over 50 runs after 5 warm-up runs;
* personalise on 20 tunes (parsing included): wall time.

Run: ``.venv/bin/python bench/bench_vary.py [--threads 1]``
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from latency import latency_line


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=50)
    args = p.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    from st4rt_repl.formats import parse_abc_text, save
    from st4rt_repl.models import midime, variation
    tune = parse_abc_text(
        "X:1\nT:Bench reel\nM:4/4\nL:1/8\nK:D\nA2|:d2fd Adfd|e2ge cege|d2fd Adfd|edcB A2GF|\n"
        "d2fd Adfd|e2ge cege|fgaf gefd|edcd d4:|\n").tune
    for i in range(5):
        variation.vary_bars(tune, [3], candidates=8, seed=i)
    print(latency_line("vary 1 bar x 8 candidates",
                       lambda i: variation.vary_bars(tune, [3], candidates=8, seed=100 + i),
                       runs=args.runs, threads=args.threads))

    from st4rt_repl.corpus.views import tunes as corpus_tunes
    user = corpus_tunes("test")[:20]
    with tempfile.TemporaryDirectory() as d:
        os.environ["ST4RT_HOME"] = d
        for i, t in enumerate(user):
            save(t, Path(d) / f"t{i:02d}.abc")
        t0 = time.perf_counter()
        summary = midime.personalize([d], name="bench")
        wall = time.perf_counter() - t0
    print(f"personalize 20 tunes: {wall:.2f} s wall ({summary})")


if __name__ == "__main__":
    main()
