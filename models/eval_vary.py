"""Evaluate `vary` in context: ``st4rt eval vary [--n N] [--bar K] [--seed S]``; prints one JSON line.

Protocol.  2N held-out tunes (corpus test split, common meters, as heard, at least
K+1 full bars) are drawn (seeded) and split in two halves A and B.  Bar K of each
tune of A is varied (`variation.vary_bars`, `--candidates` per tune, amount 0.5).
Each new bar is compared with the real bar K of the same tunes of A:

* ``overlap``: pooled histograms of the bar's notes (pitch class relative to the
  tonic, note length, inter-onset interval) and of its intervals *including the two
  junctions* with the bars around it; one figure per candidate slot, averaged;
* ``junction_leap_rate``: share of the two junction intervals (last note before the
  bar -> its first note; its last note -> the first note after it) larger than a
  fifth, over all candidates, beside ``real_junction_leap_rate`` (the real bar K);
* ``distinct``: share of proposals whose candidates are all different from each other
  and from the original bar; ``changed``: how much of the bar a candidate rewrites (edit
  distance of its notes, with lengths, to the original's, over the longer: 0 same, 1 all new).

The ceiling is the same overlaps and junction leap rate for the real bar K of the
tunes of B against the real bar K of A (same sample sizes).  48 bars make noisy
figures (bar 3 of 48 tunes has ~96 junctions); ``--repeats R`` averages R draws.  ``--data DIR`` uses a
folder of tunes instead of the test split (a smoke test); ``--split valid`` and
``--checkpoint CKPT`` calibrate a candidate VAE's settings without looking at the test split
or replacing the shipped weights.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction

import numpy as np

from st4rt_repl.models import realism
from st4rt_repl.models.eval_generate import METERS, add_candidate_options, load_real, use_checkpoint

FEATURES = realism.FEATURES


def parse_args(argv):
    p = argparse.ArgumentParser(prog="st4rt eval vary", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=48, help="tunes varied (and as many for the ceiling)")
    p.add_argument("--bar", type=int, default=3, help="the bar varied in every tune")
    p.add_argument("--candidates", type=int, default=4)
    p.add_argument("--amount", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=1,
                   help="independent draws (seed, seed+101, ...); figures are means")
    p.add_argument("--data", help="folder of tunes (default: corpus test split)")
    add_candidate_options(p)
    return p.parse_args(argv)


def bar_events(tune, k: int, last: int | None = None):
    """(events of bars k..last, pitch of the last note starting before them, first pitch after).

    Bar numbers count full bars from 1 (a pickup is bar 0); `last` defaults to k.  A note
    tied into bar k belongs to the bar where it starts.
    """
    ev = realism.events(tune)
    i, j = tune._index(k), tune._index(k if last is None else last)
    start = sum((b.duration for b in tune.bars[:i]), Fraction(0))
    end = start + sum((b.duration for b in tune.bars[i:j + 1]), Fraction(0))
    inside = [e for e in ev if start <= e[0] < end]
    before = [e for e in ev if e[0] < start]
    after = [e for e in ev if e[0] >= end]
    return inside, (before[-1][2] if before else None), (after[0][2] if after else None)


def junctions(tune, k: int, last: int | None = None) -> list[int]:
    """The intervals (semitones) into and out of bar k (those that exist).

    >>> from st4rt_repl.tune import Tune
    >>> junctions(Tune.from_bars([[(60, 4)], [(72, 2), (71, 2)], [(62, 4)]]), 2)
    [12, -9]
    """
    inside, prev, nxt = bar_events(tune, k, last)
    if not inside:
        return []
    out = []
    if prev is not None:
        out.append(inside[0][2] - prev)
    if nxt is not None:
        out.append(nxt - inside[-1][2])
    return out


def histograms(tunes, k: int, last: int | None = None) -> dict[str, np.ndarray]:
    """Pooled histograms of bars k..last of each tune; intervals include the two junctions."""
    out = {f: np.zeros(n, np.int64) for f, n in realism._BINS.items()}
    for t in tunes:
        inside, prev, nxt = bar_events(t, k, last)
        v = realism._tune_values(inside)
        steps = [b[2] - a[2] for a, b in zip(inside, inside[1:])] + junctions(t, k, last)
        v["interval"] = [int(np.clip(s, -12, 12)) + 12 for s in steps]
        for f, vals in v.items():
            np.add.at(out[f], np.asarray(vals, np.int64), 1)
    return out


def overlaps(cands, refs, k: int, last: int | None = None) -> dict[str, float]:
    """`realism.overlap` per feature of bars k..last of cands against the same bars of refs."""
    ha, hb = histograms(cands, k, last), histograms(refs, k, last)
    return {f: realism.overlap(ha[f], hb[f]) for f in FEATURES}


def junction_leap_rate(tunes, k: int, last: int | None = None) -> float:
    """Share of the junctions into and out of bars k..last that leap more than a fifth."""
    j = [x for t in tunes for x in junctions(t, k, last)]
    return round(float(np.mean([abs(x) > realism.LEAP for x in j])), 4) if j else 0.0


def _all_bars_rate(tunes) -> float:
    """Share of leaps larger than a fifth over every barline of every tune (full bars only)."""
    leaps = total = 0
    for t in tunes:
        ev = realism.events(t)
        starts, at = set(), Fraction(0)
        for b in t.bars:
            at += b.duration
            starts.add(at)
        for x, y in zip(ev, ev[1:]):
            crossing = any(x[0] < s <= y[0] for s in starts if x[0] < s)
            if crossing:
                total += 1
                leaps += abs(y[2] - x[2]) > realism.LEAP
    return round(leaps / total, 4) if total else 0.0


def changed(a: tuple, b: tuple) -> float:
    """Edit distance between two note sequences over the longer one's length: 0 same, 1 all new.

    >>> changed(((60, 1), (62, 1)), ((60, 1), (64, 1))), changed((), ((60, 1),))
    (0.5, 1.0)
    """
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1] / max(len(a), len(b), 1)


def evaluate(real, *, n: int, k: int, candidates: int, amount: float, seed: int) -> dict:
    from st4rt_repl.models import variation
    ok = [t for t in real if t.num_bars >= k + 1 and all(b.is_full for b in t.bars[-t.num_bars:][:k + 1])
          and tuple(t.meter) in METERS]
    order = np.random.default_rng(seed).permutation(len(ok))
    pick = [ok[i] for i in order[:2 * n]]
    half = len(pick) // 2
    a, b = pick[:half], pick[half:2 * half]
    t0 = time.time()
    times = []
    proposals = []
    for j, t in enumerate(a):
        s0 = time.perf_counter()
        proposals.append(variation.vary_bars(t, [k], candidates=candidates, amount=amount,
                                             seed=seed * 1000 + j))
        times.append((time.perf_counter() - s0) * 1000)
    slots = [[p[c] for p in proposals if len(p) > c] for c in range(candidates)]
    per_slot = [overlaps(s, a, k) for s in slots if s]
    flat = [t for p in proposals for t in p]
    distinct = [len({t.bar(k).heard for t in p} | {o.bar(k).heard}) == len(p) + 1
                for p, o in zip(proposals, a)]
    return {
        "n": len(a), "bar": k, "candidates": candidates, "amount": amount, "seed": seed,
        "amount_scale": getattr(variation.get_model(), "amount_scale", 1.0),
        "overlap": {f: round(float(np.mean([o[f] for o in per_slot])), 4) for f in FEATURES},
        "junction_leap_rate": junction_leap_rate(flat, k),
        "real_junction_leap_rate": junction_leap_rate(a, k),
        # bar k of 48 tunes has ~96 junctions: a couple of leaps either way moves the rate a
        # lot, so the rate over every junction of every eligible tune is given beside it
        "real_junction_leap_rate_all_bars": _all_bars_rate(ok),
        "distinct": round(float(np.mean(distinct)), 4),
        # how much of the bar a candidate rewrites (notes and lengths, edit distance)
        "changed": round(float(np.mean([changed(t.bar(k).heard, o.bar(k).heard)
                                        for p, o in zip(proposals, a) for t in p])), 4),
        "ceiling": {"overlap": overlaps(b, a, k), "junction_leap_rate": junction_leap_rate(b, k)},
        "vary_ms_p50": round(float(np.median(times)), 1),
        "seconds": round(time.time() - t0, 1),
    }


def main(argv=None) -> int:
    args = parse_args(list(argv or []))
    import torch
    torch.set_num_threads(1)
    if args.n < 1 or args.bar < 2 or args.candidates < 1:
        print("st4rt eval vary: --n and --candidates must be at least 1, --bar at least 2",
              file=sys.stderr)
        return 2
    real = load_real("vary", args.data, args.split)
    if real is None:
        return 2
    use_checkpoint(args.checkpoint)
    from st4rt_repl.models.eval_generate import _mean_runs
    runs = [evaluate(real, n=args.n, k=args.bar, candidates=args.candidates, amount=args.amount,
                     seed=args.seed + 101 * r) for r in range(max(1, args.repeats))]
    res = _mean_runs(runs)
    res.update(seed=args.seed, repeats=max(1, args.repeats))
    if res["n"] < 1:
        print(f"st4rt eval vary: no tunes with {args.bar + 1} full bars", file=sys.stderr)
        return 2
    res["data"] = args.data or f"corpus {args.split} split"
    res["checkpoint"] = args.checkpoint or "shipped"
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
