"""From the written form to the melody as played: repeats, endings and parts unfolded.

abc2midi (the reference implementation) plays a tune by walking its written
features — notes, barlines, ending brackets, part labels — with a small state
machine; `play` below is that walk, and `perform` turns a written `Tune` back
into such features, walks them and cuts what sounds into bars.  The ABC reader
(`st4rt_repl.formats.abc_in`) uses the same features and `repair_repeats`
before it builds the written bars, so that ``Tune.performed()`` of anything it
read equals abc2midi's performance note for note (checked on every bundled
tune by bench/compare_abc2midi.py).

>>> from st4rt_repl.tune import Tune
>>> t = Tune.from_bars([[(60, 2)], [(62, 2)], [(64, 2)]], meter=(2, 4)).with_repeat(1, 2)
>>> [b.notes[0].pitch for b in t.performed().bars]
[60, 62, 60, 62, 64]
>>> t.with_bar(2, ending="1").with_bar(3, ending="2").played_order()
[1, 2, 1, 3]
"""
from __future__ import annotations

import re
from dataclasses import replace
from fractions import Fraction

from st4rt_repl.errors import TuneError
from st4rt_repl.tune import Bar, Meter, Note, Tune

__all__ = ["Feature", "NOTE", "REST", "BAR", "ENDING", "PART", "METER", "KEY", "CHORD",
           "SINGLE", "DOUBLE", "BAR_REP", "REP_BAR", "DOUBLE_REP", "MAX_PLAYED_NOTES",
           "repair_repeats", "play", "is_double_repeat", "ending_over", "perform", "unfold", "played_order", "performed_chords",
           "rebar"]

MAX_PLAYED_NOTES = 50_000     # after unfolding repeats and parts

# feature kinds
NOTE, REST, BAR, ENDING, PART, METER, KEY, CHORD = range(8)
# bar kinds, as abc2midi names them
SINGLE, DOUBLE, BAR_REP, REP_BAR, DOUBLE_REP = "|", "||", "|:", ":|", "::"


class Feature:
    """One thing of a tune in written order (a small mutable record)."""
    __slots__ = ("kind", "pitch", "duration", "tie", "line", "text", "meter", "chord",
                 "letter", "key", "bar")

    def __init__(self, kind: int, pitch: int | None = None, duration: Fraction = Fraction(0),
                 tie: bool = False, line: int = 0, text: str = "", meter: Meter | None = None,
                 chord: bool = False):
        self.kind, self.pitch, self.duration, self.tie = kind, pitch, duration, tie
        self.chord = chord      # a chord (its top note): broken rhythm does not check lengths
        self.line = line        # diatonic step of the written note (letter + octave): for ties
        self.text = text        # bar kind, ending list, part label or chord symbol
        self.meter = meter      # METER: the new meter; NOTE/REST from a Tune: its bar's meter
        self.letter = ""        # the written letter of a note (spelling)
        self.key = None         # KEY: the Key now in force
        self.bar = -1           # NOTE/REST/BAR from a Tune: index of its written bar


# ----- abc2midi's repairs and its walk ---------------------------------------------------

def _in_list(spec: str, passno: int) -> bool:
    for part in spec.split(","):
        if "-" in part:
            a, _, b = part.partition("-")
            if a.isdigit() and b.isdigit() and int(a) <= passno <= int(b):
                return True
        elif part.isdigit() and int(part) == passno:
            return True
    return False


def repair_repeats(fs: list[Feature], with_parts: bool, single_voice: bool) -> list[Feature]:
    """abc2midi's fix-ups of missing start repeats, before it plays.

    The reader applies them once, so the written form it builds already has the
    ``|:`` that abc2midi would have assumed.
    """
    # (1) a ':|' or '::' with no '|:' before it in its part: '|:' at the part's start
    out: list[Feature] = [Feature(BAR, text=DOUBLE)]
    start, found = 1, False
    inserts: list[int] = []
    for f in fs:
        out.append(f)
        if f.kind == PART and with_parts:
            start, found = len(out), False
        elif f.kind == BAR:
            if f.text == BAR_REP:
                found = True
            elif f.text in (REP_BAR, DOUBLE_REP) and not found:
                inserts.append(start)
                found = True
    for pos in reversed(inserts):
        out.insert(pos, Feature(BAR, text=BAR_REP))
    if with_parts or not single_voice:
        return out
    # (2) fixreps: a ':|' after a ':|' repeats from it (or from the last '||')
    rep_point, expect, plays = 0, False, 0

    def place_start(j):
        f = out[j]
        if f.kind != BAR:
            return
        if f.text in (SINGLE, DOUBLE):
            f.text = BAR_REP
        elif f.text == REP_BAR:
            f.text = DOUBLE_REP

    for j, f in enumerate(out):
        if f.kind == BAR:
            if f.text == DOUBLE:
                rep_point = j
            elif f.text == BAR_REP:
                if expect:       # '|: .. |:' : the second becomes '::'
                    f.text = DOUBLE_REP
                expect = True
            elif f.text == REP_BAR:
                if not expect and plays < 1:
                    place_start(rep_point)
                expect = False
                rep_point = j
            elif f.text == DOUBLE_REP:
                if not expect:
                    place_start(rep_point)
                expect = True
        elif f.kind == ENDING:
            if plays == 0 and not expect:
                place_start(rep_point)
            plays += 1
    return out


_SKIP_TO = (REP_BAR, BAR_REP, DOUBLE)   # where a skipped ending ends ('::' is not one: abc2midi)


def play(fs: list[Feature], order: str | None) -> list[Feature]:
    """The features in the order they sound: repeats, endings and parts unfolded."""
    part_start: dict[str, int] = {}
    for j, f in enumerate(fs):
        if f.kind == PART:
            part_start[f.text] = j
    n = len(fs)
    played: list[Feature] = []
    j, passno, maxpass, expect, saved = 0, 1, 2, False, 0
    partno = -1
    budget = MAX_PLAYED_NOTES * 4 + 10 * n
    while j < n:
        budget -= 1
        if budget < 0:
            raise TuneError("the tune's repeats unfold to more than "
                            f"{MAX_PLAYED_NOTES:,} notes")
        f = fs[j]
        k = f.kind
        if k in (NOTE, REST, METER):
            played.append(f)
        elif k == BAR:
            t = f.text
            played.append(f)
            if t == BAR_REP:
                saved, expect, passno, maxpass = j, True, 1, 2
            elif t == REP_BAR:
                if passno == 1:
                    if expect:
                        passno += 1
                        j, expect = saved, False
                elif passno < maxpass:
                    expect = False
                    passno += 1
                    j = saved
            elif t == DOUBLE_REP:
                if passno > 1:
                    saved, expect, passno, maxpass = j, True, 1, 2
                elif not expect:
                    saved, expect, passno = j, True, 1
                else:
                    j = saved
                    passno += 1
        elif k == ENDING:
            current = passno if (expect or passno > 1) else 1
            if not _in_list(f.text, current):
                j += 1
                while j < n and not (fs[j].kind == BAR and fs[j].text in _SKIP_TO) \
                        and fs[j].kind not in (PART, ENDING):
                    j += 1
                if j < n and fs[j].kind == PART:
                    j -= 1
            elif maxpass < 4:
                maxpass = passno + 1
        elif k == PART and order is not None:
            partno += 1
            while partno < len(order) and order[partno] not in part_start:
                partno += 1
            j = n if partno >= len(order) else part_start[order[partno]]
        j += 1
    return played


# ----- a written Tune as features, and back to bars ---------------------------------------

_KIND = {"|": SINGLE, "||": DOUBLE, "|]": DOUBLE, ":|": REP_BAR}


def ending_over(bars, i: int) -> str:
    """The volta label of the bracket bar index i lies under ('' if none)."""
    for j in range(i, -1, -1):
        b = bars[j]
        if j < i and b.barline != "|":
            return ""
        if b.ending:
            return b.ending
        if b.repeat_start or b.part:
            return ""
    return ""


def is_double_repeat(bars, i: int) -> bool:
    """Whether the ``:|`` after bar index i and the ``|:`` of the next bar form one ``::`` sign.

    abc2midi plays them differently in one case: after a pass beyond the second
    (endings like ``[2,4``) a ``::`` no longer repeats, while ``:| |:`` does.  So a
    repeat end under such an ending is written as two signs, everything else as
    ``::``; the ABC writer asks this function too, so abc2midi hears what we play.

    >>> from st4rt_repl.tune import Tune
    >>> t = Tune.from_bars([[(60, 4)]] * 4).with_repeat(1, 3).with_repeat(4, 4)
    >>> t = t.with_bar(2, ending="1,3").with_bar(3, ending="2,4")
    >>> is_double_repeat(t.bars, 2), is_double_repeat(t.with_bar(3, ending="2").bars, 2)
    (False, True)
    """
    b = bars[i]
    nxt = bars[i + 1] if i + 1 < len(bars) else None
    if b.barline != ":|" or nxt is None or not nxt.repeat_start or nxt.part:
        return False
    passes = [int(x) for x in re.findall(r"\d+", ending_over(bars, i))]
    return not passes or max(passes) <= 2


def features_of(tune: Tune) -> list[Feature]:
    """The written tune as abc2midi's features (the reverse of the reader's bar building)."""
    out: list[Feature] = [Feature(BAR, text=DOUBLE)]
    bars = tune.bars
    merged_start = False          # this bar's '|:' was already written as '::'
    for i, b in enumerate(bars):
        if b.part:
            out.append(Feature(PART, text=b.part))
        if b.repeat_start and not merged_start:
            out.append(Feature(BAR, text=BAR_REP))
        if b.ending:
            out.append(Feature(ENDING, text=b.ending))
        for n in b.notes:
            f = Feature(REST if n.pitch is None else NOTE, n.pitch, n.duration, n.tie, meter=b.meter)
            f.bar = i
            out.append(f)
        merged_start = is_double_repeat(bars, i)
        end = Feature(BAR, text=DOUBLE_REP if merged_start else _KIND[b.barline])
        end.bar = i
        out.append(end)
    if tune.parts:
        out.append(Feature(PART, text=" "))
    return out


def _played(tune: Tune) -> list[tuple[int, list[Note]]]:
    """(written bar index, notes) of every bar as played, ties checked along the way.

    A tie survives only into the next played note of the same pitch (a tie written
    before a repeat sign may be followed by the start of the repeat).
    """
    fs = play(features_of(tune), tune.parts or None)
    occ: list[tuple[int, list[list]]] = []
    open_bar = False
    count = 0
    for f in fs:
        if f.kind in (NOTE, REST):
            if not open_bar:
                occ.append((f.bar, []))
                open_bar = True
            occ[-1][1].append([f.pitch, f.duration, f.tie, f])
            count += 1
        elif f.kind == BAR:
            open_bar = False
    if count > MAX_PLAYED_NOTES:
        raise TuneError(f"the tune unfolds to {count:,} notes (the limit is {MAX_PLAYED_NOTES:,})")
    flat = [x for _, notes in occ for x in notes]
    for a, b in zip(flat, flat[1:]):
        if a[2] and (b[0] is None or b[0] != a[0]):
            a[2] = False
    if flat:
        flat[-1][2] = False
    return [(i, [Note(p, d, t) for p, d, t, _ in notes]) for i, notes in occ]


def played_order(tune: Tune) -> list[int]:
    """Written bar numbers in playing order (see `Tune.played_order`)."""
    start = 0 if tune.pickup else 1
    return [i + start for i, _ in _played(tune)]


def perform(tune: Tune) -> Tune:
    """The melody as played, cut into bars like a flat reading (see `Tune.performed`)."""
    measures = [(tune.bars[i].meter, notes) for i, notes in _played(tune)]
    bars, pickup = rebar(measures)
    if not bars:
        raise TuneError("the tune has no notes")
    head = bars[1].meter if pickup and len(bars) > 1 else bars[0].meter
    return Tune(tuple(bars), head, tune.key, title=tune.title, tempo=tune.tempo, pickup=pickup)


def unfold(tune: Tune) -> Tune:
    """The written bars in playing order, repeats written out (chords and keys kept).

    >>> from st4rt_repl.tune import Tune
    >>> t = Tune.from_bars([[(60, 2)], [(62, 2)]], meter=(2, 4)).with_repeat(1, 1)
    >>> u = t.unfolded()
    >>> u.num_bars, u.has_form, [b.notes[0].pitch for b in u.bars]
    (3, False, [60, 60, 62])
    """
    bars = []
    played = _played(tune)
    for i, notes in played:
        b = tune.bars[i]
        bars.append(Bar(tuple(n if not w.letter else replace(n, letter=w.letter)
                              for n, w in zip(notes, b.notes)),
                        b.meter, b.key, chords=b.chords))
    if bars:
        bars[-1] = replace(bars[-1], barline="|]")
    return replace(tune, bars=tuple(bars), parts="",
                   pickup=tune.pickup and bool(played) and played[0][0] == 0)


def performed_chords(tune: Tune) -> list[tuple[Fraction, Fraction, str]]:
    """(onset, duration, symbol) of each chord symbol as heard; a chord lasts until the next
    one or the end of the tune."""
    out: list[list] = []
    t = Fraction(0)
    for i, notes in _played(tune):
        for offset, symbol in tune.bars[i].chords:
            out.append([t + offset, None, symbol])
        t += sum((n.duration for n in notes), Fraction(0))
    for a, b in zip(out, out[1:]):
        a[1] = b[0] - a[0]
    if out:
        out[-1][1] = t - out[-1][0]
    return [(o, d, s) for o, d, s in out if d > 0]


# ----- cutting a stream of measures into full bars ------------------------------------------

def _merge_ties(notes: list[Note]) -> list[Note]:
    out: list[Note] = []
    for n in notes:
        if out and out[-1].tie and not n.is_rest and out[-1].pitch == n.pitch:
            prev = out.pop()
            n = Note(n.pitch, prev.duration + n.duration, n.tie)
        out.append(n)
    return out


def rebar(measures: list[tuple[Meter, list[Note]]]) -> tuple[list[Bar], bool]:
    """Cut a list of (meter, notes) measures into full bars; returns (bars, has_pickup).

    >>> m = [((2, 4), [Note(60, 1)]), ((2, 4), [Note(62, 2)]), ((2, 4), [Note(64, 1)]),
    ...      ((2, 4), [Note(65, 1)]), ((2, 4), [Note(67, 3)])]
    >>> bars, pickup = rebar(m)
    >>> pickup, [[(n.pitch, str(n.duration), n.tie) for n in b.notes] for b in bars]
    (True, [[(60, '1', False)], [(62, '2', False)], [(64, '1', False), (65, '1', False)], [(67, '2', True)], [(67, '1', False)]])
    """
    bars: list[Bar] = []
    pickup = False
    cur: list[Note] = []
    cur_meter: Meter | None = None
    for idx, (meter, notes) in enumerate(measures):
        if not notes:
            continue
        expected = Fraction(4 * meter[0], meter[1])
        total = sum((n.duration for n in notes), Fraction(0))
        if not bars and not cur and not pickup and total < expected and idx == 0:
            bars.append(Bar(tuple(_merge_ties(notes)), meter))
            pickup = True
            continue
        if cur_meter is None:
            cur_meter = meter
        cur.extend(notes)
        # emit as many full bars as the buffer holds
        while True:
            exp = Fraction(4 * cur_meter[0], cur_meter[1])
            acc, cut = Fraction(0), None
            for i, n in enumerate(cur):
                if acc + n.duration >= exp:
                    cut = i
                    break
                acc += n.duration
            if cut is None:
                break
            head, tail = cur[:cut], cur[cut + 1:]
            n = cur[cut]
            first = exp - acc
            if first == n.duration:
                head.append(n)
            else:
                head.append(Note(n.pitch, first, not n.is_rest))
                tail.insert(0, Note(n.pitch, n.duration - first, n.tie))
            bars.append(Bar(tuple(_merge_ties(head)), cur_meter))
            cur = tail
            cur_meter = meter
        if not cur:
            cur_meter = None
    if cur:
        bars.append(Bar(tuple(_merge_ties(cur)), cur_meter or measures[-1][0]))
    if bars and bars[-1].notes:
        last = bars[-1]
        if last.notes[-1].tie:   # a tie into nothing
            bars[-1] = Bar(last.notes[:-1] + (Note(last.notes[-1].pitch, last.notes[-1].duration),), last.meter)
    return bars, pickup
