"""Evaluate `generate`: ``st4rt eval generate [--n N] [--seed S] [--bars 8]``; prints one JSON line.

Protocol.  The real set is the corpus test split's tunes in the common meters
(4/4, 2/2, 6/8, 3/4, 9/8), as heard (`Tune.performed`).  N of them that have 8
full bars are drawn (seeded); their (meter, key) pairs are the conditions every
sampler is asked for, so all samplers and the ceiling match the real meters and
keys exactly.  Each sampler writes one 8-bar tune per condition; the ceiling is
those N real tunes' own 8-bar openings.  Everything is scored by
`realism.report` against the 8-bar openings of the *other* real tunes (never the
drawn ones; openings so that every tune weighs the same): pooled
overlaps (pitch class relative to the tonic, interval, note length, inter-onset
interval), leap rate beside the real rate, MGEval overlapping area per feature.
With 48 tunes a side the figures move by a few hundredths from draw to draw (the
ceiling's note-length overlap ranged 0.85-0.97 over three draws), so
``--repeats R`` averages R independent draws.

Samplers: ``vae_prior`` (MusicVAE, z ~ N(0, I): round 1's generate),
``vae_posterior`` (MusicVAE, z from the aggregate-posterior mixture, when its file
exists), ``vae_phrases`` (MusicVAE, whole 2-bar phrases from prior codes joined
without leaps: what a profile drives), ``rnn`` (the written-form attention-RNN
writing from a meter/key prefix), ``ngram`` (Kneser-Ney over the same written-form
tokens, sampled under the same form grammar, from the same prefix; before
2026-12-04 it sampled round 1's tokens, the melody as played), ``generate`` (the
shipped `generation.generate`).  ``--methods`` picks some; ``--data DIR`` uses a
folder of tunes as the real set (and trains the n-gram on it: a smoke test only).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from st4rt_repl.models import realism

METERS = ((4, 4), (2, 2), (6, 8), (3, 4), (9, 8))
ALL_METHODS = ("vae_prior", "vae_posterior", "vae_phrases", "rnn", "ngram", "generate")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="st4rt eval generate", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=48, help="tunes per sampler (and real openings)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bars", type=int, default=8)
    p.add_argument("--repeats", type=int, default=1,
                   help="independent draws of the real set (seed, seed+101, ...); figures are means")
    p.add_argument("--methods", default=",".join(ALL_METHODS),
                   help=f"comma-separated, from {','.join(ALL_METHODS)}")
    p.add_argument("--data", help="folder of real tunes (default: corpus test split)")
    p.add_argument("--ngram-order", type=int, default=0,
                   help="n-gram order (default: the one tuned on valid, as `st4rt eval continue` caches it)")
    return p.parse_args(argv)


# ----- the real set ------------------------------------------------------------------
def _folder_tunes(folder: Path) -> list:
    """Every tune of every readable .abc/.mid/.musicxml file under folder."""
    from st4rt_repl.formats import InputError, load
    from st4rt_repl.formats.abc_in import read_abc_text, split_tunes
    from st4rt_repl.tune import TuneError
    out = []
    for f in sorted(Path(folder).rglob("*")):
        try:
            if f.suffix.lower() == ".abc":
                for _, chunk in split_tunes(f.read_text(encoding="utf-8", errors="replace")):
                    out.append(read_abc_text(chunk, source=str(f)).tune)
            elif f.suffix.lower() in (".mid", ".midi", ".musicxml", ".xml", ".mxl"):
                out.append(load(f).tune)
        except (InputError, TuneError, OSError):
            continue
    if not out:
        raise FileNotFoundError(f"{folder}: no readable tunes")
    return out


def real_tunes(data: str | None, split: str = "test") -> list:
    """The real set: tunes in the common meters, as heard (a folder, else a corpus split)."""
    if data:
        tunes = _folder_tunes(Path(data))
    else:
        from st4rt_repl.corpus import views
        tunes = views.tunes(split)
    heard = [realism._heard(t) for t in tunes]
    return [t for t in heard if tuple(t.meter) in METERS and t.bars]


def load_real(name: str, data: str | None, split: str = "test") -> list | None:
    """`real_tunes(data, split)` for `st4rt eval NAME`, or None after saying why in one line."""
    from st4rt_repl.corpus.views import CorpusMissing
    from st4rt_repl.tune import TuneError
    try:
        return real_tunes(data, split)
    except (CorpusMissing, TuneError, FileNotFoundError) as e:
        print(f"st4rt eval {name}: {e}", file=sys.stderr)
        return None


def add_candidate_options(p: argparse.ArgumentParser) -> None:
    """``--split`` and ``--checkpoint``: measure a candidate MusicVAE on the valid split (to
    choose its settings) before it replaces the shipped one."""
    p.add_argument("--split", choices=["test", "valid"], default="test",
                   help="valid: to choose settings without looking at test")
    p.add_argument("--checkpoint", help="a MusicVAE checkpoint to use instead of the shipped one")


def use_checkpoint(path: str | None) -> None:
    """Make `variation` use the MusicVAE at `path` (None: the shipped one)."""
    if path:
        from st4rt_repl.models import music_vae, variation
        variation.set_model(music_vae.load_checkpoint(path)[0])


def draw_conditions(real: list, n: int, bars: int, seed: int):
    """(indices of the n drawn real tunes, their openings, the rest of the real set)."""
    order = [int(i) for i in np.random.default_rng(seed).permutation(len(real))]
    drawn, openings = [], []
    for i in order:
        o = realism.opening(real[i], bars)
        if o is not None:
            drawn.append(i)
            openings.append(o)
        if len(drawn) == n:
            break
    chosen = set(drawn)
    rest = [t for i, t in enumerate(real) if i not in chosen]
    return drawn, openings, rest


# ----- the n-gram sampler ------------------------------------------------------------------
def ngram_tunes(model, meter, key, bars: int, k: int, seed: int) -> list:
    """k distinct tunes of `bars` written bars that the written-form n-gram (tonic C) samples
    from the prefix, under the RNN's form grammar, placed like `generation.rnn_tunes`'s."""
    from st4rt_repl.models.continuation import _prefix_tunes
    from st4rt_repl.models.eval_continue import ngram_rows
    from st4rt_repl.models.generation import _centred, distinct
    made = _prefix_tunes(meter, key, True, lambda ids, lo, hi: ngram_rows(
        model, ids, bars, 2 * k, lo=lo, hi=hi, parts=False, open_bar=False, seed=seed, top_p=1.0))
    return distinct([_centred(t) for t in made], k)


def _ngram(data: str | None, order_arg: int):
    """(the n-gram, its order): trained on the folder's tunes (tonic C), else the corpus's."""
    from st4rt_repl.models.ngram import KneserNey
    if data:
        from st4rt_repl.models.eval_rnn import encode_tunes
        order = order_arg or 4
        return KneserNey(encode_tunes(real_tunes(data), tonic=True), order=order), order
    from st4rt_repl import paths
    from st4rt_repl.corpus import views
    from st4rt_repl.models.eval_continue import written_ngram
    train, valid = views.written_sequences("train"), views.written_sequences("valid")
    model, info = written_ngram(paths.corpus_dir(), train, valid)
    if order_arg and order_arg != info["order"]:
        model = KneserNey(train, order=order_arg, mult=info["mult"])
    return model, model.order


# ----- the run -------------------------------------------------------------------------------
def _sample(method: str, conds, bars: int, seed: int, ngram=None) -> list:
    """One tune per condition (the first distinct candidate of a batch per condition)."""
    from st4rt_repl.models import generation as g
    fn = {"vae_prior": g.vae_prior_tunes, "vae_posterior": g.vae_posterior_tunes,
          "vae_phrases": g.vae_phrase_tunes,
          "rnn": g.rnn_tunes}.get(method)
    out = []
    # one call per distinct condition, asking for as many tunes as it occurs
    groups: dict[tuple, int] = {}
    for c in conds:
        groups[c] = groups.get(c, 0) + 1
    for j, ((meter, key), count) in enumerate(sorted(groups.items(), key=str)):
        s = seed * 1000 + j
        if method == "ngram":
            made = ngram_tunes(ngram, meter, key, bars, count, s)
        elif method == "generate":
            made = g.generate(meter, key, bars, count, s)
        else:
            made = fn(meter, key, bars, count, s)
        # a sampler that writes repeats is heard longer: compare its first `bars` heard bars
        out += [realism.opening(t, bars) or t for t in made[:count]]
    return out


def evaluate(real: list, *, n: int, bars: int, seed: int, methods, data=None,
             ngram_order: int = 0, repeats: int = 1) -> dict:
    """The figures described in the module docstring, as a dict (means over `repeats` draws)."""
    runs = []
    samplers = {}
    for rep in range(repeats):
        s = seed + 101 * rep
        drawn, openings, rest = draw_conditions(real, n, bars, s)
        # the references are the other tunes' openings too, so every real tune weighs the
        # same whatever its length (long airs would otherwise dominate the pooled counts)
        refs = [o for o in (realism.opening(t, bars) for t in rest) if o is not None] or rest
        conds = [(tuple(o.meter), o.key) for o in openings]
        res: dict = {"n": len(openings), "n_refs": len(refs),
                     "meters": {f"{m[0]}/{m[1]}": sum(1 for c in conds if c[0] == m)
                                for m in METERS}}
        res["ceiling"] = realism.report(openings, refs, seed=s)
        for m in methods:
            t0 = time.time()
            if m == "ngram" and m not in samplers:
                samplers[m] = _ngram(data, ngram_order)
            if m == "vae_posterior":
                from st4rt_repl.models.generation import PRIOR_FILE
                if not PRIOR_FILE.exists():
                    res[m] = {"skipped": f"no {PRIOR_FILE.name}"}
                    continue
            ngram, order = samplers.get("ngram", (None, 0))
            tunes = _sample(m, conds, bars, s, ngram if m == "ngram" else None)
            r = realism.report(tunes, refs, seed=s)
            r["seconds"] = round(time.time() - t0, 1)
            if m == "ngram":
                r["order"] = order
            res[m] = r
        runs.append(res)
    out = _mean_runs(runs)
    out.update(bars=bars, seed=seed, repeats=repeats)
    return out


def _mean_runs(runs: list[dict]):
    """Average numbers leaf by leaf over runs of the same shape (4 decimals)."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: _mean_runs([r[k] for r in runs]) for k in first}
    if all(r == first for r in runs):
        return first
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        v = float(np.mean(runs))
        return round(v, 4) if isinstance(first, float) or len(runs) > 1 else int(v)
    return first


def summary(res: dict) -> dict:
    """Per sampler: worst overlap gap to the ceiling and leap ratio to the ceiling's leap rate."""
    ceil = res["ceiling"]
    out = {}
    for m, r in res.items():
        if not isinstance(r, dict) or "overlap" not in r or m == "ceiling":
            continue
        gaps = {f: round(ceil["overlap"][f] - r["overlap"][f], 4) for f in realism.FEATURES}
        out[m] = {"max_overlap_gap": max(gaps.values()),
                  "leap_ratio": round(r["leap_rate"] / max(ceil["leap_rate"], 1e-9), 2),
                  "mgeval_mean_oa": r["mgeval_mean_oa"]}
    return out


def main(argv=None) -> int:
    args = parse_args(list(argv or []))
    import torch
    torch.set_num_threads(1)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in ALL_METHODS]
    if bad:
        print(f"st4rt eval generate: unknown method {bad[0]!r} (use {', '.join(ALL_METHODS)})",
              file=sys.stderr)
        return 2
    if args.n < 2 or args.bars < 1:
        print("st4rt eval generate: --n must be at least 2 and --bars at least 1", file=sys.stderr)
        return 2
    real = load_real("generate", args.data)
    if real is None:
        return 2
    if len(real) <= args.n:
        print(f"st4rt eval generate: only {len(real)} real tunes in the common meters; "
              f"--n must be smaller", file=sys.stderr)
        return 2
    res = evaluate(real, n=args.n, bars=args.bars, seed=args.seed, methods=methods,
                   data=args.data, ngram_order=args.ngram_order, repeats=max(1, args.repeats))
    res["summary"] = summary(res)
    res["data"] = args.data or "corpus test split"
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
