"""``st4rt eval continue``: does `continue` do what real tunes do next?  One JSON line.

Held-out test-split tunes are cut in two ways and each model proposes K
candidates of 8 new written bars per cut (a "turn"):

* ``after_part``: right after the first repeated part (``:|`` closing written bar
  4 or 8, no endings in it, at least 8 more full bars after it, and the bar after
  a part cut short is its rest, a pickup, which does not count as a new bar);
* ``mid_part``: after written bar 4 of a first part of 8 bars (where real tunes
  often copy: bar 5 is bar 1 again).

Per model and cut, beside the real tunes' figures:

* ``copy_rate``: share of new written bars whose notes equal a primer bar's
  (``real_copy_rate``: the same for the tune's real next 8 bars; ``copy_gap``: the
  difference, ``copy_gap_ci95``: its 95 % bootstrap interval over resampled turns);
* ``copy_by_bar``: the copy rate of each new bar 1..8 (``real_copy_by_bar`` likewise):
  where a model borrows, beside where real tunes do (a B part's closing bars);
* ``distinct``: share of turns whose K candidates all differ (the raw sampler),
  and ``distinct_extra``: after sampling 2K and keeping the first K distinct, as
  `st4rt_repl.engine` does;
* ``closes_part``: share of candidates that end a part (``:|`` ``||`` ``|]``) after
  new bar 4 or 8 (``real_closes_part`` likewise);
* ``realism``: `st4rt_repl.models.realism.report` of the new bars (form stripped)
  against the real next bars of the other half of the turns; ``ceiling``: the
  real bars of the first half against the same refs (same sample sizes);
  ``shortfall_ci95``: per feature, the 95 % bootstrap interval of the overlap minus
  its ceiling when the turns are resampled (`realism.shortfall_interval`): how much
  of a gap is the luck of which tunes the split holds;
* ``exact_bars`` and ``abc2midi_clean``: every candidate has exactly 8 new bars and
  passes abc2midi (checked on the first `--abc-check` turns, among those whose whole
  real tune passes: ``real_abc2midi_clean`` is that share).

Also ``nll``: bits per note on the test split's written tokens for the RNN, the
ablation and the tuned n-gram.  (Round 1's model, on the melody as played, was
measured beside them on 2026-11-29 before it was retired: see the model card;
commit b1cb07b has it.)

Run: ``python -m st4rt_repl.models.eval_continue [--turns 60] [--seed 0] [--split valid]``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from st4rt_repl.tune import Bar, Tune

K = 4
NEW_BARS = 8
SECTION_ENDS = (":|", "||", "|]")
HERE = Path(__file__).parent / "checkpoints"


# ----- the cuts -----------------------------------------------------------------------
def _first_part_end(t: Tune) -> int | None:
    """List index of the bar that closes the tune's first section, if no ending comes first."""
    for i, b in enumerate(t.bars):
        if b.ending:
            return None
        if b.barline != "|":
            return i
    return None


def cuts(tunes: list[Tune], kind: str) -> list[tuple[Tune, list[Bar], Tune]]:
    """(primer, the real next 8 full written bars, the whole real tune) per usable tune.

    >>> t = Tune.from_bars([[(60, 4)]] * 4 + [[(62, 4)]] * 8).with_repeat(1, 4)
    >>> [(p.num_bars, len(real)) for p, real, _ in cuts([t], "after_part")]
    [(4, 8)]
    >>> cuts([t], "mid_part")
    []
    """
    out = []
    for t in tunes:
        i = _first_part_end(t)
        if i is None or t.bars[i].barline != ":|":
            continue
        n = i if t.pickup else i + 1                 # written bars in the part (pickup not counted)
        if kind == "after_part" and n in (4, 8):
            at = i
        elif kind == "mid_part" and n == 8:
            at = i - 4
        else:
            continue
        rest = list(t.bars[at + 1:])
        skip = 0
        if kind == "after_part" and rest and not rest[0].is_full and not t.bars[at].is_full:
            skip = 1                                 # the next part's pickup: not a new bar
        real = rest[skip:skip + NEW_BARS]
        if len(real) == NEW_BARS and all(b.is_full for b in real):
            out.append((t.with_(bars=t.bars[:at + 1]), real, t))
    return out


# ----- metrics ------------------------------------------------------------------------------
def copy_rate(new: list[Bar], primer: Tune) -> float:
    """Share of `new` bars whose notes equal some primer bar's.

    >>> t = Tune.from_bars([[(60, 4)], [(62, 4)]])
    >>> copy_rate(list(Tune.from_bars([[(62, 4)], [(64, 4)]]).bars), t)
    0.5
    """
    from st4rt_repl.models.continuation import borrowed_share
    return borrowed_share(new, primer.bars)


def copy_by_bar(news: list[list[Bar]], primers: list[Tune]) -> list[float]:
    """Per new bar 1..8, the share of `news` (one list of bars per primer) that copies a
    primer bar there: real B parts start afresh and come home with the A part's cadence.

    >>> t = Tune.from_bars([[(60, 4)], [(62, 4)]])
    >>> copy_by_bar([list(Tune.from_bars([[(64, 4)], [(62, 4)]]).bars)] * 2, [t, t])
    [0.0, 1.0]
    """
    from st4rt_repl.models.continuation import borrowed_share
    n = max(len(new) for new in news)
    return [round(float(np.mean([borrowed_share(new[j:j + 1], p.bars) for new, p in zip(news, primers)
                                 if len(new) > j])), 4) for j in range(n)]


def closes_part(new: list[Bar]) -> bool:
    """A part ends after new bar 4 or 8."""
    return any(len(new) >= k and new[k - 1].barline in SECTION_ENDS for k in (4, 8))


def _flat(bars: list[Bar], like: Tune) -> Tune:
    """The bars as a plain tune (form stripped): what realism compares."""
    return Tune(tuple(b.plain() for b in bars), like.bars[-1].meter, like.key, pickup=False)


# ----- the models as "primer -> lists of new bars" ------------------------------------------
def rnn_sampler(path: Path, scales: tuple = (None, None), length_weights: dict | None = None,
                interval_weights: dict | None = None, copy_odds: float | None = None, **kw):
    """`scales` (pitch, rhythm) replace the checkpoint's calibrated temperature scales,
    `length_weights` ({ticks: weight}) and `interval_weights` ({semitones: weight}) its
    sampling weights, to calibrate them on the valid split; None keeps the stored ones."""
    from st4rt_repl.models import continuation as C
    from st4rt_repl.models.decoding import interval_weights_table, length_weights_tensor
    model, _ = C.load(path)
    if scales[0] is not None:
        model._st4rt_temperature_scale = scales[0]
    if scales[1] is not None:
        model._st4rt_rhythm_scale = scales[1]
    if length_weights is not None:
        model._st4rt_length_weights = length_weights_tensor(length_weights)
    if interval_weights is not None:
        model._st4rt_interval_table = interval_weights_table(interval_weights)
    if copy_odds is not None:
        model._st4rt_copy_odds = copy_odds

    def run(primer: Tune, k: int, seed: int) -> list[Tune]:
        return C.continue_tune(primer, NEW_BARS, candidates=k, seed=seed, checkpoint=path, **kw)
    return run


def _new(t: Tune) -> list[Bar]:
    return list(t.bars[len(t.bars) - NEW_BARS:])


def written_ngram(root, train, valid):
    """(the n-gram baseline on written-form tokens, its settings): order and discount tuned
    on `valid`, the settings cached in ``<corpus>/runs/ngram_v2.json``."""
    from st4rt_repl.models import ngram
    from st4rt_repl.tokenizers import written
    stamp = f"v2.{written.LAYOUT_REVISION}.{len(train)}.{len(valid)}"
    return ngram.tuned(train, valid, Path(root) / "runs" / "ngram_v2.json", stamp=stamp)


def ngram_rows(model, ids, n_bars: int, k: int, *, lo: int, hi: int, parts: bool, open_bar: bool,
               seed: int, top_p: float) -> list[list[int]]:
    """k rows of new tokens after the primer `ids`, sampled from the n-gram `model` under the
    RNN's form grammar (`continuation._generate`'s bookkeeping): `n_bars` new bars, after the
    rest of an open or cut last bar."""
    import torch

    from st4rt_repl.models import continuation as C
    from st4rt_repl.models.decoding import sample_probs
    grammar = C._grammar(lo, hi, parts)
    rows = C._Rows(C._primer_features(ids, False)[0], k, n_bars, open_bar)
    ctx = [list(ids) for _ in range(k)]
    gen = torch.Generator().manual_seed(seed)
    for _ in range(rows.max_steps):
        mask = C._masks(grammar, rows, None)
        p = torch.from_numpy(model.next_probs(ctx)).float() * mask
        p = p / p.sum(-1, keepdim=True).clamp_min(1e-30)
        for i in range(k):                    # an all-zero row (cannot happen with KN): uniform
            if not p[i].sum() > 0:
                p[i] = mask[i].float() / mask[i].sum()
        toks = sample_probs(p, top_p=top_p, generator=gen).tolist()
        for i, tok in enumerate(toks):
            if rows.done[i]:
                continue
            rows.push(i, tok)
            ctx[i].append(tok)
        if all(rows.done):
            break
    return rows.out


def ngram_sampler(model, top_p: float = 0.95):
    """Samples from the written-form n-gram under the same form grammar as the RNN."""
    from st4rt_repl.models import continuation as C
    from st4rt_repl.models.decoding import pitch_range

    def run(primer: Tune, k: int, seed: int) -> list[Tune]:
        base = C._prepare(primer)
        shift = C._tonic_shift(base, {"transpose": "tonic"})
        moved = base.transpose(shift) if shift else base
        ids, open_bar = C._primer_ids(moved)
        lo, hi = pitch_range([n.pitch for b in moved.bars for n in b.notes])
        new = ngram_rows(model, ids, NEW_BARS, k, lo=lo, hi=hi, parts=C._uses_parts(base), open_bar=open_bar,
                         seed=seed, top_p=top_p)
        return [C._assemble(base, o, open_bar, shift) for o in new]
    return run


# ----- one report ------------------------------------------------------------------------------
def copy_gap_interval(model: list[float], real: list[float], *, draws: int = 1000, seed: int = 0) -> list[float]:
    """95 % bootstrap interval of |mean(model) - mean(real)| over turns resampled with
    replacement (`model[i]`: the candidates' copy rate in turn i, `real[i]`: the real bars').

    >>> copy_gap_interval([0.5] * 20, [0.5] * 20), copy_gap_interval([0.0] * 20, [0.25] * 20)
    ([0.0, 0.0], [0.25, 0.25])
    """
    m, r = np.asarray(model, float), np.asarray(real, float)
    pick = np.random.default_rng(seed).integers(0, len(m), (draws, len(m)))
    gaps = np.abs(m[pick].mean(1) - r[pick].mean(1))
    return [round(float(np.percentile(gaps, 2.5)), 4), round(float(np.percentile(gaps, 97.5)), 4)]


def _mean_report(reports: list[dict]) -> dict:
    """Overlaps and MGEval mean OA averaged over several realism reports."""
    return {"overlap": {f: round(float(np.mean([r["overlap"][f] for r in reports])), 4)
                        for f in reports[0]["overlap"]},
            "mgeval_mean_oa": round(float(np.mean([r["mgeval_mean_oa"] for r in reports])), 4)}


def evaluate_cut(samplers: dict, turns: list, *, seed: int, abc_check: int, splits: int = 10,
                 tick=None) -> dict:
    """The figures of every model on one kind of cut.

    Realism compares the candidates of one half of the turns with the real bars of the
    other half, beside the ceiling (the real bars of the first half against the same
    references); both are averaged over `splits` seeded halvings, since with ~50 turns
    one halving moves the length and IOI figures by up to 0.1 either way.
    `tick(name)`, if given, is called after each turn a model has answered (a progress bar).
    """
    from st4rt_repl.models import realism
    from st4rt_repl.models.generation import distinct
    halves = []
    for s in range(splits):
        order = np.random.default_rng(seed + s).permutation(len(turns))
        half_a = set(int(i) for i in order[: len(turns) // 2])
        refs_b = [_flat(real, p) for i, (p, real, _) in enumerate(turns) if i not in half_a]
        halves.append((half_a, refs_b))
    ceil = _mean_report([realism.report([_flat(real, p) for i, (p, real, _) in enumerate(turns) if i in a],
                                        refs, seed=seed) for a, refs in halves])
    real_per_turn = [copy_rate(real, p) for p, real, _ in turns]
    real_copy = float(np.mean(real_per_turn))
    real_close = float(np.mean([closes_part(real) for _, real, _ in turns]))
    real_clean = [_abc_clean(whole) for _, _, whole in turns[:abc_check]]
    out = {"turns": len(turns), "real_copy_rate": round(real_copy, 4),
           "real_copy_by_bar": copy_by_bar([real for _, real, _ in turns], [p for p, _, _ in turns]),
           "real_closes_part": round(real_close, 4),
           "real_abc2midi_clean": round(float(np.mean(real_clean)), 4) if real_clean else None,
           "splits": splits, "ceiling": ceil,
           "models": {}}
    for name, sample in samplers.items():
        t0 = time.time()
        shown, raw_distinct, extra_distinct, exact, clean, checked = [], 0, 0, 0, 0, 0
        for n, (p, real, tune) in enumerate(turns):
            tunes = sample(p, 2 * K, seed + n)
            cands = [_new(t) for t in tunes]
            full = {tuple(b.heard for b in c): t for c, t in zip(cands, tunes)}
            raw = cands[:K]
            raw_distinct += len({tuple(b.heard for b in c) for c in raw}) == K
            kept = distinct(cands, K, key=lambda c: tuple(b.heard for b in c))
            extra_distinct += len(kept) == K
            exact += sum(len(c) == NEW_BARS and all(b.is_full for b in c) for c in kept)
            if n < abc_check and real_clean[n]:    # a real tune abc2midi warns about says nothing
                clean += sum(_abc_clean(full[tuple(b.heard for b in c)]) for c in kept)
                checked += len(kept)
            shown.append((p, kept))
            if tick:
                tick(name)
        rates = [[copy_rate(c, p) for c in kept] for p, kept in shown]
        copies = [r for turn in rates for r in turn]
        per_turn = [float(np.mean(turn)) for turn in rates]
        closes = [closes_part(c) for p, kept in shown for c in kept]
        by_k = []
        for half_a, refs_b in halves:             # realism per candidate slot, averaged over slots
            for j in range(K):
                cj = [_flat(kept[j], p) for i, (p, kept) in enumerate(shown) if i in half_a and len(kept) > j]
                by_k.append(realism.report(cj, refs_b, seed=seed))
        n_cands = sum(len(k) for _, k in shown)
        reals = [_flat(real, p) for p, real, _ in turns]
        slots = [[_flat(kept[j] if len(kept) > j else kept[0], p) for p, kept in shown] for j in range(K)]
        out["models"][name] = {
            "copy_rate": round(float(np.mean(copies)), 4),
            "copy_gap": round(abs(float(np.mean(copies)) - real_copy), 4),
            "copy_gap_ci95": copy_gap_interval(per_turn, real_per_turn, seed=seed),
            "copy_by_bar": copy_by_bar([c for _, kept in shown for c in kept], [p for p, kept in shown for _ in kept]),
            "distinct": round(raw_distinct / len(turns), 4),
            "distinct_extra": round(extra_distinct / len(turns), 4),
            "closes_part": round(float(np.mean(closes)), 4),
            "realism": _mean_report(by_k),
            "shortfall_ci95": realism.shortfall_interval(reals, slots, seed=seed),
            "exact_bars": round(exact / max(n_cands, 1), 4),
            "abc2midi_clean": None if not checked else round(clean / checked, 4),
            "seconds": round(time.time() - t0, 1)}
    return out


def _abc_clean(t: Tune) -> bool:
    """abc2midi reads the tune as our writer writes it without a warning."""
    from st4rt_repl.formats import abc2midi
    from st4rt_repl.formats.abc_out import to_abc
    try:
        abc2midi.check(to_abc(t))
        return True
    except abc2midi.Abc2MidiComplaint:
        return False


def nll_report(paths: dict, ngram_model, test_seqs) -> dict:
    """Bits per note on the test split's v2 tokens for each RNN checkpoint and the n-gram."""
    from st4rt_repl.models.attention_rnn import load_checkpoint
    from st4rt_repl.models.train_rnn import evaluate, prepare
    out = {}
    for name, p in paths.items():
        model, _ = load_checkpoint(p)
        out[name] = round(evaluate(model, prepare(test_seqs, model.cfg.aligned))["nll_per_note"], 4)
    out["ngram"] = round(ngram_model.evaluate(test_seqs)["nll_per_note"], 4)
    out["rnn_vs_ngram"] = round(out.get("rnn", math.nan) / out["ngram"], 4)
    return out


@contextlib.contextmanager
def _progress(total: int, quiet: bool):
    """A rich progress bar with ETA on stderr (stdout keeps the one JSON line); yields
    tick(label), to call once per turn answered."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                   console=Console(stderr=True), disable=quiet, transient=True)
    task = bar.add_task("turns", total=total)
    with bar:
        yield lambda label: bar.update(task, advance=1, description=label)


def _weights(model) -> dict:
    """The sampling weights a loaded model uses: {"length": {ticks: w}, "interval": {semitones: w}}."""
    from st4rt_repl.tokenizers.written import DURATIONS
    w, t = getattr(model, "_st4rt_length_weights", None), getattr(model, "_st4rt_interval_table", None)
    return {"length": {} if w is None else {d: round(float(x), 4) for d, x in zip(DURATIONS, w) if x != 1},
            "interval": {} if t is None else {s: round(float(t[0, s + 1]), 4) for s in range(len(t) - 1)
                                              if t[0, s + 1] != 1}}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="st4rt eval continue", description=__doc__.split("\n")[0])
    p.add_argument("--rnn", type=Path, default=HERE / "attention_rnn.pt")
    p.add_argument("--noattn", type=Path, default=HERE / "attention_rnn_noattn.pt")
    p.add_argument("--corpus", type=Path, help="corpus folder (default: st4rt corpus default)")
    p.add_argument("--turns", type=int, default=60, help="cuts per kind at most (seeded choice)")
    p.add_argument("--abc-check", type=int, default=10, help="turns whose candidates go through abc2midi")
    p.add_argument("--no-nll", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=["test", "valid"], default="test",
                   help="valid: to choose sampling settings without looking at test")
    p.add_argument("--top-p", type=float, default=0.95, help="nucleus of every sampler")
    p.add_argument("--temperature", type=float, default=1.0, help="temperature of the RNNs")
    p.add_argument("--pitch-scale", type=float, help="replace the RNNs' calibrated pitch temperature scale")
    p.add_argument("--rhythm-scale", type=float, help="replace the RNNs' calibrated rhythm temperature scale")
    p.add_argument("--length-weight", nargs=2, type=float, action="append", metavar=("TICKS", "W"),
                   help="replace the RNNs' stored weights for note lengths (repeatable; 24 ticks = a quarter)")
    p.add_argument("--interval-weight", nargs=2, type=float, action="append", metavar=("SEMITONES", "W"),
                   help="replace the RNNs' stored weights for melodic intervals, up or down (repeatable)")
    p.add_argument("--copy-odds", type=float,
                   help="replace the attention-RNN's calibrated pointer odds (a checkpoint with a pointer head)")
    p.add_argument("--models", default="rnn,noattn,ngram",
                   help="which samplers to run (comma-separated; calibrating on valid needs only rnn)")
    p.add_argument("--splits", type=int, default=10,
                   help="seeded halvings of the turns that realism and its ceiling are averaged over")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    return p


def main(argv=None) -> int:
    """Entry point: prints one JSON line; 2 on a missing corpus or checkpoint."""
    args = build_parser().parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    from st4rt_repl import paths
    from st4rt_repl.corpus import views
    from st4rt_repl.models import continuation as C
    root = args.corpus or paths.corpus_dir()
    for need in (args.rnn, args.noattn):
        if not Path(need).exists():
            print(f"st4rt eval continue: no checkpoint at {need}", file=sys.stderr)
            return 2
    if args.copy_odds is not None and not C.load(args.rnn)[0].cfg.copy:
        print(f"st4rt eval continue: --copy-odds needs a checkpoint with a pointer head; {args.rnn} has none",
              file=sys.stderr)
        return 2
    try:
        tunes = views.tunes(args.split, root=root)
        train = views.written_sequences("train", root=root)
        valid = views.written_sequences("valid", root=root)
        test = views.written_sequences("test", root=root)
    except (OSError, ValueError) as e:
        print(f"st4rt eval continue: cannot read the corpus at {root}: {e}", file=sys.stderr)
        return 2
    t0 = time.time()
    ng, info = written_ngram(root, train, valid)
    kw = {"top_p": args.top_p, "temperature": args.temperature}
    scales = (args.pitch_scale, args.rhythm_scale)
    weights = [None if given is None else {int(t): w for t, w in given}
               for given in (args.length_weight, args.interval_weight)]
    samplers = {"rnn": rnn_sampler(args.rnn, scales, *weights, copy_odds=args.copy_odds, **kw),
                "noattn": rnn_sampler(args.noattn, scales, *weights, **kw),
                "ngram": ngram_sampler(ng, top_p=args.top_p)}
    wanted = args.models.split(",")
    if set(wanted) - set(samplers):
        print(f"st4rt eval continue: --models takes {', '.join(samplers)}", file=sys.stderr)
        return 2
    samplers = {name: s for name, s in samplers.items() if name in wanted}
    rng = np.random.default_rng(args.seed)
    result = {"split": args.split, "k": K, "new_bars": NEW_BARS, "seed": args.seed, **kw,
              "scales": {name: dict(zip(("pitch", "rhythm"), C.temperature_scales(C.load(path)[0])))
                         for name, path in (("rnn", args.rnn), ("noattn", args.noattn))},
              "weights": {name: _weights(C.load(path)[0]) for name, path in (("rnn", args.rnn),
                                                                           ("noattn", args.noattn))},
              "copy_odds": getattr(C.load(args.rnn)[0], "_st4rt_copy_odds", 1.0),
              "ngram": {"order": info["order"], "mult": info["mult"]}}
    picked = {}
    for kind in ("after_part", "mid_part"):
        turns = cuts(tunes, kind)
        if len(turns) > args.turns:
            pick = sorted(int(i) for i in rng.choice(len(turns), args.turns, replace=False))
            turns = [turns[i] for i in pick]
        picked[kind] = turns
    with _progress(sum(map(len, picked.values())) * len(samplers), args.quiet) as tick:
        for kind, turns in picked.items():
            result[kind] = evaluate_cut(samplers, turns, seed=args.seed, abc_check=args.abc_check,
                                        splits=args.splits, tick=lambda name, kind=kind: tick(f"{kind} {name}"))
    if not args.no_nll:
        result["nll_bits_per_note"] = nll_report({"rnn": args.rnn, "noattn": args.noattn}, ng, test)
    result["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
