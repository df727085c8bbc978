"""Standard MIDI files in and out, with mido.

Writing: MIDI has no written form, so the file holds the melody as performed
(`Tune.performed`: repeats, endings and the ``P:`` order unfolded).  A type-1 file,
960 ticks a quarter (exact for 64ths, triplets and quintuplets; a multiple such as
6720 when the tune has 7-tuplets), a conductor track with tempo, key signatures
wherever the key changes (each with a ``key: A dorian`` text event, since MIDI knows
only major and minor), time signatures wherever the meter changes (a pickup gets a
meter of its own length and a ``pickup`` marker), one melody track with tied notes
merged into one sounding note and, when the tune has chord symbols (and
``chords=True``), a quiet "Chords" track on channel 2 playing each symbol as a block
chord (`chord_pitches`) for as long as it lasts.

Reading: see `read_midi`; key-signature events become key changes (`Bar.key`), and
`st4rt_repl.fold` finds the repeats the file cannot say.

>>> from st4rt_repl.tune import Tune, Key
>>> t = Tune.from_bars([[(62, 1), (64, 1, True)], [(64, 1), (None, 1)]], meter=(2, 4),
...                    key=Key('D', 'major'), tempo=100)
>>> import mido, io
>>> mid = mido.MidiFile(file=io.BytesIO(midi_bytes(t)))
>>> [(m.type, m.note, m.time) for m in mid.tracks[1] if m.type.startswith('note')]
[('note_on', 62, 0), ('note_off', 62, 960), ('note_on', 64, 0), ('note_off', 64, 1920)]
>>> from fractions import Fraction
>>> r = t.with_repeat(1, 2).with_bar(1, chords=((Fraction(0), "D"),))
>>> mid = mido.MidiFile(file=io.BytesIO(midi_bytes(r)))
>>> len([m for m in mid.tracks[1] if m.type == 'note_on']), [m.note for m in mid.tracks[2] if m.type == 'note_on']
(4, [50, 54, 57, 50, 54, 57])
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from st4rt_repl.keys import PITCH_CLASS, key_signature
from st4rt_repl.tune import Bar, Key, Note, Tune, meter_for_length

__all__ = ["write_midi", "midi_bytes", "read_midi", "TICKS_PER_QUARTER", "chord_pitches",
           "CHORD_PROGRAM", "CHORD_VELOCITY", "CHORD_CHANNEL"]

TICKS_PER_QUARTER = 960
VELOCITY = 90
CHORD_VELOCITY = 45       # the accompaniment sits well under the melody
CHORD_CHANNEL = 1         # MIDI channel 2
CHORD_PROGRAM = 24        # General MIDI nylon guitar
KEY_TEXT = "key: "        # text meta event that carries the mode (read back by read_midi)
# mido's key names by number of sharps (+) or flats (-) for major and minor.
_MAJOR = {-7: "Cb", -6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F", 0: "C",
          1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#"}
_MINOR = {-6: "Ebm", -5: "Bbm", -4: "Fm", -3: "Cm", -2: "Gm", -1: "Dm", 0: "Am", 1: "Em",
          2: "Bm", 3: "F#m", 4: "C#m", 5: "G#m", 6: "D#m", 7: "A#m", -7: "Abm"}


MAX_TICKS_PER_QUARTER = 0x7FFF   # the MIDI header's 15-bit limit
PICKUP_MARKER = "pickup"         # marker meta event: the first bar is a pickup


def _resolution(tune: Tune) -> int:
    """960 ticks a quarter, or a multiple that holds every onset exactly (7-tuplets: 6720)."""
    tpq = TICKS_PER_QUARTER
    for onset, n in tune.notes():
        for v in (onset, n.duration):
            if (v * tpq).denominator != 1:
                tpq = tpq * v.denominator // math.gcd(tpq, v.denominator)
    return tpq if tpq <= MAX_TICKS_PER_QUARTER else TICKS_PER_QUARTER


def _key_name(key: Key) -> str:
    """mido key name; modes other than minor are written as their signature's major key."""
    n = key_signature(key)
    return _MINOR[n] if key.mode == "minor" else _MAJOR[n]


# Chord qualities: intervals above the root.  The longest matching suffix wins.
_QUALITY = {"": (0, 4, 7), "maj": (0, 4, 7), "M": (0, 4, 7), "m": (0, 3, 7), "min": (0, 3, 7),
            "-": (0, 3, 7), "dim": (0, 3, 6), "o": (0, 3, 6), "°": (0, 3, 6), "aug": (0, 4, 8),
            "+": (0, 4, 8), "sus": (0, 5, 7), "sus4": (0, 5, 7), "sus2": (0, 2, 7),
            "5": (0, 7), "6": (0, 4, 7, 9), "m6": (0, 3, 7, 9), "7": (0, 4, 7, 10),
            "maj7": (0, 4, 7, 11), "M7": (0, 4, 7, 11), "m7": (0, 3, 7, 10), "min7": (0, 3, 7, 10),
            "m7b5": (0, 3, 6, 10), "ø": (0, 3, 6, 10), "dim7": (0, 3, 6, 9), "o7": (0, 3, 6, 9),
            "7sus4": (0, 5, 7, 10), "9": (0, 4, 7, 10, 14), "m9": (0, 3, 7, 10, 14),
            "maj9": (0, 4, 7, 11, 14), "add9": (0, 4, 7, 14), "aug7": (0, 4, 8, 10), "+7": (0, 4, 8, 10),
            "11": (0, 4, 7, 10, 17), "13": (0, 4, 7, 10, 21), "mM7": (0, 3, 7, 11)}
_ROOT = re.compile(r"^\(?([A-G])([#b]?)(.*?)(?:/([A-G])([#b]?))?\)?$")


def chord_pitches(symbol: str) -> tuple[int, ...]:
    """The MIDI pitches of a block chord for a chord symbol (root position from the
    octave below middle C, the bass an octave lower when written); () when unknown.

    >>> chord_pitches("G"), chord_pitches("D7"), chord_pitches("Am/E"), chord_pitches("N.C.")
    ((55, 59, 62), (50, 54, 57, 60), (40, 57, 60, 64), ())
    """
    m = _ROOT.match(symbol.strip())
    if not m:
        return ()
    root = PITCH_CLASS[m.group(1) + m.group(2)]
    quality = m.group(3)
    shape = _QUALITY.get(quality)
    if shape is None:       # "G7b9", "Dm(maj7)": the longest known head of the suffix
        head = max((q for q in _QUALITY if q and quality.startswith(q)), key=len, default="")
        shape = _QUALITY[head]
    base = 48 + (root - 48) % 12
    notes = tuple(base + i for i in shape)
    if m.group(4):
        bass = 36 + (PITCH_CLASS[m.group(4) + m.group(5)] - 36) % 12
        notes = (bass,) + notes
    return notes


def _played_keys(tune: Tune) -> list[tuple[Fraction, Key]]:
    """(onset, key) at the start and wherever the key changes (an unfolded tune)."""
    out: list[tuple[Fraction, Key]] = [(Fraction(0), tune.key)]
    t = Fraction(0)
    for bar in tune.bars:
        key = bar.key or tune.key
        if key != out[-1][1]:
            out.append((t, key))
        t += bar.duration
    return out


def _build(written: Tune, *, program: int = 0, tempo: int | None = None, bars=None, chords: bool = True):
    import mido
    if bars is not None:
        written = written.slice_bars(*bars)
    # The written bars in playing order: the notes of `performed()`, with irregular bars
    # and key changes where the tune has them (so a tune without repeats keeps its bars).
    tune = written.unfolded() if written.has_form else written
    bpm = tempo or tune.tempo
    tpq = _resolution(tune)

    def _ticks(q: Fraction) -> int:
        return int(round(q * tpq))

    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name=tune.title, time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    events: list[tuple[int, int, object]] = []
    # MIDI key signatures know only major and minor: name the mode in a text event too.
    for onset, key in _played_keys(tune):
        events.append((_ticks(onset), 0, mido.MetaMessage("key_signature", key=_key_name(key), time=0)))
        events.append((_ticks(onset), 1, mido.MetaMessage("text", text=f"{KEY_TEXT}{key.tonic} {key.mode}",
                                                          time=0)))
    if tune.pickup:
        events.append((0, 2, mido.MetaMessage("marker", text=PICKUP_MARKER, time=0)))
    # Time signatures wherever the meter changes.  A pickup, or an irregular bar in the
    # middle, gets a meter of its own length (a 1/8 bar before a 2/4 tune), so that
    # read_midi gets the same bars back and notation programs show a short bar.
    t, prev = Fraction(0), None
    for i, bar in enumerate(tune.bars):
        meter = bar.meter
        irregular = bar.duration != bar.expected and not (i == len(tune.bars) - 1 and bar.duration < bar.expected)
        if irregular and (i > 0 or tune.pickup):
            meter = meter_for_length(bar.duration, bar.meter[1]) or bar.meter
        if meter != prev:
            events.append((_ticks(t), 3, mido.MetaMessage("time_signature", numerator=meter[0],
                                                          denominator=meter[1], time=0)))
            prev = meter
        t += bar.duration
    last = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        msg.time = tick - last
        conductor.append(msg)
        last = tick
    melody = mido.MidiTrack()
    melody.append(mido.MetaMessage("track_name", name="Melody", time=0))
    melody.append(mido.Message("program_change", program=program, channel=0, time=0))
    last = 0
    for onset, dur, pitch in tune.sounding():
        on, off = _ticks(onset), _ticks(onset + dur)
        melody.append(mido.Message("note_on", note=pitch, velocity=VELOCITY, channel=0, time=on - last))
        melody.append(mido.Message("note_off", note=pitch, velocity=0, channel=0, time=off - on))
        last = off
    end = _ticks(tune.duration)
    melody.append(mido.MetaMessage("end_of_track", time=max(0, end - last)))
    mid = mido.MidiFile(type=1, ticks_per_beat=tpq)
    mid.tracks.extend([conductor, melody])
    played = written.performed_chords() if chords else []
    if any(chord_pitches(c) for _, _, c in played):
        mid.tracks.append(_chord_track(played, _ticks, end))
    return mid


def _chord_track(played, ticks, end: int):
    """The chord symbols as block chords, each held until the next symbol."""
    import mido
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="Chords", time=0))
    track.append(mido.Message("program_change", program=CHORD_PROGRAM, channel=CHORD_CHANNEL, time=0))
    msgs: list[tuple[int, int, object]] = []
    for onset, dur, symbol in played:
        on, off = ticks(onset), min(end, ticks(onset + dur))
        if off <= on:
            continue
        for p in chord_pitches(symbol):
            msgs.append((on, 1, mido.Message("note_on", note=p, velocity=CHORD_VELOCITY, channel=CHORD_CHANNEL)))
            msgs.append((off, 0, mido.Message("note_off", note=p, velocity=0, channel=CHORD_CHANNEL)))
    last = 0
    for tick, _, msg in sorted(msgs, key=lambda m: (m[0], m[1])):   # offs before ons at a tick
        msg.time = tick - last
        track.append(msg)
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - last)))
    return track


def write_midi(tune: Tune, path: str | Path, *, program: int = 0, tempo: int | None = None,
               bars: tuple[int, int] | None = None, chords: bool = True) -> Path:
    """Write `tune` as performed (or written bars i..j of it) as a type-1 MIDI file.

    `tempo` overrides tune.tempo; ``chords=False`` leaves the chord-symbol track out.
    """
    path = Path(path)
    _build(tune, program=program, tempo=tempo, bars=bars, chords=chords).save(str(path))
    return path


def midi_bytes(tune: Tune, *, program: int = 0, tempo: int | None = None,
               bars: tuple[int, int] | None = None, chords: bool = True) -> bytes:
    """The MIDI file `write_midi` would write, as bytes."""
    buf = io.BytesIO()
    _build(tune, program=program, tempo=tempo, bars=bars, chords=chords).save(file=buf)
    return buf.getvalue()


# ----- reading ------------------------------------------------------------------------

# Words in a track name that make it more or less likely to hold the tune.
_MELODY_WORDS = ("melody", "lead", "tune", "voice", "vocal", "sing", "solo", "flute", "fiddle",
                 "violin", "whistle", "pipe", "recorder", "oboe", "clarinet", "trumpet", "sax")
_ACCOMP_WORDS = ("bass", "drum", "perc", "chord", "accomp", "pad", "harmony", "rhythm", "comp",
                 "guitar", "piano left", "lh")
GRID = 24                 # onsets and ends snap to 1/24 quarter, the tokenizer's grid
_EXACT_TOLERANCE = 1      # ticks: abc2midi and others shift note-ons by a tick


@dataclass
class _Candidate:
    """The notes of one (track, channel): where a melody might live."""
    track: int
    channel: int
    name: str
    program: int
    notes: list[tuple[int, int, int]]          # (onset tick, end tick, pitch)
    end: int = 0                               # the track's end-of-track tick

    @property
    def label(self) -> str:
        name = f" '{self.name}'" if self.name else ""
        return f"track {self.track + 1}{name}"


def _fail(path, message: str):
    from st4rt_repl.formats import InputError
    return InputError(str(path), message)


def _open(path: Path):
    """mido.MidiFile or a one-line InputError for empty, junk and truncated files."""
    import mido
    data = Path(path).read_bytes()
    if not data:
        raise _fail(path, "empty file")
    if not data.startswith(b"MThd"):
        raise _fail(path, "not a MIDI file (no MThd header)")
    try:
        return mido.MidiFile(file=io.BytesIO(data))
    except EOFError:
        raise _fail(path, "truncated MIDI file (ends in the middle of a track)") from None
    except Exception as e:  # mido raises OSError/ValueError/KeyError on damaged data
        raise _fail(path, f"damaged MIDI file: {e}") from None


def _collect(mid) -> tuple[list[_Candidate], dict, int]:
    """Candidates, meta events {'tempo', 'key', 'meters', 'title'} and drum-note count."""
    cands: dict[tuple[int, int], _Candidate] = {}
    meta = {"tempo": None, "key": None, "mode_key": None, "meters": [], "title": None, "pickup": False,
            "keys": []}
    drums = 0
    for ti, track in enumerate(mid.tracks):
        name, now, held = "", 0, {}
        programs: dict[int, int] = {}
        for msg in track:
            now += msg.time
            if msg.is_meta:
                if msg.type == "set_tempo" and meta["tempo"] is None:
                    meta["tempo"] = msg.tempo
                elif msg.type == "key_signature":
                    meta["key"] = meta["key"] or msg.key
                    meta["keys"].append((now, 0, msg.key))
                elif msg.type == "text" and msg.text.startswith(KEY_TEXT):
                    meta["mode_key"] = meta["mode_key"] or msg.text[len(KEY_TEXT):].strip()
                    meta["keys"].append((now, 1, msg.text[len(KEY_TEXT):].strip()))
                elif msg.type == "time_signature":
                    meta["meters"].append((now, (msg.numerator, msg.denominator)))
                elif msg.type == "marker" and now == 0 and msg.text.strip().lower() == PICKUP_MARKER:
                    meta["pickup"] = True
                elif msg.type == "track_name" and not name:
                    name = msg.name.strip()
                continue
            if msg.type == "program_change":
                programs[msg.channel] = msg.program
            if msg.type not in ("note_on", "note_off"):
                continue
            if msg.channel == 9:
                drums += msg.type == "note_on" and msg.velocity > 0
                continue
            k = (msg.channel, msg.note)
            if k in held:  # a note-off, or a re-strike that ends the sounding note
                start = held.pop(k)
                if now > start:
                    c = cands.setdefault((ti, msg.channel), _Candidate(ti, msg.channel, name, 0, []))
                    c.notes.append((start, now, msg.note))
            if msg.type == "note_on" and msg.velocity > 0:
                held[k] = now
        for (ch, note), start in held.items():   # never released: ends with the track
            if now > start:
                cands.setdefault((ti, ch), _Candidate(ti, ch, name, 0, [])).notes.append((start, now, note))
        for (t, ch), c in cands.items():
            if t == ti:
                c.name, c.program, c.end = name, programs.get(ch, 0), now
        if ti == 0 and name and meta["title"] is None:
            meta["title"] = name
    out = [c for c in cands.values() if c.notes]
    for c in out:
        c.notes.sort()
    meta["meters"].sort(key=lambda x: x[0])
    meta["keys"].sort(key=lambda x: (x[0], x[1]))
    return out, meta, drums


def _key_changes(events, tpq: int) -> list[tuple[Fraction, Key]]:
    """(onset in quarters, Key) of each key-signature event; a ``key:`` text event at the
    same tick names the mode (as write_midi writes them)."""
    out: list[tuple[Fraction, Key]] = []
    for tick, kind, value in events:
        q = Fraction(tick, tpq)
        if kind == 0:
            key = _key_from_meta(value)
        else:
            try:
                key = Key(*value.split())
            except (TypeError, ValueError):
                continue
            if not out or out[-1][0] != q:
                continue          # a mode text without a key signature at its tick
        if out and out[-1][0] == q:
            out[-1] = (q, key)
        elif not out or out[-1][1] != key:
            out.append((q, key))
    return out


def _voices(notes: list[tuple[int, int, int]]) -> int:
    """Most notes sounding at once."""
    events = sorted([(on, 1) for on, _, _ in notes] + [(off, -1) for _, off, _ in notes])
    most = cur = 0
    for _, d in events:
        cur += d
        most = max(most, cur)
    return most


def _skyline(notes: list[tuple[Fraction, Fraction, int]]) -> list[tuple[Fraction, Fraction, int]]:
    """The top voice: at each onset the highest new note, unless a higher one still sounds."""
    by_onset: dict[Fraction, tuple[Fraction, Fraction, int]] = {}
    for on, off, p in notes:
        if on not in by_onset or p > by_onset[on][2]:
            by_onset[on] = (on, off, p)
    kept: list[list] = []
    for on in sorted(by_onset):
        _, off, p = by_onset[on]
        if kept and kept[-1][1] > on:
            if kept[-1][2] > p:
                continue
            kept[-1][1] = on
        kept.append([on, off, p])
    return [tuple(x) for x in kept if x[1] > x[0]]


def _score(c: _Candidate) -> float:
    """How likely a candidate is the melody: high, busy, mostly one voice, a melodic name."""
    top = _skyline([(Fraction(a), Fraction(b), p) for a, b, p in c.notes])
    mean = sum(p for _, _, p in top) / len(top)
    poly = 1 - len(top) / len(c.notes)
    name = c.name.lower()
    s = (mean - 60) / 6 + min(math.log2(len(top)), 8) / 2 - 2 * poly
    s += 3 * any(w in name for w in _MELODY_WORDS) - 3 * any(w in name for w in _ACCOMP_WORDS)
    s -= 3 * (32 <= c.program <= 39)    # General MIDI basses
    return s


def _smooth(d: int) -> bool:
    for p in (2, 3, 5, 7):
        while d % p == 0:
            d //= p
    return d == 1


def _simplest(x: Fraction, tol: Fraction, max_den: int = 96) -> Fraction | None:
    """The fraction with the smallest musical denominator (2, 3, 5, 7 only) within `tol` of x.

    >>> _simplest(Fraction(137, 960), Fraction(1, 960))
    Fraction(1, 7)
    """
    for d in filter(_smooth, range(1, max_den + 1)):
        f = Fraction(round(x * d), d)
        if abs(f - x) <= tol:
            return f
    return None


def _snap_gaps(notes, track_end: int, tpq: int, tol: Fraction):
    """Onsets from the simplest gaps between them, durations likewise; None if any is odd."""
    onsets = sorted({on for on, _, _ in notes})
    pos = {onsets[0]: _simplest(Fraction(onsets[0], tpq), tol)}
    if pos[onsets[0]] is None:
        return None
    for a, b in zip(onsets, onsets[1:]):
        gap = _simplest(Fraction(b - a, tpq), tol)
        if gap is None:
            return None
        pos[b] = pos[a] + gap
    durs = [_simplest(Fraction(off - on, tpq), tol) for on, off, _ in notes]
    if None in durs:
        return None
    out = [(pos[on], pos[on] + d, p) for (on, _, p), d in zip(notes, durs)]
    tail = _simplest(Fraction(track_end - onsets[-1], tpq), tol) if track_end > onsets[-1] else None
    return out, (pos[onsets[-1]] + tail if tail else Fraction(0))


def _quantise(notes: list[tuple[int, int, int]], track_end: int, tpq: int):
    """Ticks -> quarters: ([(onset, end, pitch)], track end, how).

    Machine-written files come back exact: on the 1/24-quarter grid when every time
    is on it; otherwise (quintuplets, septuplets) by snapping the gaps between onsets
    and the durations to the simplest musical fraction, which is exact where absolute
    positions would need huge denominators.  Played files snap to 16ths (and triplets
    when that fits much better).
    """
    times = [t for on, off, _ in notes for t in (on, off)]

    def on_grid(grid: int) -> bool:
        return all(abs(t * grid / tpq - round(t * grid / tpq)) * tpq / grid <= _EXACT_TOLERANCE
                   for t in times)

    def snapper(grid: int):
        return lambda t: Fraction(round(t * grid / tpq), grid)

    if on_grid(GRID):
        f = snapper(next(g for g in (1, 2, 4, 8, 12, GRID) if on_grid(g)))
        return [(f(a), f(b), p) for a, b, p in notes], f(track_end), "exact"
    # Exact ticks first (our own files), then a tick and a half of rounding at each
    # end (other writers; abc2midi also starts notes a tick late).
    for tol in (Fraction(0), Fraction(3, 2 * tpq)):
        snapped = _snap_gaps(notes, track_end, tpq, tol)
        if snapped is not None:
            return snapped + ("exact",)

    def err(grid: int) -> float:
        return sum(abs(t * grid / tpq - round(t * grid / tpq)) / grid for t in times) / len(times)

    grid, how = (12, "quantised to 16ths and triplets") if err(12) < 0.6 * err(4) else (4, "quantised to 16ths")
    f = snapper(grid)
    out = []
    for a, b, p in notes:
        on, off = f(a), f(b)
        out.append((on, off if off > on else on + Fraction(1, grid), p))   # the skyline trims overlaps
    return out, f(track_end), how


def _meter_segments(meters: list[tuple[int, tuple[int, int]]], tpq: int):
    """(start quarter, meter) changes; a first one-bar meter shorter than the next meter's
    bar is a pickup marker (how write_midi marks a pickup)."""
    segs: list[tuple[Fraction, tuple[int, int]]] = []
    for tick, m in meters:
        q = Fraction(tick, tpq)
        if segs and segs[-1][0] == q:
            segs[-1] = (q, m)
        elif not segs or segs[-1][1] != m:
            segs.append((q, m))
    if not segs or segs[0][0] > 0:
        segs.insert(0, (Fraction(0), segs[0][1] if segs else (4, 4)))
    return segs


def _estimate_key(notes: list[tuple[Fraction, Fraction, int]]) -> Key:
    """Krumhansl-Kessler key profiles correlated with duration-weighted pitch classes."""
    major = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]
    minor = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]
    hist = [0.0] * 12
    for _, d, p in notes:
        hist[p % 12] += float(d)
    # Weight the final note: folk tunes end on the tonic.
    if notes:
        hist[notes[-1][2] % 12] += max(hist) * 0.5

    def corr(xs, ys):
        mx, my = sum(xs) / 12, sum(ys) / 12
        num = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
        den = (sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys)) ** 0.5
        return num / den if den else 0.0

    best = max(((corr(hist[pc:] + hist[:pc], prof), pc, mode)
                for pc in range(12) for prof, mode in ((major, "major"), (minor, "minor"))))
    _, pc, mode = best
    names = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    if mode == "minor":
        names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]
    return Key(names[pc], mode)


def _key_from_meta(name: str) -> Key:
    mode = "minor" if name.endswith("m") else "major"
    return Key(name[:-1] if mode == "minor" else name, mode)


def _chunks(top, segs, end: Fraction) -> list[tuple[tuple[int, int], list[Note]]]:
    """The monophonic line (rests filled in) cut at each meter change: (meter, notes) chunks
    for `rebar`; a note sounding over a cut is split and tied."""
    bounds = [s for s, _ in segs[1:] if s < end] + [end]
    events = list(top)
    chunks, t, k = [], Fraction(0), 0
    for (_, meter), stop in zip(segs, bounds):
        cur: list[Note] = []
        while t < stop:
            if k < len(events) and events[k][0] <= t:
                _, b, p = events[k]
                if b <= stop:
                    cur.append(Note(p, b - t))
                    t, k = b, k + 1
                else:
                    cur.append(Note(p, stop - t, True))
                    events[k] = (stop, b, p)
                    t = stop
            else:
                nxt = min(events[k][0] if k < len(events) else stop, stop)
                cur.append(Note(None, nxt - t))
                t = nxt
        chunks.append((meter, cur))
    return chunks


def read_midi(path: str | Path):
    """Read a MIDI file as one melody: the top voice of the track most likely to be the tune.

    Drums (channel 10) are ignored.  Onsets and ends snap to the tokenizer's 1/24-quarter
    grid when the file is machine-written, else to 16ths (and triplets when they fit).
    Meter and key come from meta events (a key is estimated from the notes when the
    file has none; 4/4 when it has no time signature).  The LoadResult's message says
    which track was chosen.
    """
    from st4rt_repl.formats import LoadResult
    from st4rt_repl.form import rebar
    path = Path(path)
    mid = _open(path)
    tpq = mid.ticks_per_beat
    cands, meta, drums = _collect(mid)
    if not cands:
        raise _fail(path, "only drum notes (channel 10): no melody to read" if drums
                    else "no notes in the MIDI file")
    best = max(cands, key=_score)
    notes, track_end, how = _quantise(best.notes, best.end, tpq)
    top = _skyline(notes)
    voices = _voices(best.notes)
    segs = _meter_segments(meta["meters"], tpq)
    # The tune ends with its last note, or at the end of the track when that comes
    # less than a bar later (a written rest at the end; not a sliver shorter than a
    # 16th, which is a writer's slack: abc2midi ends its tracks 1/20 quarter late).
    end = top[-1][1]
    if end + Fraction(1, 4) <= track_end < end + Fraction(4 * segs[-1][1][0], segs[-1][1][1]):
        end = track_end
    pickup_meter = None
    if len(segs) > 1:
        (s0, m0), (s1, m1) = segs[0], segs[1]
        # A short one-bar first meter is a pickup when marked so (as we write it) or
        # when it is a one-beat meter (1/4, 1/8: how notation programs export a pickup).
        if s1 - s0 == Fraction(4 * m0[0], m0[1]) and s1 - s0 < Fraction(4 * m1[0], m1[1]) \
                and (meta["pickup"] or m0[0] == 1):
            pickup_meter = m1
    chunks = _chunks(top, segs, end)
    if pickup_meter is not None:
        chunks[0] = (pickup_meter, chunks[0][1])
    bars, pickup = rebar(chunks)
    if pickup and pickup_meter is None:
        pickup = False  # only a marked pickup counts; a file that starts short is bar 1
    tempo = 120 if meta["tempo"] is None else max(20, min(400, int(round(60_000_000 / meta["tempo"]))))
    key = None
    if meta["mode_key"]:
        try:
            key = Key(*meta["mode_key"].split())
        except (TypeError, ValueError):
            key = None
    if key is None and meta["key"]:
        key = _key_from_meta(meta["key"])
    if key is not None:
        key_note = ""
    else:
        key = _estimate_key([(a, b - a, p) for a, b, p in top])
        key_note = f", key {key} estimated"
    title = meta["title"] or path.stem
    changes = _key_changes(meta["keys"], tpq)
    if len(changes) > 1:         # key changes: each bar takes the key in force where it starts
        t, out = Fraction(0), []
        for b in bars:
            now = [k for q, k in changes if q <= t]
            k = now[-1] if now else key
            out.append(b if k == key else Bar(b.notes, b.meter, k))
            t += b.duration
        bars = out
    meter = bars[1].meter if pickup and len(bars) > 1 else bars[0].meter
    tune = Tune(tuple(bars), meter, key, title=title, tempo=tempo, pickup=pickup)
    label = best.label + (f" (channel {best.channel + 1})" if sum(c.track == best.track for c in cands) > 1 else "")
    msg = label + (f", top voice of {voices}" if voices > 1 else "")
    if len(cands) > 1:
        msg += f" (of {len(cands)} tracks with notes)"
    if how != "exact":
        msg += f", {how}"
    return LoadResult(tune, msg + key_note)
