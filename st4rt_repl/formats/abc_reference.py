"""The melody abc2midi plays for an ABC tune: the yardstick for our ABC reader.

abc2midi (abcMIDI, the reference implementation) is run on a *neutralised* copy of
the tune, so that its playback habits do not count as differences: grace notes,
decorations (rolls ``~`` and trills ``T`` become several notes, ``H`` doubles a
note, ``.`` halves it), chord symbols (an accompaniment track) and ``R:`` (a
hornpipe is swung) are removed first.  The MIDI file is read back with mido; the
first track with notes is the first voice (``&`` overlays and other voices get
tracks of their own), chord notes (abc2midi staggers them by 10 ticks) are folded
into their top note, and abc2midi's one-tick delay on every note-on is undone.

`compare` scores our notes against the reference: exact (same onsets, durations
and pitches, to one tick) and note-F1 (notes matched by onset and pitch).

>>> print(neutralise("X:1\\nR:hornpipe\\nK:G\\n\\"G\\"~G2 {a}TB.c !trill!d|]\\n"))
X:1
K:G
G2 Bc d|]
<BLANKLINE>
>>> ref = [(Fraction(0), Fraction(1), 60), (Fraction(1), Fraction(1), 62)]
>>> compare(ref, ref)
Comparison(exact=True, f1=1.0, reason='')
>>> compare([(Fraction(0), Fraction(1), 60), (Fraction(1), Fraction(1), 63)], ref)
Comparison(exact=False, f1=0.5, reason='pitch')
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

__all__ = ["neutralise", "reference_notes", "tune_notes", "compare", "Comparison",
           "ReferenceUnavailable", "TICKS"]

TICKS = 480            # abc2midi's MIDI resolution (ticks per quarter note)
_ONSET_DELAY = 1       # abc2midi writes every note-on one tick late
_CHORD_STAGGER = 60    # later chord notes start up to this many ticks after the first

Notes = list[tuple[Fraction, Fraction, int]]


class ReferenceUnavailable(RuntimeError):
    """abc2midi is missing, failed, or wrote no melody for the tune."""


# A field line as abc2midi sees one ("e:|" and "A:|" are music).
_FIELD = re.compile(r"^\s*[A-IK-XZdsw+]\s*:(?![:|])")
# In music lines: strings, decorations and grace groups go; inline fields stay.
_MUSIC_DROP = re.compile(r'"[^"\n]*"?|![^!\n]*!|\+[^+\n]*\+|\{[^}\n]*\}?|[~.HTLMOPSJRuv]')
_INLINE_FIELD = re.compile(r"\[[A-Za-z]:[^\]\n]*\]")


def neutralise(text: str) -> str:
    """The tune with what abc2midi would *perform* rather than play removed."""
    out = []
    in_body = False
    for line in text.splitlines():
        if _FIELD.match(line):
            field = line.lstrip()[0]
            if field in "RwW":
                continue
            if field == "K":
                in_body = True
            out.append(line)
            continue
        if not in_body or line.startswith("%") or not line.strip():   # a blank line ends the tune
            out.append(line)
            continue
        music = line.split("%", 1)[0]
        pieces, last = [], 0
        for m in _INLINE_FIELD.finditer(music):
            pieces.append(_MUSIC_DROP.sub("", music[last:m.start()]))
            pieces.append(m.group(0))
            last = m.end()
        pieces.append(_MUSIC_DROP.sub("", music[last:]))
        kept = "".join(pieces)
        if kept.strip():        # a line left empty would end the tune for abc2midi
            out.append(kept)
    return "\n".join(out) + "\n"


def _midi_melody(path: Path) -> Notes:
    import mido
    mid = mido.MidiFile(str(path))
    scale = Fraction(1, mid.ticks_per_beat)
    for track in mid.tracks:
        now, sounding, notes = 0, {}, []
        for msg in track:
            now += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault((msg.channel, msg.note), []).append(now)
            elif msg.type in ("note_on", "note_off"):
                starts = sounding.get((msg.channel, msg.note))
                if starts:
                    on = starts.pop(0)
                    notes.append((on, now + 1, msg.note))   # note-off lands one tick early
        if not notes:
            continue
        notes.sort()
        melody: list[list[int]] = []     # [onset, end, pitch]
        for on, end, pitch in notes:
            last = melody[-1] if melody else None
            if last and on - last[0] <= _CHORD_STAGGER and on < last[1] - 1:
                last[2] = max(last[2], pitch)         # a chord: keep its top note
                last[1] = max(last[1], end)
            else:
                melody.append([on, end, pitch])
        return [((on - _ONSET_DELAY) * scale, (end - on) * scale, p) for on, end, p in melody]
    return []


def reference_notes(text: str, *, neutral: bool = True, timeout: float = 20) -> Notes:
    """(onset, duration, pitch) in quarter notes of the melody abc2midi plays for one tune."""
    exe = shutil.which("abc2midi")
    if exe is None:
        raise ReferenceUnavailable("abc2midi is not installed")
    if neutral:
        text = neutralise(text)
    with tempfile.TemporaryDirectory(prefix="st4rt-ref-") as d:
        src, out = Path(d) / "tune.abc", Path(d) / "tune.mid"
        src.write_text(text, encoding="utf-8")
        try:
            subprocess.run([exe, str(src), "-o", str(out), "-silent"], capture_output=True,
                           timeout=timeout, cwd=d)
        except subprocess.TimeoutExpired as e:
            raise ReferenceUnavailable("abc2midi timed out") from e
        if not out.exists():
            raise ReferenceUnavailable("abc2midi wrote no MIDI file")
        notes = _midi_melody(out)
    if not notes:
        raise ReferenceUnavailable("abc2midi played no notes")
    return notes


def tune_notes(tune) -> Notes:
    """A Tune's notes as heard (ties merged, rests dropped), like `reference_notes`."""
    return [(on, d, p) for on, d, p in tune.performed().sounding()]


@dataclass(frozen=True)
class Comparison:
    exact: bool
    f1: float
    reason: str   # '' when exact; else pitch / rhythm / length (repeats, parts, lost bars)


def _ticks(notes: Notes) -> list[tuple[int, int, int]]:
    return [(round(on * TICKS), round((on + d) * TICKS) - round(on * TICKS), p) for on, d, p in notes]


def compare(ours: Notes, ref: Notes, *, tolerance: int = 1) -> Comparison:
    """Score `ours` against `ref`: exact to `tolerance` ticks, and note-F1 on onset + pitch."""
    a, b = _ticks(ours), _ticks(ref)
    exact = len(a) == len(b) and all(
        pa == pb and abs(oa - ob) <= tolerance and abs(da - db) <= tolerance
        for (oa, da, pa), (ob, db, pb) in zip(a, b))
    # F1: greedy match in time order, same pitch, onsets within tolerance
    by_onset: dict[int, list[int]] = {}
    for ob, _, pb in b:
        by_onset.setdefault(ob, []).append(pb)
    hits = 0
    for oa, _, pa in a:
        for o in range(oa - tolerance, oa + tolerance + 1):
            cands = by_onset.get(o)
            if cands and pa in cands:
                cands.remove(pa)
                hits += 1
                break
    f1 = 2 * hits / (len(a) + len(b)) if a or b else 1.0
    reason = ""
    if not exact:
        end_a = a[-1][0] + a[-1][1] if a else 0
        end_b = b[-1][0] + b[-1][1] if b else 0
        if abs(end_a - end_b) > tolerance:
            reason = "length"
        elif len(a) == len(b) and all(abs(x[0] - y[0]) <= tolerance and abs(x[1] - y[1]) <= tolerance
                                      for x, y in zip(a, b)):
            reason = "pitch"
        else:
            reason = "rhythm"
    return Comparison(exact, round(f1, 4), reason)


# ----- sampling real tunes and scoring a reader against abc2midi -------------------

COLLECTIONS = ("oneills1850", "ryansMammoth", "airdsAirs", "miscFolk", "essenFolksong")


@dataclass(frozen=True)
class CorpusTune:
    collection: str
    path: str
    x: str          # the X: number as written
    text: str

    @property
    def name(self) -> str:
        return f"{self.collection}/{Path(self.path).name}#X:{self.x}"


def corpus_tunes(collections=COLLECTIONS) -> list[CorpusTune]:
    """Every tune of music21's bundled ABC collections, in a stable order."""
    from music21 import corpus
    from st4rt_repl.formats.abc_in import decode_abc, split_tunes
    out = []
    for path in sorted(corpus.getPaths(fileExtensions=("abc",)), key=str):
        coll = Path(path).parent.name
        if coll not in collections:
            continue
        text = decode_abc(Path(path).read_bytes())
        for _, tune_text in split_tunes(text):
            m = re.match(r"\s*X:\s*(\S*)", tune_text)
            if m:
                out.append(CorpusTune(coll, str(path), m.group(1), tune_text))
    return out


def sample_tunes(per_collection: int, *, seed: int = 0, collections=COLLECTIONS) -> list[CorpusTune]:
    """`per_collection` tunes drawn (seeded) from each collection (all of a smaller one)."""
    import random
    rng = random.Random(seed)
    tunes = corpus_tunes(collections)
    out = []
    for coll in collections:
        mine = [t for t in tunes if t.collection == coll]
        out += mine if len(mine) <= per_collection else rng.sample(mine, per_collection)
    return out


@dataclass(frozen=True)
class Result:
    tune: CorpusTune
    comparison: Comparison | None    # None when the reference could not be made
    error: str = ""                  # our reader's error, if it failed


def score_tune(t: CorpusTune, read=None) -> Result:
    """Compare our reading of one tune with abc2midi's."""
    if read is None:
        from st4rt_repl.formats.abc_in import read_abc_text as read
    try:
        ref = reference_notes(t.text)
    except ReferenceUnavailable as e:
        return Result(t, None, f"no reference: {e}")
    try:
        ours = tune_notes(read(t.text, source=t.name).tune)
    except Exception as e:   # noqa: BLE001 - every failure is a result to report
        return Result(t, Comparison(False, 0.0, "error"), f"{type(e).__name__}: {e}")
    return Result(t, compare(ours, ref))


def summary(results: list[Result]) -> dict:
    """exact rate and mean F1 over the tunes that have a reference."""
    scored = [r for r in results if r.comparison is not None]
    n = len(scored)
    return {"n": n,
            "exact": sum(r.comparison.exact for r in scored) / n if n else 0.0,
            "f1": sum(r.comparison.f1 for r in scored) / n if n else 0.0,
            "no_reference": len(results) - n}
