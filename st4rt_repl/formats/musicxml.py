"""MusicXML out and in, through music21.

Writing builds a music21 score bar by bar (a pickup is measure 0, padded on the
left, as notation programs expect), spells pitches the way the ABC writer does and
lets music21 write tuplets and split lengths that are not one note value into tied
notes.  ``.mxl`` paths get compressed MusicXML.  Reading goes through music21 and
`tune_from_score`, the same bridge the ABC reader uses.

>>> import tempfile, os
>>> from st4rt_repl.tune import Tune, Key
>>> t = Tune.from_bars([[(69, 1)], [(74, '1/3'), (76, '1/3'), (78, '1/3'), (79, 2, True)],
...                     [(79, 1), (None, 2)]], meter=(3, 4), key=Key('D', 'major'),
...                    title='Air', tempo=80, pickup=True)
>>> with tempfile.TemporaryDirectory() as d:
...     back = read_musicxml(write_musicxml(t, os.path.join(d, 'air.musicxml'))).tune
>>> back.bars == t.bars, back.pickup, back.key, back.tempo, back.title
(True, True, Key(tonic='D', mode='major'), 80, 'Air')
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

from st4rt_repl.formats.abc_out import meter_for_length, signature_tonic, spell
from st4rt_repl.tune import Tune, TuneError

__all__ = ["write_musicxml", "read_musicxml", "to_score"]


def _pitch(midi: int, key):
    """A music21 Pitch spelled for the key (C# in D major, Bb in F major ...)."""
    from music21 import pitch
    letter, alter = spell(midi, key)
    octave = (midi - alter) // 12 - 1
    p = pitch.Pitch(letter + {-2: "--", -1: "-", 0: "", 1: "#", 2: "##"}[alter] + str(octave))
    if alter == 0:
        p.accidental = None
    assert p.midi == midi
    return p


def to_score(tune: Tune):
    """The tune as a music21 Score with one part, one measure per bar."""
    from music21 import key as m21key, metadata, meter, note, stream, tempo, tie
    score = stream.Score()
    score.metadata = metadata.Metadata(title=tune.title)
    part = stream.Part()
    part.partName = "Melody"
    flat = [n for b in tune.bars for n in b.notes]
    ties_in = [False] + [a.tie and not a.is_rest and a.pitch == b.pitch for a, b in zip(flat, flat[1:])]
    k = 0
    prev_meter = None
    last = len(tune.bars) - 1
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
        if idx == 0:
            m.insert(0, m21key.Key(signature_tonic(tune.key).replace("b", "-"), tune.key.mode))
            m.insert(0, tempo.MetronomeMark(number=tune.tempo, referent=1.0))
        if short and idx == 0 and tune.pickup:
            m.paddingLeft = float(bar.expected - bar.duration)
        elif short and idx == last:
            m.paddingRight = float(bar.expected - bar.duration)
        for n in bar.notes:
            out_tie = ties_in[k + 1] if k + 1 < len(flat) else False
            if n.is_rest:
                el = note.Rest(quarterLength=n.duration)
            else:
                el = note.Note(_pitch(n.pitch, tune.key), quarterLength=n.duration)
                if ties_in[k] and out_tie:
                    el.tie = tie.Tie("continue")
                elif ties_in[k]:
                    el.tie = tie.Tie("stop")
                elif out_tie:
                    el.tie = tie.Tie("start")
            m.append(el)
            k += 1
        part.append(m)
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


def read_musicxml(path: str | Path):
    """Read the first part of a MusicXML file (.musicxml, .xml or .mxl) as a Tune."""
    from music21 import converter
    from st4rt_repl.formats import InputError, LoadResult
    from st4rt_repl.formats.m21 import tune_from_score
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
    try:
        t = tune_from_score(score, title=title)
    except TuneError as e:
        raise InputError(str(path), str(e)) from None
    parts = list(getattr(score, "parts", []))
    msg = ""
    if len(parts) > 1:
        name = parts[0].partName or "part 1"
        msg = f"part 1 '{name}' of {len(parts)}"
    return LoadResult(t, msg)
