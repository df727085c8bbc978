"""music21 stream -> Tune: the one bridge from music21's objects to ours.

Used by the MusicXML (and any music21-based) importer; the ABC reader
(`st4rt_repl.formats.abc_in`) reads ABC itself.  It takes one part's first voice
(`melody_part` picks it), drops grace notes, keeps the top note of chords and the
written letter of each note.

With ``expand=False`` the tune comes back as written: one bar per measure, with
repeat barlines (``|:``, ``:|``), double and final barlines, volta endings
(`RepeatBracket`), part labels (rehearsal marks), chord symbols at their offset,
and key and meter changes; a short first measure is the pickup, other short
measures stay as written.  With ``expand=True`` (the old reading, for callers that
want the melody as played) music21 expands the repeats, chord symbols are dropped
and the notes are re-barred (`st4rt_repl.form.rebar`) so every bar is full.
"""
from __future__ import annotations

from fractions import Fraction

import math
import re

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


def _events(part, measures=None):
    """(meter, [notes]) for each measure of a part (or of `measures`), in order."""
    from music21 import stream
    meter: Meter | None = None
    out = []
    if measures is None:
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
            letter = ""
            if pitch is not None and not el.isChord:
                letter = el.pitch.step
            elif pitch is not None:
                letter = max(el.pitches, key=lambda p: p.midi).step
            notes.append(Note(pitch, dur, tie, letter))
        out.append((meter or (4, 4), notes))
    return out


_RIGHT = {"double": "||", "final": "|]", "light-heavy": "|]", "heavy-light": "||", "light-light": "||"}


def _chord_text(cs) -> str:
    """Our text for a music21 chord symbol ('B-7' -> 'Bb7', NoChord -> 'N.C.')."""
    if "NoChord" in cs.classes:
        return "N.C."
    fig = cs.figure or ""
    fig = re.sub(r"^([A-G])-", r"\1b", fig)
    return re.sub(r"/([A-G])-", r"/\1b", fig)


def _merge_tied(notes: list[Note]) -> list[Note]:
    """Tied notes of one pitch inside a bar as one note (music21 splits odd lengths)."""
    out: list[Note] = []
    for n in notes:
        if out and out[-1].tie and not n.is_rest and out[-1].pitch == n.pitch:
            prev = out.pop()
            n = Note(n.pitch, prev.duration + n.duration, n.tie, prev.letter or n.letter)
        out.append(n)
    return out


def _written(part, head_key: Key) -> tuple[list[Bar], bool]:
    """One Bar per measure, with its written form; returns (bars, has_pickup)."""
    from music21 import stream
    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        raise TuneError("the part has no measures")
    endings: dict[int, str] = {}
    for rb in part.spannerBundle.getByClass("RepeatBracket"):
        spanned = rb.getSpannedElements()
        if spanned and rb.number:
            endings[id(spanned[0])] = str(rb.number).replace(" ", "")
    events = _events(part, measures)
    bars: list[Bar] = []
    key = head_key
    for m, (meter, notes) in zip(measures, events):
        for ks in m.getElementsByClass("KeySignature"):
            key = key_from_m21(ks)
        if not notes:
            continue
        right = m.rightBarline
        barline = "|"
        if right is not None:
            if "Repeat" in right.classes and right.direction == "end":
                barline = ":|"
            else:
                barline = _RIGHT.get(right.type, "|")
        left = m.leftBarline
        repeat_start = left is not None and "Repeat" in left.classes and left.direction == "start"
        label = ""
        for mark in m.getElementsByClass("RehearsalMark"):
            text = str(mark.content or "").strip()
            if text[:1].isalpha() and text[:1].isupper():
                label = text[:1]
        chords = tuple(sorted((Fraction(cs.offset).limit_denominator(96), _chord_text(cs))
                              for cs in m.getElementsByClass("Harmony")))
        bars.append(Bar(tuple(_merge_tied(notes)), meter, key if key != head_key else None, barline,
                        repeat_start, endings.get(id(m), ""), label, chords))
    if bars:
        last = bars[-1]
        if last.notes[-1].tie:   # a tie into nothing
            bars[-1] = last.with_notes(last.notes[:-1] + (Note(last.notes[-1].pitch, last.notes[-1].duration,
                                                                letter=last.notes[-1].letter),))
    pickup = len(bars) > 1 and bars[0].duration < bars[0].expected
    return bars, pickup


def _play_order(part) -> str:
    """The ``P:AABB`` text over the first bar that our MusicXML writer puts there ('' if none)."""
    from music21 import stream
    first = part.getElementsByClass(stream.Measure).first()
    if first is None:
        return ""
    for te in first.getElementsByClass("TextExpression"):
        m = re.fullmatch(r"P:\s*([A-Z]+)", str(te.content or "").strip())
        if m:
            return m.group(1)
    return ""


_MELODY_WORDS = ("melody", "lead", "tune", "voice", "vocal", "sing", "solo", "flute", "fiddle",
                 "violin", "whistle", "pipe", "recorder", "oboe", "clarinet", "trumpet", "sax",
                 "soprano")
_ACCOMP_WORDS = ("bass", "drum", "perc", "chord", "accomp", "pad", "harmony", "rhythm", "comp",
                 "guitar", "piano", "left", "lh", "organ")


def _melody_score(part) -> float:
    """How likely a part is the melody: high, busy, mostly one voice, a melodic name."""
    els = [el for el in part.recurse().notes if not el.duration.isGrace]
    if not els:
        return -1e9
    tops = [max(p.midi for p in el.pitches) for el in els]
    poly = sum(1 for el in els if el.isChord) / len(els)
    name = (part.partName or "").lower()
    s = (sum(tops) / len(tops) - 60) / 6 + min(math.log2(len(els)), 8) / 2 - 2 * poly
    s += 3 * any(w in name for w in _MELODY_WORDS) - 3 * any(w in name for w in _ACCOMP_WORDS)
    return s


def melody_part(parts, which: int | str | None = None) -> tuple[int, str]:
    """(index of the part to read, why) among a score's parts.

    `which` is a 1-based number or a part name; None picks the melody: the part
    that is highest, busiest and mostly one voice (a melodic instrument name helps, an
    accompaniment name counts against).
    """
    parts = list(parts)
    if which is not None and str(which).strip():
        w = str(which).strip()
        if w.isdigit():
            k = int(w)
            if 1 <= k <= len(parts):
                return k - 1, "chosen"
        else:
            for k, p in enumerate(parts):
                if (p.partName or "").strip().lower() == w.lower():
                    return k, "chosen"
        names = ", ".join(f"{k + 1} '{p.partName or '?'}'" for k, p in enumerate(parts))
        raise TuneError(f"no part {w!r}: the score has {len(parts)} part(s): {names}")
    if len(parts) <= 1:
        return 0, ""
    scores = [_melody_score(p) for p in parts]
    best = max(range(len(parts)), key=lambda k: (scores[k], -k))
    return best, ("the melody" if best != 0 else "")


def tune_from_score(score, *, title: str | None = None, expand: bool = True, part=None) -> Tune:
    """Convert a parsed music21 Score/Part to a Tune.

    ``expand=True``: repeats unfolded by music21 and the notes re-barred (the melody as
    played); ``expand=False``: the tune as written (repeats, endings, chords kept).
    `part` is the music21 Part to read (default: the first).
    """
    if part is None:
        parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
        part = parts[0]
    keys = part.recurse().getElementsByClass("KeySignature") or score.recurse().getElementsByClass("KeySignature")
    key = key_from_m21(keys[0] if keys else None)
    parts_order = ""
    if not expand:
        bars, pickup = _written(part, key)
        parts_order = _play_order(part)
    else:
        written = part
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
    if not bars:
        raise TuneError("the tune has no notes")
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
    return Tune(tuple(bars), meter, key, title=title, tempo=tempo, pickup=pickup, parts=parts_order)
