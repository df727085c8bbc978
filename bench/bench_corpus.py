"""Time the corpus build: first (empty cache), cached, re-merge, and loading the views.

    python bench/bench_corpus.py                       # default collections, fresh temp folder
    python bench/bench_corpus.py --out ~/.cache/st4rt/corpus --jobs 2   # reuse a built corpus
    python bench/bench_corpus.py --allow-noncommercial # + Essen

Prints seconds and the counts that go with them (tunes per collection, drops per
reason, split sizes, tokens, windows).  Numbers, not asserts: the machine decides.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from st4rt_repl.corpus import build as B
from st4rt_repl.corpus import views


def timed(fn, *a, **k):
    t0 = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t0


def note_grams(seq, n: int = 8) -> set[tuple]:
    """n-note windows (pitch and duration tokens, bar lines ignored) of one token sequence."""
    from st4rt_repl.tokenizers import VOCAB
    notes, cur = [], None
    for i in map(int, seq):
        if VOCAB.is_pitch(i):
            if cur:
                notes.append(tuple(cur))
            cur = [i]
        elif VOCAB.is_duration(i) and cur:
            cur.append(i)
    if cur:
        notes.append(tuple(cur))
    return {tuple(notes[k:k + n]) for k in range(len(notes) - n + 1)}


def print_leakage(out: Path) -> None:
    """Share of held-out 8-note windows (tonic C) seen verbatim in train: family split vs content-only."""
    from st4rt_repl.corpus import clean, split
    seqs, hashes, fam_split = [], [], []
    for name in views.SPLITS:
        s = views.rnn_sequences(name, root=out)
        seqs += s
        hashes += [clean.melody_hash(t) for t in views.tunes(name, root=out)]
        fam_split += [name] * len(s)
    grams = [note_grams(s) for s in seqs]
    for label, assign in (("family split (built)", fam_split),
                          ("content-only split", [split.assign_split(h) for h in hashes])):
        train = set().union(*(g for g, a in zip(grams, assign) if a == "train"))
        held = [g for g, a in zip(grams, assign) if a != "train"]
        total = sum(len(g) for g in held)
        seen = sum(len(g & train) for g in held)
        print(f"leakage, {label}: {seen / max(total, 1):.1%} of {total} held-out 8-note windows "
              f"occur in train")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", nargs="*", default=None)
    ap.add_argument("--allow-noncommercial", action="store_true")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None, help="corpus folder (default: a fresh temp folder)")
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="st4rt-bench-corpus-"))
    kw = dict(out=out, jobs=a.jobs, allow_noncommercial=a.allow_noncommercial)

    first, t_first = timed(B.build, a.collections, **kw)
    label = "first build (empty cache)" if first["files"]["cached"] == 0 else \
        f"first call ({first['files']['cached']} of {first['files']['total']} files already cached)"
    print(f"{label}: {t_first:.1f} s, {first['files']['parsed']} files parsed")
    cached, t_cached = timed(B.build, a.collections, **kw)
    print(f"cached build, nothing changed: {t_cached:.2f} s (up_to_date={cached.get('up_to_date')})")
    (out / "build_info.json").unlink()
    merged, t_merge = timed(B.build, a.collections, **kw)
    print(f"cached build with a full re-merge: {t_merge:.2f} s")

    for name in views.SPLITS:
        tunes, t_t = timed(views.tunes, name, root=out)
        seqs, t_s = timed(views.rnn_sequences, name, root=out)
        wins, t_w = timed(views.vae_windows, name, root=out)
        print(f"load {name:5s}: tunes {len(tunes):6d} in {t_t:.2f} s, rnn_sequences(tonic) {len(seqs):6d} "
              f"in {t_s:.2f} s, vae_windows(tonic) {len(wins):7d} in {t_w:.2f} s")
    aug, t_a = timed(views.rnn_sequences, "train", root=out, transpose="augment")
    augw, t_aw = timed(views.vae_windows, "train", root=out, transpose="augment")
    print(f"augment train: {len(aug)} sequences in {t_a:.2f} s, {len(augw)} windows in {t_aw:.2f} s")

    print_leakage(out)
    info = merged
    print("\ncollection       files   read   kept  dropped      tokens  non-commercial")
    for name, c in info["collections"].items():
        print(f"{name:15s} {c['files']:6d} {c['tunes_read']:6d} {c['kept']:6d} {c['dropped']:8d} "
              f"{c['tokens']:11,d}  {c['noncommercial']}")
    print("dropped:", json.dumps(info["dropped"]))
    print("splits:", json.dumps(info["splits"]))
    print(f"families: {info['families']} (largest {info['largest_family']}); out: {out}")


if __name__ == "__main__":
    main()
