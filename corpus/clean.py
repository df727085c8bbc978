"""What makes two tunes "the same", and which tunes we refuse to train on.

Everything here looks at one tune at a time and is cheap, so the build can run
it in the worker that parsed the file and cache the answer with the file.

* `melody_hash` - the melody as intervals and durations: equal for a tune and
  its transposition (catches "transposed duplicates").
* `opening_hash` - the first two full bars, transposition-invariant: links
  variants of one tune that differ later (they must share a split).
* `normalise_title` - links "The Boys of Ballisodare" and "Boys of Ballisodare No. 2".
* `reject_reason` - a one-line reason to drop a tune, or None.

>>> from st4rt_repl.tune import Tune, Key
>>> a = Tune.from_bars([[(62, 1), (64, 1)], [(66, 2)]], meter=(2, 4), key=Key('D'))
>>> melody_hash(a) == melody_hash(a.transpose(5)), melody_hash(a) == melody_hash(a.transpose(0).with_(bars=a.bars[:1]))
(True, False)
>>> normalise_title("The Boys of Ballisodare (No. 2)"), normalise_title("Boys of Ballisodare 2")
('boys of ballisodare', 'boys of ballisodare')
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from fractions import Fraction

from st4rt_repl.tune import Tune

MIN_BARS = 4
PITCH_LO, PITCH_HI = 36, 96          # the tokenizer's range
MIN_OPENING_NOTES = 4                # shorter openings are too generic to link tunes by

# Titles made only of these words name a genre, a nation or nothing ("Irish Air", "Quick
# Step", Aird's "Do." = ditto): they must not link unrelated tunes into one family.
GENERIC_WORDS = frozenset("""
    untitled no title ohne titel x do ditto same another tune song air airs slow quick step quickstep
    reel reels jig jigs slip single double hornpipe march strathspey waltz polka minuet set dance
    country cotillon cotillion allemande allemanda gavotte rant lied volkslied fling highland
    irish scotch scots scottish english welsh french german dutch italian spanish old new
    favourite favorite """.split())


def _h(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def merged_notes(tune: Tune) -> list[tuple[int | None, Fraction]]:
    """(pitch or None, duration) of every note and rest, ties merged across barlines.

    >>> from st4rt_repl.tune import Tune
    >>> t = Tune.from_bars([[(60, 1), (62, 1, True)], [(62, 1), (None, 1)]], meter=(2, 4))
    >>> [(p, str(d)) for p, d in merged_notes(t)]
    [(60, '1'), (62, '2'), (None, '1')]
    """
    out: list[list] = []
    held = False
    for _, n in tune.notes():
        if held and out and out[-1][0] == n.pitch and n.pitch is not None:
            out[-1][1] += n.duration
        elif n.is_rest and out and out[-1][0] is None:
            out[-1][1] += n.duration
        else:
            out.append([n.pitch, n.duration])
        held = n.tie
    return [(p, d) for p, d in out]


def _interval_text(notes) -> str:
    parts, prev = [], None
    for p, d in notes:
        if p is None:
            parts.append(f"r{d}")
        else:
            parts.append(f"{0 if prev is None else p - prev}:{d}")
            prev = p
    return " ".join(parts)


def melody_hash(tune: Tune) -> str:
    """Hash of the interval + duration sequence: the same for every transposition."""
    return _h(_interval_text(merged_notes(tune)))


def opening_hash(tune: Tune) -> str | None:
    """Hash of the first two full bars (transposition-invariant), or None if too short/plain.

    >>> from st4rt_repl.tune import Tune
    >>> bars = [[(60, 1), (62, 1)], [(64, 1), (65, 1)], [(67, 2)], [(60, 2)]]
    >>> a, b = Tune.from_bars(bars, meter=(2, 4)), Tune.from_bars(bars[:2] + [[(72, 2)]], meter=(2, 4))
    >>> opening_hash(a) == opening_hash(b.transpose(3)) != None
    True
    """
    start = 1 if tune.pickup else 0
    bars = tune.bars[start:start + 2]
    if len(bars) < 2 or not all(b.is_full for b in bars):
        return None
    sub = tune.with_(bars=tuple(bars), pickup=False)
    notes = merged_notes(sub)
    if sum(p is not None for p, _ in notes) < MIN_OPENING_NOTES:
        return None
    return _h(f"{bars[0].meter}|" + _interval_text(notes))


def normalise_title(title: str) -> str:
    """Lowercase ASCII words without articles, brackets, punctuation or "No. 2"-style numbers."""
    t = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode().lower()
    t = re.sub(r"\(.*?\)|\[.*?\]", " ", t)
    t = re.sub(r"\b(no|nr|num|number)\.?\s*\d+\b", " ", t)
    t = re.sub(r"[^a-z0-9 ]+", " ", t)
    t = re.sub(r"\b(the|a|an)\b", " ", t)
    t = re.sub(r"\b(\d+(st|nd|rd|th)?\s+(setting|version|set)|(second|third|another|2nd|3rd)\s+"
               r"(setting|version|set))\b", " ", t)
    t = re.sub(r"(\s+\d+)+\s*$", " ", t)
    return " ".join(t.split())


def is_generic_title(norm: str) -> bool:
    """A normalised title that says nothing about which tune it is.

    >>> is_generic_title("irish air"), is_generic_title("do"), is_generic_title("white cockade")
    (True, True, False)
    """
    return all(w in GENERIC_WORDS for w in norm.split())


def pitch_range(tune: Tune) -> tuple[int, int] | None:
    """Lowest and highest sounding pitch, or None for a tune of rests."""
    ps = [n.pitch for b in tune.bars for n in b.notes if n.pitch is not None]
    return (min(ps), max(ps)) if ps else None


def reject_reason(tune: Tune) -> str | None:
    """Why a parsed tune is unfit for training (short, no notes, out of range), or None.

    >>> from st4rt_repl.tune import Tune
    >>> reject_reason(Tune.from_bars([[(60, 4)]] * 3))
    'too short: 3 bars (< 4)'
    >>> reject_reason(Tune.from_bars([[(30, 4)]] * 4))
    'pitch out of range: 30..30 (allowed 36..96)'
    """
    if tune.num_bars < MIN_BARS:
        return f"too short: {tune.num_bars} bars (< {MIN_BARS})"
    rng = pitch_range(tune)
    if rng is None:
        return "no notes"
    if rng[0] < PITCH_LO or rng[1] > PITCH_HI:
        return f"pitch out of range: {rng[0]}..{rng[1]} (allowed {PITCH_LO}..{PITCH_HI})"
    return None


def reason_kind(reason: str) -> str:
    """The category of a drop reason (the text before the first colon).

    >>> reason_kind("too short: 3 bars (< 4)")
    'too short'
    """
    return reason.split(":", 1)[0]
