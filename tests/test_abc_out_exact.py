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


def bar(notes, meter=(4, 4), **form) -> Bar:
    return Bar(tuple(Note(*n) for n in notes), meter, **form)


C = Key("C", "major")
CASES = {
    # a bar cut short by an ending gets no barline of its own ("D4 E2 [1 F2:|")
    "short bar before an ending":
        (Tune((bar([(60, 4)], repeat_start=True), bar([(62, 2), (64, 1)]), bar([(65, 1)], ending="1", barline=":|"),
               bar([(67, 1)], ending="2"), bar([(72, 4)])), (4, 4), C), "|:C8|D4 E2 [1 F2:|[2 G2|\nc8|]"),
    # ... unless that ending starts a repeat too (then "|:" is its barline)
    "short bar before an ending with a repeat":
        (Tune((bar([(60, 4)]), bar([(62, 2), (64, 1)]), bar([(65, 1)], ending="1", repeat_start=True, barline=":|"),
               bar([(67, 1)], ending="2"), bar([(72, 4)])), (4, 4), C), "C8|D4 E2|:[1 F2:|[2 [M:1/4]G2|\n[M:4/4]c8|]"),
    # a full one does; a last bar ending in :| keeps it
    "full bar before an ending":
        (Tune((bar([(60, 4)], repeat_start=True), bar([(62, 4)]), bar([(65, 4)], ending="1", barline=":|"),
               bar([(67, 4)], ending="2", barline=":|")), (4, 4), C), "|:C8|D8|[1 F8:|[2 G8:|"),
    "last bar ending in a double bar": (Tune((bar([(60, 4)]), bar([(62, 4)], barline="||")), (4, 4), C), "C8|D8||"),
    # "::" between two repeated bars; a part label starts a line, its |: after it
    "parts and a double repeat":
        (Tune((bar([(60, 4)], repeat_start=True, part="A", barline=":|"),
               bar([(62, 4)], repeat_start=True, barline=":|"), bar([(64, 4)], repeat_start=True, part="B"),
               bar([(65, 4)], barline=":|")), (4, 4), C, parts="AB"), "P:A\n|:C8::D8:|\nP:B\n|:E8|F8:|"),
    # a key change and back, a meter change; a pickup and four more bars on the first line
    "key and meter changes":
        (Tune((bar([(60, 1)]), bar([(62, 4)]), bar([(64, 4)], key=Key("D", "major")),
               bar([(66, 4)], key=Key("D", "major")), bar([(65, 4)]), bar([(67, 3)], (3, 4)), bar([(69, 3)], (3, 4))),
              (4, 4), C, pickup=True), "C2|D8|[K:D]E8|F8|[K:C]F8|\n[M:3/4]G6|A6|]"),
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
    # one tuplet over notes of different odd parts (15, 5, 3): a 15-tuplet, not a triplet
    "mixed tuplet":
        (tune([[(60, F(2, 15)), (62, F(1, 5)), (64, F(2, 3)), (65, 3)]]), "(15:8:4C/D3/4E2-E/F6|]"),
    # a pickup of two triplet eighths: the tuplet ends with the bar
    "cut triplet":
        (tune([[(60, F(1, 3)), (62, F(1, 3))], [(64, 4)]], pickup=True), "(3:2:2CD|E8|]"),
    # beams: dotted quarters in compound meters, quarters in simple ones
    "beams in 6/8": (tune([[(p, F(1, 2)) for p in (60, 62, 64, 65, 67, 69)]], meter=(6, 8)), "CDE FGA|]"),
    "beams in 7/8": (tune([[(p, F(1, 2)) for p in (60, 62, 64, 65, 67, 69, 71)]], meter=(7, 8)),
                     "CD EF GA B|]"),
    "beams in 3/8": (tune([[(p, F(1, 2)) for p in (60, 62, 64)]] * 2, meter=(3, 8)), "CD E|CD E|]"),
    "beams in 6/4": (tune([[(p, 1) for p in (60, 62, 64, 65, 67, 69)]], meter=(6, 4)),
                     "C2 D2 E2 F2 G2 A2|]"),
    "beams in 2/2": (tune([[(p, F(1, 2)) for p in (60, 62, 64, 65, 67, 69, 71, 72)]], meter=(2, 2)),
                     "CDEF GABc|]"),
    "beams in 3/1": (tune([[(p, 1) for p in (60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65)]], meter=(3, 1)),
                     "C2D2E2F2 G2A2B2c2 B2A2G2F2|]"),
    # chord symbols: one before the bar's start goes to its start, after the ones placed
    # before it; ones at the bar's end after the last note, in their order
    "chords at the edges":
        (chords(tune([[(60, 4)], [(62, 4)], [(64, 4)]]), 1, (-1, "C"), (4, "G"), (4, "D7"), (0, "Am")),
         '"C""Am"C8"G""D7"|D8|E8|]'),
    # a chord symbol inside a tuplet goes before its note, the first one before the "(3"
    "chords in a triplet":
        (chords(tune([[(60, F(1, 3)), (62, F(1, 3)), (64, F(1, 3)), (65, 3)]]), 1, (0, "C"), (F(1, 3), "G")),
         '"C"(3C"G"DEF6|]'),
    # a triplet of unequal notes is written in full
    "uneven triplet": (tune([[(60, F(2, 3)), (62, F(1, 3)), (64, 3)]]), "(3:2:2C2DE6|]"),
    # tie flags before a rest, before another pitch and on the last note are not written
    "stray ties": (tune([[(60, 3, True)], [(None, 1), (60, 2, True)], [(62, 3, True)]], meter=(3, 4)),
                   "C6|z2 C4|D6|]"),
    # written letters: B# and Cb take the octave of their letter; double sharps and flats;
    # octave marks both ways
    "letters and octaves":
        (Tune((bar([(60, 1, False, "B"), (59, 1, False, "C"), (62, 1, False, "C"), (60, 1, False, "D")]),
               bar([(84, 1), (96, 1), (48, 1), (36, 1)])), (4, 4), C), "^B,2_C2 ^^C2__D2|c'2c''2 C,2C,,2|]"),
    # a short bar after a full first bar that ends in "||": abc2midi measures it at its "|"
    # (the full bar was its first check), so it gets a meter of its own length
    "short bar after a double bar": (Tune((bar([(60, 4)], barline="||"), bar([(62, 3)]), bar([(64, 4)])), (4, 4), C),
                                     "C8||[M:3/4]D6|[M:4/4]E8|]"),
    # played order: the repeat goes back from a 4/4 bar to a 3/4 one, so its meter is written
    # again at the repeat's start (in written order it would not change there)
    "meter again after a repeat":
        (Tune((bar([(62, 3)], (3, 4), repeat_start=True), bar([(64, 3)], (3, 4)), bar([(65, 4)], barline=":|"),
               bar([(67, 3)], (3, 4))), (3, 4), C), "|:[M:3/4]D6|E6|[M:4/4]F8:|[M:3/4]G6|]"),
    # a meter ABC cannot write (3/6): the bar's length over eighths
    "meter over sixths": (Tune((bar([(60, 4)]), bar([(62, 2)], (3, 6)), bar([(64, 4)])), (4, 4), C),
                          "C8|[M:4/8]D4|[M:4/4]E8|]"),
    # abc2midi carries the count over "||": a short bar there and the short bar after it add
    # up to a full one, so neither gets a meter of its own
    "count carried over a double bar": (Tune((bar([(60, 4)]), bar([(62, 3)], barline="||"), bar([(64, 1)]),
                                              bar([(65, 4)])), (4, 4), C), "C8|D6||E2|F8|]"),
    # the first bar played (part B, by the P: order) is never measured: no meter for it
    "short first bar of the first part played":
        (Tune((bar([(60, 4)], part="A"), bar([(62, 3)], part="B"), bar([(64, 4)])), (4, 4), C, parts="BA"),
         "P:A\nC8|\nP:B\nD6|E8|]"),
    # an ending that changes the key: both before the notes, the ending first
    "ending with a key change":
        (Tune((bar([(60, 4)], repeat_start=True), bar([(62, 4)], ending="1", barline=":|", key=Key("D", "major")),
               bar([(64, 4)], ending="2", barline="|]")), (4, 4), C), "|:C8|[1 [K:D]D8:|[2 [K:C]E8|]"),
    # a repeat that starts with an ending, after a double bar
    "repeat starting with an ending":
        (Tune((bar([(60, 4)], barline="||"), bar([(62, 4)], repeat_start=True, ending="1", barline=":|"),
               bar([(64, 4)], ending="2")), (4, 4), C), "C8|| |:[1 D8:|[2 E8|]"),
    # a part label after the pickup: the pickup is a line of its own, then four bars a line
    "part after the pickup":
        (Tune((bar([(60, 1)]), bar([(62, 4)], part="A"), bar([(64, 4)]), bar([(65, 4)]), bar([(67, 4)]),
               bar([(69, 4)])), (4, 4), C, pickup=True), "C2|\nP:A\nD8|E8|F8|G8|\nA8|]"),
    # ... in 6/8 too
    "short bar after a double bar in 6/8":
        (Tune((bar([(60, 3)], (6, 8), barline="||"), bar([(62, 2)], (6, 8)), bar([(64, 3)], (6, 8))), (6, 8), C),
         "C6||[M:4/8]D4|[M:6/8]E6|]"),
    # a first ending in another meter: its meter, and the second ending's, are written
    "first ending in another meter":
        (Tune((bar([(60, 4)]), bar([(62, 4)], repeat_start=True), bar([(64, 3)], (3, 4), ending="1", barline=":|"),
               bar([(65, 4)], ending="2")), (4, 4), C), "C8|:[M:4/4]D8|[1 [M:3/4]E6:|[2 [M:4/4]F8|]"),
    # part B's short last bar gets 3/4; part A, played again after it (P:ABAC), needs its 4/4
    # written at its start, though in written order it comes first
    "part played again after a re-metered bar":
        (Tune((bar([(60, 4)], part="A"), bar([(62, 4)], part="B"), bar([(64, 3)]), bar([(65, 4)], part="C")),
              (4, 4), C, parts="ABAC"), "P:A\n[M:4/4]C8|\nP:B\nD8|[M:3/4]E6|\nP:C\n[M:4/4]F8|]"),
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


@pytest.mark.parametrize("t,head,notes", [
    # L:1/16 where sixteenths make the text shorter (a 2/4 meter); the title's spaces folded
    (tune([[(60, F(1, 4))] * 8], meter=(2, 4), title="  My \t tune "), "T:My tune\nM:2/4\nL:1/16", "CCCC CCCC|]"),
    (tune([[(60, F(1, 4)), (62, F(1, 4)), (64, F(3, 2))]], meter=(2, 4), title=""),
     "T:Untitled\nM:2/4\nL:1/16", "CDE6|]"),
    # ... and L:1/8 where they do not, or in meters of 3/4 and longer
    (tune([[(60, F(1, 2)), (62, F(3, 2))]], meter=(2, 4)), "T:Untitled\nM:2/4\nL:1/8", "CD3|]"),
    (tune([[(60, F(1, 4))] * 12], meter=(3, 4)), "T:Untitled\nM:3/4\nL:1/8",
     "C/C/C/C/ C/C/C/C/ C/C/C/C/|]"),
    (tune([[(60, F(1, 4))] * 6], meter=(3, 8)), "T:Untitled\nM:3/8\nL:1/16", "CCCC CC|]"),
    (tune([[(60, F(1, 4))] * 10], meter=(5, 8)), "T:Untitled\nM:5/8\nL:1/16", "CCCC CCCC CC|]"),
    # as long either way: L:1/8
    (tune([[(60, F(1, 2)), (62, F(1, 4)), (64, F(1, 2)), (65, F(1, 4))]] * 2, meter=(3, 8)),
     "T:Untitled\nM:3/8\nL:1/8", "CD/EF/|CD/EF/|]"),
])
def test_header_and_unit(t, head, notes):
    abc = to_abc(t)
    assert abc == f"X:1\n{head}\nQ:1/4=120\nK:C\n{notes}\n"
    if abc2midi.available():
        assert plays_as_written(abc, t)


@pytest.mark.parametrize("case,want", [
    ("key and meter changes", "% bar 0\nC2|D8|[K:D]E8|F8|[K:C]F8|\n% bar 5\n[M:3/4]G6|A6|]"),
    ("parts and a double repeat", "P:A\n% bar 1\n|:C8::D8:|\nP:B\n% bar 3\n|:E8|F8:|"),
    ("short bar before an ending", "% bar 1\n|:C8|D4 E2 [1 F2:|[2 G2|\n% bar 5\nc8|]"),
])
def test_bar_number_comments(case, want):
    t, _ = CASES[case]
    abc = to_abc(t, bar_numbers=True)
    assert body(abc) == want
    assert abc.startswith("X:1\nT:Untitled\nM:4/4\nL:1/8\nQ:1/4=120\n" + ("P:AB\n" if t.parts else "") + "K:C\n")


def test_a_bar_carrying_another_bars_count_keeps_its_meter():
    # D4 before "||" is short, and abc2midi adds E2 to it at the next "|": E2 is not measured
    # alone, so it gets no meter of its own (abc2midi warns about that 3-quarter count)
    t = Tune((bar([(60, 4)]), bar([(62, 2)], barline="||"), bar([(64, 1)]), bar([(65, 4)])), (4, 4), C)
    assert body(to_abc(t)) == "C8|D4||E2|F8|]"


def test_a_form_past_the_unfolding_limit_is_planned_in_written_order():
    # 5,001 passes of a 10-note part: more than the 50,000 notes we unfold, so the bar
    # lengths are planned in written order (the short middle bar still gets its meter)
    t = Tune((bar([(60, F(1, 2))] * 8, part="A"), bar([(62, 3)]), bar([(64, 4)])), (4, 4), C, parts="A" * 5001)
    assert body(to_abc(t)) == "P:A\nCCCC CCCC|[M:3/4]D6|[M:4/4]E8|]"


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
