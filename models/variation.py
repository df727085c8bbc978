"""Vary, generate and interpolate with the MusicVAE: the functions `st4rt_repl.engine` calls.

All three work in the model's space: the tune is transposed so its tonic is C
(`music_vae.tonic_shift`), windows are encoded, latent codes are moved, bars are
decoded under the meter grammar (every bar exactly as long as the bar it stands
for), then moved back to the tune's key.  Only bars that are asked for change:
the others are the very same `Bar` objects.

The model is loaded once from ``models/checkpoints/music_vae.pt`` (`set_model`
replaces it, e.g. in tests).  A missing checkpoint raises `engine.NotAvailable`.
"""
from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import torch

from st4rt_repl.models import music_vae as mv
from st4rt_repl.tokenizers.melody import PITCH_HI, PITCH_LO, TICKS_PER_QUARTER, VOCAB, encode_bar
from st4rt_repl.tune import Bar, Key, Tune, TuneError

CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "music_vae.pt"
OVERSAMPLE = 3          # candidates decoded per candidate returned, before rescoring
TEMPERATURE = 0.8       # sampling temperature of a varied bar
_MODEL: mv.MusicVAE | None = None


def get_model() -> mv.MusicVAE:
    """The shipped MusicVAE (loaded once)."""
    global _MODEL
    if _MODEL is None:
        if not CHECKPOINT.exists():
            from st4rt_repl.errors import NotAvailable
            raise NotAvailable(f"vary: no trained MusicVAE checkpoint at {CHECKPOINT}")
        _MODEL, _ = mv.load_checkpoint(CHECKPOINT)
    return _MODEL


def set_model(model: mv.MusicVAE | None) -> None:
    """Use `model` instead of the shipped checkpoint (None: back to the checkpoint)."""
    global _MODEL
    _MODEL = model.eval() if model is not None else None


def _generator(seed: int | None) -> torch.Generator:
    if seed is None:
        seed = random.SystemRandom().randrange(2 ** 31)
    return torch.Generator().manual_seed(int(seed))


def _ticks(d: Fraction) -> int:
    return int(d * TICKS_PER_QUARTER)


def _meter_ok(meter) -> bool:
    return f"M:{meter[0]}/{meter[1]}" in VOCAB.stoi


def _has_triplets(tune: Tune) -> bool:
    return any(_ticks(n.duration) % 3 or (n.duration * TICKS_PER_QUARTER).denominator != 1
               for b in tune.bars for n in b.notes)


def _pitch_range(tune: Tune, shift: int, pad: int = 4) -> tuple[int, int]:
    ps = [n.pitch + shift for b in tune.bars for n in b.notes if n.pitch is not None]
    if not ps:
        return 55, 86
    return max(PITCH_LO, min(ps) - pad), min(PITCH_HI, max(ps) + pad)


def _prior_targets(model, n: int, gen: torch.Generator, profile: str | None,
                   likeness: float, meter=None) -> torch.Tensor:
    """n latent codes from the prior, or from the profile's decoder (its model for `meter`)
    mixed in by `likeness` (slerp from a prior sample towards a profile sample)."""
    eps = torch.randn(n, model.cfg.z_dim, generator=gen)
    if profile is None or likeness <= 0:
        return eps
    from st4rt_repl.models import midime
    zp = midime.load_profile(profile, meter).sample(n, gen)
    return torch.stack([mv.slerp(eps[i], zp[i], float(likeness)) for i in range(n)])


def _window_of(tune: Tune, k: int) -> list[int] | None:
    """Bars of the 2-bar window holding bar k, for encoding (k, k+1), else (k-1, k)."""
    nums = tune.bar_numbers()
    for a in (k, k - 1):
        if a in nums and a + 1 in nums and a >= 1 and \
                tune.bar(a).meter == tune.bar(a + 1).meter and _meter_ok(tune.bar(a).meter):
            return [a, a + 1]
    return [k] if k >= 1 or not tune.pickup else None


def _bar_tokens(bar: Bar, shift: int) -> list[int]:
    return encode_bar(mv._clamp_bar(bar, shift))


def _prefix(meter, mode: str) -> list[int]:
    return [VOCAB.bos, VOCAB.stoi[f"M:{meter[0]}/{meter[1]}"], VOCAB.stoi["K:0"],
            VOCAB.stoi[f"mode:{mode}"]]


def _encode_bars(model, tune: Tune, nums: list[int], shift: int):
    meter = tune.bar(nums[0]).meter
    ids = _prefix(meter, tune.key.mode)
    for k in nums:
        ids += _bar_tokens(tune.bar(k), shift)
    return model.encode([ids])


@mv.one_thread()
def vary_bars(tune: Tune, bars: list[int], *, candidates: int = 4, amount: float = 0.5,
              seed: int | None = None, profile: str | None = None,
              likeness: float = 0.5) -> list[Tune]:
    """`candidates` versions of `tune` in which only the bars numbered in `bars` differ.

    How: the 2-bar window holding each chosen bar is encoded to its mean z; z is moved
    towards a random code by `amount` times the checkpoint's ``amount_scale`` (slerp; 0
    keeps the phrase, 1 ignores it; the random code comes from the prior or, with
    `profile`, from the user's MidiMe
    profile mixed in by `likeness`).  Each chosen bar is decoded left to right with the
    bar before it fed to the decoder as context (the previous bar as it now stands,
    so a varied run of bars joins up), under the grammar: the bar is exactly as long
    as the original one (pickups and short last bars included), a note tied into it is
    continued, and it never ties out.  `OVERSAMPLE` x candidates are decoded in one
    batch and ranked by how well they sit in context, from the decoder itself at no extra
    pass: the mean log-probability of the new bar's tokens (given the bar before) plus
    the mean log-probability of the unchanged next bar fed after it (teacher forced);
    the best distinct ones are kept.  (The attention-RNN's `score_in_context` would
    read the whole tune per candidate, several times this latency; not used.)
    """
    model = get_model()
    if not bars:
        raise TuneError("vary needs at least one bar")
    chosen = sorted(set(bars))
    for k in chosen:
        tune.bar(k)
        if not _meter_ok(tune.bar(k).meter):
            m = tune.bar(k).meter
            raise TuneError(f"vary: meter {m[0]}/{m[1]} of bar {k} is not supported")
    gen = _generator(seed)
    # the checkpoint's calibration: the same amount changes a bar as much whatever the decoder
    moved = min(1.0, float(amount) * getattr(model, "amount_scale", 1.0))
    shift = mv.tonic_shift(tune)
    lo, hi = _pitch_range(tune, shift)
    trip = _has_triplets(tune)
    mode = tune.key.mode
    n = max(1, candidates) * OVERSAMPLE
    nums = tune.bar_numbers()
    chosen_set = set(chosen)
    new: list[dict[int, list[int]]] = [dict() for _ in range(n)]   # row -> bar -> body tokens

    own_tokens: dict[int, list[int]] = {}      # the tune's bars as tokens, each encoded once

    def own(k: int) -> list[int]:
        if k not in own_tokens:
            own_tokens[k] = _bar_tokens(tune.bar(k), shift)
        return own_tokens[k]

    def tokens_of(row: int, k: int) -> list[int]:
        return new[row][k] if k in new[row] else own(k)

    with torch.no_grad():
        targets = _prior_targets(model, n, gen, profile, likeness, tune.bar(chosen[0]).meter)
        scores = torch.zeros(n)
        for k in chosen:
            bar = tune.bar(k)
            meter, ticks = bar.meter, _ticks(bar.duration)
            prev = k - 1
            use_prev = prev in nums and prev >= 1 and tune.bar(prev).meter == meter \
                and tune.bar(prev).is_full
            # z must describe the bars where the decoder places them: with the bar before
            # fed as the window's first bar, the window is (k-1, k), so bar k is its second
            # (encoding (k, k+1) there decoded bar k+1's material in bar k's place)
            win = [prev, k] if use_prev else _window_of(tune, k)
            if win:
                mu, _ = _encode_bars(model, tune, win, shift)
                mu = mu.expand(n, -1)
            else:
                mu = torch.zeros(n, model.cfg.z_dim)
            z = torch.stack([mv.slerp(mu[i], targets[i], moved) for i in range(n)])
            tied = None
            if prev in nums and not use_prev:
                last = tune.bar(prev).notes[-1] if prev not in chosen_set else None
                if last is not None and last.tie and last.pitch is not None:
                    tied = VOCAB.pitch_id(mv._clamp_bar(Bar((last,), meter), shift).notes[0].pitch)
            if use_prev:
                forced = [tokens_of(r, prev) for r in range(n)]
                bt = [mv.bar_ticks_of(meter), ticks]
            else:
                forced, bt = None, [ticks]
            nxt = k + 1
            suffix = None
            if nxt in nums and nxt not in chosen_set and tune.bar(nxt).meter == meter:
                suffix = own(nxt)
            # the last note before the bar (as it stands in each row): the new bar's first
            # note stays within a fifth of it
            anchors = []
            for r in range(n):
                before = _pitches(tokens_of(r, prev)) if prev in nums else []
                anchors.append(before[-1] if before else -1)
            bodies, info = model.decode(z, meter=meter, mode=mode, bar_ticks=bt, forced=forced,
                                        temperature=TEMPERATURE, generator=gen, pitch_range=(lo, hi),
                                        triplets=trip, tied_to=tied, suffix=suffix, scores=True,
                                        first_near=anchors)
            scores += info["logp"] / info["n"].clamp(min=1)
            if suffix:
                scores += info["suffix_logp"] / len(suffix)
            for r in range(n):
                new[r][k] = mv.split_body_bars(bodies[r])[-1]
    original = {k: own(k) for k in chosen}
    leaps = [_extra_junction_leaps(tokens_of, own, r, chosen, original, nums) for r in range(n)]
    # fewest new leaps at the junctions first (real bars leap more than a fifth at ~2 %
    # of their junctions, the decoder's bars at ~18 %), then the decoder's own score
    fit = _interval_fit(own, nums, chosen, tokens_of, n)
    order = sorted(range(n), key=lambda r: (leaps[r], -(float(scores[r]) + INTERVAL_WEIGHT * fit[r])))
    picked, seen = [], set()
    for r in order:                       # distinct, and different from the original first
        key = tuple(tuple(new[r][k]) for k in chosen)
        if key in seen or all(new[r][k] == original[k] for k in chosen):
            continue
        seen.add(key)
        picked.append(r)
    for r in order:
        if len(picked) >= candidates:
            break
        if r not in picked:
            picked.append(r)
    out = []
    for r in picked[:candidates]:
        t = tune
        for k in chosen:
            b = mv.ids_to_bars(new[r][k], tune.bar(k).meter, -shift)[0]
            t = t.replace_bars(k, k, [b])
        out.append(t)
    return out


LEAP = 7      # semitones: a junction leap is an interval larger than a perfect fifth


def _pitches(tokens: Sequence[int]) -> list[int]:
    """Sounding pitch tokens' pitches, in order (rests skipped).

    >>> _pitches([VOCAB.pitch_id(62), VOCAB.duration_id(12), VOCAB.rest, VOCAB.duration_id(12),
    ...           VOCAB.pitch_id(74), VOCAB.duration_id(24), VOCAB.bar])
    [62, 74]
    """
    return [VOCAB.pitch_of(t) for t in tokens if VOCAB.is_pitch(t) and t != VOCAB.rest]


def _junction_leaps(before: list[int], bar: list[int], after: list[int]) -> int:
    """How many of the bar's two junctions (last note before -> first; last -> first after) leap.

    >>> _junction_leaps([60, 62], [74, 72], [71]), _junction_leaps([], [60], [67])
    (1, 0)
    """
    if not bar:
        return 0
    n = 0
    if before and abs(bar[0] - before[-1]) > LEAP:
        n += 1
    if after and abs(after[0] - bar[-1]) > LEAP:
        n += 1
    return n


def _extra_junction_leaps(tokens_of, own, r: int, chosen, original, nums) -> int:
    """Junction leaps of row r's new bars beyond those the original bars have (those are allowed)."""
    def near(row_tokens, k):     # pitches of the bar k as it stands in this row (or [])
        return _pitches(row_tokens(k)) if k in nums else []

    extra = 0
    for k in chosen:
        before = near(lambda j: tokens_of(r, j), k - 1)
        after = near(lambda j: tokens_of(r, j), k + 1)
        new = _junction_leaps(before, _pitches(tokens_of(r, k)), after)
        old_before = near(own, k - 1)
        old_after = near(own, k + 1)
        old = _junction_leaps(old_before, _pitches(original[k]), old_after)
        extra += max(0, new - old)
    return extra


INTERVAL_WEIGHT = 4.0     # weight of `_interval_fit` beside the decoder score (valid split: 2, 3, 4, 6, 10 tried)


def _interval_fit(own, nums, chosen, tokens_of, n: int) -> list[float]:
    """Per row, how the new bars move and sit like the rest of the tune: `_row_fit` of the
    row's new bars with the bars around them, under the rest of the tune's histograms.

    Measured (`st4rt eval vary`, 3 x 48 tunes): interval overlap with the real bars
    0.840 -> 0.866 with the interval term alone (inside the bar); the two junctions were
    the rest of the gap (valid split: real junctions are steps 61 % of the time, the
    candidates' 33 %, with fourths and fifths 32 % against 10 %), so they are scored too."""
    chosen_set = set(chosen)
    pitches = {k: _pitches(own(k)) for k in nums}
    liv, lpc = _log_histograms([(p, k in chosen_set) for k in nums for p in pitches[k]])
    # the chosen bars and the bars around them (the junctions' other notes)
    near = [k for k in nums if any(abs(k - c) <= 2 for c in chosen)]
    return [_row_fit(liv, lpc, [(p, k in chosen_set) for k in near
                                for p in (_pitches(tokens_of(r, k)) if k in chosen_set else pitches[k])])
            for r in range(n)]


def _log_histograms(run: list[tuple[int, bool]]) -> tuple[list[float], list[float]]:
    """Log-probabilities (add-one smoothed) of the melodic intervals (clipped to an octave)
    and pitch classes of a run of (pitch, is_new) notes, counting only what is not new.

    >>> liv, lpc = _log_histograms([(60, False), (62, False), (64, True)])
    >>> round(liv[2 + 12] - liv[4 + 12], 3), round(lpc[0] - lpc[4], 3)    # +2 seen once, +4 never
    (0.693, 0.693)
    """
    import math
    ivs, pcs = [1.0] * 25, [1.0] * 12
    for p, new in run:
        pcs[p % 12] += 0 if new else 1
    for (a, na), (b, nb) in zip(run, run[1:]):
        if not (na or nb):
            ivs[max(-12, min(12, b - a)) + 12] += 1
    return [math.log(c / sum(ivs)) for c in ivs], [math.log(c / sum(pcs)) for c in pcs]


def _row_fit(liv, lpc, row: list[tuple[int, bool]]) -> float:
    """Mean log-probability of the intervals that touch a new note, plus (`PITCH_CLASS_FIT`)
    that of the new notes' pitch classes.  A bar that moves the way the tune moves, on its
    notes, and joins its neighbours the way its bars join, ranks higher."""
    steps = [liv[max(-12, min(12, b - a)) + 12] for (a, na), (b, nb) in zip(row, row[1:]) if na or nb]
    fit = sum(steps) / len(steps) if steps else 0.0
    ps = [p for p, new in row if new]
    if PITCH_CLASS_FIT and ps:
        fit += sum(lpc[p % 12] for p in ps) / len(ps)
    return fit


PITCH_CLASS_FIT = True


def _key_shift(key: Key) -> int:
    """Semitones from C up to the key's tonic, nearest octave."""
    pc = key.tonic_pc
    return pc if pc <= 6 else pc - 12


@mv.one_thread()
def generate_tunes(bars: int, *, meter=(4, 4), key: Key = Key("D", "major"), candidates: int = 4,
                   seed: int | None = None, profile: str | None = None, likeness: float = 0.5,
                   title: str = "Generated") -> list[Tune]:
    """`candidates` new tunes of `bars` full bars, sampled window by window.

    The first two bars decode from a code drawn from the prior (or the profile, mixed by
    `likeness`); each next bar is decoded with the bar before it fed as context and a
    code moved 30 % of the way (slerp) from the previous code towards a fresh draw, so
    phrases drift instead of jumping.  Candidates run as one batch.
    """
    model = get_model()
    if bars < 1:
        raise TuneError("generate needs at least 1 bar")
    meter = tuple(meter)
    if not _meter_ok(meter):
        raise TuneError(f"generate: meter {meter[0]}/{meter[1]} is not supported")
    gen = _generator(seed)
    n = max(1, candidates)
    ticks = mv.bar_ticks_of(meter)
    rng = (57, 84)
    with torch.no_grad():
        z = _prior_targets(model, n, gen, profile, likeness, meter)
        first = min(2, bars)
        bodies = model.decode(z, meter=meter, mode=key.mode, bar_ticks=[ticks] * first,
                              temperature=0.8, generator=gen, pitch_range=rng, triplets=False)
        made = [mv.split_body_bars(b) for b in bodies]
        while len(made[0]) < bars:
            z = torch.stack([mv.slerp(z[i], t, 0.3) for i, t in
                             enumerate(_prior_targets(model, n, gen, profile, likeness, meter))])
            bodies = model.decode(z, meter=meter, mode=key.mode, bar_ticks=[ticks, ticks],
                                  forced=[m[-1] for m in made], temperature=0.8, generator=gen,
                                  pitch_range=rng, triplets=False)
            for m, b in zip(made, bodies):
                m.append(mv.split_body_bars(b)[-1])
    s = _key_shift(key)
    out = []
    for m in made:
        body = [t for bar in m for t in bar]
        out.append(Tune(tuple(mv.ids_to_bars(body, meter, s)), meter, key, title=title))
    return out


def _window_start(tune: Tune, k: int) -> int:
    """First bar of the 2-bar window 'starting at' bar k (k-1 when k is the last bar)."""
    nums = tune.bar_numbers()
    if k + 1 in nums and k >= 1:
        return k
    if k - 1 in nums and k - 1 >= 1:
        return k - 1
    raise TuneError(f"interpolate needs a 2-bar phrase at bar {k}: the tune is too short")


@mv.one_thread()
def interpolate_tunes(tune: Tune, from_bar: int, to_bar: int, *, steps: int = 3,
                      candidates: int = 4, seed: int | None = None) -> list[tuple[Tune, list[int]]]:
    """Bridges from the 2-bar phrase at `from_bar` to the one at `to_bar`.

    Both windows are encoded (mean z); `steps` codes are spaced evenly along the great
    circle between them (slerp at t = 1/(steps+1) ... steps/(steps+1)) and each decodes
    to a 2-bar phrase in the meter of the `from_bar` window.  Each proposal is the piece
    with those phrases inserted right after the `from_bar` window (after bar from_bar+1;
    after from_bar itself when it is the last bar), with the inserted bar numbers.
    Candidate 1 is greedy (so candidates=1 is deterministic); the others add a little
    noise to the codes and sample at a low temperature.
    """
    model = get_model()
    if steps < 1:
        raise TuneError("interpolate needs at least 1 step")
    a, b = _window_start(tune, from_bar), _window_start(tune, to_bar)
    meter = tune.bar(a).meter
    if not _meter_ok(meter):
        raise TuneError(f"interpolate: meter {meter[0]}/{meter[1]} is not supported")
    shift = mv.tonic_shift(tune)
    lo, hi = _pitch_range(tune, shift)
    gen = _generator(seed)
    with torch.no_grad():
        za, _ = _encode_bars(model, tune, [a, a + 1], shift)
        zb, _ = _encode_bars(model, tune, [b, b + 1], shift)
        ts = [i / (steps + 1) for i in range(1, steps + 1)]
        path = torch.cat([mv.slerp(za, zb, t) for t in ts])           # [steps, z]
        n = max(1, candidates)
        # the noisy candidates are decoded OVERSAMPLE x over and the ones that join the
        # tune best (fewest leaps over a fifth at the two ends of the bridge) are kept
        rows = 1 + (n - 1) * OVERSAMPLE if n > 1 else 1
        z = path.repeat(rows, 1)
        if rows > 1:
            noise = 0.15 * torch.randn(z.shape, generator=gen)
            noise[:steps] = 0
            z = z + noise
        ticks = mv.bar_ticks_of(meter)
        # A note tied over the window's end must go on into the first inserted phrase.
        last = tune.bar(a + 1).notes[-1]
        tie = -1
        if last.tie and last.pitch is not None:
            tie = VOCAB.pitch_id(mv._clamp_bar(Bar((last,), meter), shift).notes[0].pitch)
        ties = [tie if i % steps == 0 else -1 for i in range(rows * steps)]
        # the bridge's first note stays within a fifth of the note before it
        before = _pitches(_bar_tokens(tune.bar(a + 1), shift))
        anchor = before[-1] if before else -1
        anchors = [anchor if i % steps == 0 else -1 for i in range(rows * steps)]
        greedy = model.decode(z[:steps], meter=meter, mode=tune.key.mode, bar_ticks=[ticks, ticks],
                              pitch_range=(lo, hi), triplets=_has_triplets(tune),
                              tied_to=ties[:steps], first_near=anchors[:steps])
        rest = model.decode(z[steps:], meter=meter, mode=tune.key.mode, bar_ticks=[ticks, ticks],
                            temperature=0.6, generator=gen, pitch_range=(lo, hi),
                            triplets=_has_triplets(tune), tied_to=ties[steps:],
                            first_near=anchors[steps:]) if rows > 1 else []
    bodies = greedy + rest
    end = a + 1
    nums = tune.bar_numbers()
    after = _pitches(_bar_tokens(tune.bar(end + 1), shift)) if end + 1 in nums else []

    bridges = [[p for s_ in range(steps) for p in _pitches(bodies[c * steps + s_])] for c in range(rows)]
    # ranked by the leaps at the bridge's two ends, then by how it moves and joins like the
    # tune (as `vary` ranks its bars)
    liv, lpc = _log_histograms([(p, False) for k in nums for p in _pitches(_bar_tokens(tune.bar(k), shift))])

    def fit(notes: list[int]) -> float:
        return _row_fit(liv, lpc, [(p, False) for p in before[-1:]] + [(p, True) for p in notes]
                        + [(p, False) for p in after[:1]])

    keep = [0] + sorted(range(1, rows), key=lambda c: (_junction_leaps(before, bridges[c], after),
                                                       -INTERVAL_WEIGHT * fit(bridges[c]), c))[:n - 1]
    out = []
    for c in keep:
        new_bars = []
        for s in range(steps):
            new_bars += mv.ids_to_bars(bodies[c * steps + s], meter, -shift)
        t = tune.replace_bars(end, end, [tune.bar(end)] + new_bars)
        out.append((t, list(range(end + 1, end + 1 + len(new_bars)))))
    return out
