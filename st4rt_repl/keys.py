"""Key signatures: how many sharps or flats a key has, and which notes they alter.

>>> key_signature(Key('D', 'major')), key_signature(Key('G', 'dorian'))
(2, -1)
>>> altered_letters(Key('A', 'mixolydian'))
{'F': 1, 'C': 1}
>>> transpose_key(Key('D', 'major'), -7)
Key(tonic='G', mode='major')
"""
from __future__ import annotations

from dataclasses import dataclass

from st4rt_repl.errors import TuneError

__all__ = ["Key", "PITCH_CLASS", "MODES", "spelled_signature", "key_signature",
           "altered_letters", "transpose_key"]

# Pitch class of each tonic spelling we accept (ABC and music21 spellings).
PITCH_CLASS = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4, "E#": 5,
    "F": 5, "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10,
    "B": 11, "Cb": 11, "B#": 0,
}
# Mode name -> semitones of its tonic above the relative major's tonic.
MODES = {"major": 0, "dorian": 2, "phrygian": 4, "lydian": 5, "mixolydian": 7,
         "minor": 9, "locrian": 11}


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
            raise TuneError(f"unknown key tonic {self.tonic!r} (use A-G with # or b: "
                            f"'D', 'Bb', 'F#')")
        if self.mode not in MODES:
            raise TuneError(f"unknown mode {self.mode!r} (one of {', '.join(MODES)})")

    @property
    def tonic_pc(self) -> int:
        return PITCH_CLASS[self.tonic] % 12

    @property
    def relative_major_pc(self) -> int:
        return (self.tonic_pc - MODES[self.mode]) % 12

    def __str__(self) -> str:
        return f"{self.tonic} {self.mode}"

# Major-key tonics by number of sharps (+) / flats (-), -7..7.
_MAJOR_BY_FIFTHS = {-7: "Cb", -6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F",
                    0: "C", 1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#"}
_SHARP_ORDER = "FCGDAEB"


# Fifths from C of each tonic spelling, and how far each mode shifts the signature
# (A dorian has two sharps fewer than A major: 3 - 2 = 1 sharp).
_TONIC_FIFTHS = {"Fb": -8, "Cb": -7, "Gb": -6, "Db": -5, "Ab": -4, "Eb": -3, "Bb": -2, "F": -1,
                 "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F#": 6, "C#": 7, "G#": 8,
                 "D#": 9, "A#": 10, "E#": 11, "B#": 12}
_MODE_FIFTHS = {"lydian": 1, "major": 0, "mixolydian": -1, "dorian": -2, "minor": -3,
                "phrygian": -4, "locrian": -5}


def spelled_signature(key: Key) -> int:
    """The signature the tonic's spelling implies, even beyond 7 (Cb dorian: -9).

    >>> spelled_signature(Key('B', 'lydian')), spelled_signature(Key('Cb', 'dorian'))
    (6, -9)
    """
    return _TONIC_FIFTHS[key.tonic] + _MODE_FIFTHS[key.mode]


def key_signature(key: Key) -> int:
    """Sharps (positive) or flats (negative) in the key signature.

    The tonic's spelling decides between enharmonic signatures (B lydian: 6 sharps,
    Cb lydian: 6 flats); a spelling that would need more than 7 (Cb dorian) falls back
    to the enharmonic key with the fewest accidentals (3 sharps).

    >>> key_signature(Key('B', 'lydian')), key_signature(Key('Cb', 'dorian'))
    (6, 3)
    """
    n = spelled_signature(key)
    if -7 <= n <= 7:
        return n
    major_pc = key.relative_major_pc
    cands = [f for f, name in _MAJOR_BY_FIFTHS.items() if PITCH_CLASS[name] % 12 == major_pc]
    return min(cands, key=abs)


def altered_letters(key: Key) -> dict[str, int]:
    """Letter -> alteration (+1 sharp, -1 flat) implied by the key signature."""
    n = key_signature(key)
    if n >= 0:
        return {letter: 1 for letter in _SHARP_ORDER[:n]}
    return {letter: -1 for letter in _SHARP_ORDER[::-1][:-n]}


def transpose_key(key: Key, semitones: int) -> Key:
    """The key `semitones` away, spelled with the fewest accidentals."""
    if semitones % 12 == 0:
        return key
    major_pc = (key.relative_major_pc + semitones) % 12
    fifths = min((f for f, name in _MAJOR_BY_FIFTHS.items() if PITCH_CLASS[name] % 12 == major_pc),
                 key=abs)
    tonic_pc = (major_pc + MODES[key.mode]) % 12
    # Spell the tonic with the signature's accidental direction.
    names = [n for n, pc in PITCH_CLASS.items() if pc % 12 == tonic_pc and len(n) <= 2
             and n not in ("Fb", "E#", "Cb", "B#")]
    if fifths < 0:
        names.sort(key=lambda n: ("#" in n, len(n)))
    else:
        names.sort(key=lambda n: ("b" in n, len(n)))
    return Key(names[0], key.mode)
