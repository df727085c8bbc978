"""How real do generated melodies sound? Histogram overlaps and MGEval, in pure numpy.

Every figure compares a set of candidate tunes with a set of real tunes on what is
*heard* (`Tune.performed()` where the written form exists: repeats unfolded, ties
merged, rests dropped).  Four pooled features, each a histogram over all notes of a set:

* ``pitch_class``: pitch class relative to the tonic of the key in force (12 bins);
* ``interval``: melodic interval between consecutive notes in semitones, clipped to
  ±12 (25 bins);
* ``length``: note length in quarters, snapped to the nearest of `LENGTHS` (log scale);
* ``ioi``: inter-onset interval (onset to next onset, rests included), same bins.

`overlap` of two histograms is the sum of the minima of the normalised histograms
(1.0 = identical shape, 0.0 = disjoint).  `leap_rate` is the share of intervals
larger than a fifth.  `mgeval` is Yang and Lerch's (2018) relative measure: per-piece
features, the distribution (Gaussian KDE) of distances between real pieces (intra-set)
against that of distances from each candidate to each real piece (inter-set), and the
overlapping area of the two densities (1.0 = candidates sit among the real pieces as
the real pieces sit among themselves).  `ceiling` scores real tunes against other
real tunes with the same sample sizes: the best any generator can expect.

>>> from st4rt_repl.tune import Tune, Key
>>> a = Tune.from_bars([[(62, 1), (66, 1), (69, 1), (74, 1)]], key=Key("D"))
>>> events(a)[:2]
[(Fraction(0, 1), Fraction(1, 1), 62, 2), (Fraction(1, 1), Fraction(1, 1), 66, 2)]
>>> h = histograms([a])
>>> np.nonzero(h["pitch_class"])[0].tolist(), (np.nonzero(h["interval"])[0] - 12).tolist()
([0, 4, 7], [3, 4, 5])
>>> overlap(h["pitch_class"], h["pitch_class"]), leap_rate([a])
(1.0, 0.0)
"""
from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np

__all__ = ["FEATURES", "LENGTHS", "LEAP", "events", "histograms", "overlap", "pooled_overlaps",
           "leap_rate", "piece_features", "kde", "overlap_area", "mgeval", "opening",
           "ceiling", "report", "shortfall_interval"]

FEATURES = ("pitch_class", "interval", "length", "ioi")
# Note lengths in quarters that folk tunes use (a 16th up to a dotted whole); a length is
# counted at the nearest of them on a log scale, so 1/3 (triplet eighth) and 1/4 stay apart.
LENGTHS = (Fraction(1, 8), Fraction(1, 6), Fraction(1, 4), Fraction(1, 3), Fraction(1, 2),
           Fraction(2, 3), Fraction(3, 4), Fraction(1), Fraction(4, 3), Fraction(3, 2),
           Fraction(2), Fraction(3), Fraction(4), Fraction(6))
_LOG_LENGTHS = np.log2(np.array([float(x) for x in LENGTHS]))
LEAP = 7          # a leap is an interval larger than a perfect fifth (7 semitones)
MAX_INTERVAL = 12


# ----- what is heard ----------------------------------------------------------------
def _heard(tune):
    """The performed melody when the written form exists (repeats unfolded), else the tune."""
    performed = getattr(tune, "performed", None)
    if performed is None:
        return tune
    try:
        return performed()
    except ImportError:       # the written-form module is not there: the tune is already flat
        return tune


def events(tune) -> list[tuple[Fraction, Fraction, int, int]]:
    """(onset, duration, pitch, tonic pitch class) of every heard note; ties merged, rests dropped.

    >>> from st4rt_repl.tune import Tune
    >>> t = Tune.from_bars([[(60, 1), (62, 1, True)], [(62, 1), (None, 1)]], meter=(2, 4))
    >>> [(float(o), float(d), p) for o, d, p, _ in events(t)]
    [(0.0, 1.0, 60), (1.0, 2.0, 62)]
    """
    t = _heard(tune)
    out: list[list] = []
    onset, held = Fraction(0), False
    for bar in t.bars:
        tonic = (bar.key or t.key).tonic_pc
        for n in bar.notes:
            if n.is_rest:
                held = False
            elif held and out and out[-1][2] == n.pitch:
                out[-1][1] += n.duration
            else:
                out.append([onset, n.duration, n.pitch, tonic])
            if not n.is_rest:
                held = n.tie
            onset += n.duration
    return [tuple(x) for x in out]


def _length_bin(d) -> int:
    return int(np.argmin(np.abs(_LOG_LENGTHS - np.log2(float(d)))))


def _tune_values(ev) -> dict[str, list[int]]:
    """Bin index of each feature value of one tune's events."""
    pcs = [(p - tonic) % 12 for _, _, p, tonic in ev]
    steps = [b[2] - a[2] for a, b in zip(ev, ev[1:])]
    ivs = [int(np.clip(s, -MAX_INTERVAL, MAX_INTERVAL)) + MAX_INTERVAL for s in steps]
    lens = [_length_bin(d) for _, d, _, _ in ev]
    iois = [_length_bin(b[0] - a[0]) for a, b in zip(ev, ev[1:])]
    return {"pitch_class": pcs, "interval": ivs, "length": lens, "ioi": iois}


_BINS = {"pitch_class": 12, "interval": 2 * MAX_INTERVAL + 1, "length": len(LENGTHS),
         "ioi": len(LENGTHS)}


def histograms(tunes: Sequence) -> dict[str, np.ndarray]:
    """Pooled counts of each feature over all tunes (arrays of `_BINS` sizes).

    >>> from st4rt_repl.tune import Tune
    >>> h = histograms([Tune.from_bars([[(60, '1/2'), (62, '1/2'), (64, 3)]])])
    >>> int(h["length"][LENGTHS.index(Fraction(1, 2))]), int(h["length"][LENGTHS.index(3)]), int(h["ioi"].sum())
    (2, 1, 2)
    """
    out = {f: np.zeros(n, np.int64) for f, n in _BINS.items()}
    for t in tunes:
        for f, vals in _tune_values(events(t)).items():
            np.add.at(out[f], np.asarray(vals, np.int64), 1)
    return out


def overlap(hist_a, hist_b) -> float:
    """Sum of the minima of the two normalised histograms (0.0 if either is empty).

    >>> overlap([1, 1, 0], [0, 1, 1]), overlap([2, 0], [1, 0]), overlap([0, 0], [1, 1])
    (0.5, 1.0, 0.0)
    """
    return round(_overlap(np.asarray(hist_a, float), np.asarray(hist_b, float)), 6)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """`overlap` unrounded, of float arrays (the bootstrap in `shortfall_interval` runs it often)."""
    sa, sb = a.sum(), b.sum()
    return 0.0 if sa <= 0 or sb <= 0 else float(np.minimum(a / sa, b / sb).sum())


def pooled_overlaps(cands: Sequence, refs: Sequence) -> dict[str, float]:
    """`overlap` of the pooled histograms of cands and refs, per feature in `FEATURES`."""
    ha, hb = histograms(cands), histograms(refs)
    return {f: overlap(ha[f], hb[f]) for f in FEATURES}


def _intervals(tunes) -> np.ndarray:
    steps = []
    for t in tunes:
        pitches = [p for _, _, p, _ in events(t)]
        steps.extend(b - a for a, b in zip(pitches, pitches[1:]))
    return np.array(steps, np.int64)


def leap_rate(tunes: Sequence) -> float:
    """Share of melodic intervals larger than a fifth (> 7 semitones), over all tunes.

    >>> from st4rt_repl.tune import Tune
    >>> leap_rate([Tune.from_bars([[(60, 1), (62, 1), (74, 1), (72, 1)]])])   # 2, 12, -2
    0.333333
    """
    iv = _intervals(tunes)
    return round(float((np.abs(iv) > LEAP).mean()), 6) if len(iv) else 0.0


# ----- MGEval: per-piece features, intra/inter-set distances, KDE overlap ------------------
MGEVAL_FEATURES = ("pitch_count", "pitch_class_histogram", "pitch_class_transition",
                   "pitch_range", "avg_interval", "note_count", "avg_ioi",
                   "note_length_histogram", "note_length_transition")


def piece_features(tune) -> dict[str, np.ndarray]:
    """MGEval's per-piece features of one tune (pitch classes relative to the tonic).

    >>> from st4rt_repl.tune import Tune
    >>> f = piece_features(Tune.from_bars([[(60, 1), (64, 1), (67, 1), (60, 1)]]))
    >>> int(f["pitch_count"][0]), int(f["pitch_range"][0]), round(float(f["avg_interval"][0]), 2)
    (3, 7, 4.67)
    """
    ev = events(tune)
    v = _tune_values(ev)
    pitches = [p for _, _, p, _ in ev]
    pcs, lens = v["pitch_class"], v["length"]
    nl = len(LENGTHS)

    def hist(vals, n):
        h = np.bincount(np.asarray(vals, np.int64), minlength=n).astype(float)
        return h / h.sum() if h.sum() else h

    def trans(vals, n):
        m = np.zeros((n, n))
        for a, b in zip(vals, vals[1:]):
            m[a, b] += 1
        return (m / m.sum() if m.sum() else m).ravel()

    steps = np.abs(np.diff(pitches)) if len(pitches) > 1 else np.zeros(1)
    iois = [float(b[0] - a[0]) for a, b in zip(ev, ev[1:])] or [0.0]
    return {
        "pitch_count": np.array([len(set(pitches))], float),
        "pitch_class_histogram": hist(pcs, 12),
        "pitch_class_transition": trans(pcs, 12),
        "pitch_range": np.array([max(pitches) - min(pitches) if pitches else 0], float),
        "avg_interval": np.array([float(np.mean(steps))]),
        "note_count": np.array([len(ev)], float),
        "avg_ioi": np.array([float(np.mean(iois))]),
        "note_length_histogram": hist(lens, nl),
        "note_length_transition": trans(lens, nl),
    }


def _pair_distances(a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """Euclidean distances of every row of a to every row of b (b None: distinct pairs within a)."""
    other = a if b is None else b
    d = np.sqrt(np.maximum(((a[:, None, :] - other[None, :, :]) ** 2).sum(-1), 0.0))
    if b is None:
        return d[np.triu_indices(len(a), k=1)]
    return d.ravel()


def kde(samples, grid, bandwidth: float | None = None) -> np.ndarray:
    """Gaussian kernel density of 1-d samples evaluated on grid (Scott's rule: std * n^-1/5).

    >>> g = np.linspace(-6, 6, 1201)
    >>> round(float(np.trapezoid(kde(np.random.default_rng(0).normal(size=200), g), g)), 3)
    1.0
    """
    x = np.asarray(samples, float)
    grid = np.asarray(grid, float)
    if bandwidth is None:
        sd = float(x.std())
        # identical samples (e.g. every piece has 32 notes) still need a kernel width
        bandwidth = (sd if sd > 0 else max(1e-3, 0.05 * abs(float(x.mean())))) * len(x) ** -0.2
    z = (grid[:, None] - x[None, :]) / bandwidth
    return np.exp(-0.5 * z * z).sum(1) / (len(x) * bandwidth * np.sqrt(2 * np.pi))


def overlap_area(a, b, points: int = 512) -> float:
    """Area under the minimum of the KDEs of samples a and b (1.0: same distribution).

    >>> r = np.random.default_rng(0)
    >>> overlap_area(r.normal(size=300), r.normal(size=300)) > 0.85
    True
    >>> overlap_area(r.normal(size=300), r.normal(5, 1, size=300)) < 0.05
    True
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return 0.0
    spread = max(float(np.ptp(np.concatenate([a, b]))), 1e-3)
    grid = np.linspace(min(a.min(), b.min()) - 0.25 * spread, max(a.max(), b.max()) + 0.25 * spread,
                       points)
    return round(float(np.trapezoid(np.minimum(kde(a, grid), kde(b, grid)), grid)), 6)


def _subsample(x: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= cap else rng.choice(x, cap, replace=False)


def mgeval(cands: Sequence, refs: Sequence, *, seed: int = 0, max_pairs: int = 4000) -> dict[str, float]:
    """MGEval overlapping area per feature: KDE of refs' intra-set distances vs cands-to-refs.

    Distances are Euclidean between per-piece feature vectors (`piece_features`); pair
    sets larger than `max_pairs` are subsampled (seeded) to keep the KDE cheap.
    """
    rng = np.random.default_rng(seed)
    fa = [piece_features(t) for t in cands]
    fb = [piece_features(t) for t in refs]
    out = {}
    for f in MGEVAL_FEATURES:
        a = np.stack([x[f] for x in fa]) if fa else np.zeros((0, 1))
        b = np.stack([x[f] for x in fb]) if fb else np.zeros((0, 1))
        intra = _subsample(_pair_distances(b, None), max_pairs, rng)
        inter = _subsample(_pair_distances(a, b), max_pairs, rng)
        out[f] = overlap_area(intra, inter)
    return out


# ----- bundles ------------------------------------------------------------------------
def opening(tune, bars: int = 8):
    """The first `bars` full heard bars of a tune (pickup dropped), or None if it is shorter.

    >>> from st4rt_repl.tune import Tune
    >>> t = Tune.from_bars([[(62, 1)]] + [[(60, 4)]] * 9, pickup=True)
    >>> opening(t, 8).num_bars, opening(t, 10)
    (8, None)
    """
    from dataclasses import replace
    t = _heard(tune)
    body = [b for b in (t.bars[1:] if t.pickup else t.bars)]
    full = body[:bars]
    if len(full) < bars or not all(b.is_full for b in full):
        return None
    return replace(t, bars=tuple(full), pickup=False)


def report(cands: Sequence, refs: Sequence, *, seed: int = 0) -> dict:
    """Pooled overlaps, leap rates (cands and refs) and MGEval OA (with its mean), rounded.

    >>> from st4rt_repl.tune import Tune
    >>> t = Tune.from_bars([[(60, 1), (62, 1), (64, 1), (65, 1)], [(67, 2), (64, 2)]])
    >>> r = report([t, t], [t, t.transpose(2)])
    >>> r["overlap"]["interval"], r["leap_rate"], r["real_leap_rate"], sorted(r)
    (1.0, 0.0, 0.0, ['leap_rate', 'mgeval_mean_oa', 'mgeval_oa', 'n', 'n_refs', 'overlap', 'real_leap_rate'])
    """
    oa = mgeval(cands, refs, seed=seed)
    return {"n": len(cands), "n_refs": len(refs),
            "overlap": pooled_overlaps(cands, refs),
            "leap_rate": leap_rate(cands), "real_leap_rate": leap_rate(refs),
            "mgeval_oa": oa, "mgeval_mean_oa": round(float(np.mean(list(oa.values()))), 4)}


def ceiling(refs: Sequence, n: int, seed: int = 0, *, bars: int | None = 8) -> dict:
    """`report` of n real tunes (their `bars`-bar openings) against the rest of the real set.

    The two halves are disjoint and drawn with a seeded shuffle, so this is what a
    generator indistinguishable from the data would score with these sample sizes.

    >>> from st4rt_repl.tune import Tune
    >>> real = [Tune.from_bars([[(60 + i, 2), (62 + i, 2)]] * 8) for i in range(6)]
    >>> r = ceiling(real, 2, seed=0)
    >>> r["n"], r["n_refs"], r["overlap"]["length"]
    (2, 4, 1.0)
    """
    if not 0 < n < len(refs):
        raise ValueError(f"ceiling needs 0 < n < {len(refs)} real tunes, got n={n}")
    order = [int(i) for i in np.random.default_rng(seed).permutation(len(refs))]
    if bars:   # draw the n among tunes long enough to have an opening
        opens = {i: opening(refs[i], bars) for i in order}
        order = [i for i in order if opens[i] is not None][:n] + [i for i in order if opens[i] is None]
        order += [i for i in range(len(refs)) if i not in set(order)]
        picked = [opens[i] or refs[i] for i in order[:n]]
    else:
        picked = [refs[i] for i in order[:n]]
    rest = [refs[i] for i in order[n:]]
    return report(picked, rest, seed=seed)


def shortfall_interval(real: Sequence, slots: Sequence[Sequence], *, draws: int = 400, halvings: int = 10,
                       seed: int = 0, level: float = 0.95) -> dict[str, list[float]]:
    """How far the candidates' pooled overlaps fall below the ceiling, with a bootstrap interval.

    `real[i]` is what really came after primer i, `slots[j][i]` candidate j for it.
    The shortfall is the mean over slots of overlap(candidates of half A, real of half
    B) minus overlap(real of half A, real of half B), averaged over `halvings`, as in
    `st4rt eval continue`.  One draw resamples the primers with replacement first
    (the copies of a primer stay on one side).  Returns per feature [low, high] of the
    central `level` interval of the draws: how much of a gap to the ceiling is the
    luck of which tunes the split holds.

    >>> from st4rt_repl.tune import Tune
    >>> real = [Tune.from_bars([[(60 + i, '1/2')] * 8]) for i in range(8)]
    >>> shortfall_interval(real, [real])["length"]          # the real bars themselves: no gap
    [0.0, 0.0]
    >>> slow = [Tune.from_bars([[(60 + i, 2)] * 2]) for i in range(8)]
    >>> shortfall_interval(real, [slow])["length"]          # all half notes against eighths
    [-1.0, -1.0]
    """
    def counts(tunes):
        return {f: np.stack([histograms([t])[f] for t in tunes]).astype(float) for f in FEATURES}

    h_real, h_slots = counts(real), [counts(s) for s in slots]
    rng = np.random.default_rng(seed)
    n = len(real)
    out: dict[str, list[float]] = {f: [] for f in FEATURES}
    for _ in range(draws):
        w = np.bincount(rng.choice(n, n, replace=True), minlength=n).astype(float)
        drawn = np.nonzero(w)[0]
        gaps = {f: 0.0 for f in FEATURES}
        for _ in range(halvings):
            order = rng.permutation(drawn)
            in_a = np.zeros(n, bool)
            in_a[order[np.cumsum(w[order]) <= n / 2]] = True
            wa, wb = w * in_a, w * ~in_a
            for f in FEATURES:
                ref = wb @ h_real[f]
                gaps[f] += (np.mean([_overlap(wa @ h[f], ref) for h in h_slots])
                            - _overlap(wa @ h_real[f], ref)) / halvings
        for f in FEATURES:
            out[f].append(gaps[f])
    tail = (1 - level) / 2 * 100
    return {f: [round(float(np.percentile(v, tail)), 4), round(float(np.percentile(v, 100 - tail)), 4)]
            for f, v in out.items()}
