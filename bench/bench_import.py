"""How long does importing a pasted ABC tune take?

Times `read_abc_text` on the text of one tune, for 200 tunes drawn with a fixed
seed from music21's bundled folk collections, and prints the median and p95
(goal: <= 60 ms median, <= 150 ms p95).  ``--music21`` also times music21's own
ABC parse of the same tunes (what the reader used to cost), for comparison.

    .venv/bin/python bench/bench_import.py
    .venv/bin/python bench/bench_import.py --music21
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _time_all(fn, texts: list[str]) -> list[float]:
    out = []
    for text in texts:
        t0 = time.perf_counter()
        fn(text)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tunes", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--music21", action="store_true", help="also time music21's ABC parser")
    args = ap.parse_args(argv)

    from st4rt_repl.formats.abc_reference import corpus_tunes
    tunes = corpus_tunes()
    texts = [t.text for t in random.Random(args.seed).sample(tunes, args.tunes)]

    t0 = time.perf_counter()
    from st4rt_repl.formats.abc_in import read_abc_text
    read_abc_text(texts[0])
    first = (time.perf_counter() - t0) * 1000

    ms = _time_all(read_abc_text, texts)
    print(f"read_abc_text on {len(texts)} tunes (seed {args.seed}): "
          f"median {statistics.median(ms):.1f} ms, p95 {_percentile(ms, 0.95):.1f} ms, "
          f"max {max(ms):.1f} ms  (first call incl. module import {first:.0f} ms)")
    print(f"  goal: median <= 60 ms, p95 <= 150 ms -> "
          f"{'met' if statistics.median(ms) <= 60 and _percentile(ms, 0.95) <= 150 else 'NOT met'}")
    if args.music21:
        from music21 import converter
        ms21 = _time_all(lambda text: converter.parse(text, format="abc"), texts)
        print(f"music21 converter.parse on the same tunes: median {statistics.median(ms21):.1f} ms, "
              f"p95 {_percentile(ms21, 0.95):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
