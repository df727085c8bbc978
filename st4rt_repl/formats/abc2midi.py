"""Validate ABC with the reference tool, abc2midi, and read back the notes it hears.

abc2midi exits 0 even when it reports errors, so `check` reads its output for
``Error`` and ``Warning`` lines, and *fails* (`Abc2MidiComplaint`) on every such
line the caller did not name in ``expect``, and on every expected message that did
not come: a check can only pass on output the caller has read.  `notes_of` renders
the first tune to a temporary MIDI file and returns its notes as fractions of a
quarter note (exact on abc2midi's grid of 480 ticks a quarter; 7-tuplets and the
like are rounded there), which is how the tests prove that what we write is what a
standard tool plays.

>>> abc = "X:1\\nT:t\\nM:2/4\\nL:1/8\\nK:D\\nA|d2 (3fed|d3|]\\n"
>>> check(abc)
[]
>>> [(str(on), str(d), p) for on, d, p in notes_of(abc)][:3]
[('0', '1/2', 69), ('1/2', '1', 74), ('3/2', '1/3', 78)]
>>> check("X:1\\nT:t\\nM:4/4\\nL:1/8\\nK:C\\nC4-D4|E8|]\\n")
Traceback (most recent call last):
...
st4rt_repl.formats.abc2midi.Abc2MidiComplaint: abc2midi: Error in line-char 6-8 : Could not find note to be tied
>>> check("X:1\\nT:t\\nM:3/4\\nL:1/8\\nK:G\\nB6|B2 A2|d6|]\\n", expect=["Bar 1 has 2 time units"])
['Warning in line-char 6-8 : Track 0 Bar 1 has 2 time units while the time signature has 3']
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Iterable

__all__ = ["Abc2MidiMissing", "Abc2MidiComplaint", "check", "notes_of", "play", "midi_notes",
           "available"]

# abc2midi (4.84, measured) writes every note-on one tick (of 480 per quarter) after
# the note's true onset and the note-off on time; notes_of undoes that delay.
ABC2MIDI_ONSET_DELAY = 1


class Abc2MidiMissing(RuntimeError):
    """abc2midi is not on PATH."""


class Abc2MidiComplaint(RuntimeError):
    """abc2midi said something the caller did not expect, or not what it expected.

    `unexpected`: its Error/Warning lines that no ``expect`` entry matched;
    `missing`: the ``expect`` entries that matched none of its lines.
    """

    def __init__(self, unexpected: list[str], missing: list[str], abc_text: str):
        self.unexpected, self.missing, self.abc_text = unexpected, missing, abc_text
        said = "; ".join(unexpected)
        parts = [f"abc2midi: {said}"] if unexpected else []
        if missing:
            parts.append("abc2midi did not say: " + "; ".join(repr(m) for m in missing))
        super().__init__(" / ".join(parts))


def available() -> bool:
    """True when the abc2midi program can be run."""
    return shutil.which("abc2midi") is not None


def _is_complaint(line: str) -> bool:
    # abc2midi prefixes its diagnostics with "Error"/"Warning"; a few printf'd ones
    # only mention the word, so any line naming an error or warning counts.
    low = line.lower()
    return low.startswith(("error", "warning")) or "error" in low or "warning" in low


def _run(abc_text: str, workdir: Path, out: Path | None) -> list[str]:
    exe = shutil.which("abc2midi")
    if exe is None:
        raise Abc2MidiMissing("abc2midi is not installed (Debian/Ubuntu: apt install abcmidi)")
    src = workdir / "tune.abc"
    src.write_text(abc_text, encoding="utf-8")
    cmd = [exe, str(src)] + (["-o", str(out)] if out is not None else ["-c"])
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", cwd=workdir, timeout=60)
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    return [ln.strip() for ln in lines if _is_complaint(ln.strip())]


def _judge(messages: list[str], expect: Iterable[str], abc_text: str) -> list[str]:
    """`messages` when each is matched by an `expect` substring and each substring matches."""
    if isinstance(expect, str):     # check(abc, expect="Bar 1") would match letter by letter
        expect = [expect]
    expect = list(expect)
    unexpected = [m for m in messages if not any(e in m for e in expect)]
    missing = [e for e in expect if not any(e in m for m in messages)]
    if unexpected or missing:
        raise Abc2MidiComplaint(unexpected, missing, abc_text)
    return messages


def check(abc_text: str, *, expect: Iterable[str] = ()) -> list[str]:
    """abc2midi's ``Error``/``Warning`` lines for the ABC text (every tune in it).

    Each line must contain one of the `expect` substrings and each substring must
    occur in some line, else `Abc2MidiComplaint`; so with no `expect` the result is
    always ``[]`` and any complaint fails.
    """
    with tempfile.TemporaryDirectory(prefix="st4rt-abc2midi-") as d:
        return _judge(_run(abc_text, Path(d), None), expect, abc_text)


def midi_notes(path: str | Path, *, onset_delay_ticks: int = 0) -> list[tuple[Fraction, Fraction, int]]:
    """(onset, duration, pitch) of every note in a MIDI file, in quarters, sorted; drums skipped.

    `onset_delay_ticks` is subtracted from every note-on (abc2midi starts each note
    one tick late), and added back to the duration, so the note still ends where it ended.
    """
    import mido
    mid = mido.MidiFile(str(path))
    tpq = mid.ticks_per_beat
    out = []
    for track in mid.tracks:
        now, held = 0, {}
        d = onset_delay_ticks
        for msg in track:
            now += msg.time
            if msg.type not in ("note_on", "note_off") or msg.channel == 9:
                continue
            k = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                if k in held:  # a re-strike without a note-off ends the earlier note
                    start = held.pop(k)
                    if now > start:
                        out.append((Fraction(start, tpq), Fraction(now - start, tpq), msg.note))
                held[k] = max(0, now - d)
            elif k in held:
                start = held.pop(k)
                if now > start:
                    out.append((Fraction(start, tpq), Fraction(now - start, tpq), msg.note))
    out.sort()
    return out


def play(abc_text: str, *, expect: Iterable[str] = ()) -> tuple[list[str], list[tuple[Fraction, Fraction, int]]]:
    """One abc2midi run on the first tune: (its expected Error/Warning lines, the notes it plays).

    Judged like `check`: an unexpected line, or an expected one missing, raises
    `Abc2MidiComplaint`.
    """
    with tempfile.TemporaryDirectory(prefix="st4rt-abc2midi-") as d:
        out = Path(d) / "tune.mid"
        messages = _judge(_run(abc_text, Path(d), out), expect, abc_text)
        if not out.exists():
            return messages, []
        return messages, midi_notes(out, onset_delay_ticks=ABC2MIDI_ONSET_DELAY)


def notes_of(abc_text: str, *, expect: Iterable[str] = ()) -> list[tuple[Fraction, Fraction, int]]:
    """Notes abc2midi plays for the first tune: (onset_quarters, duration, pitch), sorted."""
    return play(abc_text, expect=expect)[1]
