"""Realism measures: what they see in real folk tunes and what they punish in bad ones."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from st4rt_repl.formats import parse_abc_text
from st4rt_repl.models import realism
from st4rt_repl.tune import Key, Note, Tune

from tunes import KESH

E = Fraction(1, 2)


def _kesh() -> Tune:
    return parse_abc_text(KESH).tune


def _leapy(seed: int) -> Tune:
    """8 bars of 6/8 jumping around two octaves in stray dotted rhythms (the issue's `generate`)."""
    rng = np.random.default_rng(seed)
    lengths = [Fraction(3, 4), Fraction(1, 4), E, E, Fraction(3, 4), Fraction(1, 4)]
    return Tune.from_bars([[(int(p), d) for p, d in zip(rng.integers(55, 86, 6), lengths)]
                           for _ in range(8)], meter=(6, 8), key=Key("G", "major"))


def _real(n: int) -> list[Tune]:
    """Kesh-like tunes of 8 full bars: the Kesh (its last bar completed) transposed."""
    k = _kesh()
    last = k.bars[-1].with_notes(k.bars[-1].notes[:3] + (Note(67, Fraction(3, 2)),))
    k = k.replace_bars(8, 8, [last])
    return [k.transpose(s) for s in range(-3, -3 + n)]


def test_pitch_classes_are_relative_to_the_tonic():
    # The Kesh in G and in D has the same pitch-class histogram relative to its tonic.
    a, b = realism.histograms([_kesh()]), realism.histograms([_kesh().transpose(7)])
    assert (a["pitch_class"] == b["pitch_class"]).all()
    assert a["pitch_class"][0] == a["pitch_class"].max() or a["pitch_class"][7] == a["pitch_class"].max()


def test_ties_are_one_heard_note_and_rests_are_not_notes():
    t = Tune.from_bars([[(67, 1), (67, 2, True)], [(67, 1), (None, 1), (71, 1)]], meter=(3, 4))
    ev = realism.events(t)
    assert [(p, d) for _, d, p, _ in ev] == [(67, 1), (67, 3), (71, 1)]
    # the IOI from the tied G to B spans the rest: 4 quarters
    assert ev[2][0] - ev[1][0] == 4


def test_repeats_are_counted_as_heard():
    # |: C D | E F :| is heard C D E F C D E F: the pooled histograms count each note twice.
    t = Tune.from_bars([[(60, 2), (62, 2)], [(64, 2), (65, 2)]])
    rep = t.with_repeat(1, 2)
    assert [p for _, _, p, _ in realism.events(rep)] == [60, 62, 64, 65] * 2
    assert realism.histograms([rep])["interval"][12 - 5] == 1     # the F -> C jump back


def test_kesh_has_no_leaps_and_random_lines_do():
    assert realism.leap_rate([_kesh()]) < 0.05
    assert realism.leap_rate([_leapy(s) for s in range(4)]) > 0.3


def test_report_separates_leapy_lines_from_real_tunes():
    real = _real(6)
    good = realism.report(real[:3], real[3:], seed=0)
    bad = realism.report([_leapy(s) for s in range(3)], real[3:], seed=0)
    for f in realism.FEATURES:
        assert good["overlap"][f] > bad["overlap"][f], f
    assert good["overlap"]["interval"] == 1.0          # transpositions: identical intervals
    assert bad["leap_rate"] > 5 * max(good["leap_rate"], 0.01)
    assert good["real_leap_rate"] == bad["real_leap_rate"]
    assert set(good["mgeval_oa"]) == set(realism.MGEVAL_FEATURES)
    assert good["mgeval_oa"]["avg_interval"] > bad["mgeval_oa"]["avg_interval"]


def test_ceiling_uses_disjoint_halves_of_8_bar_openings():
    real = _real(7)
    r = realism.ceiling(real, 3, seed=1)
    assert (r["n"], r["n_refs"]) == (3, 4)
    assert realism.ceiling(real, 3, seed=1) == r            # seeded
    with pytest.raises(ValueError, match="ceiling needs"):
        realism.ceiling(real, 7)


def test_opening_keeps_full_bars_without_the_pickup():
    o = realism.opening(_kesh(), 7)
    assert o.num_bars == 7 and not o.pickup
    assert realism.opening(_kesh(), 8) is None          # its 8th bar is short (AGF G2)
    assert [n.pitch for n in o.bars[0].notes] == [67, 69, 67, 67, 69, 71]


def test_shortfall_interval_contains_zero_for_real_tunes_and_not_for_leapy_lines():
    real = _real(8)
    other = [k.transpose(1) for k in reversed(real)]     # real tunes too, paired with other primers
    same = realism.shortfall_interval(real, [other], seed=0)
    assert all(lo <= 0.0 <= hi for lo, hi in same.values())
    leapy = realism.shortfall_interval(real, [[_leapy(s) for s in range(8)]], seed=0)
    assert leapy["interval"][1] < -0.3 and leapy["length"][1] < -0.3
    assert realism.shortfall_interval(real, [other], seed=0) == same          # seeded
