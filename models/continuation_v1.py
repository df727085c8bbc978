"""Round-1 continuation (tokenizer v1, the melody as played), kept to measure against.

`st4rt_repl.models.continuation` is what the product calls; this module runs
the round-1 checkpoint (``attention_rnn_v1.pt``) the round-1 way, so
``st4rt eval continue`` and ``bench/bench_continue.py`` can put it beside the
written-form model in one run.  Primers are read as played (`Tune.performed`).

`continue_tune` returns candidates, each the primer (every bar unchanged) plus
exactly `bars` new full bars, sampled as one batch under `decoding.BarGrammar`
(bars exactly full, ties only across barlines, pitches near the primer's; the
primer's key, mode and meter carry on).  A primer whose last bar is short (not
full, and not a lone pickup) has that bar completed first: its notes are kept and
new notes fill it up, then the `bars` new bars follow.

`score_in_context` gives the RNN's log-likelihood of some bars given everything
before them; the VAE uses it to rank variations in context.

The model is loaded once and cached in a module global.  A tonic-trained model
(see the model card) reads tunes transposed so that the tonic is C; results are
transposed back, so callers never see it.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import torch

from st4rt_repl.tune import Bar, Tune, TuneError

CHECKPOINT = Path(__file__).parent / "checkpoints" / "attention_rnn_v1.pt"
_CACHE: dict[str, tuple] = {}


def checkpoint_path() -> Path:
    """The round-1 checkpoint, or $ST4RT_RNN_V1_CHECKPOINT when set."""
    return Path(os.environ.get("ST4RT_RNN_V1_CHECKPOINT") or CHECKPOINT)


def load(path: str | Path | None = None):
    """(model, checkpoint dict), loaded once per path and cached."""
    from st4rt_repl.errors import NotAvailable
    p = Path(path) if path else checkpoint_path()
    key = str(p)
    if key not in _CACHE:
        if not p.exists():
            raise NotAvailable(f"continue (v1): no round-1 checkpoint at {p}")
        from st4rt_repl.models.attention_rnn import load_checkpoint
        torch.set_num_threads(1)
        model, ck = load_checkpoint(p)
        _CACHE[key] = (model, ck)
    return _CACHE[key]


def _tonic_shift(tune: Tune, ck: dict) -> int:
    """Semitones that move the tune's tonic to C (0 unless the model was trained so)."""
    if ck.get("transpose") != "tonic":
        return 0
    pitches = [n.pitch for b in tune.bars for n in b.notes if n.pitch is not None]
    for s in sorted(range(-11, 12), key=abs):
        if (tune.key.tonic_pc + s) % 12 == 0 and all(36 <= p + s <= 96 for p in pitches):
            return s
    return 0


def _primer_ids(tune: Tune):
    """Token ids of the primer without </s>, and whether its last bar is left open."""
    from st4rt_repl.tokenizers.melody import encode
    ids = encode(tune, eos=False)
    last = tune.bars[-1]
    open_bar = not last.is_full and not (tune.pickup and len(tune.bars) == 1)
    if open_bar:
        ids = ids[:-1]          # drop the barline: the grammar fills the bar up first
    return ids, open_bar


def _assemble(primer: Tune, new_ids, ids_primer, open_bar: bool, shift: int, title=None) -> Tune:
    """The primer's bars unchanged plus the decoded new bars (transposed back)."""
    from st4rt_repl.tokenizers.melody import PITCH_HI, PITCH_LO, VOCAB, decode
    # Decode only what is new (plus the open bar's start): re-decoding the whole primer
    # for every candidate cost more than the sampling.  The prefix without `pickup`
    # keeps decode from reading the first new bar as a pickup; meters are set below.
    head = list(ids_primer[:4])
    if open_bar:    # the open bar's own tokens: after the last barline (or the prefix)
        bars_at = [i for i, t in enumerate(ids_primer) if t == VOCAB.bar]
        head += ids_primer[bars_at[-1] + 1 if bars_at else 4:]
    ids = head + list(new_ids)
    # Transpose back on the token ids when every pitch stays in the vocabulary:
    # rebuilding each Note afterwards costs as much as decoding them.
    lo, hi = VOCAB.pitch_id(PITCH_LO), VOCAB.pitch_id(PITCH_HI)
    if shift and all(lo <= i - shift <= hi for i in ids if lo <= i <= hi):
        ids, shift = [i - shift if lo <= i <= hi else i for i in ids], 0
    back = []
    for b in decode(ids).bars:
        notes = b.notes if not shift else tuple(
            n if n.pitch is None else n.__class__(n.pitch - shift, n.duration, n.tie) for n in b.notes)
        back.append(Bar(notes, primer.bars[-1].meter))
    if open_bar:
        old = primer.bars[-1]
        done = Bar(old.notes + back[0].notes[len(old.notes):], old.meter)
        return primer.with_(bars=primer.bars[:-1] + (done,) + tuple(back[1:]))
    return primer.append_bars(back)


_PRIMER: dict = {}


def _primer_features(ids):
    """(Tracker after the primer, feature rows, the same as a (1, T, F) tensor).

    The last primer's are kept (Python tracking of a 16-bar primer costs a few ms);
    the tracker is handed out as a copy because generation pushes onto it.
    """
    from st4rt_repl.models.attention_rnn import Tracker, pickup_ticks
    key = tuple(ids)
    if _PRIMER.get("key") != key:
        tr = Tracker(pickup_ticks(ids))
        feats = []
        for t in ids:
            tr.push(t)
            feats.append(tr.features(t))
        _PRIMER.update(key=key, tracker=tr, feats=feats, f=torch.tensor(feats, dtype=torch.long)[None])
    return _PRIMER["tracker"].copy(), _PRIMER["feats"], _PRIMER["f"]


@functools.lru_cache(maxsize=16)
def _grammar(lo: int, hi: int):
    """A bar grammar per pitch range, kept: it caches its masks, built in pure Python."""
    from st4rt_repl.models.decoding import BarGrammar
    return BarGrammar(lo, hi)


def _stepper(model):
    """The model's fused generation runner, built once per loaded model."""
    st = getattr(model, "_st4rt_stepper", None)
    if st is None:
        st = model.stepper()
        model._st4rt_stepper = st
    return st


@torch.no_grad()
def _generate(model, ids, n_bars: int, k: int, *, temperature: float, top_p: float,
              seed: int | None, beam: int, lo: int, hi: int):
    """New token lists (and their log-probs at temperature 1) for k rows after primer ids."""
    from st4rt_repl.models.decoding import masked_log_probs, sample, sample_probs
    from st4rt_repl.tokenizers.melody import VOCAB
    grammar = _grammar(lo, hi)
    tr0, feats, f = _primer_features(ids)
    width = max(k, beam) if beam > 1 else k
    target = n_bars + (1 if tr0.phase != 0 or tr0.pos > 0 else 0)
    max_steps = (target + 1) * (2 * tr0.bar_len // 3 + 3)   # every note 3 ticks: the worst case
    stepper = _stepper(model)
    logits, state = stepper.prime(f, width, max_steps)
    trackers = [tr0.copy() for _ in range(width)]
    start_bars = tr0.bar_index
    out = [[] for _ in range(width)]
    score = torch.zeros(width)
    done = [False] * width
    gen = torch.Generator().manual_seed(seed if seed is not None else torch.seed() % 2**63)
    if beam > 1:
        score[1:] = float("-inf")   # all rows start identical: expand from the first only
    pad = feats[-1]
    pad_only = torch.zeros(len(VOCAB), dtype=torch.bool)
    pad_only[VOCAB.pad] = True
    beam_width = width
    for _ in range(max_steps):
        mask = grammar.masks(trackers)
        done_t = torch.tensor(done) if any(done) else None
        if done_t is not None:      # finished rows only write padding
            mask = torch.where(done_t[:, None], pad_only, mask)
        lp = masked_log_probs(logits, mask)
        if beam > 1:
            cand = (score[:, None] + lp).masked_fill(~mask, float("-inf"))
            for i in range(width):
                if done[i]:
                    cand[i] = float("-inf")
                    cand[i, VOCAB.pad] = score[i]
            top, flat = cand.flatten().topk(min(beam_width, cand.numel()))
            rows, toks = flat // lp.shape[1], flat % lp.shape[1]
            keep = top > float("-inf")
            rows, toks, top = rows[keep], toks[keep], top[keep]
            state = stepper.select(state, rows)
            trackers = [trackers[r].copy() for r in rows.tolist()]
            out = [list(out[r]) for r in rows.tolist()]
            done = [done[r] for r in rows.tolist()]
            score = top
            width = len(rows)
        else:
            if temperature == 1.0:  # the usual case: reuse the log-probs just computed
                toks = sample_probs(lp.exp(), top_p=top_p, generator=gen)
            else:
                toks = sample(logits, mask, temperature=temperature, top_p=top_p, generator=gen)
            gained = lp.gather(1, toks[:, None])[:, 0]
            score = score + (gained if done_t is None else gained.masked_fill(done_t, 0.0))
        rows_f = []
        for i, tok in enumerate(toks.tolist()):
            if done[i]:
                rows_f.append(pad)
                continue
            trackers[i].push(tok)
            out[i].append(tok)
            rows_f.append(trackers[i].features(tok))
            if tok == VOCAB.bar and trackers[i].bar_index - start_bars >= target:
                done[i] = True
        if all(done):
            break
        logits = stepper.step(torch.tensor(rows_f, dtype=torch.long), state)
    else:
        raise TuneError("continue: generation did not finish its bars")
    order = sorted(range(width), key=lambda i: -float(score[i])) if beam > 1 else range(width)
    order = list(order)[:k]
    return [out[i] for i in order], [float(score[i]) for i in order]


def continue_tune(tune: Tune, bars: int, *, candidates: int = 4, temperature: float = 1.0,
                  top_p: float = 0.95, seed: int | None = None, beam: int = 1,
                  profile: str | None = None, likeness: float = 0.5,
                  checkpoint: str | Path | None = None) -> list[Tune]:
    """`candidates` continuations: the primer plus exactly `bars` new full bars each.

    Sampling (temperature, nucleus top_p) runs all candidates as one batch; the
    same seed gives the same output.  beam > 1 runs a beam search of width
    max(beam, candidates) and returns the best `candidates` beams (by summed
    log-probability).  With a `profile`, 3x candidates are sampled and ranked by
    ``(1 - likeness) * rnn_score + likeness * profile_score``, both min-max scaled
    over the sampled set (rnn_score = log-probability per new token).
    """
    if bars < 1:
        raise TuneError("continue needs at least 1 bar")
    if not tune.bars:
        raise TuneError("continue needs a primer with at least one note")
    model, ck = load(checkpoint)
    scorer = None
    if profile is not None:
        from st4rt_repl.errors import NotAvailable
        try:
            from st4rt_repl.models import midime
            scorer = midime.score_tunes
        except ImportError as e:
            raise NotAvailable("continue: profiles need the MidiMe model, which has not landed") from e
    shift = _tonic_shift(tune, ck)
    moved = tune.transpose(shift) if shift else tune
    ids, open_bar = _primer_ids(moved)
    from st4rt_repl.models.decoding import pitch_range
    lo, hi = pitch_range([n.pitch for b in moved.bars for n in b.notes])
    k = candidates * 3 if scorer else candidates
    new, scores = _generate(model, ids, bars, k, temperature=temperature, top_p=top_p,
                            seed=seed, beam=beam, lo=lo, hi=hi)
    tunes = [_assemble(tune, n, ids, open_bar, shift) for n in new]
    if scorer is None:
        return tunes
    rnn = [s / max(len(n), 1) for s, n in zip(scores, new)]
    prof = list(scorer(profile, tunes))

    def scale(xs):
        a, b = min(xs), max(xs)
        return [0.5 if b - a < 1e-12 else (x - a) / (b - a) for x in xs]

    mixed = [(1 - likeness) * r + likeness * p for r, p in zip(scale(rnn), scale(prof))]
    best = sorted(range(len(tunes)), key=lambda i: -mixed[i])[:candidates]
    return [tunes[i] for i in best]


@torch.no_grad()
def score_in_context(tunes: list[Tune], bar_ranges: list[tuple[int, int]], *,
                     per_token: bool = False, checkpoint: str | Path | None = None) -> list[float]:
    """RNN log-likelihood (natural log) of bars i..j of each tune, given all bars before them.

    ``bar_ranges[n] = (i, j)``: musicians' bar numbers, inclusive (0 = pickup).
    The score sums log p over the tokens of those bars (pitches, durations, ties
    and their barlines), conditioned on the tune's key, mode, meter and every
    earlier bar; later bars are not seen (the model reads left to right).  Higher
    is more likely.  ``per_token=True`` divides by the number of tokens, which
    compares ranges of different lengths fairly.  All tunes run as one batch.

    Raises `st4rt_repl.engine.NotAvailable` when no checkpoint is shipped.
    """
    if len(tunes) != len(bar_ranges):
        raise ValueError("score_in_context needs one bar range per tune")
    if not tunes:
        return []
    from st4rt_repl.models.attention_rnn import featurize
    from st4rt_repl.tokenizers.melody import encode, encode_bar, prefix
    model, ck = load(checkpoint)
    rows = []
    for t, (i, j) in zip(tunes, bar_ranges):
        shift = _tonic_shift(t, ck)
        m = t.transpose(shift) if shift else t
        a, b = m._index(i), m._index(j)
        ids = encode(m, eos=False)
        # token span of bars a..b: count tokens of earlier bars (+ meter-change tokens)
        start = len(prefix(m))
        meter = m.bars[0].meter
        spans = []
        for bar in m.bars:
            if bar.meter != meter:
                start += 1
                meter = bar.meter
            n = len(encode_bar(bar))
            spans.append((start, start + n))
            start += n
        rows.append((featurize(ids), ids, spans[a][0], spans[b][1]))
    T = max(len(r[1]) for r in rows)
    f = torch.zeros(len(rows), T, rows[0][0].shape[1], dtype=torch.long)
    for n, r in enumerate(rows):
        f[n, : len(r[1])] = torch.from_numpy(r[0].astype("int64"))
    lp = torch.log_softmax(model(f), -1)
    out = []
    for n, (_, ids, s, e) in enumerate(rows):
        tgt = torch.tensor(ids[s:e])
        v = lp[n, s - 1:e - 1].gather(1, tgt[:, None]).sum().item()
        out.append(v / max(e - s, 1) if per_token else v)
    return out


def clear_cache() -> None:
    """Forget loaded models (tests swap checkpoints)."""
    _CACHE.clear()
    forget_primer()


def forget_primer() -> None:
    """Drop the kept primer run and features, so the next call pays for them (benchmarks)."""
    _PRIMER.clear()
    for model, _ in _CACHE.values():
        _stepper(model)._primed = None
