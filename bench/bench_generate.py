"""Latency of `generate` (the shipped sampler): 8 bars x 4 candidates; prints p50/p95 (wall and CPU).

Run: ``.venv/bin/python bench/bench_generate.py [--runs 30] [--threads 1]``
"""
from __future__ import annotations

import argparse

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


if __name__ == "__main__":
    main()
