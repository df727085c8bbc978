"""Validate ABC with the reference tool, abc2midi, and read back the notes it hears.

abc2midi exits 0 even when it reports errors, so `check` reads its output for lines
starting with ``Error`` or ``Warning``.  `notes_of` renders the first tune to a
temporary MIDI file and returns its notes as fractions of a quarter note (exact on
abc2midi's grid of 480 ticks a quarter; 7-tuplets and the like are rounded there),
which is how the tests prove that what we write is what a standard tool plays.

>>> abc = "X:1\\nT:t\\nM:2/4\\nL:1/8\\nK:D\\nA|d2 (3fed|d3|]\\n"
>>> check(abc)
[]
>>> [(str(on), str(d), p) for on, d, p in notes_of(abc)][:3]
[('0', '1/2', 69), ('1/2', '1', 74), ('3/2', '1/3', 78)]
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

__all__ = ["Abc2MidiMissing", "check", "notes_of", "play", "midi_notes", "available"]

# abc2midi (4.84, measured) writes every note-on one tick (of 480 per quarter) after
# the note's true onset and the note-off on time; notes_of undoes that delay.
ABC2MIDI_ONSET_DELAY = 1


class Abc2MidiMissing(RuntimeError):
    """abc2midi is not on PATH."""


def available() -> bool:
    """True when the abc2midi program can be run."""
    return shutil.which("abc2midi") is not None


def _run(abc_text: str, workdir: Path, out: Path | None) -> list[str]:
    exe = shutil.which("abc2midi")
    if exe is None:
        raise Abc2MidiMissing("abc2midi is not installed (Debian/Ubuntu: apt install abcmidi)")
    src = workdir / "tune.abc"
    src.write_text(abc_text, encoding="utf-8")
    cmd = [exe, str(src)] + (["-o", str(out)] if out is not None else ["-c"])
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", cwd=workdir, timeout=60)
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    return [ln.strip() for ln in lines if ln.lstrip().startswith(("Error", "Warning"))]


def check(abc_text: str) -> list[str]:
    """abc2midi's ``Error``/``Warning`` lines for the ABC text (empty when clean)."""
    with tempfile.TemporaryDirectory(prefix="st4rt-abc2midi-") as d:
        return _run(abc_text, Path(d), None)


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


def play(abc_text: str) -> tuple[list[str], list[tuple[Fraction, Fraction, int]]]:
    """One abc2midi run: (its Error/Warning lines, the notes it plays for the first tune)."""
    with tempfile.TemporaryDirectory(prefix="st4rt-abc2midi-") as d:
        out = Path(d) / "tune.mid"
        messages = _run(abc_text, Path(d), out)
        if not out.exists():
            return messages, []
        return messages, midi_notes(out, onset_delay_ticks=ABC2MIDI_ONSET_DELAY)


def notes_of(abc_text: str) -> list[tuple[Fraction, Fraction, int]]:
    """Notes abc2midi plays for the first tune: (onset_quarters, duration, pitch), sorted."""
    return play(abc_text)[1]
