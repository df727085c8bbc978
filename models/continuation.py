"""Continue a written tune with the attention-RNN: the API `st4rt_repl.engine` calls.

The model reads and writes the tune AS WRITTEN (tokenizer v2,
`st4rt_repl.tokenizers.written`): repeat signs, endings and part labels are
tokens, a note is one token.  After a finished part (``:|``, ``||``) it writes
what real tunes write there, most often a new part, instead of the old part a
third time.

`continue_tune` returns candidates, each the primer (every bar unchanged) plus
exactly `bars` new full written bars, sampled as one batch under
`decoding.FormGrammar` (bars exactly full, repeat signs balanced, endings well
formed, pitches near the primer's; the primer's key, mode and meter carry on).
A primer whose last bar is short and open (plain barline) has that bar
completed first; a final ``|]`` becomes ``||``, since the tune goes on.
`new_part` asks for a new part in repeat signs ``|: ... :|`` explicitly, and can
rank candidates by likeness to the part before ("similar" / "contrast").

`score_in_context` gives the RNN's log-likelihood of some bars given everything
before them; the VAE uses it to rank variations in context.

The model is loaded once and cached.  A checkpoint trained on another token
layout (round 1's tokenizer v1) is refused with a one-line message.
A tonic-trained model reads tunes transposed so that the tonic is C; results
are transposed back, so callers never see it.
"""
from __future__ import annotations

import functools
import os
from dataclasses import replace
from pathlib import Path

import torch

from st4rt_repl.tune import Bar, Tune, TuneError

CHECKPOINT = Path(__file__).parent / "checkpoints" / "attention_rnn.pt"
_CACHE: dict[str, tuple] = {}


def checkpoint_path() -> Path:
    """The shipped checkpoint, or $ST4RT_RNN_CHECKPOINT when set (tests, experiments)."""
    return Path(os.environ.get("ST4RT_RNN_CHECKPOINT") or CHECKPOINT)


def load(path: str | Path | None = None):
    """(model, checkpoint dict), loaded once per path and cached; v2 checkpoints only."""
    from st4rt_repl.errors import NotAvailable
    p = Path(path) if path else checkpoint_path()
    key = str(p)
    if key not in _CACHE:
        if not p.exists():
            raise NotAvailable(f"continue: no trained checkpoint at {p}")
        from st4rt_repl.models.attention_rnn import CheckpointVersionError, load_checkpoint
        from st4rt_repl.tokenizers.written import TOKENIZER_VERSION
        torch.set_num_threads(1)
        try:
            model, ck = load_checkpoint(p, expect=TOKENIZER_VERSION)
        except CheckpointVersionError as e:
            raise NotAvailable(f"continue: {e}") from None
        model._st4rt_temperature_scale = float(ck.get("temperature_scale", 1.0))
        if "rhythm_scale" in ck:
            model._st4rt_rhythm_scale = float(ck["rhythm_scale"])
        from st4rt_repl.models.decoding import interval_weights_table, length_weights_tensor
        model._st4rt_length_weights = length_weights_tensor(ck.get("length_weights"))
        model._st4rt_interval_table = interval_weights_table(ck.get("interval_weights"))
        model._st4rt_copy_odds = float(ck.get("copy_odds", 1.0))
        _CACHE[key] = (model, ck)
    return _CACHE[key]


def temperature_scales(model) -> tuple[float, float]:
    """(pitch, rhythm) multipliers of the user's temperature: the checkpoint's calibration
    (`load`); a checkpoint without ``rhythm_scale`` tempers the rhythm like the pitch."""
    pitch = float(getattr(model, "_st4rt_temperature_scale", 1.0))
    return pitch, float(getattr(model, "_st4rt_rhythm_scale", pitch))


def _tonic_shift(tune: Tune, ck: dict) -> int:
    """Semitones that move the tune's tonic to C (0 unless the model was trained so)."""
    if ck.get("transpose") != "tonic":
        return 0
    pitches = [n.pitch for b in tune.bars for n in b.notes if n.pitch is not None]
    for s in sorted(range(-11, 12), key=abs):
        if (tune.key.tonic_pc + s) % 12 == 0 and all(36 <= p + s <= 96 for p in pitches):
            return s
    return 0


def _open_last(tune: Tune) -> bool:
    """The primer's last bar is short and still open (plain barline, not a lone pickup)."""
    last = tune.bars[-1]
    return (last.duration < last.expected and last.barline == "|"
            and not (tune.pickup and len(tune.bars) == 1))


def _prepare(tune: Tune) -> Tune:
    """The primer as the model should read it: a final ``|]`` is a part end (``||``) now,
    or, inside a ``|:`` still open, a plain barline (the part goes on, and the grammar
    closes the repeat with the new bars).

    >>> from st4rt_repl.tune import Tune
    >>> t = Tune.from_bars([[(60, 4)]] * 2).with_bar(2, barline="|]")
    >>> _prepare(t).bars[-1].barline, _prepare(t.with_bar(1, repeat_start=True)).bars[-1].barline
    ('||', '|')
    """
    if not tune.bars or tune.bars[-1].barline != "|]":
        return tune
    open_repeat = False
    for b in tune.bars:
        open_repeat = (open_repeat or b.repeat_start) and b.barline != ":|"
    end = "|" if open_repeat else "||"
    return tune.with_(bars=tune.bars[:-1] + (replace(tune.bars[-1], barline=end),))


def _primer_ids(tune: Tune):
    """Token ids of the primer without </s>, and whether its last bar is left open."""
    from st4rt_repl.tokenizers.written import VOCAB, encode
    ids = encode(tune, eos=False)
    open_bar = _open_last(tune)
    if open_bar:            # drop the barline (and `short`): the grammar fills the bar up first
        ids = ids[:-2] if ids[-2] == VOCAB.short else ids[:-1]
    return ids, open_bar


def _assemble(primer: Tune, new_ids, open_bar: bool, shift: int) -> Tune:
    """The primer's bars unchanged plus the decoded new bars (transposed back)."""
    from st4rt_repl.tokenizers.written import VOCAB, decode_bars
    last = primer.bars[-1]
    key = last.key or primer.key
    ids = [int(i) for i in new_ids]
    if shift:   # back on the token ids when every pitch stays in the vocabulary (cheap)
        lo, hi = VOCAB.first_note + VOCAB.n_dur, len(VOCAB)
        d = shift * VOCAB.n_dur
        if all(lo <= i - d < hi for i in ids if i >= lo):
            ids, shift = [i - d if i >= lo else i for i in ids], 0
    new = decode_bars(ids, last.meter, key, key)
    back = []
    for b in new:
        notes = b.notes if not shift else tuple(
            n if n.pitch is None else replace(n, pitch=n.pitch - shift) for n in b.notes)
        back.append(replace(b, notes=notes, meter=last.meter, key=last.key))
    if open_bar:
        first = back[0]
        done = replace(last, notes=last.notes + first.notes, barline=first.barline)
        return primer.with_(bars=primer.bars[:-1] + (done,) + tuple(back[1:]))
    return primer.with_(bars=primer.bars + tuple(back))


_PRIMER: dict = {}


def _primer_features(ids, aligned: bool):
    """(tracker after the primer, last feature row, the rows as a (1, T, F) tensor); kept per primer.

    `aligned` is the model's `RNNConfig.aligned` (how it counts bars)."""
    from st4rt_repl.models.attention_rnn import WrittenTracker, written_pickup_ticks
    key = (aligned, tuple(ids))
    if _PRIMER.get("key") != key:
        tr = WrittenTracker(written_pickup_ticks(ids), aligned)
        feats = []
        for t in ids:
            tr.push(t)
            feats.append(tr.features(t))
        _PRIMER.update(key=key, tracker=tr, last=feats[-1],
                       f=torch.tensor(feats, dtype=torch.long)[None])
    return _PRIMER["tracker"].copy(), _PRIMER["last"], _PRIMER["f"]


@functools.lru_cache(maxsize=16)
def _grammar(lo: int, hi: int, parts: bool):
    """A form grammar per pitch range, kept: it caches its masks, built in pure Python."""
    from st4rt_repl.models.decoding import FormGrammar
    return FormGrammar(lo, hi, parts=parts)


def _stepper(model):
    """The model's fused generation runner, built once per loaded model (again when its
    copy odds are changed, as `st4rt eval continue --copy-odds` does, or its
    ``_st4rt_half`` flag: False runs all of it in float32, as round 2d's code did)."""
    odds = float(getattr(model, "_st4rt_copy_odds", 1.0))
    half = bool(getattr(model, "_st4rt_half", True))
    st = getattr(model, "_st4rt_stepper", None)
    if st is None or st.copy_odds != odds or st.half != half:
        st = model.stepper(odds, half)    # layer 2 and the output layer in bfloat16: see Stepper
        model._st4rt_stepper = st
    return st


class _Rows:
    """The per-row bookkeeping of one sampling batch of `n_bars` new bars after the primer's
    tracker `tr0`: trackers, outputs, bar budget, a bound on the steps.

    An open last bar is completed first; after a bar cut short (a part's end in a tune
    with pickups) comes the rest of it, the new part's pickup: neither counts in n_bars.
    """

    def __init__(self, tr0, width: int, n_bars: int, open_bar: bool):
        from st4rt_repl.tokenizers.written import VOCAB
        rest = open_bar or tr0.prev_len > 0           # a bar to finish before the new ones
        self.bar_ends = VOCAB.bar_ends
        self.tr = [tr0.copy() for _ in range(width)]
        self.out: list[list[int]] = [[] for _ in range(width)]
        self.done = [False] * width
        self.start = tr0.bar_index
        self.first_new = tr0.bar_index + (1 if rest else 0)   # bar index of the first new bar
        self.target = n_bars + (1 if rest else 0)
        self.max_steps = (self.target + 1) * (tr0.bar_len // 3 + 6)   # every note a 32nd, plus form tokens
        self.label_at = self.first_new      # where a new part's label goes: with its |:

    def bars_left(self, i: int) -> int:
        return self.target - (self.tr[i].bar_index - self.start)

    def push(self, i: int, tok: int):
        """Row i writes `tok` (done once its last bar has ended); returns the row's tracker."""
        t = self.tr[i]
        t.push(tok)
        self.out[i].append(tok)
        if tok in self.bar_ends and self.bars_left(i) <= 0:
            self.done[i] = True
        return t

    def opened(self, i: int) -> bool:
        t = self.tr[i]
        return t.explicit_open and t.open_at >= self.first_new


def _masks(grammar, rows: _Rows, part_mask):
    """(B, V) masks; `part_mask(tracker, mask, bars_left, first_bar, label_bar)` (or None) narrows them."""
    ms = []
    for i, t in enumerate(rows.tr):
        left = rows.bars_left(i)
        m = grammar.mask(t, left, opened_here=rows.opened(i))
        if part_mask is not None and not rows.done[i]:
            m = part_mask(t, m, left, t.bar_index == rows.first_new, t.bar_index == rows.label_at)
        ms.append(m)
    return torch.stack(ms)


@torch.no_grad()
def _generate(model, ids, n_bars: int, k: int, *, temperature: float, top_p: float,
              seed: int | None, lo: int, hi: int, open_bar: bool, parts: bool = False,
              part_mask=None, scores: bool = False):
    """New token lists (and, with `scores`, their log-probs at temperature 1) for k rows after primer ids.

    `temperature` is the user's; it is multiplied by the checkpoint's calibrated
    scales (chosen on the valid split, see the model card), so 1.0 means "as
    calibrated": ``temperature_scale`` for the choice of pitch, ``rhythm_scale`` for
    the choice of note length and of form tokens (the same as the first when absent);
    ``length_weights`` and ``interval_weights`` then multiply the chance of some note
    lengths and of some melodic intervals from the note before (sampled freely, the
    model drifts towards eighth notes and, a little cold, towards steps: see the model card).
    """
    from st4rt_repl.models.decoding import masked_log_probs, rhythm_pitch_probs, sample, sample_probs
    from st4rt_repl.tokenizers.written import PITCH_LO, VOCAB
    pitch_t, rhythm_t = (temperature * s for s in temperature_scales(model))
    weights = getattr(model, "_st4rt_length_weights", None)
    table = getattr(model, "_st4rt_interval_table", None)
    first_pitched = VOCAB.first_note + VOCAB.n_dur     # note tokens after the rests' row
    if table is not None:           # each row's last pitch (row index into the table), from the primer on
        pitched = [t for t in ids if t >= first_pitched]
        prev = torch.full((k,), VOCAB.note_of(pitched[-1])[0] - PITCH_LO if pitched else len(table) - 1,
                          dtype=torch.long)
    grammar = _grammar(lo, hi, parts)
    tr0, pad, f = _primer_features(ids, model.cfg.aligned)
    rows = _Rows(tr0, k, n_bars, open_bar)
    stepper = _stepper(model)
    logits, state = stepper.prime(f, k, rows.max_steps)
    score = torch.zeros(k)
    gen = torch.Generator().manual_seed(seed if seed is not None else torch.seed() % 2**63)
    pad_only = torch.zeros(len(VOCAB), dtype=torch.bool)
    pad_only[VOCAB.pad] = True
    for _ in range(rows.max_steps):
        mask = _masks(grammar, rows, part_mask)
        done_t = torch.tensor(rows.done) if any(rows.done) else None
        if done_t is not None:      # finished rows only write padding
            mask = torch.where(done_t[:, None], pad_only, mask)
        if (rhythm_t != pitch_t or weights is not None or table is not None) and pitch_t >= 1e-6:
            p = rhythm_pitch_probs(logits, mask, VOCAB.first_note, VOCAB.n_dur, rhythm_t, pitch_t, weights,
                                   None if table is None else table[prev])
            toks = sample_probs(p, top_p=top_p, generator=gen)
        else:
            toks = sample(logits, mask, temperature=pitch_t, top_p=top_p, generator=gen)
        if scores:                  # only a profile ranks by them: a step's log-softmax saved otherwise
            gained = masked_log_probs(logits, mask).gather(1, toks[:, None])[:, 0]
            score = score + (gained if done_t is None else gained.masked_fill(done_t, 0.0))
        feats = []
        for i, tok in enumerate(toks.tolist()):
            if rows.done[i]:
                feats.append(pad)
                continue
            feats.append(rows.push(i, tok).features(tok))
            if table is not None and tok >= first_pitched:
                prev[i] = VOCAB.note_of(tok)[0] - PITCH_LO
        if all(rows.done):
            break
        logits = stepper.step(torch.tensor(feats, dtype=torch.long), state)
    else:
        raise TuneError("continue: generation did not finish its bars")
    return rows.out, [float(s) for s in score]


def _setup(tune: Tune, checkpoint):
    """(model, checkpoint dict, tonic shift, primer as read, token ids, open bar?, pitch range)."""
    from st4rt_repl.models.decoding import pitch_range
    if not tune.bars:
        raise TuneError("continue needs a primer with at least one note")
    model, ck = load(checkpoint)
    tune = _prepare(tune)
    shift = _tonic_shift(tune, ck)
    moved = tune.transpose(shift) if shift else tune
    ids, open_bar = _primer_ids(moved)
    lo, hi = pitch_range([n.pitch for b in moved.bars for n in b.notes])
    return model, ck, shift, tune, ids, open_bar, (lo, hi)


def continue_tune(tune: Tune, bars: int, *, candidates: int = 4, temperature: float = 1.0,
                  top_p: float = 0.95, seed: int | None = None, beam: int = 1,
                  profile: str | None = None, likeness: float = 0.5,
                  checkpoint: str | Path | None = None) -> list[Tune]:
    """`candidates` continuations: the primer plus exactly `bars` new full written bars each.

    Sampling (temperature, nucleus top_p) runs all candidates as one batch; the
    same seed gives the same output.  `beam` is accepted for compatibility and
    ignored (sampling; the engine asks again for distinct candidates).  With a
    `profile`, 3x candidates are sampled and ranked by
    ``(1 - likeness) * rnn_score + likeness * profile_score``, both min-max scaled
    over the sampled set (rnn_score = log-probability per new token).
    """
    if bars < 1:
        raise TuneError("continue needs at least 1 bar")
    model, ck, shift, primer, ids, open_bar, (lo, hi) = _setup(tune, checkpoint)
    scorer = None
    if profile is not None:
        from st4rt_repl.models import midime
        scorer = midime.score_tunes
    k = candidates * 3 if scorer else candidates
    new, scores = _generate(model, ids, bars, k, temperature=temperature, top_p=top_p, seed=seed,
                            lo=lo, hi=hi, open_bar=open_bar, parts=_uses_parts(primer),
                            scores=scorer is not None)
    tunes = [_assemble(primer, n, open_bar, shift) for n in new]
    if scorer is None:
        return tunes
    rnn = [s / max(len(n), 1) for s, n in zip(scores, new)]
    prof = list(scorer(profile, tunes))
    mixed = [(1 - likeness) * r + likeness * p for r, p in zip(_scale(rnn), _scale(prof))]
    best = sorted(range(len(tunes)), key=lambda i: -mixed[i])[:candidates]
    return [tunes[i] for i in best]


def _scale(xs):
    a, b = min(xs), max(xs)
    return [0.5 if b - a < 1e-12 else (x - a) / (b - a) for x in xs]


def _uses_parts(tune: Tune) -> bool:
    return any(b.part for b in tune.bars)


def last_part(tune: Tune) -> tuple[int, int]:
    """(first, last) list indices of the primer's last section (after the last section end).

    >>> t = Tune.from_bars([[(60, 4)]] * 4).with_repeat(1, 2)
    >>> last_part(t), last_part(t.with_bar(4, barline="||"))
    ((2, 3), (2, 3))
    """
    bars = tune.bars
    end, start = len(bars) - 1, 0
    for i in range(end - 1, -1, -1):        # after the last section end before the final bar
        if bars[i].barline != "|":
            start = i + 1
            break
    for i in range(end, start - 1, -1):     # ... or from a later |: or part label
        if bars[i].repeat_start or bars[i].part:
            start = i
            break
    return start, end


def part_similarity(a: list[Bar], b: list[Bar]) -> float:
    """How alike two passages are, 0..1: the share of bar positions with the same notes,
    blended with their pitch-class histogram overlap (what "a part like A" steers by).

    >>> a, b = Tune.from_bars([[(60, 4)], [(62, 4)]]).bars, Tune.from_bars([[(60, 4)], [(64, 4)]]).bars
    >>> part_similarity(a, a), part_similarity(a, b)
    (1.0, 0.5)
    """
    same = sum(1 for x, y in zip(a, b) if x.heard == y.heard) / max(len(a), len(b), 1)
    return 0.5 * same + 0.5 * _pitch_class_overlap(a, b)


def borrowed_share(new: list[Bar], old) -> float:
    """Share of the `new` bars that sound like one of the `old` bars (as heard).

    >>> old = Tune.from_bars([[(60, 4)], [(62, 4)]]).bars
    >>> borrowed_share(list(Tune.from_bars([[(62, 4)], [(64, 4)]]).bars), old)
    0.5
    """
    seen = {bar.heard for bar in old}
    return sum(bar.heard in seen for bar in new) / max(len(new), 1)


def _pitch_class_overlap(a: list[Bar], b: list[Bar]) -> float:
    def hist(bars):
        h = [0.0] * 12
        for bar in bars:
            for n in bar.notes:
                if n.pitch is not None:
                    h[n.pitch % 12] += float(n.duration)
        s = sum(h) or 1.0
        return [v / s for v in h]
    return sum(min(x, y) for x, y in zip(hist(a), hist(b)))


def contrast_score(old: list[Bar], before: list[Bar], new: list[Bar]) -> float:
    """How much a new part leans on what came before (lower contrasts more): the share of
    its bars found anywhere in the tune, plus its pitch-class overlap with the part before.
    (`part_similarity` compares bar by bar, so a third part that reuses the B part's bars
    in other places looked new to it.)

    >>> a = Tune.from_bars([[(60, 4)], [(62, 4)]]).bars
    >>> moved, borrowed = Tune.from_bars([[(67, 4)], [(69, 4)]]).bars, Tune.from_bars([[(67, 4)], [(60, 4)]]).bars
    >>> contrast_score(a, a, moved), contrast_score(a, a, borrowed)
    (0.0, 1.0)
    """
    return borrowed_share(new, old) + _pitch_class_overlap(before, new)


def new_part(tune: Tune, bars: int = 8, *, like: str | None = None, candidates: int = 4,
             temperature: float = 1.0, top_p: float = 0.95, seed: int | None = None,
             checkpoint: str | Path | None = None, **_ignored) -> list[Tune]:
    """`candidates` tunes: the primer, its part closed, plus a new part of `bars` bars in ``|: :|``.

    The primer's last bar gets a section end if it has none (``:|`` when a ``|:``
    is open, else ``||``); the new part opens with ``|:`` (after a ``P:`` label
    when the tune uses labels), may hold first and second endings, and closes
    with ``:|`` on its last bar.  ``like="similar"`` / ``"contrast"`` samples 3x
    candidates and keeps those most / least like the part before.
    """
    from st4rt_repl.tokenizers.written import VOCAB
    if bars < 2:
        raise TuneError("a new part needs at least 2 bars")
    if like not in (None, "similar", "contrast"):
        raise TuneError(f"new part: like must be 'similar' or 'contrast', not {like!r}")
    if not tune.bars:
        raise TuneError("a new part needs a tune to follow")
    base = _prepare(tune)
    last = base.bars[-1]
    if last.barline == "|" and not _open_last(base):
        tail = base.with_(bars=base.bars[:-1] + (replace(last, barline=_closing(base)),))
    else:
        tail = base
    model, ck, shift, primer, ids, open_bar, (lo, hi) = _setup(tail, checkpoint)
    parts = _uses_parts(primer)

    section_ends = [VOCAB.repeat_end, VOCAB.double, VOCAB.final]

    def part_mask(t, m, left, first_bar, label_bar):
        # One section |: ... :| (endings allowed inside): its label (when the tune uses
        # labels) and |: on its first full bar (after its pickup, if any), no section
        # end before the last bar, a second ending closes with ||; one label only.
        only = None
        nxt = chr(max([ord(c) for c in t.parts_used] + [ord("A")]) + 1)
        label = VOCAB.stoi.get(f"P:{nxt}")
        if t.phase == 0 and not t.bar_start and label_bar and parts and label is not None:
            only = label
        elif first_bar and t.phase == 0 and VOCAB.repeat_start not in t.bar_start:
            only = VOCAB.repeat_start
        elif t.phase == 0 and not label_bar:
            m = m.clone()
            m[list(VOCAB.parts)] = False
        elif t.phase == 1 and t.rem == 0:
            if t.in_ending and t.in_ending[:1] != "1" and left <= 1:
                only = VOCAB.double
            elif left > 1 and t.in_ending[:1] != "1":
                m = m.clone()
                m[section_ends] = False
                if not m.any():
                    m[VOCAB.bar] = True
        if only is None:
            return m
        keep = torch.zeros_like(m)
        keep[only] = True
        return keep

    k = candidates * 3 if like else candidates
    new, _ = _generate(model, ids, bars, k, temperature=temperature, top_p=top_p, seed=seed,
                       lo=lo, hi=hi, open_bar=open_bar, parts=parts, part_mask=part_mask)
    tunes = [_assemble(primer, n, open_bar, shift) for n in new]
    if like:
        a, b = last_part(primer)
        before = list(primer.bars[a:b + 1])
        n_old = len(primer.bars)
        if like == "similar":       # echoes the part before bar by bar
            score = [-part_similarity(before, list(t.bars[n_old:])) for t in tunes]
        else:                       # borrows no bar from anywhere in the tune, and moves elsewhere
            score = [contrast_score(primer.bars, before, list(t.bars[n_old:])) for t in tunes]
        order = sorted(range(len(tunes)), key=lambda i: score[i])
        tunes = [tunes[i] for i in order[:candidates]]
    return tunes


def sample_tunes(meter, key, bars: int, count: int, *, seed: int | None = None,
                 temperature: float = 1.0, top_p: float = 1.0,
                 checkpoint: str | Path | None = None) -> list[Tune]:
    """`count` tunes of `bars` full written bars from the prefix alone (``generate``).

    The model writes the form too (``|:``, endings, ``:|``), under the same grammar
    as `continue_tune`; the tune is moved to `key` (a tonic-trained model writes in C).
    """
    if bars < 1:
        raise TuneError("generate needs at least 1 bar")
    model, ck = load(checkpoint)
    return _prefix_tunes(meter, key, ck.get("transpose") == "tonic", lambda ids, lo, hi: _generate(
        model, ids, bars, count, temperature=temperature, top_p=top_p, seed=seed, lo=lo, hi=hi,
        open_bar=False)[0])


def _prefix_tunes(meter, key, tonic: bool, write) -> list[Tune]:
    """Tunes written from the prefix alone (meter, key, mode): `write(ids, lo, hi)` gives the
    new token lists after prefix `ids` with pitches in lo..hi (the RNN's `_generate`, or a
    baseline's sampler); they are decoded and moved to `key` (`tonic`: written in C)."""
    from st4rt_repl.tokenizers.written import VOCAB, decode_bars, prefix
    from st4rt_repl.tune import Key
    home = Key("C", key.mode) if tonic else key
    ids = prefix(Tune((Bar((), tuple(meter)),), tuple(meter), home))
    lo, hi = (55, 86) if tonic else (max(36, 55 + key.tonic_pc - 12), min(96, 86 + key.tonic_pc))
    new = write(ids, lo, hi)
    shift = 0
    if tonic:
        pc = key.tonic_pc
        shift = pc if pc <= 6 else pc - 12
    out = []
    for n in new:
        made = decode_bars([int(i) for i in n if i != VOCAB.pad], tuple(meter), home, home)
        t = Tune(tuple(made), tuple(meter), home, title="Untitled")
        out.append((t.transpose(shift) if shift else t).with_(key=key))
    return out


def _closing(tune: Tune) -> str:
    """The barline that ends the primer's last section: ``:|`` if a ``|:`` is open there."""
    for b in reversed(tune.bars[:-1]):
        if b.barline != "|":
            break
        if b.repeat_start:
            return ":|"
    return ":|" if tune.bars[-1].repeat_start else "||"


@torch.no_grad()
def score_in_context(tunes: list[Tune], bar_ranges: list[tuple[int, int]], *,
                     per_token: bool = False, checkpoint: str | Path | None = None) -> list[float]:
    """RNN log-likelihood (natural log) of bars i..j of each tune, given all bars before them.

    ``bar_ranges[n] = (i, j)``: musicians' bar numbers, inclusive (0 = pickup).
    The score sums log p over the tokens of those bars (their form tokens, notes,
    ties and barlines), conditioned on the tune's key, mode, meter and every
    earlier written bar; later bars are not seen (the model reads left to right).
    Higher is more likely.  ``per_token=True`` divides by the number of tokens,
    which compares ranges of different lengths fairly.  All tunes run as one batch.

    Raises `st4rt_repl.errors.NotAvailable` when no checkpoint is shipped.
    """
    if len(tunes) != len(bar_ranges):
        raise ValueError("score_in_context needs one bar range per tune")
    if not tunes:
        return []
    from st4rt_repl.models.attention_rnn import featurize_written
    model, ck = load(checkpoint)
    rows = []
    for t, (i, j) in zip(tunes, bar_ranges):
        shift = _tonic_shift(t, ck)
        m = t.transpose(shift) if shift else t
        a, b = m._index(i), m._index(j)
        ids, spans = bar_spans(m)
        rows.append((featurize_written(ids), ids, spans[a][0], spans[b][1]))
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


def bar_spans(tune: Tune) -> tuple[list[int], list[tuple[int, int]]]:
    """v2 token ids of a tune (no </s>) and each bar's (start, end) token span, form tokens included.

    >>> ids, spans = bar_spans(Tune.from_bars([[(60, 4)], [(62, 4)]]).with_repeat(2, 2))
    >>> spans
    [(4, 6), (6, 9)]
    """
    from st4rt_repl.tokenizers.written import bar_start_tokens, bar_tokens, prefix
    ids = prefix(tune)
    meter, key = tune.bars[0].meter, tune.key
    spans = []
    for i, bar in enumerate(tune.bars):
        a = len(ids)
        ids += bar_start_tokens(bar, meter, key, tune.key)
        meter, key = bar.meter, bar.key or tune.key
        ids += bar_tokens(bar, partial=bar.duration < bar.expected and not (i == 0 and tune.pickup))
        spans.append((a, len(ids)))
    return ids, spans


def clear_cache() -> None:
    """Forget loaded models (tests swap checkpoints)."""
    _CACHE.clear()
    forget_primer()


def forget_primer() -> None:
    """Drop the kept primer run and features, so the next call pays for them (benchmarks)."""
    _PRIMER.clear()
    for model, _ in _CACHE.values():
        _stepper(model)._primed = None
