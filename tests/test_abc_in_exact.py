"""The ABC reader, exactly: one-line tunes with the melody abc2midi plays for them.

Each case of PLAYED states the notes heard (pitch name and octave, length in
quarter notes, ``z:`` a silence) for a short tune; `test_played` checks our
reader, `test_played_cases_are_what_abc2midi_plays` checks the same tunes
against abc2midi itself (the reference implementation), so the table cannot
drift from it.  The other tables pin the written form (bars, barlines, repeats,
endings, parts, chords, meters, keys), the header fields and the one-line
errors.  Written for the mutation run of issue #14 (st4rt_repl/formats/abc_in.py):
each case kills mutants that the older tests let through.
"""
from __future__ import annotations

import shutil
from fractions import Fraction

import pytest

from st4rt_repl.formats import InputError
from st4rt_repl.formats import abc_reference as ref
from st4rt_repl.formats.abc_in import decode_abc, parse_key, read_abc_file, read_abc_text
from st4rt_repl.tune import Key

needs_abc2midi = pytest.mark.skipif(shutil.which("abc2midi") is None,
                                    reason="abc2midi (Debian package abcmidi) is not installed")

HEAD = "X:1\nT:t\nM:4/4\nL:1/8\nK:C\n"
_NAMES = "C C# D D# E F F# G G# A A# B".split()


def text_of(body: str) -> str:
    """A whole tune: `body` itself when it has its own header, else HEAD + body."""
    return body + "\n" if body.startswith("X:") else HEAD + body + "\n"


def show(notes) -> str:
    """(onset, length, pitch) notes -> 'C4:1/2 z:1 E4:2' (lengths in quarter notes)."""
    out, t = [], Fraction(0)
    for on, d, p in notes:
        if on > t:
            out.append(f"z:{Fraction(on) - t}")
        out.append(f"{_NAMES[p % 12]}{p // 12 - 1}:{Fraction(d)}")
        t = Fraction(on) + Fraction(d)
    return " ".join(out)


def played(body: str) -> str:
    return show(ref.tune_notes(read_abc_text(text_of(body)).tune))


M34 = "X:1\nT:t\nM:3/4\nL:1/8\nK:C\n"

PLAYED = [
    # lengths: n, /, //, n/, /n, n/n
    ("C/ D// E3/ F/8 G3/2 A/4 z/ B2|",
     "C4:1/4 D4:1/8 E4:3/4 F4:1/16 G4:3/4 A4:1/8 z:1/4 B4:1"),
    # rests: z and the invisible x, with lengths
    ("C z x2 D z/ E3/2 F2|",
     "C4:1/2 z:3/2 D4:1/2 z:1/4 E4:3/4 F4:1"),
    # whole-bar rests Z, X, Z2 take the meter in force
    (M34 + "C6|Z|D6|X2|E6|",
     "C4:3 z:3 D4:3 z:6 E4:3"),
    (M34 + "C6|[M:2/4]Z|D4|",
     "C4:3 z:2 D4:2"),
    (M34 + "C6|\nM:2/4\nZ|D4|",
     "C4:3 z:2 D4:2"),
    ("X:1\nT:t\nM:none\nL:1/8\nK:C\nC6|Z|D4|",      # no meter: a 4/4 bar of rest
     "C4:3 z:4 D4:2"),
    # tuplets: (2 (4 (8 are 3 in the time of p, (3 (6 are 2 in the time of p
    ("(2CD (4CDEF (8CDEFGABc z|",
     "C4:3/4 D4:3/4 C4:3/8 D4:3/8 E4:3/8 F4:3/8 C4:3/16 D4:3/16 E4:3/16 F4:3/16 G4:3/16 A4:3/16 "
     "B4:3/16 C5:3/16"),
    ("(6CDEFGA (3CDE z2|",
     "C4:1/6 D4:1/6 E4:1/6 F4:1/6 G4:1/6 A4:1/6 C4:1/3 D4:1/3 E4:1/3"),
    # (5 and (7: 3 in the time of p when the header's meter numerator is a multiple of 3, else 2
    ("X:1\nT:t\nM:6/8\nL:1/8\nK:C\n(5CDEFG z|",
     "C4:3/10 D4:3/10 E4:3/10 F4:3/10 G4:3/10"),
    (M34 + "(5CDEFG z|",
     "C4:3/10 D4:3/10 E4:3/10 F4:3/10 G4:3/10"),
    ("X:1\nT:t\nM:none\nL:1/8\nK:C\n(5CDEFG z|",
     "C4:1/5 D4:1/5 E4:1/5 F4:1/5 G4:1/5"),
    ("(7CDEFGAB z|",
     "C4:1/7 D4:1/7 E4:1/7 F4:1/7 G4:1/7 A4:1/7 B4:1/7"),
    # (1 and (10 are no tuplets; (3::2 covers 2 notes; (3:4 is 4 in the time of 3
    ("(1C D (10CDE (3::2CD E (3:4FGA|",
     "C4:1/2 D4:1/2 C4:1/2 D4:1/2 E4:1/2 C4:1/3 D4:1/3 E4:1/2 F4:2/3 G4:2/3 A4:2/3"),
    ("(3:2:4C/D/E/F/ G (3z/A/B/ c|",                 # a rest counts as a tuplet note
     "C4:1/6 D4:1/6 E4:1/6 F4:1/6 G4:1/2 z:1/6 A4:1/6 B4:1/6 C5:1/2"),
    ("(3C[DE]F G (3C2D2E2|",                         # so does a chord
     "C4:1/3 E4:1/3 F4:1/3 G4:1/2 C4:2/3 D4:2/3 E4:2/3"),
    ("(3:2C2D2E2 (3::C/D/E/|",
     "C4:2/3 D4:2/3 E4:2/3 C4:1/6 D4:1/6 E4:1/6"),
    # broken rhythm: > < >> << >>> <<<; four arrows are ignored
    ("C>D E<F G>>A B<<c|",
     "C4:3/4 D4:1/4 E4:1/4 F4:3/4 G4:7/8 A4:1/8 B4:1/8 C5:7/8"),
    ("C>>>D E<<<F G>>>>A B2|",
     "C4:15/16 D4:1/16 E4:1/16 F4:15/16 G4:1/2 A4:1/2 B4:1"),
    # only between equal lengths, or when a chord is on either side
    ("C2>D E>F2 [CE]>D E>[DF]|",
     "C4:1 D4:1/2 E4:1/2 F4:1 E4:3/4 D4:1/4 E4:3/4 F4:1/4"),
    (">C D [C>D] E F|",                              # nothing before it; inside a chord
     "C4:1/2 D4:1/2 D4:1/2 E4:1/2 F4:1/2"),
    ("C>z D>E z>F G2|",                              # rests take part
     "C4:3/4 z:1/4 D4:3/4 E4:1/4 z:3/4 F4:1/4 G4:1"),
    # ties: to the same pitch only, not over a rest; chords tie too
    ("C2-C D- z D E-E|",
     "C4:3/2 D4:1/2 z:1/2 D4:1/2 E4:1"),
    ("C-|C D E F G A B|",
     "C4:1 D4:1/2 E4:1/2 F4:1/2 G4:1/2 A4:1/2 B4:1/2"),
    ("[CE]2-[CE]2 C4|",
     "E4:2 C4:2"),
    ("^C-|C D =C- C z|",                             # the tie carries the sharp over the bar line
     "C#4:1 D4:1/2 C4:1"),
    ("C-D E2-|E4|",
     "C4:1/2 D4:1/2 E4:3"),
    # accidentals hold for the letter to the bar's end, in every octave
    ("^C ^^D _E __F =G ^G G g|",
     "C#4:1/2 E4:1/2 D#4:1/2 D#4:1/2 G4:1/2 G#4:1/2 G#4:1/2 G#5:1/2"),
    ("_B, B, b b' c,, c'' C, C|",
     "A#3:1/2 A#3:1/2 A#5:1/2 A#6:1/2 C3:1/2 C7:1/2 C3:1/2 C4:1/2"),
    ("_E|E ^F|F =F F z|",
     "D#4:1/2 E4:1/2 F#4:1/2 F4:1/2 F4:1/2 F4:1/2"),
    # chords: the top note; the chord's length is [..]n, else its first note's
    ("[CEG] [C2E2]2 [EG]/ [GE]3/2 [Gc]/ []|",
     "G4:1/2 E4:1 G4:1/4 G4:3/4 C5:1/4"),
    ("[CE]3/2 D/ [c2E2] [C/E/]2|",
     "E4:3/4 D4:1/4 C5:1 E4:1"),
    ("[zC] [CzE] D2 [Dz]|",                          # a rest inside a chord is no note
     "C4:1/2 E4:1/2 D4:1 D4:1/2"),
    # an & overlay is dropped up to the bar line
    ("CD & EF|GA B2 C2 & D2|",
     "C4:1/2 D4:1/2 G4:1/2 A4:1/2 B4:1 C4:1"),
    # ']|' is a bar line, a stray ']' is nothing
    ("C2]|D2 E2|]F2|",
     "C4:1 D4:1 E4:1 F4:1"),
    ("C2 ] D2 E2 F2|",
     "C4:1 D4:1 E4:1 F4:1"),
    # '[|' is a thick bar line, '[|:' one with a start repeat
    ("C D E F|[|G A B c|[|:C D E F:|",
     "C4:1/2 D4:1/2 E4:1/2 F4:1/2 G4:1/2 A4:1/2 B4:1/2 C5:1/2 C4:1/2 D4:1/2 E4:1/2 F4:1/2 "
     "C4:1/2 D4:1/2 E4:1/2 F4:1/2"),
    # chord symbols, annotations, decorations and grace notes add no notes
    ('"C"C "^text"D "_x"E "@y"F "<z"G ">w"A "Am/C"B "(G7)"c|',
     "C4:1/2 D4:1/2 E4:1/2 F4:1/2 G4:1/2 A4:1/2 B4:1/2 C5:1/2"),
    ("!trill!C +fermata+D {ab}E {/g}F ~G .A HB Tc|",
     "C4:1/2 D4:1/2 E4:1/2 F4:1/2 G4:1/2 A4:1/2 B4:1/2 C5:1/2"),
]


@pytest.mark.parametrize("body,notes", PLAYED)
def test_played(body, notes):
    assert played(body) == notes


@needs_abc2midi
def test_played_cases_are_what_abc2midi_plays():
    wrong = []
    for body, _ in PLAYED:
        text = text_of(body)
        if not ref.compare(ref.tune_notes(read_abc_text(text).tune), ref.reference_notes(text)).exact:
            wrong.append(body)
    assert wrong == []
