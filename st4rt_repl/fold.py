"""Find the repeats a MIDI file cannot say: `fold` writes verbatim repeated sections as ``|: :|``.

MIDI holds a tune as played, so an AABB reel comes back as 32 bars where the
sheet has 16.  `fold` scans the bars from the start (after a pickup) and, where
the next 8 bars (else 4) are played twice in a row, note for note, keeps one copy
between repeat signs.  When two passes differ only in their last bar, the two
last bars become first and second endings (``|: ... [1 x :| [2 y ||``).
Sections are taken greedily, longest first, and never overlap.

`fold` is the inverse of `Tune.unfolded` on such tunes: the folded tune performs
exactly the notes it was given.  A repeat whose section is not a whole number of
bars as played (a part whose pickup is written before ``|:`` and not repeated) is
not found: the bars of its second pass do not line up with the first.

>>> from st4rt_repl.tune import Tune
>>> a = [[(60, 2)], [(62, 2)], [(64, 2)], [(65, 2)]]
>>> b = [[(67, 2)], [(69, 2)], [(71, 2)], [(72, 2)]]
>>> flat = Tune.from_bars(a + a + b + b, meter=(2, 4))
>>> t = fold(flat)
>>> t.num_bars, t.num_played_bars, [t.barline_after(k) for k in (4, 8)]
(8, 16, ['::', ':|'])
>>> t.performed().sounding() == flat.sounding()
True
>>> e = fold(Tune.from_bars(a + a[:3] + [[(67, 2)]] + b, meter=(2, 4)))
>>> [(b.ending, b.barline) for b in e.bars][3:5]
[('1', ':|'), ('2', '||')]
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from st4rt_repl.tune import Bar, Tune

__all__ = ["fold", "SECTION_LENGTHS"]

SECTION_LENGTHS = (8, 4)     # bars in a repeated section, tried in this order


def _same(a: Sequence[Bar], b: Sequence[Bar]) -> bool:
    return len(a) == len(b) and all(x.notes == y.notes and x.meter == y.meter and x.key == y.key
                                    for x, y in zip(a, b))


def fold(tune: Tune, lengths: Sequence[int] = SECTION_LENGTHS) -> Tune:
    """The tune with verbatim repeated 4- or 8-bar sections written as repeats.

    A tune that already has a written form is returned as it is.
    """
    if tune.has_form:
        return tune
    bars = list(tune.bars)
    first = 1 if tune.pickup else 0
    out: list[Bar] = bars[:first]
    i = first
    while i < len(bars):
        for n in lengths:
            a, b = bars[i:i + n], bars[i + n:i + 2 * n]
            if len(b) < n:
                continue
            if _same(a, b):
                out += [replace(a[0], repeat_start=True)] + a[1:]
                out[-1] = replace(out[-1], barline=":|")
                i += 2 * n
                break
            if n > 1 and _same(a[:-1], b[:-1]) and not _same(a[-1:], b[-1:]):
                out += [replace(a[0], repeat_start=True)] + a[1:-1]
                out.append(replace(a[-1], ending="1", barline=":|"))
                out.append(replace(b[-1], ending="2", barline="||"))
                i += 2 * n
                break
        else:
            out.append(bars[i])
            i += 1
    folded = replace(tune, bars=tuple(out))
    if folded.bars and folded.bars[-1].barline == "||" and tune.bars[-1].barline == "|":
        folded = folded.with_bar(-1, barline="|")     # a tune ends with its own barline
    return folded
