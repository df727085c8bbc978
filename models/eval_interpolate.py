"""Evaluate `interpolate`: ``st4rt eval interpolate [--n N] [--seed S]``; prints one JSON line.

Protocol (as `eval_vary`): 2N held-out tunes with at least 6 full bars (corpus test
split, common meters, as heard), halves A and B.  In each tune of A the phrase at bar 1
is interpolated to the phrase at bar 5 (``--steps`` 2-bar phrases inserted after bar 2,
``--candidates`` per tune).  Reported:

* ``endpoints_exact``: share of proposals whose bars outside the inserted ones are the
  tune's own, unchanged (the bridge only adds);
* ``overlap``: the inserted bars against the real bars 3..(2 + 2 x steps) of the same
  tunes (pitch class, interval with the two junctions, note length, inter-onset
  interval), per candidate slot, averaged;
* ``junction_leap_rate`` at the two ends of the inserted bars beside the real rate of
  the same bars, and the ceiling (the real bars of B against those of A).

``--split valid`` and ``--checkpoint CKPT`` measure a candidate MusicVAE without looking at
the test split or replacing the shipped weights.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from st4rt_repl.models import realism
from st4rt_repl.models.eval_generate import (METERS, _mean_runs, add_candidate_options, load_real,
                                             use_checkpoint)
from st4rt_repl.models.eval_vary import junction_leap_rate, overlaps

FEATURES = realism.FEATURES


def parse_args(argv):
    p = argparse.ArgumentParser(prog="st4rt eval interpolate", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=48)
    p.add_argument("--steps", type=int, default=1, help="2-bar phrases inserted")
    p.add_argument("--candidates", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--data", help="folder of tunes (default: corpus test split)")
    add_candidate_options(p)
    return p.parse_args(argv)


def evaluate(real, *, n: int, steps: int, candidates: int, seed: int) -> dict:
    from st4rt_repl.models import variation
    need = 2 + 2 * steps
    ok = [t for t in real if tuple(t.meter) in METERS and t.num_bars >= max(6, need)
          and all(b.is_full for b in t.bars[-t.num_bars:][:max(6, need)])]
    order = np.random.default_rng(seed).permutation(len(ok))
    pick = [ok[i] for i in order[:2 * n]]
    half = len(pick) // 2
    a, b = pick[:half], pick[half:2 * half]
    first, last = 3, 2 + 2 * steps
    t0 = time.time()
    props, exact = [], []
    for j, t in enumerate(a):
        out = variation.interpolate_tunes(t, 1, 5, steps=steps, candidates=candidates,
                                          seed=seed * 1000 + j)
        tunes = [x for x, _ in out]
        props.append(tunes)
        for x, inserted in out:
            kept = [k for k in x.bar_numbers() if k not in inserted]
            exact.append([x.bar(k).notes for k in kept] == [b_.notes for b_ in t.bars])
    slots = [[p[c] for p in props if len(p) > c] for c in range(candidates)]
    per_slot = [overlaps(s, a, first, last) for s in slots if s]
    flat = [x for p in props for x in p]
    return {"n": len(a), "steps": steps, "candidates": candidates,
            "endpoints_exact": round(float(np.mean(exact)), 4) if exact else 0.0,
            "overlap": {f: round(float(np.mean([o[f] for o in per_slot])), 4) for f in FEATURES},
            "junction_leap_rate": junction_leap_rate(flat, first, last),
            "real_junction_leap_rate": junction_leap_rate(a, first, last),
            "ceiling": {"overlap": overlaps(b, a, first, last),
                        "junction_leap_rate": junction_leap_rate(b, first, last)},
            "seconds": round(time.time() - t0, 1)}


def main(argv=None) -> int:
    args = parse_args(list(argv or []))
    import torch
    torch.set_num_threads(1)
    if args.n < 1 or args.steps < 1 or args.candidates < 1:
        print("st4rt eval interpolate: --n, --steps and --candidates must be at least 1",
              file=sys.stderr)
        return 2
    real = load_real("interpolate", args.data, args.split)
    if real is None:
        return 2
    use_checkpoint(args.checkpoint)
    runs = [evaluate(real, n=args.n, steps=args.steps, candidates=args.candidates,
                     seed=args.seed + 101 * r) for r in range(max(1, args.repeats))]
    res = _mean_runs(runs)
    if not res["n"]:
        print("st4rt eval interpolate: no tunes with 6 full bars", file=sys.stderr)
        return 2
    res.update(seed=args.seed, repeats=max(1, args.repeats), data=args.data or f"corpus {args.split} split",
               checkpoint=args.checkpoint or "shipped")
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
