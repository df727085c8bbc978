"""ABC import: repeats, parts, endings, accidentals, overlays, rhythm and bad input.

Each musical test is a small hand-written tune whose melody is known; the
expected notes follow abc2midi (the reference implementation), which
tests/test_abc_vs_abc2midi.py checks on real tunes.
"""
from __future__ import annotations

import random
import re
from fractions import Fraction
from pathlib import Path

import pytest

from st4rt_repl.formats import InputError, ReaderBug, load, parse_abc_text
from st4rt_repl.formats.abc_in import (MAX_TUNE_CHARS, PARSER_VERSION, parse_key, read_abc_file,
                                       read_abc_text, split_tunes)
from st4rt_repl.tune import Key, TuneError

HEAD = "X:1\nT:Test\nM:4/4\nL:1/4\nK:C\n"
NAME = {n: i for i, n in enumerate("C ^C D ^D E F ^F G ^G A ^A B".split())}


def midi(name: str) -> int:
    """'C4' -> 60, '^F5' -> 78, '_E4' -> 63."""
    m = re.fullmatch(r"([_^]?)([A-G])(-?\d)", name)
    acc, letter, octave = m.groups()
    return 12 * (int(octave) + 1) + NAME[letter] + {"": 0, "^": 1, "_": -1}[acc]


def pitches(body: str, head: str = HEAD) -> list[int]:
    """The pitches heard (repeats unfolded, ties merged, rests dropped) for a tune body."""
    return [p for _, _, p in read_abc_text(head + body + "\n").tune.performed().sounding()]


def names(*ns: str) -> list[int]:
    return [midi(n) for n in " ".join(ns).split()]


def heard(body: str, head: str = HEAD) -> list[tuple[str, int]]:
    """(duration as a string, pitch) of each note heard (repeats unfolded)."""
    return [(str(d), p) for _, d, p in read_abc_text(head + body + "\n").tune.performed().sounding()]


# ----- (a) repeats, parts and endings ------------------------------------------------

def test_simple_repeat_and_first_second_endings():
    assert pitches("|:C D E F:|") == names("C4 D4 E4 F4") * 2
    assert pitches("|:C D|1 E F:|2 G A|]") == names("C4 D4 E4 F4 C4 D4 G4 A4")
    assert pitches("|:C D|[1 E F:|[2 G A|]") == names("C4 D4 E4 F4 C4 D4 G4 A4")


def test_end_repeat_without_start_repeats_from_the_previous_end_repeat():
    # music21 goes back to the tune's start for the second ':|'
    assert pitches("C D E F:|G A B c:|") == names("C4 D4 E4 F4 C4 D4 E4 F4 G4 A4 B4 C5 G4 A4 B4 C5")


def test_end_repeat_after_a_double_bar_repeats_from_the_double_bar():
    body = "|:C D E F:|G A B c||d e f g:|"
    assert pitches(body) == names("C4 D4 E4 F4") * 2 + names("G4 A4 B4 C5") + names("D5 E5 F5 G5") * 2


def test_first_end_repeat_without_start_repeats_from_the_beginning():
    assert pitches("C D|E F||G A|B c:|") == names("C4 D4 E4 F4 G4 A4 B4 C5") * 2


def test_double_repeat_keeps_the_note_before_it():
    # (c) music21 used to drop the F before '::'
    assert pitches("|:C D E F::G A B c:|") == (names("C4 D4 E4 F4") * 2 + names("G4 A4 B4 C5") * 2)
    assert pitches("C D::E F:|") == names("C4 D4 C4 D4 E4 F4 E4 F4")


def test_multi_pass_endings():
    body = "|:C D|[1,3 E F:|[2,4 G A:|"
    assert pitches(body) == names("C4 D4 E4 F4 C4 D4 G4 A4 C4 D4 E4 F4 C4 D4 G4 A4")
    body = "|:C D|[1-3 E F:|[4 G A:|"
    assert pitches(body) == names("C4 D4 E4 F4") * 3 + names("C4 D4 G4 A4")


def test_part_order_in_the_header():
    head = "X:1\nT:Parts\nM:4/4\nL:1/4\nP:AABAB\nK:C\n"
    body = "P:A\nC D E F|\nP:B\nG A B c|"
    a, b = names("C4 D4 E4 F4"), names("G4 A4 B4 C5")
    assert pitches(body, head) == a + a + b + a + b


def test_part_order_with_groups_and_repeats_inside_parts():
    head = "X:1\nT:Parts\nM:4/4\nL:1/4\nP:A(BA)2\nK:C\n"
    body = "P:A\n|:C D E F:|\nP:B\nG A B c|"
    a, b = names("C4 D4 E4 F4") * 2, names("G4 A4 B4 C5")
    assert pitches(body, head) == a + b + a + b + a


def test_parts_without_an_order_play_as_written():
    body = "P:A\nC D E F|\nP:B\nG A B c|"
    assert pitches(body) == names("C4 D4 E4 F4 G4 A4 B4 C5")


def test_header_part_order_ignores_its_comment():
    head = "X:1\nT:Parts\nM:4/4\nL:1/4\nP:ABA % Aird uses a da capo\nK:C\n"
    body = "P:A\nC D E F|\nP:B\nG A B c|"
    a, b = names("C4 D4 E4 F4"), names("G4 A4 B4 C5")
    assert pitches(body, head) == a + b + a


def test_written_bars_are_counted_once_and_performed_bars_unfold():
    head = "X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\n"
    body = "A|:d2 fd A2 FA|d2 fd e4|d2 fd A2 FA|1 B2 GB A3 A:|2 B2 GB A4||"
    t = read_abc_text(head + body + "\n").tune
    assert t.pickup and t.bar(0).notes[0].pitch == midi("A4")
    assert t.num_bars == 5                        # as written: 3 bars + two endings
    assert t.bar(1).repeat_start and t.bar(4).barline == ":|" and t.bar(5).barline == "||"
    assert (t.bar(4).ending, t.bar(5).ending) == ("1", "2")
    assert t.played_order() == [0, 1, 2, 3, 4, 1, 2, 3, 5]
    heard = t.performed()
    assert heard.pickup and heard.num_bars == 8
    assert all(b.is_full for b in heard.bars[1:])


# ----- (b) accidentals ----------------------------------------------------------------

def test_accidental_holds_to_the_end_of_the_bar():
    assert pitches("_E E E E|E4|") == names("_E4 _E4 _E4 _E4 E4")
    assert pitches("^F F =F F|") == names("^F4 ^F4 F4 F4")


def test_accidental_applies_to_the_same_letter_in_other_octaves_like_abc2midi():
    assert pitches("_E e E e|") == names("_E4 _E5 _E4 _E5")


def test_propagate_accidentals_directive():
    head = "X:1\nT:Test\nM:4/4\nL:1/4\n%%propagate-accidentals octave\nK:C\n"
    assert pitches("_E e E e|", head) == names("_E4 E5 _E4 E5")
    head = "X:1\nT:Test\nM:4/4\nL:1/4\n%%propagate-accidentals not\nK:C\n"
    assert pitches("_E E E E|", head) == names("_E4 E4 E4 E4")


def test_key_signature_and_naturals():
    head = "X:1\nT:Test\nM:4/4\nL:1/4\nK:Bb\n"
    assert pitches("B E =B B|B e A a|", head) == names("_B4 _E4 B4 B4 _B4 _E5 A4 A5")
    head = "X:1\nT:Test\nM:4/4\nL:1/4\nK:Ador\n"
    assert pitches("F C G B|", head) == names("^F4 C4 G4 B4")
    head = "X:1\nT:Test\nM:4/4\nL:1/4\nK:D exp _b\n"
    assert pitches("F C B b|", head) == names("F4 C4 _B4 _B5")


def test_tie_carries_the_accidental_across_the_barline():
    t = read_abc_text(HEAD + "C D E ^F-|F G A B|\n").tune
    assert t.bar(1).notes[-1].pitch == midi("^F4") and t.bar(1).notes[-1].tie
    assert t.bar(2).notes[0].pitch == midi("^F4")
    assert pitches("C D E ^F-|F G A F|") == names("C4 D4 E4 ^F4 G4 A4 F4")


def test_inline_and_line_key_changes():
    assert pitches("F F [K:G] F F|F4|") == names("F4 F4 ^F4 ^F4 ^F4")
    assert pitches("F4|\nK:D\nF C F C|") == names("F4 ^F4 ^C4 ^F4 ^C4")
    t = read_abc_text(HEAD + "F4|\nK:D\nF C F C|\n").tune
    assert t.key == Key("C", "major")          # the tune's key is the header's


# ----- (d) overlays and voices ----------------------------------------------------------

def test_voice_overlay_is_dropped():
    assert pitches("C D E F & c d e f|G4|") == names("C4 D4 E4 F4 G4")


def test_only_the_first_voice_is_kept():
    head = "X:1\nT:Two voices\nM:4/4\nL:1/4\nV:1\nV:2\nK:C\n"
    body = "V:1\nC D E F|G4|\nV:2\nc d e f|g4|\nV:1\nA B c d|"
    assert pitches(body, head) == names("C4 D4 E4 F4 G4 A4 B4 C5 D5")
    body = "[V:1] C D E F|\n[V:2] c d e f|\n[V:1] G A B c|"
    assert pitches(body, head) == names("C4 D4 E4 F4 G4 A4 B4 C5")


# ----- rhythm ------------------------------------------------------------------------

def test_ties_merge_and_grace_notes_decorations_and_chord_symbols_are_dropped():
    assert heard('C2- C D|"G"{ag}~E .F !trill!G HA|') == [
        ("3", 60), ("1", 62), ("1", 64), ("1", 65), ("1", 67), ("1", 69)]


def test_tie_to_a_different_pitch_is_not_a_tie():
    t = read_abc_text(HEAD + "C3-D|E4|\n").tune
    assert [(n.pitch, n.tie) for n in t.bar(1).notes] == [(60, False), (62, False)]


def test_broken_rhythm_tuplets_and_lengths():
    head = "X:1\nT:Test\nM:4/4\nL:1/8\nK:C\n"
    assert heard("C>D E<F G>>A (3Bcd|", head) == [
        ("3/4", 60), ("1/4", 62), ("1/4", 64), ("3/4", 65), ("7/8", 67), ("1/8", 69),
        ("1/3", 71), ("1/3", 72), ("1/3", 74)]
    assert heard("C/ D// E3/2 F3/ G2 (3:2:4A/B/c/d/ z|", head)[:5] == [
        ("1/4", 60), ("1/8", 62), ("3/4", 64), ("3/4", 65), ("1", 67)]


def test_broken_rhythm_needs_equal_lengths_as_in_abc2midi():
    head = "X:1\nT:Test\nM:4/4\nL:1/8\nK:C\n"
    assert heard("C2>D E2 (3FGA>B z|", head) == [
        ("1", 60), ("1/2", 62), ("1", 64), ("1/3", 65), ("1/3", 67), ("1/3", 69), ("1/2", 71)]


def test_chords_keep_their_top_note():
    assert heard("[CEG] [C2E2]2 [EG]/ z/ [FA]|") == [("1", 67), ("2", 64), ("1/2", 67), ("1", 69)]


def test_inline_meter_change_sets_each_bars_meter():
    head = "X:1\nT:Meters\nM:3/4\nL:1/4\nK:C\n"
    t = read_abc_text(head + "C D E|F G A|[M:2/4] B c|d e|\nM:3/4\nf g a|\n").tune
    assert [b.meter for b in t.bars] == [(3, 4), (3, 4), (2, 4), (2, 4), (3, 4)]
    assert all(b.is_full for b in t.bars)


def test_unit_length_changes_mid_tune():
    assert heard("C D E F|\nL:1/8\nC D E F G A B c|")[3:6] == [("1", 65), ("1/2", 60), ("1/2", 62)]


def test_multi_measure_rest_and_free_meter():
    t = read_abc_text("X:1\nT:t\nM:2/4\nL:1/8\nK:C\nZ2|C2D2|\n").tune
    assert t.num_bars == 3 and t.bar(3).notes[0].pitch == 60
    t = read_abc_text("X:1\nT:t\nM:none\nL:1/4\nK:C\nC D E | F G A B c D | E2 |\n").tune
    assert [n.pitch for _, n in t.notes()] == names("C4 D4 E4 F4 G4 A4 B4 C5 D4 E4")


# ----- metadata --------------------------------------------------------------------------

def test_title_key_meter_and_tempo():
    t = read_abc_text("X:3\nT:The Mason's Apron\nT:Other\nM:C|\nL:1/8\nQ:1/2=100\nK:A Mixolydian\nA8|\n").tune
    assert (t.title, t.key, t.meter, t.tempo) == ("The Mason's Apron", Key("A", "mixolydian"), (2, 2), 200)
    assert read_abc_text("X:1\nT:j\nM:6/8\nQ:3/8=120\nK:Em\nE3 E3|\n").tune.tempo == 180


@pytest.mark.parametrize("value,key", [
    ("G", Key("G", "major")), ("Em", Key("E", "minor")), ("E Minor", Key("E", "minor")),
    ("F#m", Key("F#", "minor")), ("Bb", Key("Bb", "major")), ("Dmix", Key("D", "mixolydian")),
    ("A dor bass", Key("A", "dorian")), ("HP", Key("A", "mixolydian")), ("none", Key("C", "major")),
    ("EM", Key("E", "minor")),   # abc2midi reads a capital M as minor too
])
def test_key_field_variants(value, key):
    assert parse_key(value)[0] == key


def test_unknown_mode_is_read_as_major_and_said():
    r = read_abc_text("X:1\nT:t\nK:Gxyz\nG4|\n")
    assert r.tune.key == Key("G", "major") and "unknown mode 'xyz'" in r.message


def test_title_escapes_and_latin1_file(tmp_path):
    path = tmp_path / "eamonn.abc"
    path.write_bytes("X:1\nT:Éamonn an Chnoic\nM:3/4\nK:G\nG2 A2 B2|\n".encode("latin-1"))
    assert read_abc_file(path).tune.title == "Éamonn an Chnoic"
    assert load(path).tune.title == "Éamonn an Chnoic"
    t = read_abc_text("X:1\nT:La Nov\\'ell\\'e Hol\\'endoise\nK:C\nC4|\n").tune
    assert t.title == "La Novéllé Holéndoise"


# ----- files with several tunes ----------------------------------------------------------

BOOK = ("% a tune book\n\nX:1\nT:First Tune\nK:C\nC4|\n\n"
        "X:2\nT:Second Tune\nK:D\nD4|\n\nX:7\nT:Third Tune\nK:E\nE4|\n")


def test_choose_a_tune_by_number_or_title():
    assert read_abc_text(BOOK).tune.title == "First Tune"
    r = read_abc_text(BOOK, tune=7)
    assert (r.tune.title, r.message) == ("Third Tune", "tune 3 of 3: Third Tune")
    assert read_abc_text(BOOK, tune="second tune").tune.key == Key("D", "major")
    assert read_abc_text(BOOK).message == "tune 1 of 3: First Tune"
    with pytest.raises(InputError, match="no tune with X:9"):
        read_abc_text(BOOK, tune=9)


def test_split_tunes_reports_line_numbers():
    assert [line for line, _ in split_tunes(BOOK)] == [3, 8, 13]


def test_real_tune_book():
    from music21 import corpus
    path = next(p for p in corpus.getPaths(fileExtensions=("abc",)) if p.name == "0001-0050.abc")
    count = len(re.findall(r"^X:", Path(path).read_text(encoding="latin-1"), re.M))
    r = read_abc_file(path)
    assert r.message == f"tune 1 of {count}: The Enchanted Valley"
    assert r.tune.key == Key("G", "minor") and r.tune.meter == (2, 4)


# ----- bad input ---------------------------------------------------------------------------

def test_empty_input():
    with pytest.raises(InputError, match="empty"):
        read_abc_text("  \n\n", source="empty.abc")


def test_missing_key_field_points_at_the_tune():
    with pytest.raises(InputError) as e:
        read_abc_text("%c\nX:1\nT:No key\nM:4/4\nC D E F|\n", source="nokey.abc")
    assert str(e.value) == "nokey.abc:2: no K: (key) field: an ABC tune's header ends with K:"


def test_unknown_key_points_at_line_and_column():
    with pytest.raises(InputError) as e:
        read_abc_text("X:1\nT:Bad\nM:4/4\nK:Hmaj\nC D E F|\n", source="bad.abc")
    assert str(e.value).startswith("bad.abc:4:3: unknown key 'Hmaj'")
    with pytest.raises(InputError) as e:
        read_abc_text("X:1\nT:Bad\nK:C\nC D [K:Zb] E F|\n", source="bad.abc")
    assert str(e.value).startswith("bad.abc:4:8: unknown key 'Zb'")
    with pytest.raises(InputError, match=r"^t.abc:5:4: unknown key"):
        read_abc_text("X:1\nT:Bad\nK:C\nC D E F|\nK: q\nC4|\n", source="t.abc")


def test_binary_junk(tmp_path):
    rng = random.Random(7)
    path = tmp_path / "junk.abc"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(4096)) + b"\x00")
    with pytest.raises(InputError, match="binary data"):
        load(path)
    with pytest.raises(InputError, match="no K:"):
        read_abc_text("".join(chr(rng.randrange(33, 127)) for _ in range(2000)).replace("K", "k"))


def test_a_ten_megabyte_paste():
    tune = "X:{}\nT:Tune {}\nM:4/4\nL:1/8\nK:G\n" + "GABc dedB|" * 20 + "\n\n"
    book = "".join(tune.format(i, i) for i in range(1, 10_000_000 // len(tune) + 2))
    assert len(book) > 10_000_000
    r = read_abc_text(book, tune=4000)
    assert r.tune.title == "Tune 4000" and r.message.startswith("tune 4000 of ")
    one_huge_tune = "X:1\nT:Huge\nK:C\n" + "CDEF GABc|" * 1_000_000
    with pytest.raises(InputError, match="too large"):
        read_abc_text(one_huge_tune)
    assert len(one_huge_tune) > MAX_TUNE_CHARS


def test_runaway_repeats_are_refused():
    """A tune whose repeats unfold past MAX_PLAYED_NOTES is refused with one line;
    the same bars without the repeat (half the notes) are read."""
    from st4rt_repl.form import MAX_PLAYED_NOTES
    bars = MAX_PLAYED_NOTES // 8 + 10            # 4 notes a bar, heard twice: just past the limit
    lines = "\n".join("C D E F|" * 10 for _ in range(bars // 10))
    played = 2 * 4 * (bars // 10) * 10
    assert played > MAX_PLAYED_NOTES and len(HEAD + lines) < MAX_TUNE_CHARS
    with pytest.raises(InputError) as e:
        read_abc_text(HEAD + "|:" + lines + ":|\n")
    assert f"unfolds to {played:,} notes (the limit is {MAX_PLAYED_NOTES:,})" in str(e.value)
    assert "\n" not in str(e.value)
    t = read_abc_text(HEAD + lines + "\n").tune
    assert len(t.performed().sounding()) == played // 2


def _internal(e: BaseException) -> BaseException | None:
    """The bug behind an error, if it is one: a ReaderBug (the reader's catch-all:
    "internal error ... please report"), an exception that is not a TuneError, or a
    TuneError chained (`from`) to one."""
    if isinstance(e, ReaderBug) or not isinstance(e, TuneError):
        return e
    cause = e.__cause__
    return cause if cause is not None and not isinstance(cause, TuneError) else None


def test_an_internal_error_is_not_taken_for_bad_input(monkeypatch):
    """The fuzz test below can fail: a bug inside the reader is noticed, not hidden."""
    from st4rt_repl.formats import abc_in

    def broken(*a, **k):
        raise KeyError("a reader bug")
    monkeypatch.setattr(abc_in, "parse_tune", broken)
    with pytest.raises(Exception) as e:
        read_abc_text(HEAD + "C D E F|\n")
    assert _internal(e.value) is not None
    assert "internal error" in str(e.value) and "please report" in str(e.value)
    monkeypatch.undo()
    with pytest.raises(InputError) as e:
        read_abc_text("X:1\nT:t\nK:Hmaj\nC|\n")
    assert _internal(e.value) is None


def test_the_reader_never_crashes_on_mangled_tunes():
    # every failure is an InputError/TuneError with a one-line message, never a bug
    from st4rt_repl.formats import abc_reference
    rng = random.Random(11)
    tunes = abc_reference.sample_tunes(4, seed=5)
    alphabet = "|:[]()<>-{}!+\"&^_=,'/0123456789ABCDEFGabcdefgzxZKLMPV\n %"
    outcomes = {"read": 0, "refused": 0}
    for t in tunes:
        for _ in range(15):
            chars = list(t.text)
            for _ in range(rng.randrange(1, 40)):
                i = rng.randrange(len(chars))
                chars[i] = rng.choice(alphabet)
            text = "".join(chars)
            try:
                r = read_abc_text(text)
                r.tune.performed()
            except Exception as e:   # noqa: BLE001 - judged below: bad input or a bug
                assert _internal(e) is None, f"internal error {_internal(e)!r} on {text!r}"
                assert str(e) and "\n" not in str(e)
                outcomes["refused"] += 1
            else:
                assert r.tune.bars
                outcomes["read"] += 1
    assert outcomes["read"] > 0 and outcomes["refused"] > 0, outcomes   # both paths exercised


def test_parser_version_is_a_string():
    assert isinstance(PARSER_VERSION, str) and PARSER_VERSION


def test_parse_abc_text_facade():
    r = parse_abc_text("X:1\nT:Scale\nM:4/4\nL:1/8\nK:G\nGABc defg|g8|]\n")
    assert r.tune.num_bars == 2 and r.tune.bar(2).notes[0].duration == Fraction(4)
