"""Key signatures: how many sharps or flats a key has, and which notes they alter.

>>> key_signature(Key('D', 'major')), key_signature(Key('G', 'dorian'))
(2, -1)
>>> altered_letters(Key('A', 'mixolydian'))
{'F': 1, 'C': 1}
>>> transpose_key(Key('D', 'major'), -7)
Key(tonic='G', mode='major')
"""
from __future__ import annotations

from st4rt_repl.tune import Key, MODES, PITCH_CLASS

# Major-key tonics by number of sharps (+) / flats (-), -7..7.
_MAJOR_BY_FIFTHS = {-7: "Cb", -6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F",
                    0: "C", 1: "G", 2: "D", 3: "A", 4: "E", 5: "B", 6: "F#", 7: "C#"}
_SHARP_ORDER = "FCGDAEB"


def key_signature(key: Key) -> int:
    """Sharps (positive) or flats (negative) in the key signature."""
    major_pc = key.relative_major_pc
    cands = [f for f, name in _MAJOR_BY_FIFTHS.items() if PITCH_CLASS[name] % 12 == major_pc]
    # Enharmonic keys (B / Cb major): follow the accidental of the written tonic.
    if "b" in key.tonic:
        return min(cands)
    if "#" in key.tonic:
        return max(cands)
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
