"""The one melody type of ST4RT+: an immutable `Tune` holding the tune AS WRITTEN.

A tune is a tuple of `Bar`s in written order: a repeated bar appears once, with
the written form beside its notes — the barline after it (``|``, ``||``, ``|]``,
``:|``), a ``|:`` before it (`Bar.repeat_start`), the volta bracket that starts
there (`Bar.ending`: ``"1"``, ``"2"``, ``"1,3"``), a part label (`Bar.part`),
chord symbols with their offset in the bar, and the meter and key in force.  The
melody as played is derived by one pure function, `Tune.performed` (repeats,
endings and the ``P:`` order unfolded exactly as abc2midi plays them; see
`st4rt_repl.form`).  Everything that edits or shows a tune works on the written
bars; only playback, MIDI/WAV export and comparisons with abc2midi ask for
`performed()`.

Durations and onsets are exact `Fraction`s of a quarter note, so triplets and
dotted rhythms never drift.  Pitches are MIDI numbers (``None`` is a rest);
`Note.letter` keeps the written spelling where one was written.  A note that
sounds across a barline is split at the barline with ``tie=True`` on the
earlier part.

**Bar numbers are written bar numbers**, as in sheet music.  A pickup at the
tune's start is bar 0; every other written bar takes the next number, full or
partial.  Partial bars are kept where the notation has them: the pickup, and a
part's last bar shortened by the next part's pickup.  Example: in
``D|:G2 BG A2 c2|B4 z2 D2:|`` the pickup ``D`` is bar 0, ``G2BG A2c2`` bar 1 and
``B4 z2 D2`` bar 2; bars 1 and 2 are heard twice:

>>> t = Tune.from_bars([[(62, 1)], [(67, 2), (71, 1), (67, 1)], [(71, 3), (62, 1)]],
...                    meter=(4, 4), pickup=True)
>>> t = t.with_repeat(1, 2)
>>> t.num_bars, t.played_order(), t.num_played_bars
(2, [0, 1, 2, 1, 2], 4)
>>> t.barline_after(0), t.barline_after(2)
('|:', ':|')
>>> [n.pitch for n in t.bar(1).notes]
[67, 71, 67]
>>> t2 = t.replace_bars(2, 2, [Bar((Note(69, 4),), (4, 4))])   # vary bar 2: heard in both passes
>>> t2.bar(2).barline, [b.notes[0].pitch for b in t2.performed().bars]
(':|', [62, 67, 69, 67, 69])
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Iterable, Iterator, Sequence

from st4rt_repl.errors import TuneError
from st4rt_repl.keys import MODES, PITCH_CLASS, Key, transpose_key

__all__ = ["Note", "Bar", "Key", "Tune", "Meter", "TuneError", "PITCH_CLASS", "MODES",
           "BARLINES", "meter_for_length"]

Meter = tuple[int, int]

# The barlines a bar can end with; "|:" and "::" are the next bar's repeat_start.
BARLINES = ("|", "||", "|]", ":|")


@dataclass(frozen=True, slots=True)
class Note:
    """One note or rest; `letter` is the written letter ('F' for ^F) when known.

    >>> Note(60, Fraction(1, 3)).is_rest, Note(None, 1).is_rest
    (False, True)
    """
    pitch: int | None
    duration: Fraction
    tie: bool = False  # tied to the next note (only across a barline after import)
    letter: str = ""   # written spelling: 'A'..'G', '' = spell from the key and context

    def __post_init__(self):
        if not isinstance(self.duration, Fraction):
            object.__setattr__(self, "duration", Fraction(self.duration))
        if self.duration <= 0:
            raise TuneError(f"note duration must be positive, got {self.duration}")

    @property
    def is_rest(self) -> bool:
        return self.pitch is None


@dataclass(frozen=True, slots=True)
class Bar:
    """The notes of one written bar, the meter (and key) in force, and its written form.

    >>> Bar((Note(60, 1), Note(62, 2)), (3, 4)).is_full
    True
    >>> b = Bar((Note(60, 3),), (3, 4), barline=":|", chords=((Fraction(0), "C"),))
    >>> b.with_notes((Note(64, 3),)).barline, b.with_notes((Note(64, 3),)).chords
    (':|', ((Fraction(0, 1), 'C'),))
    """
    notes: tuple[Note, ...]
    meter: Meter
    key: Key | None = None       # key in force here; None = the tune's key
    barline: str = "|"           # written after the bar: | || |] :|
    repeat_start: bool = False   # a |: is written before the bar
    ending: str = ""             # a volta bracket starts here: "1", "2", "1,3"
    part: str = ""               # a part label (P:B) is written before the bar
    chords: tuple[tuple[Fraction, str], ...] = ()   # (offset in quarters, "G7")

    def __post_init__(self):
        if self.barline not in BARLINES:
            raise TuneError(f"unknown barline {self.barline!r} (one of {' '.join(BARLINES)})")

    @property
    def duration(self) -> Fraction:
        return sum((n.duration for n in self.notes), Fraction(0))

    @property
    def expected(self) -> Fraction:
        """Length of a full bar in quarter notes (6/8 -> 3)."""
        return Fraction(4 * self.meter[0], self.meter[1])

    @property
    def is_full(self) -> bool:
        return self.duration == self.expected

    def onsets(self) -> list[Fraction]:
        """Onset of each note from the start of the bar, in quarter notes.

        >>> Bar((Note(60, '1/2'), Note(62, '1/2')), (2, 4)).onsets()
        [Fraction(0, 1), Fraction(1, 2)]
        """
        out, t = [], Fraction(0)
        for n in self.notes:
            out.append(t)
            t += n.duration
        return out

    def with_notes(self, notes: Iterable[Note]) -> "Bar":
        """The same written bar (form, chords, key) holding other notes."""
        return replace(self, notes=tuple(notes))

    def plain(self) -> "Bar":
        """The bar without its written form (notes, meter and key only)."""
        return Bar(self.notes, self.meter, self.key)

    @property
    def has_form(self) -> bool:
        return self.barline != "|" or self.repeat_start or bool(self.ending or self.part)

    @property
    def heard(self) -> tuple[tuple[int | None, Fraction], ...]:
        """The notes as heard, (pitch, length) each: the written spelling (`Note.letter`,
        kept for a parsed tune, absent in sampled bars) does not make equal bars differ.

        >>> Bar((Note(61, 1, letter="C"),), (1, 4)).heard == Bar((Note(61, 1),), (1, 4)).heard
        True
        >>> Bar((Note(61, 1),), (1, 4)).heard == Bar((Note(62, 1),), (1, 4)).heard
        False
        """
        return tuple((n.pitch, n.duration) for n in self.notes)


def _as_note(x) -> Note:
    if isinstance(x, Note):
        return x
    pitch, dur, *rest = x
    return Note(pitch, Fraction(dur), bool(rest[0]) if rest else False)


def meter_for_length(length: Fraction, den: int) -> Meter | None:
    """A meter whose bar is `length` quarters, denominator `den` or finer (None if none).

    >>> meter_for_length(Fraction(3, 2), 4), meter_for_length(Fraction(5, 4), 8), meter_for_length(Fraction(2, 3), 4)
    ((3, 8), (5, 16), None)
    """
    den = 1 << max(0, den.bit_length() - 1)   # a power of two, as ABC and MIDI need
    while den <= 64:
        num = length * den / 4
        if num.denominator == 1 and num > 0:
            return (int(num), den)
        den *= 2
    return None


_FORM_FIELDS = ("barline", "repeat_start", "ending", "part", "chords", "key")


@dataclass(frozen=True, slots=True)
class Tune:
    """An immutable tune as written; every edit returns a new Tune (cheap undo history)."""
    bars: tuple[Bar, ...]
    meter: Meter = (4, 4)
    key: Key = field(default_factory=Key)
    title: str = "Untitled"
    tempo: int = 120          # quarter notes per minute
    pickup: bool = False      # bars[0] is a pickup (bar 0)
    parts: str = ""           # the header's P: order, expanded ("AABB"); "" = written order

    # ----- construction -------------------------------------------------
    @classmethod
    def from_bars(cls, bars: Iterable[Iterable], *, meter: Meter = (4, 4),
                  pickup: bool = False, **kw) -> "Tune":
        """Build from lists of ``(pitch, duration[, tie])`` tuples or Notes, one list per bar."""
        made = tuple(Bar(tuple(_as_note(x) for x in b), tuple(meter)) for b in bars)
        return cls(made, tuple(meter), pickup=pickup, **kw)

    # ----- bar addressing -------------------------------------------------
    @property
    def num_bars(self) -> int:
        """Number of written bars counted from 1 (the pickup, if any, is not counted)."""
        return len(self.bars) - (1 if self.pickup else 0)

    @property
    def pickup_length(self) -> Fraction:
        return self.bars[0].duration if self.pickup and self.bars else Fraction(0)

    def _index(self, k: int) -> int:
        """List index of bar number k (1-based; 0 = pickup; negative counts from the end)."""
        asked = k
        if k < 0:
            k = self.num_bars + 1 + k
        if k == 0 and not self.pickup and asked == 0:
            raise TuneError("this tune has no pickup bar (bar 0)")
        i = k if self.pickup else k - 1
        if not 0 <= i < len(self.bars) or k > self.num_bars:
            raise TuneError(f"bar {asked} does not exist: the tune has {self.num_bars} bars")
        return i

    def bar(self, k: int) -> Bar:
        """Bar number k (1-based; 0 is the pickup; -1 is the last bar)."""
        return self.bars[self._index(k)]

    def bar_numbers(self) -> list[int]:
        """Musicians' numbers of the stored bars, in order."""
        start = 0 if self.pickup else 1
        return list(range(start, start + len(self.bars)))

    def key_at(self, k: int) -> Key:
        """The key in force in bar k."""
        return self.bar(k).key or self.key

    def replace_bars(self, i: int, j: int, new: Sequence[Bar]) -> "Tune":
        """Replace bars i..j (inclusive) with `new` (any number of bars).

        Bars replaced one for one keep their written form (barline, repeat sign,
        ending, part label, chords; the key unless the new bar names one), so a varied
        bar is heard in every pass; the meter is the new bar's;
        with more or fewer bars, the first new bar takes the form that opens the
        range and the last new bar the barline that closes it.
        """
        a, b = self._index(i), self._index(j)
        if b < a:
            raise TuneError(f"bar range {i}..{j} is empty")
        old, new = self.bars[a:b + 1], list(new)
        if len(new) == len(old):
            new = [replace(o, notes=n.notes, meter=n.meter, key=n.key or o.key)
                   if not n.has_form else n for o, n in zip(old, new)]
        elif new:
            first, last = old[0], old[-1]
            if not new[0].has_form:
                new[0] = replace(new[0], repeat_start=first.repeat_start, ending=first.ending,
                                 part=first.part)
            if not new[-1].has_form or new[-1].barline == "|":
                new[-1] = replace(new[-1], barline=last.barline)
        return replace(self, bars=self.bars[:a] + tuple(new) + self.bars[b + 1:])

    def append_bars(self, new: Sequence[Bar]) -> "Tune":
        """Add bars at the end; a final ``|]`` moves to the new last bar.

        >>> t = Tune.from_bars([[(60, 4)]]).with_bar(1, barline="|]")
        >>> [b.barline for b in t.append_bars([Bar((Note(62, 4),), (4, 4))]).bars]
        ['|', '|]']
        """
        new = list(new)
        bars = self.bars
        if new and bars and bars[-1].barline == "|]":
            bars = bars[:-1] + (replace(bars[-1], barline="|"),)
            if new[-1].barline == "|":
                new[-1] = replace(new[-1], barline="|]")
        return replace(self, bars=bars + tuple(new))

    def slice_bars(self, i: int, j: int) -> "Tune":
        """A new tune holding bars i..j (inclusive); no pickup unless i == 0."""
        a, b = self._index(i), self._index(j)
        return replace(self, bars=self.bars[a:b + 1], pickup=(i == 0 and self.pickup))

    def with_bar(self, k: int, **changes) -> "Tune":
        """A copy with fields of bar k changed (``barline=":|"``, ``part="B"`` ...)."""
        i = self._index(k)
        return replace(self, bars=self.bars[:i] + (replace(self.bars[i], **changes),)
                       + self.bars[i + 1:])

    def with_(self, **changes) -> "Tune":
        """A copy with some fields changed (title, tempo, key ...)."""
        return replace(self, **changes)

    # ----- the written form ---------------------------------------------------
    @property
    def has_form(self) -> bool:
        """Any repeat, ending, part label, P: order or inner non-plain barline."""
        return bool(self.parts) or any(b.has_form for b in self.bars[:-1]) or (
            bool(self.bars) and (self.bars[-1].repeat_start or self.bars[-1].barline == ":|"
                                 or bool(self.bars[-1].ending or self.bars[-1].part)))

    def barline_after(self, k: int) -> str:
        """The barline between bar k and the next, as written: | || |] :| |: ::"""
        i = self._index(k)
        end = self.bars[i].barline
        start = i + 1 < len(self.bars) and self.bars[i + 1].repeat_start
        if start:
            return "::" if end == ":|" else "|:"
        return end

    def ending_of(self, k: int) -> str:
        """The volta label of the bracket bar k lies under ('' if none).

        A bracket starts at a bar with `Bar.ending` and runs until a barline other
        than ``|``, the next repeat sign, part label or ending.
        """
        from st4rt_repl.form import ending_over
        return ending_over(self.bars, self._index(k))

    def with_repeat(self, i: int, j: int) -> "Tune":
        """Written bars i..j wrapped in repeat signs ``|: ... :|``."""
        a, b = self._index(i), self._index(j)
        if b < a:
            raise TuneError(f"bar range {i}..{j} is empty")
        bars = list(self.bars)
        bars[a] = replace(bars[a], repeat_start=True)
        bars[b] = replace(bars[b], barline=":|")
        return replace(self, bars=tuple(bars))

    def performed(self) -> "Tune":
        """The melody as played: repeats, endings and parts unfolded as abc2midi does.

        The result has no written form (it is what MIDI, WAV and playback use) and is
        cut into bars like a flat reading: a pickup, then full bars.
        """
        from st4rt_repl.form import perform
        return perform(self)

    def unfolded(self) -> "Tune":
        """`performed()` as a tune of its own: the repeats written out, chords kept."""
        from st4rt_repl.form import unfold
        return unfold(self)

    def played_order(self) -> list[int]:
        """The written bar number of each written bar as it is played, in order."""
        from st4rt_repl.form import played_order
        return played_order(self)

    @property
    def num_played_bars(self) -> int:
        """How many bars are heard (written bars counted once per pass; pickup not counted)."""
        return sum(1 for k in self.played_order() if k != 0)

    def performed_chords(self) -> list[tuple[Fraction, Fraction, str]]:
        """(onset, duration, symbol) of every chord symbol as heard."""
        from st4rt_repl.form import performed_chords
        return performed_chords(self)

    # ----- whole-tune views --------------------------------------------------
    def notes(self) -> Iterator[tuple[Fraction, Note]]:
        """(onset in quarters from the tune's start, note) for every written note and rest."""
        t = Fraction(0)
        for bar in self.bars:
            for n in bar.notes:
                yield t, n
                t += n.duration

    def sounding(self) -> list[tuple[Fraction, Fraction, int]]:
        """Written notes as heard in one pass: (onset, duration, pitch), ties merged, rests dropped.

        >>> t = Tune.from_bars([[(60, 1), (62, 1, True)], [(62, 1), (None, 1)]], meter=(2, 4))
        >>> t.sounding()
        [(Fraction(0, 1), Fraction(1, 1), 60), (Fraction(1, 1), Fraction(2, 1), 62)]
        """
        out: list[list] = []
        held = False
        for onset, n in self.notes():
            if n.is_rest:
                held = False
                continue
            if held and out and out[-1][2] == n.pitch:
                out[-1][1] += n.duration
            else:
                out.append([onset, n.duration, n.pitch])
            held = n.tie
        return [tuple(x) for x in out]

    @property
    def duration(self) -> Fraction:
        return sum((b.duration for b in self.bars), Fraction(0))

    def transpose(self, semitones: int) -> "Tune":
        """Shift every pitch; keys (and key changes) move with it; spellings are re-decided."""
        def move(n: Note) -> Note:
            return n if n.is_rest else replace(n, pitch=n.pitch + semitones, letter="")
        bars = tuple(replace(b, notes=tuple(move(n) for n in b.notes),
                             key=transpose_key(b.key, semitones) if b.key else None,
                             chords=tuple((o, transpose_chord(c, semitones)) for o, c in b.chords))
                     for b in self.bars)
        return replace(self, bars=bars, key=transpose_key(self.key, semitones))

    # ----- JSON (sessions) ----------------------------------------------------
    def to_json(self) -> dict:
        """A JSON-ready dict; `Tune.from_json` is its reverse.

        >>> import json
        >>> t = Tune.from_bars([[(60, '1/3'), (None, '2/3', False), (62, 3, True)]], title="A")
        >>> t = t.with_repeat(1, 1).with_bar(1, chords=((Fraction(1, 3), "Am"),))
        >>> Tune.from_json(json.loads(json.dumps(t.to_json()))) == t
        True
        """
        bars = []
        for b in self.bars:
            d: dict = {"notes": [[n.pitch, str(n.duration)] + ([1] if n.tie else [])
                                 + ([n.letter] if n.letter else []) for n in b.notes]}
            if b.meter != self.meter:
                d["meter"] = list(b.meter)
            if b.key is not None:
                d["key"] = [b.key.tonic, b.key.mode]
            if b.barline != "|":
                d["barline"] = b.barline
            if b.repeat_start:
                d["repeat_start"] = True
            if b.ending:
                d["ending"] = b.ending
            if b.part:
                d["part"] = b.part
            if b.chords:
                d["chords"] = [[str(o), c] for o, c in b.chords]
            bars.append(d)
        out = {"title": self.title, "meter": list(self.meter), "key": [self.key.tonic, self.key.mode],
               "tempo": self.tempo, "pickup": self.pickup, "bars": bars}
        if self.parts:
            out["parts"] = self.parts
        return out

    @classmethod
    def from_json(cls, d: dict) -> "Tune":
        """The Tune of a `to_json` dict; a round-1 dict (no form fields) is a tune without repeats.

        >>> Tune.from_json({"title": "Old", "meter": [2, 4], "key": ["D", "major"], "tempo": 100,
        ...                 "pickup": False, "bars": [{"notes": [[62, "2", 0]]}]}).bar(1).barline
        '|'
        >>> Tune.from_json({"bars": 3})
        Traceback (most recent call last):
        st4rt_repl.errors.TuneError: malformed tune in session file: 'meter'
        """
        try:
            meter = tuple(int(x) for x in d["meter"])

            def note(n) -> Note:
                tie = bool(n[2]) if len(n) > 2 and not isinstance(n[2], str) else False
                letter = next((x for x in n[2:] if isinstance(x, str)), "")
                return Note(n[0], Fraction(n[1]), tie, letter)

            bars = tuple(Bar(tuple(note(n) for n in b["notes"]), tuple(b.get("meter", meter)),
                             Key(*b["key"]) if "key" in b else None,
                             b.get("barline", "|"), bool(b.get("repeat_start", False)),
                             str(b.get("ending", "")), str(b.get("part", "")),
                             tuple((Fraction(o), str(c)) for o, c in b.get("chords", ())))
                         for b in d["bars"])
            return cls(bars, meter, Key(*d["key"]), title=str(d["title"]), tempo=int(d["tempo"]),
                       pickup=bool(d["pickup"]), parts=str(d.get("parts", "")))
        except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError) as e:
            raise TuneError(f"malformed tune in session file: {e}") from e

    def __str__(self) -> str:
        played = self.num_played_bars
        also = f", {played} played" if played != self.num_bars else ""
        return (f"{self.title} ({self.key}, {self.meter[0]}/{self.meter[1]}, "
                f"{self.num_bars} bars{also}{' + pickup' if self.pickup else ''})")


_CHORD_ROOT = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def transpose_chord(symbol: str, semitones: int) -> str:
    """A chord symbol moved by `semitones` (root and bass; the rest kept).

    >>> transpose_chord("D7", 2), transpose_chord("Am/G", -2), transpose_chord("N.C.", 3)
    ('E7', 'Gm/F', 'N.C.')
    """
    import re

    def move(m):
        return m.group(1) + _CHORD_ROOT[(PITCH_CLASS[m.group(2)] + semitones) % 12]
    if semitones % 12 == 0:
        return symbol
    return re.sub(r"(^\(?|/)([A-G][#b]?)", move, symbol)
