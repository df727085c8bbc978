"""Exact output of the ABC writer (formats/abc_out.py): the mutation-testing cases of issue #14.

Each case is a small tune, the exact ABC body we write for it, and (where abc2midi is
installed) abc2midi's reading of that text: exactly the tune's notes, without a warning.
"""
from fractions import Fraction as F

import pytest

from st4rt_repl.formats import abc2midi, abc_reference as ref
from st4rt_repl.formats.abc_out import to_abc, tunes_to_abc
from st4rt_repl.tune import Bar, Key, Note, Tune

needs_abc2midi = pytest.mark.skipif(not abc2midi.available(), reason="abc2midi not installed")
TICKS = F(2, 480)


def body(abc: str) -> str:
    """The music lines of an ABC text (after K:)."""
    lines = abc.splitlines()
    return "\n".join(lines[next(i for i, ln in enumerate(lines) if ln.startswith("K:")) + 1:])


def tune(bars, meter=(4, 4), key=Key("C", "major"), **kw) -> Tune:
    return Tune.from_bars(bars, meter=meter, key=key, **kw)


def chords(t: Tune, k: int, *symbols) -> Tune:
    """`t` with chord symbols (offset, name) on bar number k."""
    return t.with_bar(k, chords=tuple((F(o), s) for o, s in symbols))


CASES = {
    # a chord symbol inside the second note of the bar cuts it at the chord (1 quarter in)
    "chord inside a later note":
        (chords(tune([[(60, 1), (62, 3)], [(64, 4)]]), 1, (2, "G")), 'C2D2- "G"D4|E8|]'),
    # a tied note cut by a chord keeps its tie into the next bar
    "chord inside a tied note":
        (chords(tune([[(60, 1), (62, 3, True)], [(62, 4)]]), 1, (2, "G")), 'C2D2- "G"D4-|D8|]'),
    # two chords inside one note: three tied pieces of the right lengths
    "two chords inside one note":
        (chords(tune([[(60, 4)]]), 1, (1, "C"), (3, "G")), 'C2-"C"C4- "G"C2|]'),
    # a rest cut by a chord is two rests (no tie)
    "chord inside a rest":
        (chords(tune([[(None, 2), (60, 2)]]), 1, (1, "Am")), 'z2"Am"z2 C4|]'),
    # sixteenth triplets: a plain (3 of sixteenths, not a 6-tuplet
    "sixteenth triplet":
        (tune([[(60, F(1, 6)), (62, F(1, 6)), (64, F(1, 6)), (65, F(1, 2)), (67, 3)]]), "(3C/D/E/FG6|]"),
    # a length finer than a 128th is written as it is, after the writable pieces
    "finer than a 128th":
        (tune([[(60, F(1) + F(1, 64)), (62, F(3) - F(1, 64))]]), "C2-C/32D4-D7/4-D7/32|]"),
}


def plays_as_written(abc: str, t: Tune) -> bool:
    """abc2midi reads `abc` without a complaint and its melody is the tune's notes (within
    two of its 480 ticks a quarter: it rounds lengths finer than that)."""
    assert abc2midi.check(abc) == []                # raises on any Error/Warning line
    got, want = ref.reference_notes(abc), t.performed().sounding()
    return len(got) == len(want) and all(
        gp == wp and abs(go - wo) <= TICKS and abs(gd - wd) <= TICKS
        for (go, gd, gp), (wo, wd, wp) in zip(got, want))


@pytest.mark.parametrize("case", list(CASES))
def test_exact_body(case):
    t, want = CASES[case]
    abc = to_abc(t)
    assert body(abc) == want
    if abc2midi.available():
        assert plays_as_written(abc, t)


def test_several_tunes_titles_numbers_and_bar_comments():
    t = tune([[(60, 4)], [(62, 4)]], title="A")
    three = tunes_to_abc([t, t, t], titles=["One"])          # fewer titles than tunes
    assert [ln for ln in three.splitlines() if ln[:2] in ("X:", "T:")] == \
        ["X:1", "T:One", "X:2", "T:A", "X:3", "T:A"]
    assert "%" not in three and three.count("C8|D8|]") == 3  # no bar comments unless asked
    untitled = tunes_to_abc([t, t])
    assert [ln for ln in untitled.splitlines() if ln[:2] == "T:"] == ["T:A", "T:A"]
    numbered = tunes_to_abc([t, t], bar_numbers=True)
    assert numbered.count("% bar 1\nC8|D8|]") == 2
