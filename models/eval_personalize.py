"""Does a MidiMe profile pull generation towards the user?  ``st4rt eval personalize --tunes DIR``.

The user's tunes are shuffled (seeded) and split in half: a profile is trained on
one half; phrases are generated from the prior (no profile) and from the profile
(likeness 1), same seeds, in the user's commonest meter and mode; each set is
compared with the *held-out* half.  Distance = mean of the Jensen-Shannon
divergences (bits) of two histograms: pitch class relative to the tonic (12
bins) and melodic interval between successive sounding notes (-12..12, 25 bins).
Prints one JSON line: ``distance_without_profile``, ``distance_with_profile``,
``reduction`` (= 1 - with/without) and counts.  Without ``--tunes`` the "user" is
40 hornpipes from the corpus (all splits), written as .abc files to a temp folder.

>>> round(js([1, 0], [0, 1]), 3), js([1, 1], [2, 2])
(1.0, 0.0)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path


def js(p, q) -> float:
    """Jensen-Shannon divergence in bits between two (unnormalised) histograms."""
    sp, sq = sum(p) or 1, sum(q) or 1
    p = [x / sp for x in p]
    q = [x / sq for x in q]
    out = 0.0
    for a, b in zip(p, q):
        m = (a + b) / 2
        if a > 0:
            out += 0.5 * a * math.log2(a / m)
        if b > 0:
            out += 0.5 * b * math.log2(b / m)
    return out


def histograms(tunes) -> tuple[list[float], list[float]]:
    """Pitch class relative to the tonic, and melodic intervals (clipped to an octave)."""
    pc, iv = [0.0] * 12, [0.0] * 25
    for t in tunes:
        notes = [p for _, _, p in t.sounding()]
        for p in notes:
            pc[(p - t.key.tonic_pc) % 12] += 1
        for a, b in zip(notes, notes[1:]):
            iv[max(-12, min(12, b - a)) + 12] += 1
    return pc, iv


def distance(a, b) -> float:
    ha, hb = histograms(a), histograms(b)
    return (js(ha[0], hb[0]) + js(ha[1], hb[1])) / 2


def default_user(folder: Path, n: int = 40, seed: int = 0, root=None) -> Path:
    """Write n corpus hornpipes as .abc files into folder (the stand-in user)."""
    from st4rt_repl.corpus.views import tunes
    from st4rt_repl.formats import save
    pool = [t for s in ("train", "valid", "test") for t in tunes(s, root=root)
            if "hornpipe" in t.title.lower()]
    pool.sort(key=lambda t: t.title)
    random.Random(seed).shuffle(pool)
    folder.mkdir(parents=True, exist_ok=True)
    for i, t in enumerate(pool[:n]):
        save(t, folder / f"tune{i:02d}.abc")
    return folder


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="st4rt eval personalize", description=__doc__.split("\n")[0])
    p.add_argument("--tunes", help="folder of the user's tunes (default: 40 corpus hornpipes)")
    p.add_argument("--phrases", type=int, default=128, help="2-bar phrases generated per side")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv or [])
    import torch
    torch.set_num_threads(args.threads)
    from st4rt_repl.formats import load
    from st4rt_repl.models import midime, variation
    from st4rt_repl.tune import Key, TuneError
    from st4rt_repl import paths
    corpus_root = paths.corpus_dir()        # before ST4RT_HOME points at the temp folder
    with tempfile.TemporaryDirectory() as tmp:
        old_home = os.environ.get("ST4RT_HOME")
        os.environ["ST4RT_HOME"] = tmp
        try:
            folder = Path(args.tunes) if args.tunes else default_user(Path(tmp) / "user", seed=args.seed,
                                                                          root=corpus_root)
            files = midime.expand_paths([folder])
            loaded = []
            for f in files:
                try:
                    loaded.append((f, load(f).tune))
                except TuneError as e:
                    print(f"skipped {e}", file=sys.stderr)
            if len(loaded) < 2:
                print("st4rt eval personalize: need at least 2 readable tunes", file=sys.stderr)
                return 2
            random.Random(args.seed).shuffle(loaded)
            half = len(loaded) // 2
            prof_part, held = loaded[:half], loaded[half:]
            summary = midime.personalize([str(f) for f, _ in prof_part], name="eval")
            held_tunes = [t for _, t in held]
            meter = Counter(t.meter for t in held_tunes + [t for _, t in prof_part]).most_common(1)[0][0]
            mode = Counter(t.key.mode for _, t in loaded).most_common(1)[0][0]
            key = Key("C", mode)
            kw = dict(meter=meter, key=key, candidates=args.phrases, seed=args.seed)
            without = variation.generate_tunes(2, **kw)
            with_ = variation.generate_tunes(2, profile="eval", likeness=1.0, **kw)
        finally:
            if old_home is None:
                os.environ.pop("ST4RT_HOME", None)
            else:
                os.environ["ST4RT_HOME"] = old_home
    d0, d1 = distance(without, held_tunes), distance(with_, held_tunes)
    print(json.dumps({"distance_without_profile": round(d0, 4), "distance_with_profile": round(d1, 4),
                      "reduction": round(1 - d1 / d0, 4) if d0 > 0 else 0.0,
                      "profile_tunes": len(prof_part), "heldout_tunes": len(held_tunes),
                      "phrases": args.phrases, "meter": f"{meter[0]}/{meter[1]}", "mode": mode,
                      "data": str(args.tunes or "40 corpus hornpipes"), "profile": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
