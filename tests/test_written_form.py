"""The written form (issue 10): the Tune holds the tune as written; `performed()` is what abc2midi plays.

Every performance here is checked against the real abc2midi, note for note.
"""
from __future__ import annotations

import json
import shutil
from fractions import Fraction

import pytest

from st4rt_repl.formats import abc_reference as ref
from st4rt_repl.formats.abc_in import read_abc_text
from st4rt_repl.keys import Key
from st4rt_repl.tune import Bar, Note, Tune, TuneError

needs_abc2midi = pytest.mark.skipif(not shutil.which("abc2midi"),
                                    reason="abc2midi (Debian package abcmidi) is not installed")

REEL = """X:1
T:AABB reel
M:4/4
L:1/8
K:D
|:"D"d2 fd A2 FA|"G"B2 GB "D"A2 FA|d2 fd A2 FA|"A"B2 cB A4:|
|:"D"f2 af "G"g2 bg|"D"f2 af "A"e2 ce|"D"f2 af "G"g2 bg|"A"a2 ge "D"d4:|
"""

# The tune shape of issue 10: a P: order over parts whose bars change meter inside a repeat.
CHANGING_METERS = """X:1
T:Meters in a repeat
L:1/8
M:6/4
P:AABAB
K:G
P:A
|:G2A2B2 c2d2e2|[M:4/4]d2B2 G4|[M:5/4]A2B2c2 d4:|
P:B
[M:6/4]g2f2e2 d2c2B2|[M:4/4]A8||
"""


def _heard(t: Tune):
    return [(on, d, p) for on, d, p in t.performed().sounding()]


def test_an_aabb_reel_has_16_written_bars_and_32_played():
    t = read_abc_text(REEL).tune
    assert (t.num_bars, t.num_played_bars) == (8, 16)
    assert [t.barline_after(k) for k in (4, 8)] == ["::", ":|"]
    assert t.bar(1).repeat_start and t.bar(5).repeat_start
    assert t.bar(1).chords == ((Fraction(0), "D"),)
    assert t.bar(2).chords == ((Fraction(0), "G"), (Fraction(2), "D"))
    assert "8 bars, 16 played" in str(t)


@needs_abc2midi
def test_performed_equals_abc2midi_and_chords_follow_the_performance():
    t = read_abc_text(REEL).tune
    assert ref.compare(ref.tune_notes(t), ref.reference_notes(REEL)).exact
    chords = t.performed_chords()
    assert [c for _, _, c in chords[:3]] == ["D", "G", "D"]
    second_pass = [c for c in chords if c[0] == 16]          # bar 1 again, 4 bars of 4 quarters later
    assert second_pass and second_pass[0][2] == "D"
    assert sum(d for _, d, _ in chords) == t.performed().duration


@needs_abc2midi
def test_a_repeat_restores_the_meter_in_force_where_it_starts():
    t = read_abc_text(CHANGING_METERS).tune
    assert [b.meter for b in t.bars] == [(6, 4), (4, 4), (5, 4), (6, 4), (4, 4)]
    assert t.parts == "AABAB"
    heard = t.performed()
    assert ref.compare(ref.tune_notes(t), ref.reference_notes(CHANGING_METERS)).exact
    # every played bar is full in its own meter: no drift by a beat after the repeat
    assert all(b.is_full for b in heard.bars)
    assert [b.meter for b in heard.bars][:6] == [(6, 4), (4, 4), (5, 4)] * 2


@needs_abc2midi
def test_a_key_change_mid_tune_stays_a_key_change():
    text = "X:1\nT:Keys\nM:4/4\nL:1/4\nK:A\nABcd|e4|\nK:D\nABcd|d4|]\n"
    t = read_abc_text(text).tune
    assert t.key == Key("A", "major")
    assert [t.key_at(k) for k in (1, 2, 3, 4)] == [Key("A")] * 2 + [Key("D")] * 2
    assert [n.pitch for n in t.bar(1).notes] == [69, 71, 73, 74]     # C sharp in A
    assert [n.pitch for n in t.bar(3).notes] == [69, 71, 73, 74]     # and in D
    assert ref.compare(ref.tune_notes(t), ref.reference_notes(text)).exact


def test_notes_keep_their_written_spelling():
    t = read_abc_text("X:1\nM:3/4\nL:1/8\nK:Gm\n(3AG^F G4|_G2 ^F4|]\n").tune
    b1, b2 = t.bar(1), t.bar(2)
    assert (b1.notes[2].pitch, b1.notes[2].letter) == (66, "F")      # a leading note F sharp
    assert [(n.pitch, n.letter) for n in b2.notes] == [(66, "G"), (66, "F")]


def test_varying_a_repeated_bar_changes_every_pass():
    t = read_abc_text(REEL).tune
    new = t.replace_bars(3, 3, [Bar((Note(62, 2), Note(64, 2)), (4, 4))])
    assert new.bar(3).chords == t.bar(3).chords and new.num_bars == 8
    heard = new.performed()
    assert [heard.bars[i].notes[0].pitch for i in (2, 6)] == [62, 62]   # bar 3 in both passes


def test_continuing_appends_written_bars_after_a_final_barline():
    t = read_abc_text("X:1\nM:2/4\nL:1/8\nK:C\n|:CDEF|G4:|\n").tune
    grown = t.append_bars([Bar((Note(72, 2),), (2, 4))] * 2)
    assert grown.num_bars == 4 and grown.barline_after(2) == ":|"
    assert grown.played_order() == [1, 2, 1, 2, 3, 4]


def test_partial_bars_at_part_ends_keep_their_own_number():
    text = "X:1\nM:4/4\nL:1/8\nK:G\nD|:G2B2 d2B2|c2A2 F3:|\n|:D|G8|]\n"
    t = read_abc_text(text).tune
    assert t.pickup and [b.duration for b in t.bars] == [Fraction(1, 2), 4, Fraction(7, 2),
                                                         Fraction(1, 2), 4]
    assert t.num_bars == 4 and not t.bar(2).is_full


def test_with_repeat_and_unfold_are_inverse_on_the_notes():
    t = Tune.from_bars([[(60, 4)], [(62, 4)], [(64, 4)]]).with_repeat(1, 2)
    u = t.unfolded()
    assert u.num_bars == 5 and not u.has_form
    assert u.sounding() == t.performed().sounding()


def test_m_none_keeps_the_written_bars():
    t = read_abc_text("X:1\nM:none\nL:1/8\nK:D\nABc|defg|a2|]\n").tune
    assert [b.duration for b in t.bars] == [Fraction(3, 2), 2, 1]
    assert all(b.is_full for b in t.bars)      # each bar in a meter of its own length


def test_a_round_one_session_tune_opens_as_a_tune_without_repeats():
    old = {"title": "Kesh", "meter": [6, 8], "key": ["G", "major"], "tempo": 120, "pickup": False,
           "bars": [{"notes": [[67, "1/2"], [69, "1/2"], [67, "1/2", 1]]},
                    {"notes": [[67, "3/2"]], "meter": [3, 8]}]}
    t = Tune.from_json(json.loads(json.dumps(old)))
    assert not t.has_form and t.num_bars == 2 and t.bar(2).meter == (3, 8)
    assert t.bar(1).notes[2].tie
    assert Tune.from_json(t.to_json()) == t


def test_written_form_survives_json():
    t = read_abc_text(REEL).tune.with_bar(3, key=Key("A", "mixolydian"))
    assert Tune.from_json(json.loads(json.dumps(t.to_json()))) == t


def test_a_bad_barline_is_refused():
    with pytest.raises(TuneError, match="unknown barline"):
        Bar((Note(60, 1),), (1, 4), barline="|||")


def test_transposing_moves_key_changes_and_chords():
    t = read_abc_text(REEL).tune.with_bar(5, key=Key("A"))
    up = t.transpose(2)
    assert up.key == Key("E") and up.bar(5).key == Key("B")
    assert up.bar(1).chords == ((Fraction(0), "E"),)
