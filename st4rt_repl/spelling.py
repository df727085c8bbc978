"""Spelling: which letter (and sharp or flat) a MIDI pitch is written with.

A note read from a score keeps its written letter (`Note.letter`): F#4 written
``^F`` stays F#, the same pitch written ``_G`` stays Gb.  A note without one (a
model's note, a MIDI note) is spelled from the key and its neighbours:

* a pitch of the key's scale takes the key's letter (F# in D major, Bb in F major);
* a semitone below the tonic is the leading note, on the letter below the tonic's
  (F# in G minor, G# in A dorian), never the flat of the tonic's letter;
* another black-key pitch between two steps is spelled by its direction: a passing
  note up is a sharp (C C# D), down a flat (D Db C); a lower neighbour is a sharp
  (D C# D), an upper one a flat (C Db C); anything else takes the key's side
  (sharps in sharp keys, flats in flat keys);
* a repeated pitch keeps the spelling it had (`spell_notes`);
* a white-key pitch outside the key is a natural (C natural in D major).

>>> from st4rt_repl.tune import Note
>>> spell(Note(66, 1), Key("G", "minor")), spell(Note(66, 1, letter="G"), Key("G", "minor"))
('F#4', 'Gb4')
>>> [spell(Note(61, 1), Key("C", "major"), prev=a, next=b) for a, b in [(60, 62), (62, 60), (60, 60)]]
['C#4', 'Db4', 'Db4']
"""
from __future__ import annotations

from typing import Sequence

from st4rt_repl.keys import PITCH_CLASS, Key, altered_letters, key_signature, spelled_signature

__all__ = ["LETTERS", "alteration", "key_table", "spell_pitch", "spell_notes", "spell",
           "signature_tonic", "pitch_name"]

LETTERS = "CDEFGAB"
NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_LETTER_OF_WHITE = {pc: letter for letter, pc in NATURAL.items()}
_NEUTRAL = {1: ("C", 1), 3: ("E", -1), 6: ("F", 1), 8: ("G", 1), 10: ("B", -1)}
_SIGN = {-2: "bb", -1: "b", 0: "", 1: "#", 2: "##"}


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


def alteration(pitch: int, letter: str) -> int | None:
    """Sharps (+) or flats (-) that make `letter` sound `pitch` (any octave); None if over two.

    >>> alteration(66, "F"), alteration(66, "G"), alteration(60, "B"), alteration(66, "C")
    (1, -1, 1, None)
    """
    a = (pitch - NATURAL[letter.upper()] + 6) % 12 - 6
    return a if -2 <= a <= 2 else None


def key_table(key: Key) -> dict[int, tuple[str, int]]:
    """Pitch class -> (letter, alteration) by the key alone (no context)."""
    alt = altered_letters(key)
    sig = key_signature(key)
    table: dict[int, tuple[str, int]] = {}
    for letter, nat in NATURAL.items():
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
            table[pc] = _NEUTRAL[pc]
    return table


_TABLES: dict[Key, tuple[dict[int, tuple[str, int]], frozenset[int], str]] = {}


def _key_info(key: Key):
    info = _TABLES.get(key)
    if info is None:
        alt = altered_letters(key)
        scale = frozenset((NATURAL[x] + alt.get(x, 0)) % 12 for x in LETTERS)
        info = _TABLES[key] = (key_table(key), scale, signature_tonic(key)[0])
    return info


def spell_pitch(pitch: int, key: Key, *, prev: int | None = None, next: int | None = None,
                letter: str = "") -> tuple[str, int]:
    """(letter, alteration) for `pitch` in `key`, given the pitched notes around it.

    A written `letter` wins when it can sound the pitch.

    >>> spell_pitch(66, Key("G", "minor")), spell_pitch(68, Key("A", "dorian"))
    (('F', 1), ('G', 1))
    >>> spell_pitch(63, Key("D", "major"), prev=64, next=62), spell_pitch(63, Key("D", "major"))
    (('E', -1), ('D', 1))
    """
    if letter:
        a = alteration(pitch, letter)
        if a is not None:
            return letter.upper(), a
    table, scale, tonic_letter = _key_info(key)
    pc = pitch % 12
    if pc in scale:
        return table[pc]
    if pc == (key.tonic_pc - 1) % 12:      # the leading note
        below = LETTERS[(LETTERS.index(tonic_letter) - 1) % 7]
        a = alteration(pitch, below)
        if a is not None and a >= 0:
            return below, a
    if pc in _LETTER_OF_WHITE:
        return _LETTER_OF_WHITE[pc], 0
    if prev is None or next is None or abs(next - pitch) > 2 or abs(pitch - prev) > 2:
        return table[pc]
    if prev < pitch < next or prev == next > pitch:     # passing up, or a lower neighbour
        return _LETTER_OF_WHITE[(pc - 1) % 12], 1
    if prev > pitch > next or prev == next < pitch:     # passing down, or an upper neighbour
        return _LETTER_OF_WHITE[(pc + 1) % 12], -1
    return table[pc]


def spell_notes(notes: Sequence, key) -> list[tuple[str, int] | None]:
    """(letter, alteration) of each note (None for a rest), with its pitched neighbours as
    context; `key` is one Key or a Key for each note (a tune with key changes).

    >>> from st4rt_repl.tune import Note
    >>> spell_notes([Note(60, 1), Note(61, 1), Note(62, 1), Note(None, 1), Note(61, 1), Note(60, 1)],
    ...             Key("C", "major"))
    [('C', 0), ('C', 1), ('D', 0), None, ('D', -1), ('C', 0)]
    >>> spell_notes([Note(62, 1), Note(61, 1), Note(61, 1)], Key("F", "major"))   # a repeat keeps Db
    [('D', 0), ('D', -1), ('D', -1)]
    """
    keys = [key] * len(notes) if isinstance(key, Key) else list(key)
    pitched = [i for i, n in enumerate(notes) if n.pitch is not None]
    out: list[tuple[str, int] | None] = [None] * len(notes)
    for k, i in enumerate(pitched):
        prev = notes[pitched[k - 1]].pitch if k > 0 else None
        nxt = notes[pitched[k + 1]].pitch if k + 1 < len(pitched) else None
        n = notes[i]
        if prev == n.pitch and not n.letter and keys[pitched[k - 1]] == keys[i]:
            out[i] = out[pitched[k - 1]]
        else:
            out[i] = spell_pitch(n.pitch, keys[i], prev=prev, next=nxt, letter=n.letter)
    return out


def pitch_name(pitch: int, letter: str, alter: int) -> str:
    """'F#4' for MIDI 66 spelled F sharp (octave numbers by the letter: B#3 is MIDI 60).

    >>> pitch_name(66, "G", -1), pitch_name(60, "B", 1), pitch_name(70, "B", -1)
    ('Gb4', 'B#3', 'Bb4')
    """
    return f"{letter}{_SIGN[alter]}{(pitch - alter) // 12 - 1}"


def spell(note, key: Key, *, prev: int | None = None, next: int | None = None) -> str:
    """A note's name with octave ('F#4'), its written letter kept; 'z' for a rest.

    `prev` and `next` are the neighbouring pitches (for chromatic notes).
    """
    if note.pitch is None:
        return "z"
    letter, alter = spell_pitch(note.pitch, key, prev=prev, next=next, letter=note.letter)
    return pitch_name(note.pitch, letter, alter)
