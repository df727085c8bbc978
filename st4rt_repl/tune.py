"""The one melody type of ST4RT+: an immutable, bar-addressable `Tune`.

Durations and onsets are exact `Fraction`s of a quarter note, so triplets and
dotted rhythms never drift.  Pitches are MIDI numbers (``None`` is a rest);
spelling is decided by the ABC writer against the key.  A tune is a tuple of
`Bar`s.  When ``pickup`` is true, ``bars[0]`` is the pickup (bar 0) and full bars
are numbered from 1, as musicians count them.  A note that sounds across a
barline is split at the barline with ``tie=True`` on the earlier part.

>>> t = Tune.from_bars([[(62, '1/2'), (64, '1/2'), (66, 1)] * 2,
...                     [(67, 2), (None, 2)]], meter=(4, 4), key=Key('D', 'major'))
>>> t.num_bars
2
>>> [n.pitch for n in t.bar(2).notes]
[67, None]
>>> t2 = t.replace_bars(2, 2, [t.bar(1)])
>>> t2.bar(2) == t.bar(1), t.bar(2).notes[0].pitch   # t is unchanged
(True, 67)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Iterable, Iterator, Sequence

__all__ = ["Note", "Bar", "Key", "Tune", "Meter", "TuneError", "PITCH_CLASS", "MODES"]

Meter = tuple[int, int]

# Pitch class of each tonic spelling we accept (ABC and music21 spellings).
PITCH_CLASS = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4, "E#": 5,
    "F": 5, "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10,
    "B": 11, "Cb": 11, "B#": 0,
}
# Mode name -> semitones of its tonic above the relative major's tonic.
MODES = {"major": 0, "dorian": 2, "phrygian": 4, "lydian": 5, "mixolydian": 7,
         "minor": 9, "locrian": 11}


class TuneError(ValueError):
    """A tune that cannot be read or built; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class Note:
    """One note or rest.

    >>> Note(60, Fraction(1, 3)).is_rest, Note(None, 1).is_rest
    (False, True)
    """
    pitch: int | None
    duration: Fraction
    tie: bool = False  # tied to the next note (only across a barline after import)

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
    """The notes of one bar, in order, and the meter in force there.

    >>> Bar((Note(60, 1), Note(62, 2)), (3, 4)).is_full
    True
    """
    notes: tuple[Note, ...]
    meter: Meter

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


@dataclass(frozen=True, slots=True)
class Key:
    """A key: tonic spelling ('D', 'Bb', 'F#') and mode ('major', 'dorian', ...).

    >>> Key('E', 'minor').relative_major_pc, Key('A', 'mixolydian').tonic_pc
    (7, 9)
    """
    tonic: str = "C"
    mode: str = "major"

    def __post_init__(self):
        if self.tonic not in PITCH_CLASS:
            raise TuneError(f"unknown key tonic {self.tonic!r}")
        if self.mode not in MODES:
            raise TuneError(f"unknown mode {self.mode!r}")

    @property
    def tonic_pc(self) -> int:
        return PITCH_CLASS[self.tonic] % 12

    @property
    def relative_major_pc(self) -> int:
        return (self.tonic_pc - MODES[self.mode]) % 12

    def __str__(self) -> str:
        return f"{self.tonic} {self.mode}"


def _as_note(x) -> Note:
    if isinstance(x, Note):
        return x
    pitch, dur, *rest = x
    return Note(pitch, Fraction(dur), bool(rest[0]) if rest else False)


@dataclass(frozen=True, slots=True)
class Tune:
    """An immutable melody; every edit returns a new Tune (cheap undo history)."""
    bars: tuple[Bar, ...]
    meter: Meter = (4, 4)
    key: Key = field(default_factory=Key)
    title: str = "Untitled"
    tempo: int = 120          # quarter notes per minute
    pickup: bool = False      # bars[0] is a pickup (bar 0)

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
        """Number of bars counted from 1 (the pickup, if any, is not counted)."""
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

    def replace_bars(self, i: int, j: int, new: Sequence[Bar]) -> "Tune":
        """Replace bars i..j (inclusive, 1-based) with `new` (any number of bars)."""
        a, b = self._index(i), self._index(j)
        if b < a:
            raise TuneError(f"bar range {i}..{j} is empty")
        return replace(self, bars=self.bars[:a] + tuple(new) + self.bars[b + 1:])

    def append_bars(self, new: Sequence[Bar]) -> "Tune":
        return replace(self, bars=self.bars + tuple(new))

    def slice_bars(self, i: int, j: int) -> "Tune":
        """A new tune holding bars i..j (inclusive); no pickup unless i == 0."""
        a, b = self._index(i), self._index(j)
        return replace(self, bars=self.bars[a:b + 1], pickup=(i == 0 and self.pickup))

    def with_(self, **changes) -> "Tune":
        """A copy with some fields changed (title, tempo, key ...)."""
        return replace(self, **changes)

    # ----- whole-tune views --------------------------------------------------
    def notes(self) -> Iterator[tuple[Fraction, Note]]:
        """(onset in quarters from the tune's start, note) for every note and rest."""
        t = Fraction(0)
        for bar in self.bars:
            for n in bar.notes:
                yield t, n
                t += n.duration

    def sounding(self) -> list[tuple[Fraction, Fraction, int]]:
        """Notes as heard: (onset, duration, pitch) with ties merged and rests dropped.

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
        """Shift every pitch; the key moves with it (spelled with flats for flat keys)."""
        from st4rt_repl.keys import transpose_key
        bars = tuple(Bar(tuple(n if n.is_rest else replace(n, pitch=n.pitch + semitones)
                               for n in b.notes), b.meter) for b in self.bars)
        return replace(self, bars=bars, key=transpose_key(self.key, semitones))

    def __str__(self) -> str:
        return (f"{self.title} ({self.key}, {self.meter[0]}/{self.meter[1]}, "
                f"{self.num_bars} bars{' + pickup' if self.pickup else ''})")
