"""Tune -> ABC text that abc2midi and music21 play back note for note, written form kept.

Choices, and why:

* The written form is written as it is: ``|:`` before a bar with a repeat start,
  the barline after each bar (``|``, ``||``, ``|]``, ``:|``), ``::`` where a ``:|``
  meets the next bar's ``|:`` (``:| |:`` where abc2midi would play a ``::`` otherwise:
  `st4rt_repl.form.is_double_repeat`), volta brackets ``[1`` / ``[2`` / ``[1,3`` where
  they start, part labels as ``P:B`` lines in the body and the header ``P:`` order, and
  ``[K:D]`` / ``[M:3/4]`` where the key or meter of a bar changes.  A short bar
  before an ending gets no barline of its own (``f2 [1 d2:|``: an ending that
  starts in the middle of a bar, which the reader reads as two bars).  abc2midi reads
  ``||:`` as ``||`` and a dotted bar line (no repeat), so a repeat after a double bar
  is written ``|| |:``.  The last bar always ends with a final ``|]`` (or its ``:|``).
* Chord symbols are written before the note they start on; one that starts in the
  middle of a note splits the note into two tied notes (the sound is the same and
  the chord keeps its exact offset).
* ``L:1/8`` except in meters shorter than 3/4, where ``L:1/16`` is used when it
  makes the text shorter (2/4 polkas full of sixteenths).
* Spelling (`st4rt_repl.spelling`): a note keeps its written letter (``Note.letter``);
  a note without one is spelled from the key and its neighbours.  Accidentals hold
  to the end of the bar: abc2midi applies one to every octave of the letter
  (measured: ``^c C`` plays C#), the ABC standard to that octave only, so we write
  an accidental whenever either reading would get the note wrong.
* Only plain, dotted and double-dotted lengths are written; other lengths become
  tied notes.  Notes whose length has an odd factor (1/3, 1/5 ...) are grouped into
  tuplets ``(3abc`` / ``(p:q:r`` running until the next onset on the normal grid.
* Partial bars are written as they are.  abc2midi checks a bar's length only at a
  plain ``|`` (measured: at ``||``, ``|]``, ``|:``, ``:|`` and ``::`` it carries the
  count on into the next bar, unless the bar is full), and never at the tune's
  first check.  So a pickup, a part's short last bar before ``||`` or ``:|``, and a
  short last bar need nothing; an irregular bar that abc2midi would measure alone at
  a ``|`` gets an inline ``[M:x/y]`` of its own length (the meter comes back with the
  next bar): the notes are never changed.

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
>>> from fractions import Fraction
>>> r = t.with_repeat(1, 2).with_bar(1, chords=((Fraction(0), "D"), (Fraction(1), "A7")))
>>> print(to_abc(r).splitlines()[-1])
A|:"D"d2 "A7"(3fed|=c4-:|=cz2|]
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from math import lcm
from typing import Iterable, Sequence

from st4rt_repl.keys import altered_letters
from st4rt_repl.spelling import key_table, signature_tonic, spell_notes
from st4rt_repl.tune import Bar, Key, Meter, Note, Tune, meter_for_length

__all__ = ["to_abc", "tunes_to_abc", "abc_key", "signature_tonic", "spell"]

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


def spell(pitch: int, key: Key) -> tuple[str, int]:
    """(letter, alteration) for a MIDI pitch in a key, without context.

    Notes in a tune are spelled with their neighbours (`st4rt_repl.spelling.spell_pitch`).

    >>> spell(61, Key('D', 'major')), spell(60, Key('D', 'major')), spell(70, Key('F', 'major'))
    (('C', 1), ('C', 0), ('B', -1))
    >>> spell(68, Key('A', 'major')), spell(68, Key('Eb', 'major')), spell(70, Key('G', 'major'))
    (('G', 1), ('A', -1), ('A', 1))
    """
    return key_table(key)[pitch % 12]


# ----- lengths --------------------------------------------------------------------

def _is_dyadic(x: Fraction) -> bool:
    d = x.denominator
    return d & (d - 1) == 0


def _odd_part(n: int) -> int:
    while n % 2 == 0:
        n //= 2
    return n


# Plain, dotted and double-dotted note values (in quarters), 128th to dotted breve.
_PIECES = sorted((Fraction(2) ** e * f for e in range(-5, 4)
                  for f in (Fraction(1), Fraction(3, 2), Fraction(7, 4))), reverse=True)


def _split(q: Fraction) -> list[Fraction]:
    """A dyadic length as writable pieces, longest first (each piece then tied): one
    piece when it is writable itself."""
    pieces = []
    rest = q
    while rest > 0:
        piece = next((c for c in _PIECES if c <= rest), None)
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
        self.by_octave: dict[tuple[str, int], int] = {}
        self.by_letter: dict[str, int] = {}

    def note(self, pitch: int, letter: str, a: int) -> str:
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
    """(start, end, p) for runs of notes needing a tuplet: from a note whose length has an
    odd factor to the next onset back on the normal grid (or the bar's end)."""
    groups, i = [], 0
    while i < len(notes):
        if _is_dyadic(notes[i].duration):
            i += 1
            continue
        j, p, run = i, 1, Fraction(0)
        while j < len(notes):
            run += notes[j].duration
            p = lcm(p, _odd_part(notes[j].duration.denominator))
            j += 1
            if _is_dyadic(run):
                break
        groups.append((i, j, p))
        i = j
    return groups


def _beam_unit(meter: Meter) -> Fraction:
    """Notes are beamed (written without spaces) within this many quarters."""
    num, den = meter
    if den == 8 and num % 3 == 0 and num > 3:
        return Fraction(3, 2)                    # compound: dotted quarters
    if meter == (4, 4):
        return Fraction(2)
    return max(Fraction(4, den), Fraction(1))    # the beat, and at least a quarter


def _split_at_chords(notes: Sequence[Note], ties: Sequence[bool], spelled: Sequence,
                     chords: Sequence[tuple[Fraction, str]]):
    """Notes (with their tie-out flags and spellings) split where a chord symbol starts
    inside a note: the first piece is tied to the second, so the sound is unchanged."""
    cuts = sorted({o for o, _ in chords})
    out_n, out_t, out_s = [], [], []
    t = Fraction(0)
    for n, tie, sp in zip(notes, ties, spelled):
        start, end = t, t + n.duration
        inner = [c for c in cuts if start < c < end]
        for c in inner:
            out_n.append(replace(n, duration=c - start))
            out_t.append(not n.is_rest)             # the tie written after the piece
            out_s.append(sp)
            start = c
        out_n.append(replace(n, duration=end - start))
        out_t.append(tie)
        out_s.append(sp)
        t = end
    return out_n, out_t, out_s


def _chord_text(symbols: Iterable[str]) -> str:
    return "".join(f'"{s}"' for s in symbols)


def _bar_text(bar: Bar, speller: _BarSpeller, unit: Fraction, ties: Sequence[bool],
              spelled: Sequence, beam: Fraction) -> str:
    """The notes (and chord symbols) of one bar as ABC (no barline)."""
    notes, ties, spelled = bar.notes, list(ties), list(spelled)
    chords = sorted(bar.chords, key=lambda c: c[0])
    if chords:
        notes, ties, spelled = _split_at_chords(notes, ties, spelled, chords)
    at: dict[Fraction, list[str]] = {}
    for o, c in chords:
        at.setdefault(max(Fraction(0), o), []).append(c)
    groups = {start: (end, p) for start, end, p in _tuplet_groups(notes)}
    out: list[str] = []
    t = Fraction(0)
    i = 0

    def chords_at(onset: Fraction) -> str:
        return _chord_text(at.pop(onset, ()))

    def pieces_of(k: int, scale: Fraction) -> list[tuple[str, Fraction]]:
        n, tie_out = notes[k], ties[k]
        parts = _split(n.duration * scale)
        words = []
        for j, q in enumerate(parts):
            if n.is_rest:
                words.append(("z" + _length_text(q, unit), q))
            else:
                last = j == len(parts) - 1
                letter, a = spelled[k]
                words.append((speller.note(n.pitch, letter, a) + _length_text(q, unit)
                              + ("-" if (not last or tie_out) else ""), q))
        return words

    while i < len(notes):
        if i in groups:
            end, p = groups[i]
            q = 1 << (p.bit_length() - 1)            # largest power of two below p (p is odd, > 1)
            words, texts = [], []
            lead = chords_at(t)      # a chord symbol goes before the tuplet sign
            for k in range(i, end):
                mine = pieces_of(k, Fraction(p, q))
                words += mine
                texts.append(chords_at(t) + "".join(w for w, _ in mine))   # (the first one's: lead)
                t += notes[k].duration
            # abc2midi warns about "(3" over unequal notes, not about the long form.
            plain = (p, q, len(words)) == (3, 2, 3) and len({w[1] for w in words}) == 1
            head = "(3" if plain else f"({p}:{q}:{len(words)}"
            out.append(lead + head + "".join(texts))
            i = end
        else:
            out.append(chords_at(t) + "".join(w for w, _ in pieces_of(i, Fraction(1))))
            t += notes[i].duration
            i += 1
        if (t % beam == 0 or notes[i - 1].duration >= beam) and i < len(notes):
            out.append(" ")
    rest = [c for o in sorted(at) for c in at[o]]
    if rest:                                     # chords at (or past) the bar's end
        out.append(_chord_text(rest))
    return "".join(out)


def _choose_unit(tune: Tune) -> Fraction:
    """L: as quarters: 1/2 (L:1/8), or 1/4 (L:1/16) where that is shorter for short meters."""
    if Fraction(tune.meter[0], tune.meter[1]) >= Fraction(3, 4):
        return Fraction(1, 2)
    eighth = _body(tune, Fraction(1, 2), False)
    sixteenth = _body(tune, Fraction(1, 4), False)
    return Fraction(1, 4) if len(sixteenth) < len(eighth) else Fraction(1, 2)


def _ties(tune: Tune) -> list[list[bool]]:
    """For each note: write a tie after it (tied, and the next note has the same pitch;
    never written after a rest)."""
    flat = [n for b in tune.bars for n in b.notes]
    keep = [n.tie and k + 1 < len(flat) and flat[k + 1].pitch == n.pitch
            for k, n in enumerate(flat)]
    out, k = [], 0
    for b in tune.bars:
        out.append(keep[k:k + len(b.notes)])
        k += len(b.notes)
    return out


def _spellings(tune: Tune) -> list[list]:
    """(letter, alteration) of every note, bar by bar: the written letter, else from the
    bar's key and the pitched neighbours (across barlines)."""
    flat = [n for b in tune.bars for n in b.notes]
    spelled = spell_notes(flat, [b.key or tune.key for b in tune.bars for _ in b.notes])
    out, k = [], 0
    for b in tune.bars:
        out.append(spelled[k:k + len(b.notes)])
        k += len(b.notes)
    return out


def _barline(bars: Sequence[Bar], i: int) -> tuple[str, bool]:
    """The text after bar i and whether it already holds the next bar's ``|:``."""
    from st4rt_repl.form import is_double_repeat
    bar = bars[i]
    nxt = bars[i + 1] if i + 1 < len(bars) else None
    end = bar.barline
    if nxt is None:
        return (end if end != "|" else "|]"), False
    if end == "|" and nxt.ending and not (nxt.repeat_start or nxt.part) and bar.duration < bar.expected:
        # a bar cut short by an ending ("f2 [1 d2:|", the ending starts mid-bar): our reader
        # makes two bars of it either way, and abc2midi counts them as the one they are
        return " ", False
    if nxt.repeat_start and not nxt.part:
        if end == "|":
            return "|:", True
        if end == ":|" and is_double_repeat(bars, i):    # else ":| |:" (abc2midi plays them apart)
            return "::", True
    return end, False


def _expected(meter: Meter) -> Fraction:
    return Fraction(4 * meter[0], meter[1])


def _plan_meters(tune: Tune, bars: Sequence[Bar], tokens: Sequence[str]) -> tuple[list[Meter], set[int]]:
    """The meter each bar is written in, and the bars that get an inline ``[M:]``.

    Walks the bars in playing order the way abc2midi checks bar lengths (module doc):
    a bar that every pass measures alone at a ``|`` with one wrong length gets a meter
    of that length, and a bar reached (after a repeat) under another meter than its
    own gets its meter written again.
    """
    meters = []
    for b in bars:
        m = b.meter
        if not _is_dyadic(Fraction(1, m[1])):      # ABC meters need 2, 4, 8 ... below
            m = meter_for_length(b.duration, 8) or m
        meters.append(m)
    emit: set[int] = set()

    def written_changes():
        for i, m in enumerate(meters):
            if m != (meters[i - 1] if i else tune.meter):
                emit.add(i)
    written_changes()
    try:
        index = {k: i for i, k in enumerate(j for j, b in zip(tune.bar_numbers(), tune.bars) if b.notes)}
        order = [index[k] for k in tune.played_order() if k in index]
    except Exception:    # noqa: BLE001 - a form we cannot unfold: written order
        order = list(range(len(bars)))
    lengths = [b.duration for b in bars]
    for _ in range(4):
        changed = False
        checks: dict[int, set[Fraction]] = {}
        in_force, count, first = tune.meter, Fraction(0), True
        for b in order:
            if b not in emit and meters[b] != in_force:
                emit.add(b)            # (emit follows from meters: only their changes count)
            in_force = meters[b]
            count += lengths[b]
            if tokens[b] == "|":
                if not first:
                    checks.setdefault(b, set()).add(count)
                count, first = Fraction(0), False
            elif count == _expected(in_force):       # a full bar: counted like a "|"
                count, first = Fraction(0), False
        for b, counts in checks.items():
            c = next(iter(counts))
            # measured alone (a bar that carries another's count keeps its meter); never the pickup
            if len(counts) == 1 and c == lengths[b] != _expected(meters[b]) and b > 0:
                m = meter_for_length(c, meters[b][1])
                if m is not None:
                    meters[b] = m
                    changed = True
        written_changes()
        if not changed:
            break
    return meters, emit


def _body(tune: Tune, unit: Fraction, bar_numbers: bool) -> str:
    items = [(num, b, tie, sp) for num, b, tie, sp in
             zip(tune.bar_numbers(), tune.bars, _ties(tune), _spellings(tune)) if b.notes]
    bars = [b for _, b, _, _ in items]
    tokens = [_barline(bars, i) for i in range(len(bars))]
    meters, emit = _plan_meters(tune, bars, [t for t, _ in tokens])
    lines: list[str] = []
    line: list[str] = []
    line_first: int | None = None
    in_key = tune.key
    full_in_line = 0
    start_written = False                      # this bar's |: went out with the last barline

    def flush():
        nonlocal line, line_first, full_in_line
        if line:
            if bar_numbers:
                lines.append(f"% bar {line_first}")
            lines.append("".join(line))
        line, line_first, full_in_line = [], None, 0

    for idx, (num, bar, ties, spelled) in enumerate(items):
        if bar.part:
            flush()
            lines.append(f"P:{bar.part}")
        head = ""
        if bar.repeat_start and not start_written:
            head = ("|:" if not line else " |:")
        if bar.ending:
            head += f"[{bar.ending} "
        key = bar.key or tune.key
        if key != in_key:
            head += f"[K:{abc_key(key)}]"
            in_key = key
        if idx in emit:
            head += f"[M:{meters[idx][0]}/{meters[idx][1]}]"
        bar_end, start_written = tokens[idx]
        if line_first is None:
            line_first = num
        speller = _BarSpeller(key)
        line.append(head + _bar_text(bar, speller, unit, ties, spelled, _beam_unit(bar.meter)) + bar_end)
        if not (idx == 0 and tune.pickup):
            full_in_line += 1
        if full_in_line == BARS_PER_LINE:
            flush()
    flush()
    return "\n".join(lines)


def to_abc(tune: Tune, *, x: int = 1, bar_numbers: bool = False) -> str:
    """One tune as ABC text (header X/T/M/L/Q/P/K, then four bars a line).

    `bar_numbers` adds a ``% bar N`` comment line above each line of music.
    """
    unit = _choose_unit(tune)
    title = " ".join(str(tune.title).split()) or "Untitled"
    head = [f"X:{x}", f"T:{title}", f"M:{tune.meter[0]}/{tune.meter[1]}",
            f"L:1/{int(4 / unit)}", f"Q:1/4={tune.tempo}"]
    if tune.parts:
        head.append(f"P:{tune.parts}")
    head.append(f"K:{abc_key(tune.key)}")
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
