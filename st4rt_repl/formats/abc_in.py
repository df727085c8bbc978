"""ABC text -> Tune via music21 (first cut: no fix-ups yet)."""
from __future__ import annotations

import re
from pathlib import Path

from st4rt_repl.formats import InputError, LoadResult
from st4rt_repl.formats.m21 import tune_from_score
from st4rt_repl.tune import TuneError

_X = re.compile(r"^X:\s*(\d+)", re.M)


def split_tunes(text: str) -> list[tuple[int, str]]:
    """(line number of the X: field, text) of every tune in an ABC file."""
    starts = [m.start() for m in _X.finditer(text)]
    if not starts:
        return [(1, text)]
    return [(text.count("\n", 0, s) + 1, text[s:e]) for s, e in zip(starts, starts[1:] + [len(text)])]


def read_abc_text(text: str, *, tune=None, source: str = "<paste>") -> LoadResult:
    from music21 import converter
    tunes = split_tunes(text)
    line, chosen = tunes[0]
    if tune is not None:
        for ln, t in tunes:
            m = _X.search(t)
            title = re.search(r"^T:\s*(.*)$", t, re.M)
            if (m and m.group(1) == str(tune)) or (title and title.group(1).strip().lower() == str(tune).lower()):
                line, chosen = ln, t
                break
        else:
            raise InputError(source, f"no tune with X:{tune} or title {tune!r}")
    if not re.search(r"^K:", chosen, re.M):
        raise InputError(source, "no K: (key) field", line)
    try:
        score = converter.parse(chosen, format="abc")
        t = tune_from_score(score)
    except TuneError as e:
        raise InputError(source, str(e), line) from e
    except Exception as e:
        raise InputError(source, f"music21 could not read the tune: {e}", line) from e
    msg = f"tune {tunes.index((line, chosen)) + 1} of {len(tunes)}: {t.title}" if len(tunes) > 1 else ""
    return LoadResult(t, msg)


def read_abc_file(path: Path, *, tune=None) -> LoadResult:
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return read_abc_text(text, tune=tune, source=str(path))
