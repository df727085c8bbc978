"""MIDI and MusicXML: round trips (notes, bars, meter, key, tempo, pickup), melody
extraction from polyphonic MIDI, quantisation of played MIDI, abc2midi's MIDI read back."""
import io
import random
from fractions import Fraction as F

import mido
import pytest

from st4rt_repl.formats import abc2midi, load, parse_abc_text, save
from st4rt_repl.formats.midi import TICKS_PER_QUARTER, midi_bytes, read_midi, write_midi
from st4rt_repl.formats.musicxml import read_musicxml, write_musicxml
from st4rt_repl.keys import key_signature
from st4rt_repl.tune import Bar, Key, Note, Tune

JIG = """X:1
T:The Kesh
M:6/8
L:1/8
Q:3/8=100
K:G
D|GAG GAB|ABA ABd|edd gdd|edB dBA|
GAG GAB|ABA ABd|(3edc B A2G|B2A G2|]
"""


def _tune():
    """A hand-built tune with a pickup, a mode, a triplet, a tie over a barline, a rest."""
    return Tune.from_bars(
        [[(64, F(1, 2))],
         [(69, 1), (71, F(1, 2)), (72, 1), (74, F(1, 2))],
         [(76, F(1, 3)), (77, F(1, 3)), (79, F(1, 3)), (81, F(1, 2)), (None, F(1, 2)), (79, 1, True)],
         [(79, F(3, 2)), (76, 1), (74, F(1, 2))],
         [(69, F(5, 2))]],
        meter=(6, 8), key=Key("A", "dorian"), title="Dorian Jig", tempo=88, pickup=True)


def _unspelled(t: Tune) -> Tune:
    """The tune with its written spellings dropped (MIDI has none)."""
    from dataclasses import replace
    return t.with_(bars=tuple(b.with_notes(replace(n, letter="") for n in b.notes) for b in t.bars))


def _ended(t: Tune) -> Tune:
    """The tune with a final barline (MusicXML files end with one)."""
    return t.with_bar(-1, barline="|]") if t.bars[-1].barline == "|" else t


def _same_tune(a: Tune, b: Tune):
    assert a.bars == b.bars
    assert (a.pickup, a.meter, a.key, a.tempo, a.title) == (b.pickup, b.meter, b.key, b.tempo, b.title)


# ----- MIDI writing --------------------------------------------------------------------

def test_midi_round_trip_keeps_everything(tmp_path):
    t = _tune()
    r = read_midi(write_midi(t, tmp_path / "jig.mid"))
    _same_tune(r.tune, t)
    assert r.message == "track 2 'Melody'"


def test_midi_file_contents(tmp_path):
    t = _tune()
    mid = mido.MidiFile(str(write_midi(t, tmp_path / "jig.mid", program=73)))
    assert mid.type == 1 and mid.ticks_per_beat == TICKS_PER_QUARTER
    meta = [m for m in mid.tracks[0] if m.is_meta]
    assert any(m.type == "set_tempo" and round(mido.tempo2bpm(m.tempo)) == 88 for m in meta)
    assert any(m.type == "key_signature" and m.key == "G" for m in meta)   # A dorian: 1 sharp
    # The pickup bar gets a 1/8 meter of its own, then 6/8 from bar 1.
    sigs = [(m.numerator, m.denominator) for m in meta if m.type == "time_signature"]
    assert sigs == [(1, 8), (6, 8)]
    melody = mid.tracks[1]
    assert [m.program for m in melody if m.type == "program_change"] == [73]
    now, ons = 0, []
    for m in melody:
        now += m.time
        if m.type == "note_on":
            ons.append((F(now, TICKS_PER_QUARTER), m.note))
    # The tied note (79) sounds once; the triplet is exact at 960 ticks a quarter.
    assert ons == [(on, p) for on, _, p in t.sounding()]
    assert sum(1 for _, p in ons if p == 79) == 2


def test_midi_bytes_and_bar_selection(tmp_path):
    t = _tune()
    assert midi_bytes(t) == write_midi(t, tmp_path / "a.mid").read_bytes()
    part = mido.MidiFile(file=io.BytesIO(midi_bytes(t, bars=(2, 3), tempo=60)))
    notes = [m.note for m in part.tracks[1] if m.type == "note_on"]
    assert notes == [76, 77, 79, 81, 79, 76, 74]
    assert [round(mido.tempo2bpm(m.tempo)) for m in part.tracks[0] if m.type == "set_tempo"] == [60]


def test_midi_meter_changes_round_trip(tmp_path):
    bars = [Bar((Note(67, 2),), (2, 4)), Bar((Note(69, 3),), (3, 4)), Bar((Note(71, 1), Note(72, 1)), (2, 4))]
    t = Tune(tuple(bars), (2, 4), Key("G", "major"), title="Changes")
    back = read_midi(write_midi(t, tmp_path / "m.mid")).tune
    assert back.bars == t.bars and [b.meter for b in back.bars] == [(2, 4), (3, 4), (2, 4)]


def test_midi_round_trip_of_real_tune(tmp_path):
    t = parse_abc_text(JIG).tune
    back = load(save(t, tmp_path / "kesh.mid")).tune
    _same_tune(back, _unspelled(t.performed()))


@pytest.mark.parametrize("seed", [7])
def test_midi_and_musicxml_round_trip_random_tunes(tmp_path, seed):
    from test_abc_out import _random_tune
    rng = random.Random(seed)
    for k in range(40):
        t = _random_tune(rng, k)
        back = read_midi(write_midi(t, tmp_path / "r.mid")).tune
        assert back.sounding() == t.sounding(), k
        assert back.pickup == t.pickup and back.num_bars == t.num_bars, k
        if k % 4 == 0:    # music21 is slower: a quarter of them
            back = read_musicxml(write_musicxml(t, tmp_path / "r.musicxml")).tune
            assert back.sounding() == t.sounding(), k
            assert key_signature(back.key) == key_signature(t.key) and back.key.mode == t.key.mode


# ----- MIDI reading: melody extraction -----------------------------------------------

def _track(name, channel, notes, program=0):
    """A mido track: notes are (onset quarter, duration quarter, pitch), 480 ticks a quarter."""
    tr = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0),
                         mido.Message("program_change", program=program, channel=channel, time=0)])
    events = []
    for on, d, p in notes:
        events.append((round(on * 480), 1, p))
        events.append((round((on + d) * 480), 0, p))
    now = 0
    for tick, kind, p in sorted(events):
        tr.append(mido.Message("note_on" if kind else "note_off", note=p, velocity=80 if kind else 0,
                               channel=channel, time=tick - now))
        now = tick
    return tr


def _file(tracks, meta=()):
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(mido.MidiTrack([*meta, mido.MetaMessage("end_of_track", time=0)]))
    mid.tracks.extend(tracks)
    return mid


MELODY = [(0, 1, 74), (1, 1, 76), (2, 1, 78), (3, 1, 79), (4, 2, 81), (6, 2, 74)]


def test_polyphonic_file_gives_top_voice_of_melody_track(tmp_path):
    bass = _track("Bass", 1, [(k * 2, 2, 38 + (k % 2) * 7) for k in range(4)], program=33)
    # The flute track plays the melody with a harmony a third below (two voices).
    flute = _track("Flute", 0, MELODY + [(on, d, p - 4) for on, d, p in MELODY], program=73)
    drums = _track("Drums", 9, [(k, F(1, 2), 36 + 6 * (k % 2)) for k in range(8)])
    meta = [mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
            mido.MetaMessage("key_signature", key="D", time=0)]
    path = tmp_path / "band.mid"
    _file([bass, drums, flute], meta).save(str(path))
    r = read_midi(path)
    assert r.tune.sounding() == [(F(on), F(d), p) for on, d, p in MELODY]
    assert r.message.startswith("track 4 'Flute', top voice of 2")
    assert r.tune.key == Key("D", "major") and r.tune.meter == (4, 4) and r.tune.num_bars == 2


def test_skyline_keeps_held_high_note_over_moving_lower_notes(tmp_path):
    notes = [(0, 4, 79), (0, 1, 67), (1, 1, 69), (2, 1, 71), (3, 1, 72), (4, 1, 74)]
    path = tmp_path / "piano.mid"
    _file([_track("Piano", 0, notes)]).save(str(path))
    assert read_midi(path).tune.sounding() == [(0, 4, 79), (4, 1, 74)]


def test_played_midi_is_quantised_and_key_estimated(tmp_path):
    rng = random.Random(3)
    jittered = [(on + F(rng.randint(0 if on == 0 else -20, 20), 480), d - F(rng.randint(0, 30), 480), p)
                for on, d, p in MELODY]
    path = tmp_path / "played.mid"
    _file([_track("Whistle", 0, jittered)]).save(str(path))   # no time or key signature
    r = read_midi(path)
    assert r.tune.sounding() == [(F(on), F(d), p) for on, d, p in MELODY]
    assert r.tune.meter == (4, 4)
    assert r.tune.key == Key("D", "major")
    assert "quantised to 16ths" in r.message and "estimated" in r.message


def test_type0_file_picks_the_melody_channel(tmp_path):
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    merged = mido.merge_tracks([_track("", 2, [(k, 1, 43) for k in range(8)]), _track("", 0, MELODY)])
    mid.tracks.append(merged)
    path = tmp_path / "type0.mid"
    mid.save(str(path))
    r = read_midi(path)
    assert r.tune.sounding() == [(F(on), F(d), p) for on, d, p in MELODY]
    assert "channel 1" in r.message


@pytest.mark.skipif(not abc2midi.available(), reason="abc2midi not installed")
def test_abc2midi_output_reads_back_as_the_same_tune(tmp_path):
    """abc2midi's MIDI (one-tick-late note-ons, its own meta events) reads back exactly."""
    import subprocess
    src = tmp_path / "kesh.abc"
    src.write_text(JIG)
    subprocess.run(["abc2midi", str(src), "-o", str(tmp_path / "kesh.mid")], capture_output=True, check=True)
    r = read_midi(tmp_path / "kesh.mid")
    t = parse_abc_text(JIG).tune
    assert r.tune.sounding() == t.sounding()
    assert r.tune.meter == (6, 8) and r.tune.key == Key("G", "major") and r.tune.tempo == 150


# ----- MusicXML ------------------------------------------------------------------------

@pytest.mark.parametrize("ext", [".musicxml", ".xml", ".mxl"])
def test_musicxml_round_trip(tmp_path, ext):
    t = _tune()
    path = write_musicxml(t, tmp_path / f"jig{ext}")
    assert path.exists()
    if ext == ".mxl":
        assert path.read_bytes()[:2] == b"PK"          # compressed
    else:
        assert b"<score-partwise" in path.read_bytes()
    r = read_musicxml(path)
    _same_tune(_unspelled(r.tune), _ended(t))


def test_musicxml_spelling_and_key(tmp_path):
    t = Tune.from_bars([[(65, 1), (70, 1), (71, 1), (70, 1)]], meter=(4, 4), key=Key("F", "major"))
    text = write_musicxml(t, tmp_path / "f.musicxml").read_text()
    assert "<fifths>-1</fifths>" in text
    # Bb in key (no accidental mark needed, alter -1), then B natural, then Bb again.
    assert text.count("<alter>-1</alter>") == 2 and "<accidental>natural</accidental>" in text


def test_musicxml_of_real_tune_via_save_and_load(tmp_path):
    t = parse_abc_text(JIG).tune
    _same_tune(load(save(t, tmp_path / "kesh.musicxml")).tune, _ended(t))   # spellings kept


def test_musicxml_multi_part_reads_first_part(tmp_path):
    from music21 import converter
    from st4rt_repl.formats.musicxml import to_score
    a = to_score(_tune())
    b = to_score(_tune().transpose(-12))
    a.insert(0, b.parts[0])
    path = tmp_path / "two.musicxml"
    a.write("musicxml", fp=str(path))
    assert len(converter.parse(str(path)).parts) == 2
    r = read_musicxml(path)
    assert r.tune.sounding() == _tune().sounding()
    assert r.message == "part 1 'Melody' of 2"
