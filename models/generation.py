"""New tunes from nothing but a meter and a key: `generate`, and the samplers it was chosen from.

`st4rt eval generate` measured each sampler against held-out real tunes (see
`st4rt_repl.models.realism` and the MusicVAE model card); `generate` ships the winner:

* `vae_prior_tunes`: the MusicVAE decoding codes drawn from N(0, I) (round 1's generate);
* `vae_posterior_tunes`: the MusicVAE decoding codes drawn from its *aggregate posterior*,
  a Gaussian mixture fitted to the mean codes of the training windows
  (``models/checkpoints/music_vae_prior.npz``);
* `vae_phrase_tunes`: whole 2-bar MusicVAE phrases joined without junction leaps (the
  profile path of `generate`);
* `rnn_tunes`: the written-form attention-RNN writing bars (and repeat signs) from a
  meter/key/mode prefix alone (shipped).

Every sampler returns distinct tunes (it samples extra rows and drops repeats).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from st4rt_repl.tune import Key, Tune, TuneError

__all__ = ["generate", "rnn_tunes", "vae_prior_tunes", "vae_posterior_tunes", "distinct",
           "place_in_key", "METHODS", "SHIPPED"]

EXTRA = 2            # rows sampled per candidate asked for, so duplicates can be dropped


def _melody(t: Tune) -> tuple:
    return tuple((n.pitch, n.duration) for b in t.bars for n in b.notes)


def distinct(tunes: Sequence, k: int, key=None) -> list:
    """The first k items whose `key` (default: a tune's notes) differs from every earlier
    one's (fewer if there are not k).

    >>> a, b = Tune.from_bars([[(60, 4)]]), Tune.from_bars([[(62, 4)]])
    >>> [t.bars[0].notes[0].pitch for t in distinct([a, a, b, a], 3)]
    [60, 62]
    """
    seen, out = set(), []
    for t in tunes:
        m = (key or _melody)(t)
        if m not in seen:
            seen.add(m)
            out.append(t)
        if len(out) == k:
            break
    return out


def place_in_key(tune_in_c: Tune, key: Key, centre: int = 71) -> Tune:
    """A tune written with tonic C moved to `key`, at the octave whose median pitch is nearest `centre`.

    >>> t = Tune.from_bars([[(60, 2), (64, 2)]], key=Key("C"))
    >>> t2 = place_in_key(t, Key("G"))
    >>> [n.pitch for n in t2.bars[0].notes], str(t2.key)
    ([67, 71], 'G major')
    """
    pitches = sorted(n.pitch for b in tune_in_c.bars for n in b.notes if n.pitch is not None)
    med = pitches[len(pitches) // 2] if pitches else 60
    pc = key.tonic_pc
    shift = min((pc - 12, pc, pc + 12), key=lambda s: (abs(med + s - centre), s))
    out = tune_in_c.transpose(shift) if shift else tune_in_c
    return out.with_(key=key)


# `generate` samples the written-form RNN a little hotter than `continue`: at 1.2 x the
# user's temperature the overlaps with real openings are within 0.003 of their ceiling and
# MGEval's mean overlapping area is 0.944 (ceiling 0.947); at 1.0 the model plays safe
# (interval overlap 0.026 under the ceiling, leaps 1.8 % against 4.4 % in real openings).
# `st4rt eval generate`, 3 x 48 test-split openings, 2026-11-29.
GENERATE_TEMPERATURE = 1.2


def _centred(t: Tune, centre: int = 71) -> Tune:
    """`t` moved by whole octaves so that its median pitch sits nearest `centre` (B4).

    The tonic-trained RNN writes in C; moved to G by the shortest way (down a fourth)
    a tune sat in the fiddle's bottom octave.

    >>> low = Tune.from_bars([[(55, 2), (59, 2)]], key=Key("G"))
    >>> [n.pitch for n in _centred(low).bars[0].notes], _centred(low).key
    ([67, 71], Key(tonic='G', mode='major'))
    """
    pitches = sorted(n.pitch for b in t.bars for n in b.notes if n.pitch is not None)
    if not pitches:
        return t
    med = pitches[len(pitches) // 2]
    shift = min((-12, 0, 12), key=lambda s: (abs(med + s - centre), abs(s)))
    if pitches[0] + shift < 36 or pitches[-1] + shift > 96:
        return t
    return t.transpose(shift) if shift else t


def rnn_tunes(meter, key: Key, bars: int, candidates: int = 4, seed: int | None = 0, *,
              temperature: float = 1.0, top_p: float = 1.0) -> list[Tune]:
    """`candidates` distinct tunes of `bars` full bars written by the attention-RNN from a prefix.

    The prefix is what the RNN sees before any tune (meter, key, mode); it writes the
    form too (``|:``, endings, ``:|``) under the same grammar as `continue`.  Plain
    ancestral sampling (top_p 1.0) is the default: nucleus sampling at 0.95 cut the
    rare leaps and long notes that real tunes have.  One spare row is sampled per
    call; duplicates are resampled.
    """
    from st4rt_repl.models.continuation import sample_tunes
    k = max(1, candidates)
    out: list[Tune] = []
    for attempt in range(3):          # duplicates are rare; resample only if some were
        s = None if seed is None else seed + 7919 * attempt
        made = sample_tunes(tuple(meter), key, bars, k + 1 if attempt == 0 else k * EXTRA, seed=s,
                            temperature=temperature * GENERATE_TEMPERATURE, top_p=top_p)
        out = distinct(out + [_centred(t).with_(title="Generated") for t in made], k)
        if len(out) == k:
            break
    return out


def vae_prior_tunes(meter, key: Key, bars: int, candidates: int = 4, seed: int | None = 0, *,
                    profile: str | None = None, likeness: float = 0.5) -> list[Tune]:
    """Round 1's generate: MusicVAE codes from N(0, I), window by window (distinct rows kept)."""
    from st4rt_repl.models.variation import generate_tunes
    k = max(1, candidates)
    made = generate_tunes(bars, meter=tuple(meter), key=key, candidates=k * EXTRA, seed=seed,
                          profile=profile, likeness=likeness)
    return distinct(made, k)


def vae_phrase_tunes(meter, key: Key, bars: int, candidates: int = 4, seed: int | None = 0, *,
                     profile: str | None = None, likeness: float = 1.0,
                     temperature: float = 0.6) -> list[Tune]:
    """Tunes made of whole 2-bar MusicVAE phrases, each decoded from its own code.

    Codes come from the profile of the meter (or the prior), as `variation` draws them;
    phrase j+1's first note is kept within a fifth of phrase j's last note, so the phrases
    join without the leaps that decoding a bar from the bar before produced.
    """
    import torch
    from st4rt_repl.models import music_vae as mv
    from st4rt_repl.models.variation import _generator, _prior_targets, get_model
    from st4rt_repl.tokenizers.melody import VOCAB
    if bars < 1:
        raise TuneError("generate needs at least 1 bar")
    meter = tuple(meter)
    model = get_model()
    gen = _generator(seed)
    k = max(1, candidates)
    n = k * EXTRA
    ticks = mv.bar_ticks_of(meter)
    made = [[] for _ in range(n)]
    with mv.one_thread(), torch.no_grad():
        while len(made[0]) < bars:
            z = _prior_targets(model, n, gen, profile, likeness, meter)
            # each phrase's first note stays within a fifth of the last note before it
            anchors = [next((VOCAB.pitch_of(t) for b in reversed(m) for t in reversed(b)
                             if VOCAB.is_pitch(t) and t != VOCAB.rest), -1) for m in made]
            bodies = model.decode(z, meter=meter, mode=key.mode, bar_ticks=[ticks, ticks],
                                  temperature=temperature, generator=gen, pitch_range=(57, 84),
                                  triplets=False, first_near=anchors)
            for m, b in zip(made, bodies):
                m.extend(mv.split_body_bars(b))
    tunes = []
    for m in made:
        body = [t for bar in m[:bars] for t in bar]
        c = Tune(tuple(mv.ids_to_bars(body, meter, 0)), meter, Key("C", key.mode), title="Generated")
        tunes.append(place_in_key(c, key))
    return distinct(tunes, k)


# ----- the aggregate posterior: a diagonal Gaussian mixture over training codes -------------
PRIOR_FILE = Path(__file__).resolve().parent / "checkpoints" / "music_vae_prior.npz"


def fit_mixture(codes: np.ndarray, k: int = 32, *, iters: int = 50, seed: int = 0) -> dict:
    """A k-component diagonal Gaussian mixture fitted by EM (k-means++ start), as arrays.

    >>> r = np.random.default_rng(0)
    >>> x = np.concatenate([r.normal(-4, 1, (200, 2)), r.normal(4, 1, (200, 2))])
    >>> m = fit_mixture(x, 2, seed=0)
    >>> sorted(np.round(m["means"][:, 0]).astype(int).tolist()), np.round(m["weights"], 1).tolist()
    ([-4, 4], [0.5, 0.5])
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(codes, np.float64)
    n, d = x.shape
    k = min(k, n)
    means = [x[rng.integers(n)]]
    for _ in range(1, k):            # k-means++: spread the starting means
        d2 = np.min([((x - m) ** 2).sum(1) for m in means], axis=0)
        means.append(x[rng.choice(n, p=d2 / d2.sum())] if d2.sum() > 0 else x[rng.integers(n)])
    means = np.array(means)
    var = np.tile(x.var(0) + 1e-4, (k, 1))
    w = np.full(k, 1.0 / k)
    for _ in range(iters):
        # E step: responsibilities from log densities (diagonal covariances)
        # (x - m)^2 / v summed over dims, as matrix products: no (n, k, d) array
        iv = 1.0 / var
        maha = (x * x) @ iv.T - 2 * x @ (means * iv).T + (means * means * iv).sum(1)[None]
        lp = -0.5 * maha - 0.5 * np.log(var).sum(-1)[None] + np.log(w)[None]
        lp -= lp.max(1, keepdims=True)
        r = np.exp(lp)
        r /= r.sum(1, keepdims=True)
        # M step
        nk = r.sum(0) + 1e-9
        w = nk / n
        means = (r.T @ x) / nk[:, None]
        var = (r.T @ (x * x)) / nk[:, None] - means ** 2 + 1e-4
    return {"weights": w, "means": means, "vars": np.maximum(var, 1e-4)}


def sample_mixture(mix: dict, n: int, rng: np.random.Generator, *, scale: float = 1.0) -> np.ndarray:
    """n codes from the mixture (component by weight, then its Gaussian, spread times `scale`)."""
    w = np.asarray(mix["weights"], np.float64)
    comp = rng.choice(len(w), size=n, p=w / w.sum())
    return mix["means"][comp] + scale * np.sqrt(mix["vars"][comp]) * rng.standard_normal(
        (n, mix["means"].shape[1]))


def load_mixture(meter=None, path: str | Path = PRIOR_FILE) -> dict:
    """The stored aggregate-posterior mixture for `meter` (or the all-meter one).

    Raises `errors.NotAvailable` when the file is missing.
    """
    p = Path(path)
    if not p.exists():
        from st4rt_repl.errors import NotAvailable
        raise NotAvailable(f"generate: no aggregate-posterior file at {p}")
    with np.load(p) as z:
        tag = f"{meter[0]}_{meter[1]}" if meter is not None else "all"
        if f"{tag}.weights" not in z.files:
            tag = "all"
        return {k: z[f"{tag}.{k}"] for k in ("weights", "means", "vars")}


def fit_aggregate_posterior(out: str | Path = PRIOR_FILE, *, windows: int = 24000, k: int = 32,
                            seed: int = 0, min_per_meter: int = 500) -> dict:
    """Encode training windows (mean codes), fit one mixture for all and one per common meter.

    Writes ``<meter>.weights/means/vars`` arrays (``all`` and e.g. ``6_8``) to `out`;
    returns {tag: windows used}.  A meter with fewer than `min_per_meter` windows uses ``all``.
    """
    import torch
    from st4rt_repl.corpus.views import vae_windows
    from st4rt_repl.models import music_vae as mv
    from st4rt_repl.models.variation import get_model
    rng = np.random.default_rng(seed)
    wins = vae_windows("train", transpose="tonic")
    pick = rng.choice(len(wins), size=min(windows, len(wins)), replace=False)
    wins = [list(map(int, wins[i])) for i in pick]
    model = get_model()
    codes = []
    with mv.one_thread(), torch.no_grad():
        for s in range(0, len(wins), 512):
            mu, _ = model.encode(wins[s:s + 512])
            codes.append(mu.numpy())
    z = np.concatenate(codes)
    meters = np.array([mv.meter_of_ids(w) for w in wins], dtype=object)
    arrays, used = {}, {}
    groups = {"all": np.ones(len(wins), bool)}
    for m in ((4, 4), (2, 2), (6, 8), (3, 4), (9, 8), (2, 4)):
        sel = np.array([tuple(x) == m for x in meters])
        if sel.sum() >= min_per_meter:
            groups[f"{m[0]}_{m[1]}"] = sel
    for tag, sel in groups.items():
        mix = fit_mixture(z[sel], k, seed=seed)
        for name, arr in mix.items():
            arrays[f"{tag}.{name}"] = arr.astype(np.float32)
        used[tag] = int(sel.sum())
    np.savez_compressed(out, **arrays)
    return used


def vae_posterior_tunes(meter, key: Key, bars: int, candidates: int = 4, seed: int | None = 0, *,
                        scale: float = 1.0, temperature: float = 0.8,
                        mixture: dict | None = None) -> list[Tune]:
    """MusicVAE tunes whose codes come from the aggregate posterior instead of N(0, I).

    Bars 1-2 decode from one mixture draw; every further bar is decoded with the bar
    before it fed as context and a code 30 % of the way (slerp) to a fresh draw, as
    round 1 did with prior draws.
    """
    import torch
    from st4rt_repl.models import music_vae as mv
    from st4rt_repl.models.variation import get_model
    if bars < 1:
        raise TuneError("generate needs at least 1 bar")
    meter = tuple(meter)
    mix = mixture if mixture is not None else load_mixture(meter)
    model = get_model()
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(int(rng.integers(2 ** 31)))
    k = max(1, candidates)
    n = k * EXTRA
    ticks = mv.bar_ticks_of(meter)
    rg = (57, 84)

    def draw():
        return torch.tensor(sample_mixture(mix, n, rng, scale=scale), dtype=torch.float32)

    with mv.one_thread(), torch.no_grad():
        z = draw()
        first = min(2, bars)
        bodies = model.decode(z, meter=meter, mode=key.mode, bar_ticks=[ticks] * first,
                              temperature=temperature, generator=gen, pitch_range=rg, triplets=False)
        made = [mv.split_body_bars(b) for b in bodies]
        while len(made[0]) < bars:
            fresh = draw()
            z = torch.stack([mv.slerp(z[i], fresh[i], 0.3) for i in range(n)])
            bodies = model.decode(z, meter=meter, mode=key.mode, bar_ticks=[ticks, ticks],
                                  forced=[m[-1] for m in made], temperature=temperature,
                                  generator=gen, pitch_range=rg, triplets=False)
            for m, b in zip(made, bodies):
                m.append(mv.split_body_bars(b)[-1])
    tunes = []
    for m in made:
        body = [t for bar in m[:bars] for t in bar]
        c = Tune(tuple(mv.ids_to_bars(body, meter, 0)), meter, Key("C", key.mode), title="Generated")
        tunes.append(place_in_key(c, key))
    return distinct(tunes, k)


METHODS = {"vae_prior": vae_prior_tunes, "vae_posterior": vae_posterior_tunes,
           "vae_phrases": vae_phrase_tunes, "rnn": rnn_tunes}
SHIPPED = "rnn"      # chosen by `st4rt eval generate` (see the model card)


def generate(meter=(4, 4), key: Key = Key("D", "major"), bars: int = 8, candidates: int = 4,
             seed: int | None = None, temperature: float = 1.0, profile: str | None = None,
             likeness: float = 0.5) -> list[Tune]:
    """`candidates` distinct new tunes of `bars` full bars in `meter` and `key`.

    Without a profile: the attention-RNN from a meter/key prefix (`rnn_tunes`), chosen by
    `st4rt eval generate` (see the MusicVAE model card).  With a MidiMe `profile` (and
    likeness > 0): `profile_tunes`, an opening phrase decoded from codes drawn from the
    profile of the meter, continued by the RNN.  Only codes move the notes towards the
    user: ranking RNN samples by the profile's score moved the style distance the wrong
    way (`st4rt eval personalize`, reduction -0.07 and -0.34 for seeds 0-1).
    """
    k = max(1, candidates)
    if profile and likeness > 0:
        return profile_tunes(meter, key, bars, k, seed, profile=profile, likeness=likeness,
                             temperature=temperature)
    return rnn_tunes(meter, key, bars, k, seed, temperature=temperature)


PROFILE_OPENING = 2     # bars decoded from the profile before the RNN takes over


def profile_tunes(meter, key: Key, bars: int, candidates: int = 4, seed: int | None = 0, *,
                  profile: str, likeness: float = 1.0, temperature: float = 1.0) -> list[Tune]:
    """Tunes that open with a 2-bar phrase decoded from the user's profile and go on as
    `continue` would (the attention-RNN, as calibrated for continuing a primer).

    Why: the RNN keeps the style of what it continues (its intervals and rhythms track the
    primer's), so a phrase of the user's opens the tune and the RNN writes the rest with
    its realism.  Measured on a mixed tunebook from the valid split (`st4rt eval
    personalize --split valid --methods generate`, seeds 0-3): style-distance reduction
    0.49 / -0.10 / 0.18 / -0.15 against -0.15 / -0.08 / 0.19 / -0.53 for tunes made only of
    profile phrases (a 4-bar opening: 0.23 / -0.17 / 0.26 / 0.11).
    """
    from st4rt_repl.models.continuation import continue_tune
    k = max(1, candidates)
    head = min(PROFILE_OPENING, bars)
    openings = vae_phrase_tunes(meter, key, head, k, seed, profile=profile, likeness=likeness)
    if bars == head:
        return openings
    out = []
    for i, o in enumerate(openings):
        s = None if seed is None else seed * 31 + i
        out += continue_tune(o, bars - head, candidates=1, seed=s, temperature=temperature)
    return distinct([t.with_(title="Generated") for t in out], k)
