"""Does the written form survive a trip through our writers?  (bench and tests)

`aspects` lists what a reader can see of a tune's written form: repeat signs,
barline kinds, volta endings, part labels and the ``P:`` order, chord symbols,
key changes, spellings and the written bar count.  `abc_round_trip` reads a real
ABC tune, writes it with `to_abc`, and checks the three things the ABC writer
promises: abc2midi reads our text with no Error and no bar-length Warning, plays
the same notes from it as from the original, and our reader gets the same written
form back.  `musicxml_round_trip` does the same through MusicXML and music21.

>>> from st4rt_repl.formats.abc_in import read_abc_text
>>> t = read_abc_text('X:1\\nM:2/4\\nL:1/8\\nK:G\\n|:"G"GA Bc|[1d4:|[2g4|]\\n').tune
>>> a = aspects(t)
>>> a["repeats"], a["endings"], a["chords"], a["bars"]
(((0, True, False), (1, False, True)), ((1, '1'), (2, '2')), ((0, '0', 'G'),), 3)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from st4rt_repl.tune import Tune

__all__ = ["ASPECTS", "aspects", "differences", "RoundTrip", "abc_round_trip", "musicxml_round_trip",
           "has"]

ASPECTS = ("repeats", "barlines", "endings", "parts", "chords", "keys", "spelling", "bars", "notes")


def aspects(t: Tune) -> dict:
    """The written form of a tune, aspect by aspect, as comparable values."""
    bars = t.bars
    last = len(bars) - 1
    key = t.key
    keys = []
    for i, b in enumerate(bars):
        k = b.key or t.key
        if k != key:
            keys.append((i, str(k)))
            key = k
    return {
        "repeats": tuple((i, b.repeat_start, b.barline == ":|") for i, b in enumerate(bars)
                         if b.repeat_start or b.barline == ":|"),
        # a tune always ends with a final barline in our ABC: "|" and "|]" at the end are one
        "barlines": tuple("|]" if i == last and b.barline == "|" else b.barline for i, b in enumerate(bars)),
        "endings": tuple((i, b.ending) for i, b in enumerate(bars) if b.ending),
        "parts": (t.parts,) + tuple((i, b.part) for i, b in enumerate(bars) if b.part),
        "chords": tuple((i, str(o), c) for i, b in enumerate(bars) for o, c in b.chords),
        "keys": tuple(keys),
        "spelling": _letters(t),
        "bars": t.num_bars,
        "notes": tuple(t.sounding()),
    }


def _letters(t: Tune) -> tuple[str, ...]:
    """The written letter of each sounding note (a tied continuation is not a new note)."""
    out, held = [], None
    for _, n in t.notes():
        if n.pitch is None:
            held = None
            continue
        if held != n.pitch:
            out.append(n.letter)
        held = n.pitch if n.tie else None
    return tuple(out)


def differences(a: Tune, b: Tune) -> list[str]:
    """The aspects in which two tunes' written forms differ."""
    x, y = aspects(a), aspects(b)
    return [k for k in ASPECTS if x[k] != y[k]]


def has(t: Tune, what: str) -> bool:
    """Whether the tune has anything of `what` to keep ('repeats', 'endings', 'chords', ...)."""
    a = aspects(t)
    if what == "parts":
        return bool(a["parts"][0]) or len(a["parts"]) > 1
    if what == "barlines":
        return any(x != "|" for x in a["barlines"][:-1])
    if what in ("bars", "notes", "spelling"):
        return True
    return bool(a[what])


@dataclass
class RoundTrip:
    name: str
    error: str = ""                       # our reader or writer failed
    tune: Tune | None = None
    lost: list[str] = field(default_factory=list)     # aspects that did not come back
    abc2midi: list[str] = field(default_factory=list)  # its Error / bar Warning lines on our text
    original_abc2midi: list[str] = field(default_factory=list)
    same_notes: bool | None = None         # abc2midi plays the same notes from both (None: not run)
    text: str = ""


def _complaints(text: str) -> list[str]:
    from st4rt_repl.formats import abc2midi
    try:
        return abc2midi.check(text)
    except abc2midi.Abc2MidiComplaint as e:
        return [m for m in e.unexpected if m.startswith("Error") or " Bar " in m]


def abc_round_trip(name: str, text: str, *, with_abc2midi: bool = True) -> RoundTrip:
    """ABC -> Tune -> our ABC -> (abc2midi, our reader), for one tune's text."""
    from st4rt_repl.formats import abc_reference as ref
    from st4rt_repl.formats.abc_in import read_abc_text
    from st4rt_repl.formats.abc_out import to_abc
    r = RoundTrip(name)
    try:
        t = read_abc_text(text, source=name).tune
    except Exception as e:   # noqa: BLE001 - an unreadable tune is a result, not a crash
        r.error = f"unreadable: {e}"
        return r
    r.tune = t
    try:
        ours = to_abc(t)
        back = read_abc_text(ours, source=name + " (ours)").tune
    except Exception as e:   # noqa: BLE001
        r.error = f"{type(e).__name__}: {e}"
        return r
    r.text = ours
    r.lost = differences(t, back)
    if with_abc2midi:
        r.abc2midi = _complaints(ours)
        r.original_abc2midi = _complaints(text)
        try:
            r.same_notes = ref.compare(ref.reference_notes(ours), ref.reference_notes(text)).exact
        except ref.ReferenceUnavailable:
            r.same_notes = None
    return r


def musicxml_round_trip(name: str, t: Tune, workdir) -> RoundTrip:
    """Tune -> our MusicXML -> music21 -> our reader: the aspects that did not come back."""
    from pathlib import Path
    from st4rt_repl.formats.musicxml import read_musicxml, write_musicxml
    r = RoundTrip(name, tune=t)
    path = Path(workdir) / "tune.musicxml"
    try:
        back = read_musicxml(write_musicxml(t, path)).tune
    except Exception as e:   # noqa: BLE001
        r.error = f"{type(e).__name__}: {e}"
        return r
    r.lost = differences(t, back)
    return r
