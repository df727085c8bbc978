"""How faithfully does our ABC reader reproduce abc2midi's melody on real tunes?

Runs `st4rt_repl.formats.abc_reference` over a seeded sample of music21's bundled
ABC collections (or all of them) and prints the exact-melody rate, mean note-F1,
per-collection figures and every failing tune with its reason class
(pitch / rhythm / length / error).

    .venv/bin/python bench/compare_abc2midi.py --per-collection 400 --jobs 2
    .venv/bin/python bench/compare_abc2midi.py --all --jobs 2 --failures /tmp/fail.tsv
    .venv/bin/python bench/compare_abc2midi.py --reader music21   # the old, music21-only reader
"""
from __future__ import annotations

import argparse
import collections
import sys
from concurrent.futures import ProcessPoolExecutor

from st4rt_repl.formats import abc_reference as ref


def _music21_reader(text, *, source="<paste>"):
    """The reader before this work: music21 parses the tune and expands its repeats."""
    from music21 import converter
    from st4rt_repl.formats import LoadResult
    from st4rt_repl.formats.m21 import tune_from_score
    return LoadResult(tune_from_score(converter.parse(text, format="abc")), "")


READERS = {"ours": None, "music21": _music21_reader}


def _score(args):
    tune, reader = args
    return ref.score_tune(tune, READERS[reader])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-collection", type=int, default=400)
    ap.add_argument("--all", action="store_true", help="every tune of every collection")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--reader", choices=sorted(READERS), default="ours")
    ap.add_argument("--failures", help="write failing tunes to this TSV file")
    ap.add_argument("--show", type=int, default=60, help="failing tunes to print")
    args = ap.parse_args(argv)

    tunes = ref.corpus_tunes() if args.all else ref.sample_tunes(args.per_collection, seed=args.seed)
    from rich.progress import Progress
    results = []
    with ProcessPoolExecutor(args.jobs) as pool, Progress() as bar:
        task = bar.add_task("comparing with abc2midi", total=len(tunes))
        for r in pool.map(_score, [(t, args.reader) for t in tunes], chunksize=8):
            results.append(r)
            bar.advance(task)

    s = ref.summary(results)
    print(f"reader={args.reader}  tunes={s['n']}  exact={s['exact']:.4f}  mean F1={s['f1']:.4f}"
          f"  (no reference: {s['no_reference']})")
    for coll in ref.COLLECTIONS:
        mine = ref.summary([r for r in results if r.tune.collection == coll])
        if mine["n"]:
            print(f"  {coll:14s} n={mine['n']:5d}  exact={mine['exact']:.3f}  F1={mine['f1']:.4f}")
    failing = [r for r in results if r.comparison is not None and not r.comparison.exact]
    reasons = collections.Counter(r.comparison.reason for r in failing)
    print("failing by reason:", dict(reasons.most_common()))
    for r in failing[: args.show]:
        print(f"  {r.tune.name:50s} {r.comparison.reason:7s} F1={r.comparison.f1:.3f} {r.error}")
    if args.failures:
        with open(args.failures, "w", encoding="utf-8") as f:
            for r in failing:
                f.write(f"{r.tune.name}\t{r.comparison.reason}\t{r.comparison.f1}\t{r.error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
