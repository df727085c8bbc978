"""music21 stream -> Tune: the one bridge from music21's objects to ours.

Used by the MusicXML (and any music21-based) importer; the ABC reader
(`st4rt_repl.formats.abc_in`) reads ABC itself and shares only `rebar`.  It takes the first part's first
voice, drops grace notes and chord symbols, keeps the top note of chords, merges
ties inside a bar, and re-bars the notes so that every bar is full in its meter:
a short first measure becomes the pickup (bar 0), and short measures in the middle
(a section's last bar plus the next section's pickup) join into one full bar.
Only the last bar may be short.
"""
from __future__ import annotations

from fractions import Fraction

from st4rt_repl.tune import Bar, Key, Meter, Note, Tune, TuneError, PITCH_CLASS, MODES
from st4rt_repl.form import rebar

MAX_UNFOLD_RATIO = 6  # an unfolded tune longer than this many times its written length is a music21 misfire


def key_from_m21(ks) -> Key:
    """A music21 Key or KeySignature -> Key."""
    if ks is None:
        return Key("C", "major")
    mode = getattr(ks, "mode", None)
    tonic = getattr(ks, "tonic", None)
    if tonic is None or mode not in MODES:
        k = ks.asKey("major")
        tonic, mode = k.tonic, "major"
    name = tonic.name.replace("-", "b")
    if name not in PITCH_CLASS:
        raise TuneError(f"unsupported key tonic {tonic.name}")
    return Key(name, mode)


def _events(part):
    """(measure duration expected, meter, [notes]) for each measure of a part, in order."""
    from music21 import stream
    meter: Meter | None = None
    out = []
    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        measures = [part.flatten()]
    for m in measures:
        ts = m.timeSignature
        if ts is None and meter is None:
            found = m.recurse().getElementsByClass("TimeSignature")
            ts = found[0] if found else None
        if ts is not None:
            meter = (int(ts.numerator), int(ts.denominator))
        voices = m.voices
        src = voices[0] if voices else m
        notes: list[Note] = []
        for el in src.notesAndRests:
            if el.duration.isGrace or el.quarterLength == 0 or "ChordSymbol" in el.classes:
                continue
            if el.isRest:
                pitch = None
            elif el.isChord:
                pitch = max(p.midi for p in el.pitches)
            else:
                pitch = el.pitch.midi
            tie = el.tie is not None and el.tie.type in ("start", "continue")
            dur = Fraction(el.quarterLength).limit_denominator(96)
            notes.append(Note(pitch, dur, tie))
        out.append((meter or (4, 4), notes))
    return out


def tune_from_score(score, *, title: str | None = None, expand: bool = True) -> Tune:
    """Convert a parsed music21 Score/Part to a Tune (repeats unfolded when `expand`)."""
    from music21 import stream
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    part = parts[0]
    written = part
    if expand:
        try:
            unfolded = part.expandRepeats()
            if unfolded.highestTime <= MAX_UNFOLD_RATIO * max(written.highestTime, 1):
                part = unfolded
        except Exception:  # music21 raises a variety of errors on odd repeat structures
            part = written
    measures = _events(part)
    if not any(notes for _, notes in measures):
        raise TuneError("the tune has no notes")
    bars, pickup = rebar(measures)
    keys = score.recurse().getElementsByClass("KeySignature")
    key = key_from_m21(keys[0] if keys else None)
    marks = score.recurse().getElementsByClass("MetronomeMark")
    tempo = 120
    if marks:
        bpm = marks[0].getQuarterBPM()
        if bpm:
            tempo = max(20, min(400, int(round(bpm))))
    if title is None:
        md = score.metadata if getattr(score, "metadata", None) is not None else None
        title = (md.title if md is not None and md.title else None) or "Untitled"
    meter = bars[1].meter if pickup and len(bars) > 1 else bars[0].meter
    return Tune(tuple(bars), meter, key, title=title, tempo=tempo, pickup=pickup)
