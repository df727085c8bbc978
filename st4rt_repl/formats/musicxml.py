"""MusicXML out and in, through music21, with the written form.

Writing builds a music21 score bar by bar (a pickup is measure 0, padded on the
left, as notation programs expect): repeat barlines (`bar.Repeat`), double and
final barlines, volta endings (`spanner.RepeatBracket` over the bars under each
bracket), part labels as rehearsal marks, chord symbols (`harmony.ChordSymbol` at
their offset; ``N.C.`` as `harmony.NoChord`), key and meter changes where the bars
change them, and each note spelled as written (`Note.letter`) or from the key and
its neighbours (`st4rt_repl.spelling`).  music21 writes tuplets and splits lengths
that are not one note value into tied notes.  ``.mxl`` paths get compressed
MusicXML.  The header ``P:`` order has no MusicXML equivalent: it is written as a
text ``P:AABB`` over the first bar, which the reader takes back.

Reading goes through music21 and `st4rt_repl.formats.m21.tune_from_score`, written
form kept; a score whose first part is an accompaniment gets its melody part
picked (the highest, busiest, mostly one-voice part; a part named like a melody
instrument wins), or the one `part=` names.

>>> import tempfile, os
>>> from st4rt_repl.tune import Tune, Key
>>> t = Tune.from_bars([[(69, 1)], [(74, '1/3'), (76, '1/3'), (78, '1/3'), (79, 2, True)],
...                     [(79, 1), (None, 2)]], meter=(3, 4), key=Key('D', 'major'),
...                    title='Air', tempo=80, pickup=True)
>>> with tempfile.TemporaryDirectory() as d:
...     back = read_musicxml(write_musicxml(t, os.path.join(d, 'air.musicxml'))).tune
>>> [n.pitch for _, n in back.notes()] == [n.pitch for _, n in t.notes()], back.pickup, back.key, back.tempo
(True, True, Key(tonic='D', mode='major'), 80)
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

from st4rt_repl.formats.abc_out import signature_tonic
from st4rt_repl.spelling import spell_notes
from st4rt_repl.tune import Tune, TuneError, meter_for_length

__all__ = ["write_musicxml", "read_musicxml", "to_score", "m21_chord", "PARTS_TEXT"]

PARTS_TEXT = "P:"     # a text expression "P:AABB" over the first bar: the play order


def _pitch(midi: int, letter: str, alter: int):
    """A music21 Pitch with the given spelling."""
    from music21 import pitch
    octave = (midi - alter) // 12 - 1
    p = pitch.Pitch(letter + {-2: "--", -1: "-", 0: "", 1: "#", 2: "##"}[alter] + str(octave))
    if alter == 0:
        p.accidental = None
    assert p.midi == midi
    return p


def _m21_name(name: str) -> str:
    """'Bb' -> 'B-' (music21 writes flats as '-')."""
    return name[0] + name[1:].replace("b", "-")


def m21_chord(symbol: str):
    """A music21 ChordSymbol for our chord text ('Bb7' -> B-7), NoChord for 'N.C.', None if
    music21 cannot read it.

    >>> m21_chord("Bb7").figure, [p.name for p in m21_chord("Am/C").pitches], m21_chord("N.C.").figure
    ('B-7', ['C', 'E', 'A'], 'N.C.')
    """
    import re
    from music21 import harmony
    text = symbol.strip()
    if re.fullmatch(r"N\.?C\.?", text):
        return harmony.NoChord()
    m = re.fullmatch(r"\(?([A-G][#b]?)(.*?)(?:/([A-G][#b]?))?\)?", text)
    if not m:
        return None
    figure = _m21_name(m.group(1)) + m.group(2) + ("/" + _m21_name(m.group(3)) if m.group(3) else "")
    try:
        return harmony.ChordSymbol(figure)
    except Exception:    # noqa: BLE001 - music21 raises several kinds on figures it does not know
        return None


def _brackets(tune: Tune) -> list[tuple[str, int, int]]:
    """(label, first bar index, last bar index) of every volta bracket."""
    out = []
    nums = tune.bar_numbers()
    for i, b in enumerate(tune.bars):
        if b.ending:
            j = i
            while j + 1 < len(tune.bars) and not tune.bars[j + 1].ending \
                    and tune.ending_of(nums[j + 1]) == b.ending:
                j += 1
            out.append((b.ending, i, j))
    return out


_RIGHT = {"||": "double", "|]": "final"}


def to_score(tune: Tune):
    """The tune as a music21 Score with one part, one measure per written bar."""
    from music21 import (bar as m21bar, expressions, key as m21key, metadata, meter, note, spanner,
                         stream, tempo, tie)
    score = stream.Score()
    score.metadata = metadata.Metadata(title=tune.title)
    part = stream.Part()
    part.partName = "Melody"
    flat = [n for b in tune.bars for n in b.notes]
    spelled = spell_notes(flat, [b.key or tune.key for b in tune.bars for _ in b.notes])
    ties_in = [False] + [a.tie and not a.is_rest and a.pitch == b.pitch for a, b in zip(flat, flat[1:])]
    k = 0
    prev_meter = None
    prev_key = None
    last = len(tune.bars) - 1
    measures = []
    for idx, (num, bar) in enumerate(zip(tune.bar_numbers(), tune.bars)):
        m = stream.Measure(number=num)
        short = bar.duration < bar.expected
        bar_meter = bar.meter
        if bar.duration != bar.expected and not (short and (idx == last or (idx == 0 and tune.pickup))):
            # An irregular bar in the middle gets a meter of its own length (as in our ABC
            # and MIDI); otherwise music21 would pad it with rests.
            bar_meter = meter_for_length(bar.duration, bar.meter[1]) or bar.meter
        if bar_meter != prev_meter:
            m.insert(0, meter.TimeSignature(f"{bar_meter[0]}/{bar_meter[1]}"))
            prev_meter = bar_meter
        key = bar.key or tune.key
        if key != prev_key:
            m.insert(0, m21key.Key(_m21_name(signature_tonic(key)), key.mode))
            prev_key = key
        if idx == 0:
            m.insert(0, tempo.MetronomeMark(number=tune.tempo, referent=1.0))
            if tune.parts:          # the play order, as a text over the first bar (read back)
                m.insert(0, expressions.TextExpression(f"{PARTS_TEXT}{tune.parts}"))
        if bar.part:
            m.insert(0, expressions.RehearsalMark(bar.part))
        if bar.repeat_start:
            m.leftBarline = m21bar.Repeat(direction="start")
        if bar.barline == ":|":
            m.rightBarline = m21bar.Repeat(direction="end")
        elif bar.barline in _RIGHT or idx == last:      # a tune ends with a final barline
            m.rightBarline = m21bar.Barline(_RIGHT.get(bar.barline, "final"))
        if short and idx == 0 and tune.pickup:
            m.paddingLeft = float(bar.expected - bar.duration)
        elif short and idx == last:
            m.paddingRight = float(bar.expected - bar.duration)
        for n in bar.notes:
            out_tie = ties_in[k + 1] if k + 1 < len(flat) else False
            if n.is_rest:
                el = note.Rest(quarterLength=n.duration)
            else:
                el = note.Note(_pitch(n.pitch, *spelled[k]), quarterLength=n.duration)
                if ties_in[k] and out_tie:
                    el.tie = tie.Tie("continue")
                elif ties_in[k]:
                    el.tie = tie.Tie("stop")
                elif out_tie:
                    el.tie = tie.Tie("start")
            m.append(el)
            k += 1
        for offset, symbol in bar.chords:
            cs = m21_chord(symbol)
            if cs is not None:
                cs.writeAsChord = False
                m.insert(float(offset), cs)
        measures.append(m)
        part.append(m)
    for label, i, j in _brackets(tune):
        part.insert(0, spanner.RepeatBracket(measures[i:j + 1], number=label))
    score.insert(0, part)
    return score


def write_musicxml(tune: Tune, path: str | Path) -> Path:
    """Write the tune as MusicXML (compressed when the path ends in .mxl)."""
    path = Path(path)
    fmt = "mxl" if path.suffix.lower() == ".mxl" else "musicxml"
    # music21 prints beam warnings on odd tuplets to stderr; they are noise to our users.
    with contextlib.redirect_stderr(io.StringIO()):
        written = to_score(tune).write(fmt, fp=str(path))
    if Path(written) != path and Path(written).exists():  # music21 may normalise the suffix
        Path(written).replace(path)
    return path


def read_musicxml(path: str | Path, *, part: int | str | None = None):
    """Read a MusicXML file (.musicxml, .xml or .mxl) as a written Tune.

    `part` chooses the part (1-based number or name); by default the melody part is
    picked.  The LoadResult's message names the part when the score has several.
    """
    from music21 import converter
    from st4rt_repl.formats import InputError, LoadResult
    from st4rt_repl.formats.m21 import melody_part, tune_from_score
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise InputError(str(path), "empty file")
    try:
        score = converter.parse(str(path), format="musicxml")
    except Exception as e:  # music21 raises many kinds of errors on damaged files
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise InputError(str(path), f"not a readable MusicXML file: {first}") from None
    md = getattr(score, "metadata", None)
    title = (md.bestTitle if md is not None else None) or path.stem
    parts = list(getattr(score, "parts", []))
    msg = ""
    chosen = None
    if parts:
        try:
            index, how = melody_part(parts, part)
        except TuneError as e:
            raise InputError(str(path), str(e)) from None
        chosen = parts[index]
        if len(parts) > 1:
            name = chosen.partName or f"part {index + 1}"
            msg = f"part {index + 1} '{name}' of {len(parts)}" + (f" ({how})" if how else "")
    try:
        t = tune_from_score(score, title=title, expand=False, part=chosen)
    except TuneError as e:
        raise InputError(str(path), str(e)) from None
    return LoadResult(t, msg)
