"""Reading and writing tunes: ABC, MIDI and MusicXML in; ABC, MIDI, MusicXML out.

>>> from st4rt_repl.formats import parse_abc_text
>>> r = parse_abc_text("X:1\\nT:Scale\\nM:4/4\\nL:1/8\\nK:G\\nGABc defg|g8|]\\n")
>>> r.tune.num_bars, r.tune.key.tonic, r.tune.bar(1).notes[0].pitch
(2, 'G', 67)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from st4rt_repl.tune import Tune, TuneError

__all__ = ["InputError", "ReaderBug", "LoadResult", "load", "parse_abc_text", "save", "EXTENSIONS"]

EXTENSIONS = {".abc": "abc", ".mid": "midi", ".midi": "midi", ".musicxml": "musicxml",
              ".xml": "musicxml", ".mxl": "musicxml"}


class InputError(TuneError):
    """Bad input, reported as one line ``file:line:col: message`` (line/col where known)."""

    def __init__(self, file: str, message: str, line: int | None = None, col: int | None = None):
        self.file, self.message, self.line, self.col = str(file), message, line, col
        where = self.file
        if line is not None:
            where += f":{line}"
            if col is not None:
                where += f":{col}"
        super().__init__(f"{where}: {message}")


class ReaderBug(InputError):
    """A reader failed on input it should have handled: a bug in ST4RT+, not bad input.

    It is an `InputError` so that the REPL and a corpus build carry on, but its
    message says so, and tests that feed random input fail on it.
    """

    def __init__(self, file: str, error: Exception, line: int | None = None):
        super().__init__(file, f"internal error while reading ({type(error).__name__}: {error}); "
                               f"this is a bug in ST4RT+, please report it with the file", line)


@dataclass(frozen=True)
class LoadResult:
    """A loaded tune and a one-line note for the user (which tune or track was chosen)."""
    tune: Tune
    message: str = ""


def format_of(path: str | Path) -> str:
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise InputError(str(path), f"unknown file type {ext or '(none)'}; use one of "
                         + " ".join(sorted(EXTENSIONS)))
    return EXTENSIONS[ext]


def load(path: str | Path, *, tune: str | int | None = None,
         part: str | int | None = None) -> LoadResult:
    """Read a tune from .abc/.mid/.midi/.musicxml/.xml/.mxl; `tune` picks X: or title in ABC,
    `part` a MusicXML part by number or name (default: the melody)."""
    path = Path(path)
    fmt = format_of(path)
    if not path.exists():
        raise InputError(str(path), "no such file")
    if path.is_dir():
        raise InputError(str(path), "is a folder, not a file")
    if fmt == "abc":
        from st4rt_repl.formats.abc_in import read_abc_file
        return read_abc_file(path, tune=tune)
    if fmt == "midi":
        from st4rt_repl.formats.midi import read_midi
        return read_midi(path)
    from st4rt_repl.formats.musicxml import read_musicxml
    return read_musicxml(path, part=part)


def parse_abc_text(text: str, *, tune: str | int | None = None, source: str = "<paste>") -> LoadResult:
    """Parse pasted ABC text (one or several tunes)."""
    from st4rt_repl.formats.abc_in import read_abc_text
    return read_abc_text(text, tune=tune, source=source)


def save(t: Tune, path: str | Path) -> Path:
    """Write a tune; the format follows the extension."""
    path = Path(path)
    fmt = format_of(path)
    if fmt == "abc":
        from st4rt_repl.formats.abc_out import to_abc
        path.write_text(to_abc(t), encoding="utf-8")
    elif fmt == "midi":
        from st4rt_repl.formats.midi import write_midi
        write_midi(t, path)
    else:
        from st4rt_repl.formats.musicxml import write_musicxml
        write_musicxml(t, path)
    return path
