"""Latency of `generate` (the shipped sampler): 8 bars x 4 candidates, without and with a
MidiMe profile (trained here on 20 corpus jigs); prints p50/p95 (wall and CPU).

Run: ``.venv/bin/python bench/bench_generate.py [--runs 30] [--threads 1]``
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from latency import latency_line


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
    print(latency_line("generate 8 bars x 4 candidates",
                       lambda i: generate(*cases[i % 3], 8, 4, seed=100 + i),
                       runs=args.runs, threads=args.threads))

    from st4rt_repl.corpus.views import tunes as corpus_tunes
    from st4rt_repl.formats import save
    from st4rt_repl.models import midime
    jigs = [t for t in corpus_tunes("test") if tuple(t.meter) == (6, 8)][:20]
    with tempfile.TemporaryDirectory() as d:
        os.environ["ST4RT_HOME"] = d
        for i, t in enumerate(jigs):
            save(t, Path(d) / f"t{i:02d}.abc")
        midime.personalize([d], name="bench")
        generate((6, 8), Key("D"), 8, 4, seed=0, profile="bench", likeness=1.0)
        print(latency_line("generate 8 bars x 4 candidates with a profile (6/8)",
                           lambda i: generate((6, 8), Key("D"), 8, 4, seed=100 + i, profile="bench",
                                              likeness=1.0),
                           runs=args.runs, threads=args.threads))


if __name__ == "__main__":
    main()
