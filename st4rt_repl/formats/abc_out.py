"""Tune -> ABC text that abc2midi and music21 play back note for note.

Choices, and why:

* ``L:1/8`` except in meters shorter than 3/4, where ``L:1/16`` is used when it
  makes the text shorter (2/4 polkas full of sixteenths).
* Spelling: in-key notes follow the key signature; a white-key note outside the key
  is a natural (``=c`` in D major); a black-key note outside it is sharpened in sharp
  keys and flattened in flat keys.
* Accidentals hold to the end of the bar.  abc2midi applies one to every octave of the
  letter (measured: ``^c C`` plays C#), the ABC standard to that octave only, so we
  write an accidental whenever either reading would get the note wrong.
* Only plain, dotted and double-dotted lengths are written; other lengths become
  tied notes.  Notes whose length has an odd factor (1/3, 1/5 ...) are grouped into
  tuplets ``(3abc`` / ``(p:q:r`` running until the next onset on the normal grid.
* abc2midi warns about a bar whose length is not the meter's, except for the first
  and the last bar.  So a pickup and a short last bar are written as they are, and an
  irregular bar elsewhere gets an inline ``[M:x/y]`` of its own length (the meter
  comes back with the next bar): the notes are never changed.

>>> from st4rt_repl.tune import Tune, Key
>>> t = Tune.from_bars([[(69, '1/2')], [(74, 1), (78, '1/3'), (76, '1/3'), (74, '1/3')],
...                     [(72, 2, True)], [(72, '1/2'), (None, 1)]],
...                    meter=(2, 4), key=Key('D', 'major'), title='Demo', tempo=100, pickup=True)
>>> print(to_abc(t))
X:1
T:Demo
M:2/4
L:1/8
Q:1/4=100
K:D
A|d2 (3fed|=c4-|=cz2|]
<BLANKLINE>
"""
from __future__ import annotations

from fractions import Fraction
from math import gcd
from typing import Iterable, Sequence

from st4rt_repl.keys import altered_letters, key_signature, spelled_signature
from st4rt_repl.tune import PITCH_CLASS, Bar, Key, Meter, Note, Tune

__all__ = ["to_abc", "tunes_to_abc", "abc_key", "signature_tonic", "spell", "meter_for_length"]

_NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_LETTER_OF_WHITE = {pc: letter for letter, pc in _NATURAL.items()}
_NEUTRAL_SPELLING = {1: ("C", 1), 3: ("E", -1), 6: ("F", 1), 8: ("G", 1), 10: ("B", -1)}
_MODE_SUFFIX = {"major": "", "minor": "m", "dorian": "dor", "phrygian": "phr", "lydian": "lyd",
                "mixolydian": "mix", "locrian": "loc"}
_ACCIDENTAL = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}
BARS_PER_LINE = 4


def abc_key(key: Key) -> str:
    """The K: field value for a key (a tonic needing over 7 accidentals is respelled).

    >>> abc_key(Key('A', 'dorian')), abc_key(Key('E', 'minor')), abc_key(Key('Bb', 'major'))
    ('Ador', 'Em', 'Bb')
    >>> abc_key(Key('Cb', 'dorian'))
    'Bdor'
    """
    return signature_tonic(key) + _MODE_SUFFIX[key.mode]


def signature_tonic(key: Key) -> str:
    """The tonic spelled so that it implies the key's signature (Cb dorian -> 'B').

    >>> signature_tonic(Key('Cb', 'dorian')), signature_tonic(Key('Eb', 'minor'))
    ('B', 'Eb')
    """
    want = key_signature(key)
    if spelled_signature(key) == want:
        return key.tonic
    return next(name for name, pc in PITCH_CLASS.items()
                if pc % 12 == key.tonic_pc and spelled_signature(Key(name, key.mode)) == want)


def spell(pitch: int, key: Key) -> tuple[str, int]:
    """(letter, alteration) for a MIDI pitch in a key.

    >>> spell(61, Key('D', 'major')), spell(60, Key('D', 'major')), spell(70, Key('F', 'major'))
    (('C', 1), ('C', 0), ('B', -1))
    >>> spell(68, Key('A', 'major')), spell(68, Key('Eb', 'major')), spell(70, Key('G', 'major'))
    (('G', 1), ('A', -1), ('A', 1))
    """
    return _spelling_table(key)[pitch % 12]


def _spelling_table(key: Key) -> dict[int, tuple[str, int]]:
    alt = altered_letters(key)
    sig = key_signature(key)
    table: dict[int, tuple[str, int]] = {}
    for letter, nat in _NATURAL.items():
        a = alt.get(letter, 0)
        table.setdefault((nat + a) % 12, (letter, a))
    for pc in range(12):
        if pc in table:
            continue
        if pc in _LETTER_OF_WHITE:
            table[pc] = (_LETTER_OF_WHITE[pc], 0)
        elif sig > 0:
            table[pc] = (_LETTER_OF_WHITE[(pc - 1) % 12], 1)
        elif sig < 0:
            table[pc] = (_LETTER_OF_WHITE[(pc + 1) % 12], -1)
        else:
            table[pc] = _NEUTRAL_SPELLING[pc]
    return table


# ----- lengths --------------------------------------------------------------------

def _is_dyadic(x: Fraction) -> bool:
    d = x.denominator
    return d & (d - 1) == 0


def _odd_part(n: int) -> int:
    while n % 2 == 0:
        n //= 2
    return n


def _writable(q: Fraction) -> bool:
    """Plain, dotted or double-dotted note value (in quarters), 128th to dotted breve."""
    for base_exp in range(-5, 4):
        base = Fraction(2) ** base_exp
        if q in (base, base * Fraction(3, 2), base * Fraction(7, 4)):
            return True
    return False


def _split(q: Fraction) -> list[Fraction]:
    """A dyadic length as writable pieces, longest first (each piece then tied)."""
    if _writable(q):
        return [q]
    pieces = []
    cands = sorted((Fraction(2) ** e * f for e in range(-5, 4)
                    for f in (Fraction(1), Fraction(3, 2), Fraction(7, 4))), reverse=True)
    rest = q
    while rest > 0:
        piece = next((c for c in cands if c <= rest), None)
        if piece is None:  # finer than a 128th: write it as it is (abc2midi still reads it)
            pieces.append(rest)
            break
        pieces.append(piece)
        rest -= piece
    return pieces


def _length_text(q: Fraction, unit: Fraction) -> str:
    """ABC length suffix of `q` quarters with L equal to `unit` quarters."""
    x = q / unit
    if x == 1:
        return ""
    if x.denominator == 1:
        return str(x.numerator)
    if x.numerator == 1:
        return "/" if x.denominator == 2 else f"/{x.denominator}"
    return f"{x.numerator}/{x.denominator}"


# ----- notes ----------------------------------------------------------------------

class _BarSpeller:
    """Accidentals for one bar: writes one only when a reader could get the note wrong."""

    def __init__(self, key: Key):
        self.key_alt = altered_letters(key)
        self.table = _spelling_table(key)
        self.by_octave: dict[tuple[str, int], int] = {}
        self.by_letter: dict[str, int] = {}

    def note(self, pitch: int) -> str:
        letter, a = self.table[pitch % 12]
        natural = pitch - a                      # the letter's unaltered MIDI pitch
        octave = natural // 12 - 1               # MIDI octave: 60 -> 4
        default = self.key_alt.get(letter, 0)
        acc = ""
        if self.by_octave.get((letter, octave), default) != a or self.by_letter.get(letter, default) != a:
            acc = _ACCIDENTAL[a]
            self.by_octave[(letter, octave)] = a
            self.by_letter[letter] = a
        if octave >= 5:
            return acc + letter.lower() + "'" * (octave - 5)
        return acc + letter + "," * (4 - octave)


def _tuplet_groups(notes: Sequence[Note]) -> list[tuple[int, int, int]]:
    """(start, end, p) for runs of notes needing a tuplet; a run ends on a dyadic onset."""
    groups, i, t = [], 0, Fraction(0)
    while i < len(notes):
        d = notes[i].duration
        if _is_dyadic(d) and _is_dyadic(t):
            t += d
            i += 1
            continue
        j, p = i, 1
        while j < len(notes):
            dj = notes[j].duration
            p = p * _odd_part(dj.denominator) // gcd(p, _odd_part(dj.denominator))
            t += dj
            j += 1
            if _is_dyadic(t):
                break
        groups.append((i, j, p))
        i = j
    return groups


def _beam_unit(meter: Meter) -> Fraction:
    """Notes are beamed (written without spaces) within this many quarters."""
    num, den = meter
    if den == 8 and num % 3 == 0 and num > 3:
        return Fraction(3, 2)
    if den == 2 or meter == (4, 4):
        return Fraction(2)
    return Fraction(4, den) if den <= 4 else Fraction(1)


def _bar_text(bar: Bar, speller: _BarSpeller, unit: Fraction, ties: Sequence[bool],
              beam: Fraction) -> str:
    """The notes of one bar as ABC (no barline)."""
    notes = bar.notes
    groups = {start: (end, p) for start, end, p in _tuplet_groups(notes)}
    out: list[str] = []
    t = Fraction(0)
    i = 0

    def pieces_of(n: Note, scale: Fraction, tie_out: bool) -> list[tuple[str, Fraction]]:
        parts = _split(n.duration * scale)
        words = []
        for k, q in enumerate(parts):
            if n.is_rest:
                words.append(("z" + _length_text(q, unit), q))
            else:
                last = k == len(parts) - 1
                words.append((speller.note(n.pitch) + _length_text(q, unit)
                              + ("-" if (not last or tie_out) else ""), q))
        return words

    while i < len(notes):
        if i in groups:
            end, p = groups[i]
            q = 1 << (p.bit_length() - 1)            # largest power of two below p
            if q == p:
                q //= 2
            words = []
            for k in range(i, end):
                words += pieces_of(notes[k], Fraction(p, q), ties[k])
                t += notes[k].duration
            # abc2midi warns about "(3" over unequal notes, not about the long form.
            plain = (p, q, len(words)) == (3, 2, 3) and len({w[1] for w in words}) == 1
            head = "(3" if plain else f"({p}:{q}:{len(words)}"
            out.append(head + "".join(w for w, _ in words))
            i = end
        else:
            out.append("".join(w for w, _ in pieces_of(notes[i], Fraction(1), ties[i])))
            t += notes[i].duration
            i += 1
        if (t % beam == 0 or notes[i - 1].duration >= beam) and i < len(notes):
            out.append(" ")
    return "".join(out)


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


def _choose_unit(tune: Tune) -> Fraction:
    """L: as quarters: 1/2 (L:1/8), or 1/4 (L:1/16) where that is shorter for short meters."""
    if Fraction(tune.meter[0], tune.meter[1]) >= Fraction(3, 4):
        return Fraction(1, 2)
    eighth = _body(tune, Fraction(1, 2), False)
    sixteenth = _body(tune, Fraction(1, 4), False)
    return Fraction(1, 4) if len(sixteenth) < len(eighth) else Fraction(1, 2)


def _ties(tune: Tune) -> list[list[bool]]:
    """For each note: write a tie after it (tied, and the next note has the same pitch)."""
    flat = [n for b in tune.bars for n in b.notes]
    keep = [n.tie and not n.is_rest and k + 1 < len(flat) and flat[k + 1].pitch == n.pitch
            for k, n in enumerate(flat)]
    out, k = [], 0
    for b in tune.bars:
        out.append(keep[k:k + len(b.notes)])
        k += len(b.notes)
    return out


def _body(tune: Tune, unit: Fraction, bar_numbers: bool) -> str:
    bars = [(num, b, tie) for num, b, tie in zip(tune.bar_numbers(), tune.bars, _ties(tune)) if b.notes]
    lines: list[str] = []
    line: list[str] = []
    line_first: int | None = None
    in_force = tune.meter
    full_in_line = 0
    for idx, (num, bar, ties) in enumerate(bars):
        first, last = idx == 0, idx == len(bars) - 1
        meter = bar.meter
        prefix = ""
        length = bar.duration
        regular = length == bar.expected or (first and length < bar.expected) or \
            (last and length < bar.expected)
        if not regular:
            meter = meter_for_length(length, meter[1]) or in_force
        if not _is_dyadic(Fraction(1, meter[1])):   # ABC meters need 2, 4, 8 ... below
            meter = meter_for_length(length, 8) or in_force
        if meter != in_force:
            prefix = f"[M:{meter[0]}/{meter[1]}]"
            in_force = meter
        if line_first is None:
            line_first = num
        speller = _BarSpeller(tune.key)
        line.append(prefix + _bar_text(bar, speller, unit, ties, _beam_unit(bar.meter)))
        if not (first and tune.pickup):
            full_in_line += 1
        if full_in_line == BARS_PER_LINE or last:
            text = "|".join(line) + ("|]" if last else "|")
            if bar_numbers:
                lines.append(f"% bar {line_first}")
            lines.append(text)
            line, line_first, full_in_line = [], None, 0
    return "\n".join(lines)


def to_abc(tune: Tune, *, x: int = 1, bar_numbers: bool = False) -> str:
    """One tune as ABC text (header X/T/M/L/Q/K, then four bars a line).

    `bar_numbers` adds a ``% bar N`` comment line above each line of music.
    """
    unit = _choose_unit(tune)
    title = " ".join(str(tune.title).split()) or "Untitled"
    head = [f"X:{x}", f"T:{title}", f"M:{tune.meter[0]}/{tune.meter[1]}",
            f"L:1/{int(4 / unit)}", f"Q:1/4={tune.tempo}", f"K:{abc_key(tune.key)}"]
    return "\n".join(head) + "\n" + _body(tune, unit, bar_numbers) + "\n"


def tunes_to_abc(tunes: Iterable[Tune], *, titles: Sequence[str] | None = None,
                 bar_numbers: bool = False) -> str:
    """Several tunes in one ABC text, X:1, X:2 ..., separated by blank lines.

    >>> from st4rt_repl.tune import Tune
    >>> t = Tune.from_bars([[(60, 4)]])
    >>> text = tunes_to_abc([t, t], titles=['One', 'Two'])
    >>> [ln for ln in text.splitlines() if ln[:2] in ('X:', 'T:')]
    ['X:1', 'T:One', 'X:2', 'T:Two']
    """
    parts = []
    for k, t in enumerate(tunes):
        if titles is not None and k < len(titles):
            t = t.with_(title=titles[k])
        parts.append(to_abc(t, x=k + 1, bar_numbers=bar_numbers))
    return "\n".join(parts)
