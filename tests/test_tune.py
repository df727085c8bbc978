"""The Tune type and key signatures: bar addressing, edits, immutability, ties, transposition."""
from dataclasses import FrozenInstanceError
from fractions import Fraction as F

import pytest

from st4rt_repl.keys import altered_letters, key_signature, spelled_signature, transpose_key
from st4rt_repl.tune import Bar, Key, Note, Tune, TuneError, MODES, PITCH_CLASS


def _jig(pickup=True):
    """A 6/8 tune: pickup (bar 0) then four bars, each starting on a distinct pitch."""
    bars = [[(64, F(1, 2))]] if pickup else []
    for p in (69, 71, 72, 74):
        bars.append([(p, 1), (p + 2, F(1, 2)), (p + 4, F(3, 2))])
    return Tune.from_bars(bars, meter=(6, 8), key=Key("A", "dorian"), pickup=pickup, title="Jig")


def test_bar_numbers_with_pickup():
    t = _jig()
    assert t.num_bars == 4
    assert t.bar_numbers() == [0, 1, 2, 3, 4]
    assert t.bar(0).notes[0].pitch == 64
    assert [t.bar(k).notes[0].pitch for k in (1, 2, 3, 4)] == [69, 71, 72, 74]
    assert t.pickup_length == F(1, 2)


def test_bar_numbers_without_pickup():
    t = _jig(pickup=False)
    assert t.num_bars == 4 and t.bar_numbers() == [1, 2, 3, 4]
    assert t.pickup_length == 0
    with pytest.raises(TuneError, match="no pickup"):
        t.bar(0)


def test_negative_bar_numbers_count_from_the_end():
    t = _jig()
    assert t.bar(-1) == t.bar(4)
    assert t.bar(-4) == t.bar(1)
    assert t.bar(-5) == t.bar(0)          # like Python indexing: the first stored bar
    with pytest.raises(TuneError, match="bar -6 does not exist"):
        t.bar(-6)
    with pytest.raises(TuneError, match="bar -5 does not exist"):
        _jig(pickup=False).bar(-5)
    with pytest.raises(TuneError, match="does not exist: the tune has 4 bars"):
        t.bar(5)


def test_replace_bars_changes_count_and_keeps_original():
    t = _jig()
    new = t.replace_bars(2, 3, [t.bar(1)])
    assert new.num_bars == 3
    assert [new.bar(k).notes[0].pitch for k in (1, 2, 3)] == [69, 69, 74]
    assert [t.bar(k).notes[0].pitch for k in (1, 2, 3, 4)] == [69, 71, 72, 74]   # unchanged
    grown = t.replace_bars(4, 4, [t.bar(1), t.bar(2)])
    assert grown.num_bars == 5 and grown.bar(-1) == t.bar(2)
    with pytest.raises(TuneError, match="empty"):
        t.replace_bars(3, 2, [])


def test_replace_pickup_and_append():
    t = _jig()
    new = t.replace_bars(0, 0, [Bar((Note(62, F(1, 2)),), (6, 8))])
    assert new.bar(0).notes[0].pitch == 62 and new.pickup
    longer = t.append_bars([t.bar(1)])
    assert longer.num_bars == 5 and longer.bar(5) == t.bar(1) and t.num_bars == 4


def test_slice_bars():
    t = _jig()
    mid = t.slice_bars(2, 3)
    assert not mid.pickup and mid.num_bars == 2 and mid.bar(1) == t.bar(2)
    head = t.slice_bars(0, 1)
    assert head.pickup and head.num_bars == 1 and head.bar(0) == t.bar(0)
    assert mid.key == t.key and mid.meter == t.meter and mid.title == t.title


def test_immutability():
    t = _jig()
    with pytest.raises(FrozenInstanceError):
        t.title = "x"
    with pytest.raises(FrozenInstanceError):
        t.bars[1].notes[0].pitch = 1
    with pytest.raises((TypeError, AttributeError)):
        t.bars[1].notes[0] = Note(60, 1)
    assert t.with_(title="New").title == "New" and t.title == "Jig"


def test_note_validation_and_fractions():
    assert Note(60, "1/3").duration == F(1, 3)
    with pytest.raises(TuneError, match="positive"):
        Note(60, 0)
    assert Bar((Note(60, F(1, 3)),) * 3, (1, 4)).is_full
    assert Bar((Note(60, 1),), (6, 8)).expected == 3


def test_notes_and_duration():
    t = _jig()
    onsets = [on for on, _ in t.notes()]
    assert onsets[:4] == [0, F(1, 2), F(3, 2), 2]
    assert t.duration == F(1, 2) + 4 * 3


def test_sounding_merges_ties_across_bars_and_drops_rests():
    t = Tune.from_bars([[(60, 1), (62, 1, True)], [(62, 2, True)], [(62, 1), (None, 1)],
                        [(64, 1, True), (None, 1)]], meter=(2, 4))
    assert t.sounding() == [(0, 1, 60), (1, 4, 62), (6, 1, 64)]


def test_sounding_does_not_merge_tie_to_other_pitch():
    t = Tune.from_bars([[(60, 1, True), (62, 1)]], meter=(2, 4))
    assert t.sounding() == [(0, 1, 60), (1, 1, 62)]


def test_transpose_moves_pitches_and_key():
    t = _jig()
    up = t.transpose(2)
    assert up.key == Key("B", "dorian")
    assert [n.pitch for n in up.bar(1).notes] == [71, 73, 75]
    down = t.transpose(-2)
    assert down.key == Key("G", "dorian") and key_signature(down.key) == -1
    assert t.transpose(12).key == t.key
    assert t.transpose(0) == t


def test_transpose_key_spelling():
    assert transpose_key(Key("D", "major"), 1) == Key("Eb", "major")
    assert transpose_key(Key("E", "minor"), 2) == Key("F#", "minor")
    assert transpose_key(Key("A", "mixolydian"), -4) == Key("F", "mixolydian")


def test_key_validation():
    with pytest.raises(TuneError, match="tonic"):
        Key("H", "major")
    with pytest.raises(TuneError, match="mode"):
        Key("C", "ionianish")
    assert str(Key("Bb", "dorian")) == "Bb dorian"


@pytest.mark.parametrize("key,sig", [
    (Key("C", "major"), 0), (Key("A", "minor"), 0), (Key("D", "major"), 2), (Key("A", "dorian"), 1),
    (Key("E", "dorian"), 2), (Key("G", "mixolydian"), 0), (Key("F", "major"), -1),
    (Key("C#", "major"), 7), (Key("Cb", "major"), -7), (Key("B", "lydian"), 6),
    (Key("Gb", "lydian"), -5), (Key("F#", "locrian"), 1), (Key("Bb", "minor"), -5),
])
def test_key_signature(key, sig):
    assert key_signature(key) == sig


def test_key_signature_follows_tonic_spelling_and_stays_in_range():
    # Enharmonic pairs differ in signature by 12 fifths.
    assert key_signature(Key("F#", "major")) == 6 and key_signature(Key("Gb", "major")) == -6
    assert key_signature(Key("B", "major")) == 5 and key_signature(Key("Cb", "major")) == -7
    # Spellings that would need more than 7 fall back to the simplest enharmonic.
    assert spelled_signature(Key("Cb", "dorian")) == -9 and key_signature(Key("Cb", "dorian")) == 3
    for tonic in PITCH_CLASS:
        for mode in MODES:
            assert -7 <= key_signature(Key(tonic, mode)) <= 7


def test_altered_letters():
    assert altered_letters(Key("D", "major")) == {"F": 1, "C": 1}
    assert altered_letters(Key("Bb", "major")) == {"B": -1, "E": -1}
    assert altered_letters(Key("A", "minor")) == {}
    assert len(altered_letters(Key("C#", "major"))) == 7
