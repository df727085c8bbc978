"""Does a MidiMe profile pull generation towards the user?  ``st4rt eval personalize``.

Protocol.  The user's tunes (``--tunes DIR``, else ``--user``: ``mixed`` = a tunebook of
10 reels, 10 jigs, 10 slip jigs and 10 waltzes from the corpus *test* split, tunes the
models never saw; ``hornpipes`` = round 1's 40 corpus hornpipes) are shuffled (seeded)
and split in half *within each meter*, so both halves hold every tune type.  A profile
is trained on one half (`midime.personalize`: one small VAE per meter plus one over all
phrases).  Then, for each meter in proportion to the held-out half, samples are made
without and with the profile (likeness 1, same seeds) and compared with the held-out
half.  Distance = mean of the Jensen-Shannon divergences (bits) of two histograms:
pitch class relative to the tonic (12 bins) and melodic interval between successive
sounding notes (-12..12, 25 bins).  Methods (``--methods``):

* ``vae``: 2-bar MusicVAE phrases, codes from the prior vs from the profile of the meter
  (``--baseline posterior``: without a profile, codes from the shipped checkpoint's
  aggregate-posterior mixture, `generation.vae_posterior_tunes`, instead of N(0, I));
* ``generate``: the shipped `generation.generate` (8 bars: the attention-RNN; with a
  profile, a 2-bar phrase from the profile continued by the RNN).

``--split valid`` makes the mixed tunebook from the valid split and ``--checkpoint CKPT``
uses another MusicVAE: to choose settings without looking at the test split.

Prints one JSON line: per method ``distance_without_profile``, ``distance_with_profile``,
``reduction`` (= 1 - with/without) and ``moved`` (the distance between the samples with
and without the profile: how far the profile moves the output), ``to_profile_half`` (the
same distances to the tunes the profile was trained on: does it learn them?), plus
counts and ``halves_distance`` (profile half against held-out half: how alike the
person's own two halves are; when they differ, no profile of one half reaches the other).

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

from st4rt_repl.models.eval_generate import add_candidate_options, use_checkpoint

MIXED = {(4, 4): 5, (2, 2): 5, (6, 8): 10, (9, 8): 10, (3, 4): 10}   # reels, jigs, slip jigs, waltzes


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


def mixed_user(folder: Path, seed: int = 0, root=None, split: str = "test") -> Path:
    """Write a mixed tunebook from a split (reels, jigs, slip jigs, waltzes) into folder."""
    from st4rt_repl.corpus.views import tunes
    from st4rt_repl.formats import save
    pool = tunes(split, root=root)
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    i = 0
    for meter, n in MIXED.items():
        some = sorted((t for t in pool if tuple(t.meter) == meter and t.num_bars >= 4),
                      key=lambda t: t.title)
        rng.shuffle(some)
        for t in some[:n]:
            save(t, folder / f"tune{i:02d}.abc")
            i += 1
    return folder


def split_by_meter(loaded, seed: int):
    """Shuffle (seeded) and halve the tunes of each meter: (profile half, held-out half)."""
    rng = random.Random(seed)
    by_meter: dict = {}
    for f, t in loaded:
        by_meter.setdefault(tuple(t.meter), []).append((f, t))
    prof, held = [], []
    for m in sorted(by_meter):
        group = by_meter[m]
        rng.shuffle(group)
        half = len(group) // 2 if len(group) > 1 else 0
        prof += group[:half] if half else []
        held += group[half:] if half else group
    return prof, held


def _allocate(held_tunes, total: int) -> dict:
    """Samples per meter in proportion to the held-out tunes (at least 1 per meter)."""
    counts = Counter(tuple(t.meter) for t in held_tunes)
    n = sum(counts.values())
    return {m: max(1, round(total * c / n)) for m, c in sorted(counts.items())}


def _modes(tunes) -> dict:
    modes: dict = {}
    for t in tunes:
        modes.setdefault(tuple(t.meter), Counter())[t.key.mode] += 1
    return {m: c.most_common(1)[0][0] for m, c in modes.items()}


def sample(method: str, held_tunes, all_tunes, total: int, seed: int, profile: str | None,
           baseline: str = "prior"):
    """Samples for each held-out meter (see the module docstring)."""
    from st4rt_repl.models import generation, variation
    from st4rt_repl.tune import Key
    modes = _modes(all_tunes)
    out = []
    for j, (meter, n) in enumerate(_allocate(held_tunes, total).items()):
        key = Key("C", modes.get(meter, "major"))
        s = seed * 100 + j
        if method == "vae" and profile is None and baseline == "posterior":
            out += generation.vae_posterior_tunes(meter, key, 2, n, s)
        elif method == "vae":
            out += variation.generate_tunes(2, meter=meter, key=key, candidates=n, seed=s,
                                            profile=profile, likeness=1.0)
        else:
            out += generation.generate(meter, key, 8, n, s, profile=profile, likeness=1.0)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="st4rt eval personalize", description=__doc__.split("\n")[0])
    p.add_argument("--tunes", help="folder of the user's tunes (default: --user)")
    p.add_argument("--user", choices=("mixed", "hornpipes"), default="mixed",
                   help="stand-in user without --tunes (default: mixed tunebook from the test split)")
    p.add_argument("--phrases", type=int, default=256, help="2-bar VAE phrases per side")
    p.add_argument("--tunes-generated", type=int, default=32, help="8-bar tunes per side (generate)")
    p.add_argument("--methods", default="vae,generate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--baseline", choices=["prior", "posterior"], default="prior",
                   help="vae without a profile: codes from N(0, I) or from the shipped aggregate posterior")
    add_candidate_options(p)          # --split (of the mixed tunebook), --checkpoint
    args = p.parse_args(argv or [])
    methods = [m for m in args.methods.split(",") if m]
    if any(m not in ("vae", "generate") for m in methods):
        print(f"st4rt eval personalize: unknown method in {args.methods!r} (use vae, generate)",
              file=sys.stderr)
        return 2
    import torch
    torch.set_num_threads(args.threads)
    from st4rt_repl.formats import load
    from st4rt_repl.models import midime
    use_checkpoint(args.checkpoint)
    from st4rt_repl.tune import TuneError
    from st4rt_repl import paths
    corpus_root = paths.corpus_dir()        # before ST4RT_HOME points at the temp folder
    res: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        old_home = os.environ.get("ST4RT_HOME")
        os.environ["ST4RT_HOME"] = tmp
        try:
            if args.tunes:
                folder = Path(args.tunes)
            elif args.user == "mixed":
                folder = mixed_user(Path(tmp) / "user", seed=args.seed, root=corpus_root,
                                    split=args.split)
            else:
                folder = default_user(Path(tmp) / "user", seed=args.seed, root=corpus_root)
            loaded = []
            for f in midime.expand_paths([folder]):
                try:
                    loaded.append((f, load(f).tune))
                except TuneError as e:
                    print(f"skipped {e}", file=sys.stderr)
            if len(loaded) < 2:
                print("st4rt eval personalize: need at least 2 readable tunes", file=sys.stderr)
                return 2
            prof_part, held = split_by_meter(loaded, args.seed)
            if not prof_part:
                print("st4rt eval personalize: no meter has 2 tunes to split", file=sys.stderr)
                return 2
            summary = midime.personalize([str(f) for f, _ in prof_part], name="eval")
            held_tunes = [t for _, t in held]
            prof_tunes = [t for _, t in prof_part]
            everything = [t for _, t in loaded]
            for m in methods:
                total = args.phrases if m == "vae" else args.tunes_generated
                without = sample(m, held_tunes, everything, total, args.seed, None, args.baseline)
                with_ = sample(m, held_tunes, everything, total, args.seed, "eval")
                d0, d1 = distance(without, held_tunes), distance(with_, held_tunes)
                p0, p1 = distance(without, prof_tunes), distance(with_, prof_tunes)
                res[m] = {"distance_without_profile": round(d0, 4),
                          "distance_with_profile": round(d1, 4),
                          "reduction": round(1 - d1 / d0, 4) if d0 > 0 else 0.0,
                          "moved": round(distance(with_, without), 4), "samples": len(with_),
                          "to_profile_half": {"without": round(p0, 4), "with": round(p1, 4),
                                              "reduction": round(1 - p1 / p0, 4) if p0 > 0 else 0.0}}
        finally:
            if old_home is None:
                os.environ.pop("ST4RT_HOME", None)
            else:
                os.environ["ST4RT_HOME"] = old_home
    meters = Counter(f"{t.meter[0]}/{t.meter[1]}" for _, t in loaded)
    res.update({"profile_tunes": len(prof_part), "heldout_tunes": len(held_tunes),
                "halves_distance": round(distance(prof_tunes, held_tunes), 4),
                "meters": dict(sorted(meters.items())), "seed": args.seed, "baseline": args.baseline,
                "data": str(args.tunes or f"--user {args.user}"
                            + (" --split valid" if args.split == "valid" else "")),
                "profile": summary})
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
