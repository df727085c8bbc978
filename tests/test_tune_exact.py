"""Exact facts about `Tune` that mutation testing (``make mutate``, tune.py) found
untested: the session-file JSON field by field, the one-line summary, edits that
keep the written form, transposition, chord symbols and bar-length meters."""
from __future__ import annotations

from fractions import Fraction as F

import pytest

from st4rt_repl.tune import Bar, Key, Note, Tune, TuneError, meter_for_length, transpose_chord


def bar(*pitches, meter=(2, 4), **form) -> Bar:
    return Bar(tuple(Note(p, 1) for p in pitches), meter, **form)


def form_tune() -> Tune:
    """|:C D|[1 E F:|[2 G A|| P:B B c|] with a tie and a spelled note, played AAB."""
    bars = (bar(60, 62, repeat_start=True),
            Bar((Note(64, 1, letter="E"), Note(65, 1, tie=True)), (2, 4), barline=":|", ending="1"),
            bar(65, 69, barline="||", ending="2"),
            bar(71, 72, barline="|]", part="B", chords=((F(1, 2), "G7"),)))
    return Tune(bars, (2, 4), Key("C", "major"), title="Form", tempo=90, parts="AAB")


# ----- the session file's JSON ------------------------------------------------------------

def test_json_fields_are_named_and_only_written_when_set():
    d = form_tune().to_json()
    assert d["parts"] == "AAB"
    assert d["bars"][0] == {"notes": [[60, "1"], [62, "1"]], "repeat_start": True}
    assert d["bars"][1] == {"notes": [[64, "1", "E"], [65, "1", 1]], "barline": ":|", "ending": "1"}
    assert d["bars"][2] == {"notes": [[65, "1"], [69, "1"]], "barline": "||", "ending": "2"}
    assert d["bars"][3] == {"notes": [[71, "1"], [72, "1"]], "barline": "|]", "part": "B",
                            "chords": [["1/2", "G7"]]}
    assert "parts" not in Tune.from_bars([[(60, 2)]], meter=(2, 4)).to_json()


def test_json_from_a_file_reads_every_form_field():
    t = form_tune()
    back = Tune.from_json(t.to_json())
    assert back == t
    assert [(b.repeat_start, b.barline, b.ending, b.part) for b in back.bars] == [
        (True, "|", "", ""), (False, ":|", "1", ""), (False, "||", "2", ""), (False, "|]", "", "B")]
    assert back.parts == "AAB" and back.bars[1].notes[1].tie and back.bars[1].notes[0].letter == "E"


# ----- the one-line summary -------------------------------------------------------------------

def test_summary_line():
    plain = Tune.from_bars([[(67, 1)], [(67, 3)], [(69, 3)]], meter=(3, 4), key=Key("G", "major"),
                           title="Air", pickup=True)
    assert str(plain) == "Air (G major, 3/4, 2 bars + pickup)"
    assert str(plain.with_repeat(1, 2)) == "Air (G major, 3/4, 2 bars, 4 played + pickup)"
    assert str(Tune.from_bars([[(60, 4)]], title="One")) == "One (C major, 4/4, 1 bars)"


# ----- bar numbers, repeats and barlines -------------------------------------------------------

def test_bar_numbers_out_of_range_are_one_line_errors():
    t = Tune.from_bars([[(60, 4)], [(62, 4)]])
    with pytest.raises(TuneError, match=r"^this tune has no pickup bar \(bar 0\)$"):
        t.bar(0)
    with pytest.raises(TuneError, match=r"^bar 3 does not exist: the tune has 2 bars$"):
        t.bar(3)
    with pytest.raises(TuneError, match=r"^bar range 2\.\.1 is empty$"):
        t.with_repeat(2, 1)


def test_an_unknown_barline_is_refused_with_the_known_ones():
    with pytest.raises(TuneError, match=r"^unknown barline '\|\|:' \(one of \| \|\| \|\] :\|\)$"):
        Bar((Note(60, 4),), (4, 4), barline="||:")


def test_the_bracket_a_bar_lies_under_and_a_bar_without_its_form():
    t = form_tune()
    assert [t.ending_of(k) for k in (1, 2, 3, 4)] == ["", "1", "2", ""]
    plain = t.bars[3].plain()
    assert plain == Bar(t.bars[3].notes, (2, 4)) and not plain.has_form and plain.chords == ()
    in_g = Bar((Note(67, 2),), (2, 4), key=Key("G", "major"), barline=":|", part="A").plain()
    assert (in_g.notes, in_g.meter, in_g.key, in_g.has_form) == ((Note(67, 2),), (2, 4), Key("G", "major"), False)


def test_a_start_repeat_on_the_last_bar_shows_in_the_barline_before_it():
    t = Tune.from_bars([[(60, 4)], [(62, 4)], [(64, 4)]]).with_repeat(3, 3)
    assert [t.barline_after(k) for k in (1, 2, 3)] == ["|", "|:", ":|"]


# ----- edits keep the written form ----------------------------------------------------------------

def test_replacing_bars_one_for_one_keeps_the_old_form_unless_the_new_bar_has_its_own():
    t = form_tune()
    plain = t.replace_bars(2, 3, [bar(67, 67), bar(69, 69)])
    assert [(b.barline, b.ending) for b in plain.bars[1:3]] == [(":|", "1"), ("||", "2")]
    own = t.replace_bars(2, 2, [bar(67, 67, barline="|]")])
    assert own.bars[1].barline == "|]" and own.bars[1].ending == ""


def test_replacing_with_more_bars_hands_the_form_to_the_first_and_last_new_bars():
    t = form_tune()
    more = t.replace_bars(1, 2, [bar(60, 60), bar(62, 62), bar(64, 64)])
    assert [(b.repeat_start, b.barline, b.ending) for b in more.bars[:3]] == [
        (True, "|", ""), (False, "|", ""), (False, ":|", "")]
    labelled = t.replace_bars(3, 4, [bar(67, 67, part="C"), bar(69, 69), bar(71, 71)])
    assert (labelled.bars[2].part, labelled.bars[2].ending, labelled.bars[-1].barline) == ("C", "", "|]")
    # a last new bar with a form of its own but a plain barline still closes the range
    started = t.replace_bars(3, 4, [bar(67, 67), bar(67, 67), bar(69, 69, repeat_start=True)])
    assert (started.bars[-1].repeat_start, started.bars[-1].barline) == (True, "|]")
    closed = t.replace_bars(3, 4, [bar(67, 67), bar(67, 67), bar(69, 69, barline="||")])
    assert closed.bars[-1].barline == "||"
    from_ending = t.replace_bars(2, 3, [bar(60, 60), bar(62, 62), bar(64, 64)])
    assert [(b.ending, b.barline) for b in from_ending.bars[1:4]] == [("1", "|"), ("", "|"), ("", "||")]
    from_part = t.replace_bars(4, 4, [bar(60, 60), bar(62, 62)])
    assert [(b.part, b.barline) for b in from_part.bars[3:]] == [("B", "|"), ("", "|]")]
    single = t.replace_bars(1, 2, [bar(60, 60)])
    assert (single.bars[0].repeat_start, single.bars[0].barline) == (True, ":|")


# ----- transposition --------------------------------------------------------------------------

def test_transpose_keeps_rests_and_forgets_the_written_letters():
    t = Tune((Bar((Note(66, 1, letter="F"), Note(None, 1)), (2, 4)),), (2, 4))
    up = t.transpose(1)
    assert [(n.pitch, n.letter) for n in up.bars[0].notes] == [(67, ""), (None, "")]


@pytest.mark.parametrize("symbol,semitones,moved", [
    ("D7", 12, "D7"), ("Db7", 12, "Db7"), ("D7", 13, "Eb7"), ("D7", 1, "Eb7"), ("D7", -1, "C#7"), ("B", 1, "C"),
    ("Bb7/Ab", 2, "C7/Bb"), ("(Bbm)", -2, "(Abm)"), ("G", 0, "G"),
])
def test_chord_symbols_move_with_the_tune(symbol, semitones, moved):
    assert transpose_chord(symbol, semitones) == moved


# ----- the meter of a bar length --------------------------------------------------------------

@pytest.mark.parametrize("length,den,meter", [
    (F(2), 4, (2, 4)), (F(4), 8, (8, 8)), (F(1, 4), 4, (1, 16)), (F(1, 16), 4, (1, 64)),
    (F(2), 3, (1, 2)), (F(4), 1, (1, 1)), (F(3, 2), 3, (3, 8)), (F(0), 4, None), (F(1, 32), 4, None),
])
def test_meter_for_a_bar_length_uses_the_asked_denominator_or_finer(length, den, meter):
    assert meter_for_length(length, den) == meter
