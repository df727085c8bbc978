"""The musical operations, on Tunes: the one place the REPL and the CLI both call.

continue / vary / generate / interpolate / new_part / personalize each return a
list of `Proposal`s (a whole-piece Tune plus the written bar numbers that
changed).  Every turn's candidates differ from each other in the changed bars:
duplicates are dropped and more are sampled (two more rounds at most); when the
model cannot find K distinct ones, fewer come back and the caller says so.
Sizes are checked against `st4rt_repl.limits` before any model runs.  The models
are imported lazily, so nothing here costs an import of torch until it is used;
a model without its shipped checkpoint raises `NotAvailable` (one line).

Also the words for meters and keys both front ends accept:

>>> parse_meter("C"), parse_meter("C|"), parse_meter(" 6/8 ")
((4, 4), (2, 2), (6, 8))
>>> parse_key("Em"), parse_key("F#m"), parse_key("E minor"), parse_key("Dmix")
(Key(tonic='E', mode='minor'), Key(tonic='F#', mode='minor'), Key(tonic='E', mode='minor'), Key(tonic='D', mode='mixolydian'))
>>> parse_key("H")
Traceback (most recent call last):
st4rt_repl.errors.TuneError: unknown key 'H': write a tonic A-G (with # or b) and a mode, e.g. D, Em, F#m, Bb, E minor, A dorian, Dmix
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from st4rt_repl.limits import MAX_BARS, MAX_CANDIDATES, MAX_STEPS, MAX_BEAM, check_count
from st4rt_repl.errors import NotAvailable
from st4rt_repl.tune import Bar, Key, Meter, Tune, TuneError

__all__ = ["Proposal", "NotAvailable", "changed_bars", "continue_tune", "vary", "generate",
           "interpolate", "new_part", "personalize", "load_tune", "parse_meter", "parse_key",
           "supported_meters", "save_tune", "EXTRA_ROUNDS"]

EXTRA_ROUNDS = 2      # more sampling rounds when candidates come back identical



@dataclass(frozen=True)
class Proposal:
    """One candidate: the whole piece as it would be if accepted, and what changed."""
    tune: Tune
    changed: tuple[int, ...]   # written bar numbers (1-based; 0 = pickup) that are new or altered


# ----------------------------------------------------------------------------
# Words for meters and keys, files
# ----------------------------------------------------------------------------
def supported_meters() -> list[str]:
    """The meters the models can write (the tokenizer's list)."""
    from st4rt_repl.tokenizers.melody import METERS
    return list(METERS)


def parse_meter(text: str) -> Meter:
    """'6/8' -> (6, 8); 'C' is 4/4 and 'C|' is 2/2, the ABC way."""
    s = str(text).strip()
    if s in ("C", "c"):
        return (4, 4)
    if s in ("C|", "c|"):
        return (2, 2)
    m = re.fullmatch(r"(\d{1,3})\s*/\s*(\d{1,3})", s)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) not in (1, 2, 4, 8, 16, 32):
        raise TuneError(f"bad meter {s!r}: write e.g. 6/8, 4/4, C (= 4/4) or C| (= 2/2)")
    return int(m.group(1)), int(m.group(2))


def check_meter(meter: Meter) -> None:
    """TuneError naming the supported meters when the models cannot write `meter`."""
    name = f"{meter[0]}/{meter[1]}"
    known = supported_meters()
    if name not in known:
        raise TuneError(f"meter {name} is not supported; supported: {' '.join(known)}")


_MODE_WORDS = {"": "major", "m": "minor", "min": "minor", "minor": "minor", "maj": "major",
               "major": "major", "ion": "major", "ionian": "major", "aeo": "minor",
               "aeolian": "minor", "dor": "dorian", "dorian": "dorian", "phr": "phrygian",
               "phrygian": "phrygian", "lyd": "lydian", "lydian": "lydian", "mix": "mixolydian",
               "mixolydian": "mixolydian", "loc": "locrian", "locrian": "locrian"}


def parse_key(text: str, mode: str | None = None) -> Key:
    """'D', 'Em', 'F#m', 'Bb', 'E minor', 'A dorian', 'Dmix' (ABC's K: forms) -> Key."""
    s = " ".join(str(text).replace("♯", "#").replace("♭", "b").split())
    m = re.fullmatch(r"(?:key of )?([A-Ga-g])([#b]?)\s*([A-Za-z]*)", s)
    word = (m.group(3).lower() if m else "")
    if mode:
        word = word or mode.lower()
    if not m or word not in _MODE_WORDS and word[:3] not in _MODE_WORDS:
        raise TuneError(f"unknown key {str(text)!r}: write a tonic A-G (with # or b) and a mode, "
                        "e.g. D, Em, F#m, Bb, E minor, A dorian, Dmix")
    return Key(m.group(1).upper() + m.group(2), _MODE_WORDS.get(word) or _MODE_WORDS[word[:3]])


def load_tune(path: str | Path, *, tune: str | int | None = None, part: str | int | None = None):
    """formats.load with the checks a user needs first (an .mxl that is not a zip file)."""
    import zipfile
    from st4rt_repl import formats
    p = Path(path).expanduser()
    if p.suffix.lower() == ".mxl" and p.is_file() and not zipfile.is_zipfile(p):
        raise formats.InputError(str(path), "not a zip file (an .mxl file is zipped MusicXML; "
                                 "plain MusicXML ends in .musicxml or .xml)")
    return formats.load(p, tune=tune, part=part)


def save_tune(t: Tune, path: str | Path) -> Path:
    """Write a tune, the format by extension (MIDI as performed, with the chord track).

    The one save behind `st4rt convert` and the REPL's `export`; both write to a
    temporary name and rename, so a failed save keeps the previous file.
    """
    from st4rt_repl import formats
    return formats.save(t, path)


# ----------------------------------------------------------------------------
# Distinct candidates
# ----------------------------------------------------------------------------
def _signature(p: Proposal):
    """What makes a candidate different: the notes of its changed bars."""
    out = []
    for k in p.changed:
        try:
            out.append(p.tune.bar(k).notes)
        except TuneError:
            out.append(None)
    return tuple(out) or p.tune.bars


def distinct(sample: Callable[[int, int | None], list[Proposal]], candidates: int,
             seed: int | None) -> list[Proposal]:
    """Up to `candidates` proposals whose changed bars differ, from `sample(n, seed)` calls.

    The first round asks for exactly `candidates` (so a turn with no duplicates costs
    no more than before); each extra round asks again with another seed.
    """
    kept: list[Proposal] = []
    seen = set()
    for r in range(EXTRA_ROUNDS + 1):
        s = seed if r == 0 or seed is None else seed + 7919 * r
        for p in sample(candidates, s):
            sig = _signature(p)
            if sig not in seen:
                seen.add(sig)
                kept.append(p)
        if len(kept) >= candidates:
            break
    return kept[:candidates]


def _check(what: str, n: int, most: int) -> None:
    why = check_count(what, int(n), most)
    if why:
        raise TuneError(why)


# ----------------------------------------------------------------------------
# The operations
# ----------------------------------------------------------------------------
def _graft(tune: Tune, result: Tune, bars: int) -> Tune:
    """`tune` (written form kept) plus the model's last `bars` bars (and its completed last bar).

    A model that returns the written primer unchanged is trusted as is: its new bars
    carry their form (``|:``, ``:|``, endings), it may close the primer's last bar
    (a barline, or the rest of a bar cut short for the next part's pickup: one
    partial bar more).  One that worked on a flat copy gets its new bars appended.
    """
    n = len(tune.bars)
    if len(result.bars) in (n + bars, n + bars + 1) and result.bars[:n - 1] == tune.bars[:n - 1]:
        return result
    new = list(result.bars[-bars:])
    out = tune
    last = tune.bars[-1]
    if not last.is_full and len(result.bars) > bars:
        done = result.bars[-bars - 1]
        if done.notes[:len(last.notes)] == last.notes:
            out = replace(out, bars=out.bars[:-1] + (last.with_notes(done.notes),))
    return out.append_bars([Bar(b.notes, b.meter) for b in new])


def continue_tune(tune: Tune, bars: int, *, candidates: int = 4, temperature: float = 1.0,
                  top_p: float = 0.95, seed: int | None = None, beam: int = 1,
                  profile: str | None = None, likeness: float = 0.5) -> list[Proposal]:
    """The piece plus exactly `bars` new written bars, up to `candidates` distinct times."""
    _check("bars", bars, MAX_BARS)
    _check("candidates", candidates, MAX_CANDIDATES)
    _check("beam", beam, MAX_BEAM)
    from st4rt_repl.models import continuation

    def sample(n: int, s: int | None) -> list[Proposal]:
        tunes = continuation.continue_tune(tune, bars, candidates=n, temperature=temperature,
                                           top_p=top_p, seed=s, beam=beam, profile=profile,
                                           likeness=likeness)
        out = [_graft(tune, t, bars) for t in tunes]
        return [Proposal(t, changed_bars(tune, t)) for t in out]
    return distinct(sample, candidates, seed)


def new_part(tune: Tune, bars: int = 8, *, like: str | None = None, candidates: int = 4,
             temperature: float = 1.0, seed: int | None = None, profile: str | None = None,
             likeness: float = 0.5) -> list[Proposal]:
    """A new part of `bars` written bars after the piece, in repeat signs, labelled.

    Uses the continuation model's `new_part` when it has one; otherwise a plain
    continuation, marked as a new part (label, repeat signs).
    """
    _check("bars", bars, MAX_BARS)
    _check("candidates", candidates, MAX_CANDIDATES)
    from st4rt_repl.models import continuation
    model_new_part = getattr(continuation, "new_part", None)
    labels = [b.part for b in tune.bars if b.part]
    label = chr(ord(max(labels)) + 1) if labels and max(labels) < "Z" else "B"

    def mark(t: Tune) -> Tune:
        first = len(tune.bars)
        k = t.bar_numbers()[first]
        t = t.with_repeat(k, t.bar_numbers()[-1]) if not t.bars[first].repeat_start else t
        return t.with_bar(k, part=t.bars[first].part or label)

    def sample(n: int, s: int | None) -> list[Proposal]:
        if model_new_part is not None:
            tunes = model_new_part(tune, bars, like=like, candidates=n, temperature=temperature,
                                   seed=s, profile=profile, likeness=likeness)
        else:
            tunes = [mark(_graft(tune, t, bars)) for t in continuation.continue_tune(
                tune, bars, candidates=n, temperature=temperature, seed=s, profile=profile,
                likeness=likeness)]
        return [Proposal(t, changed_bars(tune, t)) for t in tunes]
    return distinct(sample, candidates, seed)


def changed_bars(old: Tune, new: Tune) -> tuple[int, ...]:
    """Bar numbers of `new` that are not in `old` or differ from it (notes or written form).

    >>> a = Tune.from_bars([[(60, 4)], [(62, 2)]])
    >>> b = Tune.from_bars([[(60, 4)], [(62, 2), (64, 2)], [(65, 4)]])
    >>> changed_bars(a, b)
    (2, 3)
    """
    numbers = new.bar_numbers()
    return tuple(k for i, k in enumerate(numbers)
                 if i >= len(old.bars) or old.bars[i] != new.bars[i])


def vary(tune: Tune, bars: Sequence[int], *, candidates: int = 4, amount: float = 0.5,
         seed: int | None = None, profile: str | None = None,
         likeness: float = 0.5) -> list[Proposal]:
    """New versions of the chosen written bars; every other bar stays identical (MusicVAE).

    The new notes go in with `Tune.replace_bars`, so a varied bar keeps its written
    form (repeat signs, ending, chords) and is heard changed in every pass.
    """
    _check("candidates", candidates, MAX_CANDIDATES)
    numbers = sorted({tune.bar_numbers()[tune._index(b)] if b < 0 else b for b in bars})
    for b in numbers:
        tune.bar(b)   # raises a clear TuneError for a bar that does not exist
    from st4rt_repl.models import variation

    def sample(n: int, s: int | None) -> list[Proposal]:
        out = []
        for t in variation.vary_bars(tune, numbers, candidates=n, amount=amount, seed=s,
                                     profile=profile, likeness=likeness):
            kept = tune
            for k in numbers:
                kept = kept.replace_bars(k, k, [Bar(t.bar(k).notes, t.bar(k).meter)])
            out.append(Proposal(kept, tuple(numbers)))
        return out
    return distinct(sample, candidates, seed)


def generate(bars: int, *, meter: Meter = (4, 4), key: Key = Key("D", "major"),
             candidates: int = 4, seed: int | None = None, profile: str | None = None,
             likeness: float = 0.5, title: str = "Generated",
             temperature: float = 1.0) -> list[Proposal]:
    """New tunes of `bars` bars in `meter` and `key`: the shipped sampler of `models.generation`."""
    _check("bars", bars, MAX_BARS)
    _check("candidates", candidates, MAX_CANDIDATES)
    check_meter(tuple(meter))
    from st4rt_repl.models import generation

    def sample(n: int, s: int | None) -> list[Proposal]:
        tunes = generation.generate(tuple(meter), key, bars, n, seed=s, temperature=temperature,
                                    profile=profile, likeness=likeness)
        return [Proposal(t.with_(title=title), tuple(range(1, t.num_bars + 1))) for t in tunes]
    return distinct(sample, candidates, seed)


def interpolate(tune: Tune, from_bar: int, to_bar: int, *, steps: int = 3,
                candidates: int = 4, seed: int | None = None) -> list[Proposal]:
    """Bridges that morph the phrase at `from_bar` into the phrase at `to_bar`.

    Each proposal is the piece with the in-between phrases inserted after the
    2-bar window that starts at `from_bar`; `changed` names the inserted bars.
    """
    _check("steps", steps, MAX_STEPS)
    _check("candidates", candidates, MAX_CANDIDATES)
    last = tune.num_bars
    for name, k in (("from", from_bar), ("to", to_bar)):
        if not 1 <= k <= last:
            raise TuneError(f"{name} bar {k} does not exist: interpolate takes two bars "
                            f"of 1..{last} (each starts a 2-bar phrase)")
    if from_bar == to_bar:
        raise TuneError("interpolate needs two different bars")
    if last < 2:
        raise TuneError("interpolate needs a tune of at least 2 bars")
    from st4rt_repl.models import variation

    def sample(n: int, s: int | None) -> list[Proposal]:
        return [Proposal(t, tuple(ch)) for t, ch in variation.interpolate_tunes(
            tune, from_bar, to_bar, steps=steps, candidates=n, seed=s)]
    return distinct(sample, candidates, seed)


def personalize(paths: Sequence[str], name: str = "me") -> str:
    """Train a MidiMe profile on the user's tunes; returns a one-line summary."""
    from st4rt_repl.models import midime
    return midime.personalize(list(paths), name=name)
