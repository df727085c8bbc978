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


M24 = "X:1\nT:t\nM:2/4\nL:1/8\nK:C\n"
M34 = "X:1\nT:t\nM:3/4\nL:1/8\nK:C\n"
FREE = "X:1\nT:t\nM:none\nL:1/8\nK:C\n"

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
    # voices: only the first one named is kept, also when the header names none
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nV:1\nC2 D2 E2 F2|\nV:2\nc2 d2 e2 f2|\nV:1\nG2 A2 B2 c2|",
     "C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nV:\nC2 D2 E2 F2|\nV:2\nc2 d2 e2 f2|\nV:\nG2 A2 B2 c2|",
     "C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1"),
    # one voice named twice is still one voice: a second ':|' repeats from the first
    ("X:1\nT:t\nM:4/4\nL:1/8\nV:1\nK:C\nV:1\nC2 D2 E2 F2:|G2 A2 B2 c2:|",
     "C4:1 D4:1 E4:1 F4:1 C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1 G4:1 A4:1 B4:1 C5:1"),
    # K:, L: and M: in a dropped voice change nothing
    ("X:1\nT:t\nM:4/4\nL:1/8\nV:1\nV:2\nK:C\nV:2\nc2 d2 [K:D] f2 f2|\nV:1\nF2 D2 E2 F2|",
     "F4:1 D4:1 E4:1 F4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nV:1\nV:2\nK:C\nV:2\n[L:1/4] c d e f|\nV:1\nF2 D2 E2 F2|",
     "F4:1 D4:1 E4:1 F4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nV:1\nV:2\nK:C\nV:2\n[M:3/4] c d e|\nV:1\nZ|F2 D2 E2 F2|",
     "z:4 F4:1 D4:1 E4:1 F4:1"),
    # parts: a body P: is its first letter; a one-letter header P: may just label part A
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:BA\nK:C\nP:A part one\nC2 D2 E2 F2|\nP:B part two\nG2 A2 B2 c2|",
     "G4:1 A4:1 B4:1 C5:1 C4:1 D4:1 E4:1 F4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:A\nK:C\nC2 D2 E2 F2|\nP:B\nG2 A2 B2 c2|",
     "C4:1 D4:1 E4:1 F4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:B\nK:C\nC2 D2 E2 F2|\nP:B\nG2 A2 B2 c2|",
     "C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:B\nK:C\nC2 D2 E2 F2:|\nP:B\nG2 A2 B2 c2:|",
     "C4:1 D4:1 E4:1 F4:1 C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1 G4:1 A4:1 B4:1 C5:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:ABA\nK:C\nP:A\nC2 D2 E2 F2:|\nP:B\nG2 A2 B2 c2:|",
     "C4:1 D4:1 E4:1 F4:1 C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1 G4:1 A4:1 B4:1 C5:1 "
     "C4:1 D4:1 E4:1 F4:1 C4:1 D4:1 E4:1 F4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:AB\nK:C\nP:a\nC2 D2 E2 F2|\nP:B\nG2 A2 B2 c2|",   # 'a' is no part
     "C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1"),
    # %%propagate-accidentals in the body; comments, continuation and lyric lines; a blank line ends
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\n_E2 E2|\n%%propagate-accidentals not\n_E2 E2|\n"
     "%%propagate-accidentals octave\n_E2 e2 E2|",
     "D#4:1 D#4:1 D#4:1 E4:1 D#4:1 E5:1 D#4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nC2 D2 % a comment E2\nE2 F2|\n% whole comment line G2\n"
     "\\ continued\nG2 A2|",
     "C4:1 D4:1 E4:1 F4:1 G4:1 A4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nC2 D2|\n\nE2 F2|",
     "C4:1 D4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nC2 D2|\nw: la la\nW: words\ns: !f!\nE2 F2|",
     "C4:1 D4:1 E4:1 F4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nC2 D2 E2 F2:|\ne:|G2 A2|",                   # 'e:|' is music
     "C4:1 D4:1 E4:1 F4:1 C4:1 D4:1 E4:1 F4:1 E5:1/2 E5:1/2 G4:1 A4:1"),
    # L: inline and on a line of its own
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nC D [L:1/4] E F|\nL:1/16\nG A B c|",
     "C4:1/2 D4:1/2 E4:1 F4:1 G4:1/4 A4:1/4 B4:1/4 C5:1/4"),
    # key changes: inline and on a line; each drops the accidentals of its bar
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nF2 [K:G] F2 [K:Gm] B2 F2|\nK:Bb\nF2 B2 E2 e2|",
     "F4:1 F#4:1 A#4:1 F4:1 F4:1 A#4:1 D#4:1 D#5:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nF2 ^F2 [K:C] F2 F2|",
     "F4:1 F#4:1 F4:1 F4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:D\n[K:none] F2 C2 [K:HP] F2 C2|",
     "F4:1 C4:1 F#4:1 C#4:1"),
    # tuplets under 6/8: (6 is still 2 in the time of 6, (7 is 3 in the time of 7
    ("X:1\nT:t\nM:6/8\nL:1/8\nK:C\n(6CDEFGA (7CDEFGAB z|",
     "C4:1/6 D4:1/6 E4:1/6 F4:1/6 G4:1/6 A4:1/6 C4:3/14 D4:3/14 E4:3/14 F4:3/14 G4:3/14 A4:3/14 B4:3/14"),
    # broken rhythm next to a chord applies whatever the lengths
    ("[C2E2]>D E>[D2F2] [C2E2]<D|",
     "E4:3/2 D4:1/4 E4:3/4 F4:1/2 E4:1/2 D4:3/4"),
    # a chord's top note ties over the bar line to the same letter
    ("[C^G]4-|G4|",
     "G#4:4"),
    # in the bar a tie needs the same pitch; over the bar line the same letter will do
    ("^C-=C D2 ^C-|=C2|",
     "C#4:1/2 C4:1/2 D4:1 C#4:3/2"),
    ("C8-|D8|",
     "C4:4 D4:4"),
    # parts Y and Z; a header P:A that is not the first label; an inline [P:X]
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:ZY\nK:C\nP:Y\nC2 D2 E2 F2|\nP:Z\nG2 A2 B2 c2|",
     "G4:1 A4:1 B4:1 C5:1 C4:1 D4:1 E4:1 F4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:A\nK:C\nP:A\nC2 D2 E2 F2|\nP:B\nG2 A2 B2 c2|",
     "C4:1 D4:1 E4:1 F4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:B\nK:C\nP:A\nC2 D2 E2 F2|\nP:B\nG2 A2 B2 c2|",
     "G4:1 A4:1 B4:1 C5:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:XA\nK:C\n[P:A] C2 D2 E2 F2|[P:X] G2 A2 B2 c2|",
     "G4:1 A4:1 B4:1 C5:1 C4:1 D4:1 E4:1 F4:1"),
    # slurs and a stray '!' or '+' are skipped, not the notes after them
    ("(CD) E (F G) ! A + B c|",
     "C4:1/2 D4:1/2 E4:1/2 F4:1/2 G4:1/2 A4:1/2 B4:1/2 C5:1/2"),
    # inline voice changes on one line
    ("X:1\nT:t\nM:4/4\nL:1/8\nV:1\nV:2\nK:C\n[V:1] C2 D2 [V:2] c2 d2 [V:1] E2 F2|",
     "C4:1 D4:1 E4:1 F4:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\n[V:1] C2 D2 [V:2] c2 d2 [V:1] E2 F2|",
     "C4:1 D4:1 E4:1 F4:1"),
    # a comment runs to the line's end, over a second '%'
    ("C2 D2 % a b % c d\nE2 F2|",
     "C4:1 D4:1 E4:1 F4:1"),
    # the MIDI range ends at C-1 (0) and G9 (127)
    ("C,,,,,2 g''''2 C4|",
     "C-1:1 G9:1 C4:2"),
    # two voices: no ':|' repeats from the previous ':|' (abc2midi's fix-up is for one voice)
    ("X:1\nT:t\nM:4/4\nL:1/8\nV:1\nV:2\nK:C\nV:1\nC2 D2 E2 F2:|G2 A2 B2 c2:|\nV:2\nc8|c8|",
     "C4:1 D4:1 E4:1 F4:1 C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nV:1\nK:C\nC2 D2 E2 F2:|G2 A2 B2 c2:|\nV:2\nc8|c8|",
     "C4:1 D4:1 E4:1 F4:1 C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nV:1\nC2 D2 E2 F2:|G2 A2 B2 c2:|",           # one voice
     "C4:1 D4:1 E4:1 F4:1 C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1 G4:1 A4:1 B4:1 C5:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nV:\nK:C\nV:\nC2 D2 E2 F2|",                       # an empty V:
     "C4:1 D4:1 E4:1 F4:1"),
    # with a part order, a ':|' repeats from its part's start, over a '||'
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:AB\nK:C\nP:A\n|:C2 D2 E2 F2:|\nP:B\nG2 A2 B2 c2||d2 e2 f2 g2:|",
     "C4:1 D4:1 E4:1 F4:1 C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1 D5:1 E5:1 F5:1 G5:1 "
     "G4:1 A4:1 B4:1 C5:1 D5:1 E5:1 F5:1 G5:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nP:AB % Da % Capo\nK:C\nP:A\nC2 D2 E2 F2|\nP:B\nG2 A2 B2 c2|\nP:D\nc8|\n"
     "P:C\nC8|",
     "C4:1 D4:1 E4:1 F4:1 G4:1 A4:1 B4:1 C5:1"),
    # accidentals after a mode word; a bagpipe key with one more sharp
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:A min ^c ^g\nC2 G2 c2 g2|",
     "C#4:1 G#4:1 C#5:1 G#5:1"),
    ("X:1\nT:t\nM:4/4\nL:1/8\nK:HP ^g\nC2 G2 F2 g2|",
     "C#4:1 G#4:1 F#4:1 G#5:1"),
    # meters with a numerator or a denominator of 1; a zero denominator is no meter
    ("X:1\nT:t\nM:1/4\nL:1/8\nK:C\nC2|D2|E2|",
     "C4:1 D4:1 E4:1"),
    ("X:1\nT:t\nM:2/1\nL:1/8\nK:C\nC16|D16|",
     "C4:8 D4:8"),
    ("X:1\nT:t\nM:3/0\nL:1/8\nK:C\nC2 D2|E2|",
     "C4:1 D4:1 E4:1"),
    # ties written inside a chord tie the chord
    ("[C2-E2-] [CE]2 D4|",
     "E4:2 D4:2"),
    # (1:2 is "2 in the time of 1": one note twice as long
    ("(1:2C D E F G2|",
     "C4:1 D4:1/2 E4:1/2 F4:1/2 G4:1"),
    # (9 is 2 in the time of 9 under 4/4
    ("(9CDEFGABcd z2 E4|",
     "C4:1/9 D4:1/9 E4:1/9 F4:1/9 G4:1/9 A4:1/9 B4:1/9 C5:1/9 D5:1/9 z:1 E4:2"),
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


def bars(tune) -> list[str]:
    """Each written bar as text: part, |:, [ending, K: and M: where they differ from the
    tune's, the notes ('D#4(E):1' is a D sharp written as E flat, '-' a tie), the chord
    symbols where they fall ('"G"@2' after the last note), then the barline."""
    out = []
    for b in tune.bars:
        w = []
        if b.part:
            w.append(f"P:{b.part}")
        if b.repeat_start:
            w.append("|:")
        if b.ending:
            w.append(f"[{b.ending}")
        if b.key is not None:
            w.append(f"K:{b.key.tonic}{'' if b.key.mode == 'major' else ' ' + b.key.mode}")
        if b.meter != tune.meter:
            w.append(f"M:{b.meter[0]}/{b.meter[1]}")
        chords = dict(b.chords)
        for on, n in zip(b.onsets(), b.notes):
            if on in chords:
                w.append(f'"{chords.pop(on)}"')
            name = "z" if n.pitch is None else f"{_NAMES[n.pitch % 12]}{n.pitch // 12 - 1}"
            if n.letter and n.letter != name[0]:
                name += f"({n.letter})"
            w.append(f"{name}:{n.duration}" + ("-" if n.tie else ""))
        w += [f'"{c}"@{on}' for on, c in chords.items()]
        w.append(b.barline)
        out.append(" ".join(w))
    return out


# (tune, its written bars, has a pickup, the order abc2midi plays the bars in)
BARS = [
    # chord symbols: where they fall, also after the last note; annotations are not chords
    ('"G"C2 "D7"E2 "Em/B"G2 "(C)"c2|"N.C."C8|',
     ['"G" C4:1 "D7" E4:1 "Em/B" G4:1 "(C)" C5:1 |', '"N.C." C4:4 |'], False, [1, 2]),
    ('C2 "G"D2 "^ann"E2 "A"F2 "B"|G8|',
     ['C4:1 "G" D4:1 E4:1 "A" F4:1 "B"@4 |', 'G4:4 |'], False, [1, 2]),
    ('C8 "G"D8 "A"E4 "B"F4|',
     ['C4:4 |', '"G" D4:4 |', '"A" E4:2 "B" F4:2 |'], False, [1, 2, 3]),
    (M24 + '"C"C4 "D"D2 "E"E4 "F"F2 "G"|',
     ['"C" C4:2 |', '"D" D4:1 "E" E4:1- |', 'E4:1 "F" F4:1 "G"@2 |'], False, [1, 2, 3]),
    (M34 + 'C12 D3 E3|F6|',
     ['C4:3- |', 'C4:3 |', 'D4:3/2 E4:3/2 |', 'F4:3 |'], False, [1, 2, 3, 4]),
    (M34 + 'C4 D4 E4 F6|',
     ['C4:2 D4:1- |', 'D4:1 E4:2 |', 'F4:3 |'], False, [1, 2, 3]),
    (FREE + 'C3|D2 E2|F8 G|',
     ['C4:3/2 |', 'M:4/8 D4:1 E4:1 |', 'M:9/8 F4:4 G4:1/2 |'], False, [1, 2, 3]),
    (FREE + 'C2 D|',
     ['C4:1 D4:1/2 |'], False, [1]),
    ('A|:C2 D2 E2 F2|1 G8:|2 c8|]',
     ['A4:1/2 |', '|: C4:1 D4:1 E4:1 F4:1 |', '[1 G4:4 :|', '[2 C5:4 |]'], True, [0, 1, 2, 1, 3]),
    ('|:C8|[1,3 D8:|[2 E8:|[4 F8|]',
     ['|: C4:4 |', '[1,3 D4:4 :|', '[2 E4:4 :|', '[4 F4:4 |]'], False, [1, 2, 1, 3, 1, 2, 1, 4]),
    ('C8 ||:D8:|E8::F8:|G8|]',
     ['|: C4:4 ||', 'D4:4 :|', '|: E4:4 :|', '|: F4:4 :|', 'G4:4 |]'], False, [1, 2, 1, 2, 3, 3, 4, 4, 5]),
    ('C8|||D8||]E8|]|F8:||G8|',
     ['|: C4:4 ||', 'D4:4 ||', 'E4:4 |]', 'F4:4 :|', 'G4:4 |'], False, [1, 2, 3, 4, 1, 2, 3, 4, 5]),
    ('C8|: D8 :|\nP:B\nE8|',
     ['C4:4 |', '|: D4:4 :|', 'P:B E4:4 |'], False, [1, 2, 2, 3]),
    ('X:1\nT:t\nM:4/4\nL:1/8\nP:AB\nK:C\nP:A\nC8|\nP:B\nD8|]',
     ['P:A C4:4 |', 'P:B D4:4 |]'], False, [1, 2]),
    ('C4 [K:G] F4|F8|[K:G]F8|[K:D]F8|\nK:Gm\nB8|',
     ['C4:2 |', 'K:G F#4:2 |', 'K:G F#4:4 |', 'K:G F#4:4 |', 'K:D F#4:4 |', 'K:G minor A#4(B):4 |'], True, [0, 1, 2, 3, 4, 5]),
    ('C4 [M:2/4] D4|E4 [M:3/4] F6|',
     ['C4:2 D4:2 |', 'M:2/4 E4:2 |', 'M:2/4 F4:2- |', 'M:2/4 F4:1 |'], False, [1, 2, 3, 4]),
    ('C8|[M:2/4]|D4|',
     ['C4:4 |', 'M:2/4 D4:2 |'], False, [1, 2]),
    (M24 + 'C2|D4|E4|',
     ['C4:1 |', 'D4:2 |', 'E4:2 |'], True, [0, 1, 2]),
    (M24 + '[M:3/4]C2|D6|E6|',
     ['C4:1 |', 'D4:3 |', 'E4:3 |'], True, [0, 1, 2]),
    (M24 + 'C4|[M:3/4]D6|',
     ['C4:2 |', 'M:3/4 D4:3 |'], False, [1, 2]),
    (M24 + 'C2|',
     ['C4:1 |'], False, [1]),
    ('^F4 F4-|F2 _E2 E2 =E2|',
     ['F#4:2 F#4:2- |', 'F#4:1 D#4(E):1 D#4(E):1 E4:1 |'], False, [1, 2]),
    # a quoted text that is no chord symbol; a chord's written letter is its top note's
    ('"E X"C2 D2 E2 F2|', ['C4:1 D4:1 E4:1 F4:1 |'], False, [1]),
    ('[^C_E]2 [_E^C]2 D4|', ['D#4(E):1 D#4(E):1 D4:2 |'], False, [1]),
    # a tie is kept only when the next note continues it
    ('D2- z2 E2-F2|', ['D4:1 z:1 E4:1 F4:1 |'], False, [1]),
    ('C2-C2 D2-E2|', ['C4:1- C4:1 D4:1 E4:1 |'], False, [1]),
    # M:none in the body: the bar is read in 4/4
    ('C8|[M:none] D2 E2|', ['C4:4 |', 'D4:1 E4:1 |'], False, [1, 2]),
    # chord symbols in an overlay, inside a chord or in a dropped voice are dropped
    ('C4 & "G"E4|D4 "A"E4|', ['C4:2 |', 'D4:2 "A" E4:2 |'], True, [0, 1]),
    ('[C"G"E]4 "A"D4|', ['E4:2 "A" D4:2 |'], False, [1]),
    ('X:1\nT:t\nM:4/4\nL:1/8\nV:1\nV:2\nK:C\nV:1\n"C"C8|\nV:2\n"G"c8|', ['"C" C4:4 |'], False, [1]),
    # ']|' is a thick-thin bar line, written '||'
    ('C8]|D8|', ['C4:4 ||', 'D4:4 |'], False, [1, 2]),
    # two notes of one pitch in a chord: the first one written is the top note
    ('[^Bc]4 [c^B]4|', ['C5(B):2 C5:2 |'], False, [1]),
    # back in the tune's key: no key of its own
    ('F8|[K:G]F8|[K:C]F8|', ['F4:4 |', 'K:G F#4:4 |', 'F4:4 |'], False, [1, 2, 3]),
    # a one-letter header P: labels the first bar
    ('X:1\nT:t\nM:4/4\nL:1/8\nP:A\nK:C\nC8|D8|', ['P:A C4:4 |', 'D4:4 |'], False, [1, 2]),
    # the tune's meter is its first full bar's, after a pickup in another meter
    ('X:1\nT:t\nM:2/4\nL:1/8\nK:C\nC2|[M:3/4]D6|', ['M:2/4 C4:1 |', 'D4:3 |'], True, [0, 1]),
    ('X:1\nT:t\nM:2/4\nL:1/8\nK:C\nC2|[M:3/4]D6|E6|', ['M:2/4 C4:1 |', 'D4:3 |', 'E4:3 |'], True, [0, 1, 2]),
    # a tie before any note, or after a rest, ties nothing
    ('- C2 D2 z2- E2 F2|', ['C4:1 D4:1 z:1 E4:1 |', 'F4:1 |'], False, [1, 2]),
    # a stronger bar line right after another one stands
    ('C8| |]', ['C4:4 |]'], False, [1]),
    # an ending or a part label with no bar line before it still ends the bar
    ('|:C8 [1 D8:|[2 E8|]', ['|: C4:4 |', '[1 D4:4 :|', '[2 E4:4 |]'], False, [1, 2, 1, 3]),
    ('C8\nP:B\nD8|', ['C4:4 |', 'P:B D4:4 |'], False, [1, 2]),
    # a key change to the key in force ends no bar
    ('C4 [K:C] D4|', ['C4:2 D4:2 |'], False, [1]),
    # M:none: a bar no meter fits is 4/4 (a triplet runs on over the bar line);
    # key changes and chord symbols stay
    (FREE + '(3CD|E2|', ['C4:1/3 D4:1/3 |', 'E4:2/3 |'], True, [0, 1]),
    (FREE + 'C2|(3CD|', ['C4:1 |', 'M:4/4 C4:1/3 D4:1/3 |'], False, [1, 2]),
    (FREE + 'F2|[K:G]"G"F2|', ['F4:1 |', 'K:G "G" F#4:1 |'], False, [1, 2]),
    # a note cut at the bar line keeps its spelling and its own tie
    (M34 + 'C4 _E4 E4|', ['C4:2 D#4(E):1- |', 'D#4(E):1 D#4(E):2 |'], False, [1, 2]),
    (M34 + 'C4 D4-|D2 E4|', ['C4:2 D4:1- |', 'D4:1- |', 'D4:1 E4:2 |'], False, [1, 2, 3]),
]


@pytest.mark.parametrize("body,written,pickup,order", BARS)
def test_written_bars(body, written, pickup, order):
    t = read_abc_text(text_of(body)).tune
    assert (bars(t), t.pickup, t.played_order()) == (written, pickup, order)


@needs_abc2midi
def test_written_bars_cases_play_as_abc2midi_plays_them():
    wrong = []
    for body, *_ in BARS:
        text = text_of(body)
        if not ref.compare(ref.tune_notes(read_abc_text(text).tune), ref.reference_notes(text)).exact:
            wrong.append(body)
    assert wrong == []


# ----- the header ----------------------------------------------------------------------

# (header fields after X:1, then: title, key, meter, tempo, part order, length of the first
# note of "C D E F|" in quarter notes, the note for the user); the tune body is "C D E F|"
HEADERS = [
    # the first T: is the title, its comment dropped; K: may carry a comment
    ("T:First % comment\nT:Second\nK:G % comment", "First", Key("G"), (4, 4), 120, "", "1/2", ""),
    ("T:\nT:Second\nK:G", "Second", Key("G"), (4, 4), 120, "", "1/2", ""),
    ("T:Caf&eacute; \\'a \\ss\nK:G", "Café á ß", Key("G"), (4, 4), 120, "", "1/2", ""),
    # M: and the unit length it implies when there is no L: (1/16 under 3/4, else 1/8)
    ("M:C\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ("M:C|\nK:D", "Untitled", Key("D"), (2, 2), 120, "", "1/2", ""),
    ("M:6/8 % jig\nK:D", "Untitled", Key("D"), (6, 8), 120, "", "1/2", ""),
    ("M:2+3/8\nK:D", "Untitled", Key("D"), (5, 8), 120, "", "1/4", ""),
    ("M: 3 / 4\nK:D", "Untitled", Key("D"), (3, 4), 120, "", "1/2", ""),
    ("M:none\nK:D", "Untitled", Key("D"), (4, 8), 120, "", "1/2", ""),     # a bar's own length
    ("M:0/4\nK:D", "Untitled", Key("D"), (4, 8), 120, "", "1/2", ""),      # no meter either
    ("M:2/4\nK:D", "Untitled", Key("D"), (2, 4), 120, "", "1/4", ""),
    ("M:3/4\nK:D", "Untitled", Key("D"), (3, 4), 120, "", "1/2", ""),
    ("M:5/8\nK:D", "Untitled", Key("D"), (5, 8), 120, "", "1/4", ""),
    ("M:2/2\nK:D", "Untitled", Key("D"), (2, 2), 120, "", "1/2", ""),
    ("L:1/4\nM:2/4\nK:D", "Untitled", Key("D"), (2, 4), 120, "", "1", ""),
    ("L:1/0\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    # Q: in quarter notes a minute, 20..400; 120 when there is none to read
    ("Q:1/4=120\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ("Q:3/8=120\nK:D", "Untitled", Key("D"), (4, 4), 180, "", "1/2", ""),
    ("Q:1/8 3/8=60\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ('Q:"Allegro" 1/4=100\nK:D', "Untitled", Key("D"), (4, 4), 100, "", "1/2", ""),
    ('Q:"Allegro"\nK:D', "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ("Q:1/0=100\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ("Q:1/4=5\nK:D", "Untitled", Key("D"), (4, 4), 20, "", "1/2", ""),
    ("Q:1/4=1000\nK:D", "Untitled", Key("D"), (4, 4), 400, "", "1/2", ""),
    ("Q:0\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ("L:1/8\nQ:100\nK:D", "Untitled", Key("D"), (4, 4), 50, "", "1/2", ""),   # 100 units a minute
    ("Q:C=100\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ("Q:1/4=0\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ("Q:1/4 = 90\nK:D", "Untitled", Key("D"), (4, 4), 90, "", "1/2", ""),
    ("Q: 80 \nK:D", "Untitled", Key("D"), (4, 4), 40, "", "1/2", ""),
    ("Q:2/3=100\nK:D", "Untitled", Key("D"), (4, 4), 267, "", "1/2", ""),    # rounded
    ("Q:1/4=120 % comment\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    # P: orders: groups, nested groups, counts, stray parentheses
    ("P:((AB)2C)2\nK:D", "Untitled", Key("D"), (4, 4), 120, "ABABCABABC", "1/2", ""),
    ("P:)A\nK:D", "Untitled", Key("D"), (4, 4), 120, "A", "1/2", ""),
    ("P:A0B\nK:D", "Untitled", Key("D"), (4, 4), 120, "AB", "1/2", ""),
    ("P:(AB\nK:D", "Untitled", Key("D"), (4, 4), 120, "AB", "1/2", ""),
    ("P:A12\nK:D", "Untitled", Key("D"), (4, 4), 120, "A" * 12, "1/2", ""),
    ("P:AB3\nK:D", "Untitled", Key("D"), (4, 4), 120, "ABBB", "1/2", ""),
    ("P:(AB)3 2\nK:D", "Untitled", Key("D"), (4, 4), 120, "ABABAB", "1/2", ""),
    ("P:\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ("P:ab\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ("V:1 clef=treble\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "1/2", ""),
    ('L:1/4\nQ:"Allegro" 100\nK:D', "Untitled", Key("D"), (4, 4), 100, "", "1", ""),
    ("Q:1/8=1\nK:D", "Untitled", Key("D"), (4, 4), 20, "", "1/2", ""),
    ("Q:1/4=1\nK:D", "Untitled", Key("D"), (4, 4), 20, "", "1/2", ""),
    ("Q:1/1=60\nK:D", "Untitled", Key("D"), (4, 4), 240, "", "1/2", ""),
    ("L:1/1\nK:D", "Untitled", Key("D"), (4, 4), 120, "", "4", ""),
    ("P:2AB\nK:D", "Untitled", Key("D"), (4, 4), 120, "AB", "1/2", ""),
    ("P:YZ2\nK:D", "Untitled", Key("D"), (4, 4), 120, "YZZ", "1/2", ""),
    ("P:(A2B)2\nK:D", "Untitled", Key("D"), (4, 4), 120, "AABAAB", "1/2", ""),
    ("P:A60\nK:D", "Untitled", Key("D"), (4, 4), 120, "A" * 50, "1/2", ""),     # at most 50 times
    ("T:Name % a % b\nK:D", "Name", Key("D"), (4, 4), 120, "", "1/2", ""),
    ("K:GXyz", "Untitled", Key("G"), (4, 4), 120, "", "1/2", "unknown mode 'Xyz' in K:GXyz, read as major"),
    ("M:1/4\nK:D", "Untitled", Key("D"), (1, 4), 120, "", "1/4", ""),
    ("M:2/1\nK:D", "Untitled", Key("D"), (2, 1), 120, "", "1/2", ""),
    # K:
    ("K:", "Untitled", Key("C"), (4, 4), 120, "", "1/2", ""),
    ("K:  G", "Untitled", Key("G"), (4, 4), 120, "", "1/2", ""),
    ("K:HP", "Untitled", Key("A", "mixolydian"), (4, 4), 120, "", "1/2", ""),
    ("K:Hp", "Untitled", Key("A", "mixolydian"), (4, 4), 120, "", "1/2", ""),
    ("K:Gxyz", "Untitled", Key("G"), (4, 4), 120, "", "1/2", "unknown mode 'xyz' in K:Gxyz, read as major"),
    ("K:Bmi", "Untitled", Key("B"), (4, 4), 120, "", "1/2", "unknown mode 'mi' in K:Bmi, read as major"),
    ("K:F#m", "Untitled", Key("F#", "minor"), (4, 4), 120, "", "1/2", ""),
    ("K:Ebmaj", "Untitled", Key("Eb"), (4, 4), 120, "", "1/2", ""),
    ("K:A min bass", "Untitled", Key("A", "minor"), (4, 4), 120, "", "1/2", ""),
    ("K:A bass", "Untitled", Key("A"), (4, 4), 120, "", "1/2", ""),
]


@pytest.mark.parametrize("header,title,key,meter,tempo,parts,first,message", HEADERS)
def test_header_fields(header, title, key, meter, tempo, parts, first, message):
    r = read_abc_text("X:1\n" + header + "\nC D E F|\n")
    t = r.tune
    assert (t.title, t.key, t.meter, t.tempo, t.parts, str(t.bars[0].notes[0].duration), r.message) == (
        title, key, meter, tempo, parts, first, message)


@needs_abc2midi
def test_header_cases_play_as_abc2midi_plays_them():
    wrong = []
    for header, *_ in HEADERS:
        if header == "K:":
            continue                    # abc2midi writes no MIDI file for an empty K:
        text = "X:1\n" + header + "\nC D E F|\n"
        if not ref.compare(ref.tune_notes(read_abc_text(text).tune), ref.reference_notes(text)).exact:
            wrong.append(header)
    assert wrong == []


# ----- bad input: one line, with the file, line and column ------------------------------

ERRORS = [
    ("%c\nX:1\nT:No key\nM:4/4\nC D E F|\n",
     "t.abc:2: no K: (key) field: an ABC tune's header ends with K:"),
    ("X:1\nK:C\nz4 Z|\n", "t.abc:1: the tune has no notes"),
    ("X:1\nK:C\n[K:D]|\n", "t.abc:1: the tune has no notes"),
    ("X:1\nT:t\nK:C\nV:1\nz4|\nV:2\nC4|\n", "t.abc:1: the tune has no notes"),
    ("X:1\nK:C\nc''''''|\n", "t.abc:1: a note is outside the MIDI range (MIDI 144)"),
    ("X:1\nK:C\nC,,,,,,|\n", "t.abc:1: a note is outside the MIDI range (MIDI -12)"),
    ("X:1\nT:t\nK: Hmaj\nC|\n",
     "t.abc:3:4: unknown key 'Hmaj' (a key is a note A-G, then # or b, then a mode: K:D, K:Ador, K:F#m)"),
    ("X:1\nT:t\nK:C\nC D|\n [K:Zb] E F|\n",
     "t.abc:5:5: unknown key 'Zb' (a key is a note A-G, then # or b, then a mode: K:D, K:Ador, K:F#m)"),
    ("X:1\nT:t\nK:C\nC D|\n  K:zz\nE F|\n",
     "t.abc:5:5: unknown key 'zz' (a key is a note A-G, then # or b, then a mode: K:D, K:Ador, K:F#m)"),
    ("X:1\nT:t\nK:C\nC D|\nK: d\nE F|\n",
     "t.abc:5:4: unknown key 'd' (a key is a note A-G, then # or b, then a mode: K:D, K:Ador, K:F#m)"),
    ("% book\n\nX:5\nT:t\nK:C\nC D|\n[K:Hx]\n",
     "t.abc:7:4: unknown key 'Hx' (a key is a note A-G, then # or b, then a mode: K:D, K:Ador, K:F#m)"),
    # a part order of 1,000 parts (50 x 50 cut to 1,000) of 51 notes: over MAX_PLAYED_NOTES
    ("%\nX:1\nT:t\nM:4/4\nL:1/8\nP:(A50)50\nK:C\nP:A\n" + "CDEFGABc|" * 6 + "CDE|\n",
     "t.abc:2: the tune unfolds to 51,000 notes (the limit is 50,000)"),
    ("", "t.abc: empty: no ABC tune here"),
    (" \n\t\n", "t.abc: empty: no ABC tune here"),
    ("X:1\x00", "t.abc: binary data, not ABC text"),
    ("X:1\nK:C\nC|\n\n" + " " * 99_987 + "\x00", "t.abc: binary data, not ABC text"),   # at 99,999
    ("%\n\nX:1\nK:C\n" + "C" * 200_000 + "\n",
     "t.abc:3: the tune is too large (200,009 characters; the limit is 200,000)"),
    ("X:1\nK:C\n^g''''|\n", "t.abc:1: a note is outside the MIDI range (MIDI 128)"),
    ("T:t\nK:Hx\nC|\n",                 # no X: field: the text is one tune from line 1
     "t.abc:2:3: unknown key 'Hx' (a key is a note A-G, then # or b, then a mode: K:D, K:Ador, K:F#m)"),
    ("\nX:1\nK:C\nz|\n", "t.abc:2: the tune has no notes"),
]


@pytest.mark.parametrize("text,message", ERRORS, ids=range(len(ERRORS)))
def test_one_line_errors(text, message):
    with pytest.raises(InputError) as e:
        read_abc_text(text, source="t.abc")
    assert str(e.value) == message


def test_only_the_first_100_000_characters_are_searched_for_binary_data():
    text = "X:1\nK:C\nC|\n\n" + " " * 99_988 + "\x00"
    assert text.index("\x00") == 100_000
    assert read_abc_text(text).tune.num_bars == 1


def test_more_than_20_mb_of_text_is_refused_at_once(tmp_path):
    from st4rt_repl.formats.abc_in import MAX_TEXT_CHARS
    with pytest.raises(InputError) as e:
        read_abc_text("x" * (MAX_TEXT_CHARS + 1), source="t.abc")
    assert str(e.value) == "t.abc: too large for ABC (20 MB of text; the limit is 20 MB)"
    path = tmp_path / "big.abc"
    path.write_bytes(b"X:1\nK:C\nC|\n\nX:2\n" + b" " * (MAX_TEXT_CHARS - 16))
    assert read_abc_file(path).tune.num_bars == 1              # 20,000,000 bytes: read
    with open(path, "ab") as f:
        f.write(b" " * 500_001)                                 # 20.500001 MB: said as 21
    with pytest.raises(InputError) as e:
        read_abc_file(path)
    assert str(e.value) == f"{path}: too large for ABC (21 MB; the limit is 20 MB)"
    with pytest.raises(InputError) as e:
        read_abc_text("x" * 20_500_001, source="t.abc")
    assert str(e.value) == "t.abc: too large for ABC (21 MB of text; the limit is 20 MB)"


def test_decoding_files():
    assert decode_abc(b"\xef\xbb\xbfX:1\nT:\xc3\x89\n") == "X:1\nT:\u00c9\n"    # the BOM goes
    assert decode_abc(b"T:\xc9amonn") == "T:\u00c9amonn"                       # latin-1
    assert decode_abc("T:\u00c9".encode("utf-8")) == "T:\u00c9"


def test_a_file_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "bom.abc"
    path.write_bytes(b"\xef\xbb\xbfX:1\nT:\xc3\x89amonn\nK:G\nG4|\n")
    assert read_abc_file(path).tune.title == "\u00c9amonn"


BOOK = ("% a tune book\n\nX:1\nT:First Tune\nK:Gxyz\nC4|\n\n"
        "X:2\nT:Second Tune\nT:Alias\nK:D\nD4|\n\nX: 7\nT:\\'Eamonn\nK:E\nE4|\n")


@pytest.mark.parametrize("which,title,message", [
    (None, "First Tune", "tune 1 of 3: First Tune; unknown mode 'xyz' in K:Gxyz, read as major"),
    (" 7 ", "\u00c9amonn", "tune 3 of 3: \u00c9amonn"),
    (2, "Second Tune", "tune 2 of 3: Second Tune"),
    ("alias", "Second Tune", "tune 2 of 3: Second Tune"),
    ("\u00e9AMONN", "\u00c9amonn", "tune 3 of 3: \u00c9amonn"),
])
def test_choosing_a_tune_of_a_book(which, title, message):
    r = read_abc_text(BOOK, tune=which)
    assert (r.tune.title, r.message) == (title, message)


def test_a_tune_that_is_not_in_the_book():
    with pytest.raises(InputError) as e:
        read_abc_text(BOOK, tune="Third Tune", source="book.abc")
    assert str(e.value) == "book.abc: no tune with X:Third Tune or title 'Third Tune' (3 tunes in the file)"


# (K: value, key, signature {letter: alteration}): modes glued or as words, bagpipe keys,
# explicit accidentals after the key (``exp`` drops the key's own), comments
KEYS = [
    ('', Key('C', 'major'), {}),
    ('none', Key('C', 'major'), {}),
    ('NONE ^f', Key('C', 'major'), {'F': 1}),
    ('HP', Key('A', 'mixolydian'), {'F': 1, 'C': 1}),
    ('Hp', Key('A', 'mixolydian'), {'F': 1, 'C': 1}),
    ('Ador', Key('A', 'dorian'), {'F': 1}),
    ('D exp ^c', Key('D', 'major'), {'C': 1}),
    ('D =f', Key('D', 'major'), {'C': 1}),
    ('D ^^f _b =c', Key('D', 'major'), {'F': 2, 'B': -1}),
    ('Bb __e', Key('Bb', 'major'), {'B': -1, 'E': -2}),
    ('Eb exp', Key('Eb', 'major'), {}),
    ('F#m', Key('F#', 'minor'), {'F': 1, 'C': 1, 'G': 1}),
    ('Am', Key('A', 'minor'), {}),
    ('Aminor', Key('A', 'minor'), {}),
    ('AMIN', Key('A', 'minor'), {}),
    ('A m', Key('A', 'minor'), {}),
    ('A mi', Key('A', 'major'), {'F': 1, 'C': 1, 'G': 1}),
    ('Cb', Key('Cb', 'major'), {'B': -1, 'E': -1, 'A': -1, 'D': -1, 'G': -1, 'C': -1, 'F': -1}),
    ('C#', Key('C#', 'major'), {'F': 1, 'C': 1, 'G': 1, 'D': 1, 'A': 1, 'E': 1, 'B': 1}),
    ('G%comment', Key('G', 'major'), {'F': 1}),
    ('Gmix ^c', Key('G', 'mixolydian'), {'C': 1}),
    ('A Lydian', Key('A', 'lydian'), {'F': 1, 'C': 1, 'G': 1, 'D': 1}),
    ('EPhr', Key('E', 'phrygian'), {}),
    ('Gloc', Key('G', 'locrian'), {'B': -1, 'E': -1, 'A': -1, 'D': -1}),
    ('Fion', Key('F', 'major'), {'B': -1}),
    ('Daeo', Key('D', 'minor'), {'B': -1}),
    ('E Minor', Key('E', 'minor'), {'F': 1}),
    ('Dmaj', Key('D', 'major'), {'F': 1, 'C': 1}),
    ('C# dor', Key('C#', 'dorian'), {'F': 1, 'C': 1, 'G': 1, 'D': 1, 'A': 1}),
    ('A min ^c', Key('A', 'minor'), {'C': 1}),
    ('A min ^c ^g', Key('A', 'minor'), {'C': 1, 'G': 1}),
    ('HP ^g', Key('A', 'mixolydian'), {'F': 1, 'C': 1, 'G': 1}),
    ('C % ^f % x', Key('C', 'major'), {}),
    ('C % ^f', Key('C', 'major'), {}),
]


@pytest.mark.parametrize("value,key,signature", KEYS)
def test_key_fields(value, key, signature):
    assert parse_key(value)[:2] == (key, signature)


@needs_abc2midi
def test_key_signatures_are_what_abc2midi_plays():
    wrong = []
    for value, *_ in KEYS[1:]:          # abc2midi writes no MIDI file for an empty K:
        text = f"X:1\nT:t\nM:4/4\nL:1/8\nK:{value}\nC D E F G A B c|\n"
        if not ref.compare(ref.tune_notes(read_abc_text(text).tune), ref.reference_notes(text)).exact:
            wrong.append(value)
    assert wrong == []


@pytest.mark.parametrize("value,word,column", [
    ("  Hmaj", "Hmaj", 2), ("h", "h", 0), ("d", "d", 0), ("^f", "^f", 0), (" xyz abc", "xyz", 1),
])
def test_a_key_that_is_not_a_key(value, word, column):
    with pytest.raises(ValueError) as e:
        parse_key(value)
    assert e.value.args == (f"unknown key {word!r} (a key is a note A-G, then # or b, then a mode: "
                            f"K:D, K:Ador, K:F#m)", column)


def test_a_length_field_that_is_not_a_length_is_ignored():
    """abc2midi plays whole notes after ``L:foo`` (a known difference: we keep the unit)."""
    assert played("X:1\nT:t\nL:foo\nK:C\nC D E F|") == "C4:1/2 D4:1/2 E4:1/2 F4:1/2"
    assert played("X:1\nT:t\nM:4/4\nL:1/8\nK:C\nC D [L:x] E F|") == "C4:1/2 D4:1/2 E4:1/2 F4:1/2"


def test_notes_for_the_user_gather_over_the_tune():
    r = read_abc_text("X:1\nT:t\nK:Gxyz\nG4|\nK:Dfoo\nD4|\n")
    assert r.message == ("unknown mode 'xyz' in K:Gxyz, read as major; "
                         "unknown mode 'foo' in K:Dfoo, read as major")


def test_errors_name_the_paste_when_there_is_no_file():
    from st4rt_repl.formats.abc_in import parse_tune
    with pytest.raises(InputError) as e:
        read_abc_text("")
    assert str(e.value) == "<paste>: empty: no ABC tune here"
    with pytest.raises(InputError) as e:
        parse_tune("X:1\nK:C\nz|\n")
    assert str(e.value) == "<paste>:1: the tune has no notes"


def test_a_tune_of_exactly_200_000_characters_is_read():
    from st4rt_repl.formats.abc_in import MAX_TUNE_CHARS
    head = "X:1\nK:C\nC|\n%"
    text = head + "x" * (MAX_TUNE_CHARS - len(head))
    assert len(text) == MAX_TUNE_CHARS and read_abc_text(text).tune.num_bars == 1


def test_a_book_of_two_tunes_says_which_one_was_read():
    book = "X:1\nT:One\nK:C\nC4|\n\nX:2\nT:Two\nK:D\nD4|\n"
    assert read_abc_text(book, tune=2).message == "tune 2 of 2: Two"


def test_a_bug_inside_the_reader_is_reported_as_one(monkeypatch):
    """A crash inside parse_tune becomes a ReaderBug naming the file and the tune's line."""
    from st4rt_repl.formats import ReaderBug, abc_in

    def broken(*a, **k):
        raise KeyError("a reader bug")
    monkeypatch.setattr(abc_in, "parse_tune", broken)
    with pytest.raises(ReaderBug) as e:
        read_abc_text("% book\n\nX:1\nK:C\nC|\n", source="b.abc")
    assert str(e.value) == ("b.abc:3: internal error while reading (KeyError: 'a reader bug'); "
                            "this is a bug in ST4RT+, please report it with the file")
    assert isinstance(e.value.__cause__, KeyError)
