"""Tokenizer v2: the WRITTEN tune (repeats once, endings, part labels, partial bars), one token per note.

Version 1 (`st4rt_repl.tokenizers.melody`) spells the melody as played, a note
as two tokens (pitch, duration).  Version 2 spells the tune as written and a
note as ONE joint token, so sampling takes about half the steps:

==================  ===========================================================
``<pad>``           padding (id 0)
``<s>`` ``</s>``    start and end of tune
``M:6/8``           meter (prefix; again at the start of a bar where it changes)
``K:0..K:11``       key tonic as a pitch class, then ``mode:dorian`` ... (prefix;
                    again at the start of a bar where the key changes)
``pickup``          the first bar is a pickup (bar 0)
``order`` ``/order``  the header's ``P:`` order, as ``P:x`` tokens between them
``P:A`` .. ``P:Z``  a part label written before the bar
``|:``              a repeat starts before the bar
``[1`` ``[2`` ...   a volta bracket starts at the bar (``[1,2`` ``[1,3`` ... too)
``p62:12``          a note: MIDI pitch 36..96 and a duration in ticks (24 ticks
``r:12``            = a quarter) from DURATIONS; ``r`` is a rest
``+d1`` .. ``+d144``  extra ticks added to the note just written (rare lengths)
``~``               the note just written is tied to the next one
``short``           this bar is partial (not the pickup); written before its notes.
                    After a partial bar it is the rest of that bar (a part's
                    pickup), so the model knows where in the bar it stands
``|`` ``||`` ``|]`` ``:|``  the barline after the bar: its kind as written
==================  ===========================================================

A tune is the prefix ``<s> M K mode [pickup] [order P:x.. /order]``, then per
bar: its start tokens (``M:`` ``K: mode:`` ``P:x`` ``|:`` ``[n`` ``short``, in that
order, each only where written), its notes and its barline;
finally ``</s>``.  Chord symbols and note spellings (`Note.letter`) are not
kept; keys are kept as pitch class and mode (the tonic is re-spelled).

>>> from st4rt_repl.tune import Tune, Key
>>> t = Tune.from_bars([[(62, '1/2')], [(67, 1), (71, '1/2')], [(69, '3/2')]],
...                    meter=(3, 8), key=Key('G', 'major'), pickup=True).with_repeat(1, 2)
>>> ids = encode(t)
>>> ' '.join(VOCAB.itos[i] for i in ids)
'<s> M:3/8 K:7 mode:major pickup p62:12 | |: p67:24 p71:12 | p69:36 :| </s>'
>>> same(decode(ids), t)
True
"""
from __future__ import annotations

from fractions import Fraction

from st4rt_repl.tune import Bar, Key, MODES as _MODE_TABLE, Note, Tune, TuneError

MODES = list(_MODE_TABLE)     # mode names in the v1 order (major, dorian, ...)

TOKENIZER_VERSION = 2
LAYOUT_REVISION = 2        # bump on any change of layout within a version (corpus view cache key)
TICKS_PER_QUARTER = 24
PITCH_LO, PITCH_HI = 36, 96
# Joint note durations in ticks: together they cover 99.98 % of corpus notes
# (1/8 = 12 alone is 55 %); any other length is the largest of these below it
# plus ``+d`` tokens.  1 and 2 are here so every length has a joint token <= it.
DURATIONS = (1, 2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 30, 36, 42, 48, 60, 72, 96, 144)
MAX_EXTRA = 144
METERS = ["2/4", "3/4", "4/4", "2/2", "3/2", "6/8", "9/8", "12/8", "3/8", "6/4", "5/4",
          "7/8", "5/8", "4/8", "2/8", "1/4", "3/1", "4/2", "7/4", "9/4", "11/8", "10/8", "6/2"]
PART_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ENDINGS = ("1", "2", "3", "4", "1,2", "1,3", "2,3", "1,2,3", "1-2", "1-3", "2-3")
BAR_ENDS = ("|", "||", "|]", ":|")
_TONIC_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


class TokenizeError(TuneError):
    """A written tune the v2 vocabulary cannot hold (odd meter, pitch out of range, odd label)."""


class Vocab:
    """The v2 token list; `stoi` maps a token to its id, `itos` an id to its token."""

    def __init__(self):
        itos = ["<pad>", "<s>", "</s>", "pickup", "order", "/order", "~", "short", "|:"]
        itos += list(BAR_ENDS)
        itos += [f"[{e}" for e in ENDINGS]
        itos += [f"P:{p}" for p in PART_LABELS]
        itos += [f"M:{m}" for m in METERS]
        itos += [f"K:{pc}" for pc in range(12)]
        itos += [f"mode:{m}" for m in MODES]
        itos += [f"+d{t}" for t in range(1, MAX_EXTRA + 1)]
        self.first_note = len(itos)
        self.n_dur = len(DURATIONS)
        self.n_pitch = PITCH_HI - PITCH_LO + 2          # rest + 61 pitches
        for p in [None] + list(range(PITCH_LO, PITCH_HI + 1)):
            itos += [f"{'r' if p is None else f'p{p}'}:{d}" for d in DURATIONS]
        self.itos = itos
        self.stoi = {s: i for i, s in enumerate(itos)}
        s = self.stoi
        self.pad, self.bos, self.eos = s["<pad>"], s["<s>"], s["</s>"]
        self.pickup, self.order, self.order_end = s["pickup"], s["order"], s["/order"]
        self.tie, self.short, self.repeat_start = s["~"], s["short"], s["|:"]
        self.bar_ends = frozenset(s[b] for b in BAR_ENDS)
        self.bar, self.final, self.repeat_end = s["|"], s["|]"], s[":|"]
        self.double = s["||"]
        self.endings = {s[f"[{e}"]: e for e in ENDINGS}
        self.parts = {s[f"P:{p}"]: p for p in PART_LABELS}
        self.meters = {s[f"M:{m}"]: tuple(int(x) for x in m.split("/")) for m in METERS}
        self.first_key, self.first_mode = s["K:0"], s[f"mode:{MODES[0]}"]
        self.first_extra = s["+d1"]

    def __len__(self) -> int:
        return len(self.itos)

    def note_id(self, pitch: int | None, dur_index: int) -> int:
        if pitch is None:
            return self.first_note + dur_index
        if not PITCH_LO <= pitch <= PITCH_HI:
            raise TokenizeError(f"pitch {pitch} outside MIDI {PITCH_LO}..{PITCH_HI}")
        return self.first_note + (pitch - PITCH_LO + 1) * self.n_dur + dur_index

    def is_note(self, i: int) -> bool:
        return i >= self.first_note

    def note_of(self, i: int) -> tuple[int | None, int]:
        """(pitch or None, ticks) of a note token."""
        p, d = divmod(i - self.first_note, self.n_dur)
        return (None if p == 0 else PITCH_LO + p - 1), DURATIONS[d]

    def is_extra(self, i: int) -> bool:
        return self.first_extra <= i < self.first_extra + MAX_EXTRA

    def is_key(self, i: int) -> bool:
        return self.first_key <= i < self.first_key + 12

    def is_mode(self, i: int) -> bool:
        return self.first_mode <= i < self.first_mode + len(MODES)


VOCAB = Vocab()
_DUR_INDEX = {d: k for k, d in enumerate(DURATIONS)}


def to_ticks(d: Fraction) -> int:
    t = Fraction(d) * TICKS_PER_QUARTER
    if t.denominator != 1:
        raise TokenizeError(f"duration {d} quarter is not on the 1/{TICKS_PER_QUARTER} grid")
    return int(t)


def note_tokens(n: Note) -> list[int]:
    """One joint token (+ ``+d`` tokens for a rare length, + ``~`` when tied)."""
    ticks = to_ticks(n.duration)
    k = max(k for k, d in enumerate(DURATIONS) if d <= ticks)
    ids = [VOCAB.note_id(n.pitch, k)]
    ticks -= DURATIONS[k]
    while ticks > 0:
        step = min(ticks, MAX_EXTRA)
        ids.append(VOCAB.first_extra + step - 1)
        ticks -= step
    if n.tie:
        ids.append(VOCAB.tie)
    return ids


def _meter_id(meter) -> int:
    name = f"M:{meter[0]}/{meter[1]}"
    if name not in VOCAB.stoi:
        raise TokenizeError(f"meter {meter[0]}/{meter[1]} is not in the vocabulary")
    return VOCAB.stoi[name]


def _key_ids(key: Key) -> list[int]:
    return [VOCAB.first_key + key.tonic_pc, VOCAB.stoi[f"mode:{key.mode}"]]


def _part_id(label: str) -> int:
    if f"P:{label}" not in VOCAB.stoi:
        raise TokenizeError(f"part label {label!r} is not in the vocabulary (A-Z)")
    return VOCAB.stoi[f"P:{label}"]


def prefix(tune: Tune) -> list[int]:
    """``<s> M K mode [pickup] [order P:x.. /order]``: what the model is conditioned on."""
    ids = [VOCAB.bos, _meter_id(tune.bars[0].meter if tune.bars else tune.meter)] + _key_ids(tune.key)
    if tune.pickup:
        ids.append(VOCAB.pickup)
    if tune.parts:
        ids += [VOCAB.order] + [_part_id(p) for p in tune.parts] + [VOCAB.order_end]
    return ids


def bar_start_tokens(bar: Bar, meter_before, key_before: Key, head: Key) -> list[int]:
    """The tokens written before a bar's notes (meter/key change, part, |:, ending)."""
    ids = []
    if bar.meter != meter_before:
        ids.append(_meter_id(bar.meter))
    key = bar.key or head
    if (key.tonic_pc, key.mode) != (key_before.tonic_pc, key_before.mode):
        ids += _key_ids(key)
    if bar.part:
        ids.append(_part_id(bar.part))
    if bar.repeat_start:
        ids.append(VOCAB.repeat_start)
    if bar.ending:
        if f"[{bar.ending}" not in VOCAB.stoi:
            raise TokenizeError(f"ending [{bar.ending} is not in the vocabulary")
        ids.append(VOCAB.stoi[f"[{bar.ending}"])
    return ids


def bar_tokens(bar: Bar, *, partial: bool) -> list[int]:
    """``short`` if `partial`, a bar's notes, and its barline token."""
    ids = [VOCAB.short] if partial else []
    ids += [i for n in bar.notes for i in note_tokens(n)]
    ids.append(VOCAB.stoi[bar.barline])
    return ids


def encode(tune: Tune, *, eos: bool = True) -> list[int]:
    """Token ids of a whole written tune (prefix, bars, and ``</s>`` unless eos=False)."""
    ids = prefix(tune)
    meter, key = (tune.bars[0].meter if tune.bars else tune.meter), tune.key
    for i, bar in enumerate(tune.bars):
        ids += bar_start_tokens(bar, meter, key, tune.key)
        meter, key = bar.meter, bar.key or tune.key
        ids += bar_tokens(bar, partial=bar.duration < bar.expected and not (i == 0 and tune.pickup))
    if eos:
        ids.append(VOCAB.eos)
    return ids


def prefix_length(ids) -> int:
    """Number of conditioning tokens at the start.

    >>> prefix_length(encode(Tune.from_bars([[(60, 4)]])))
    4
    """
    n = 4
    if len(ids) > n and int(ids[n]) == VOCAB.pickup:
        n += 1
    if len(ids) > n and int(ids[n]) == VOCAB.order:
        while n < len(ids) and int(ids[n]) != VOCAB.order_end:
            n += 1
        n += 1
    return n


def _key_of(pc: int, mode_id: int, tonic: str | None = None) -> Key:
    return Key(tonic or _TONIC_NAMES[pc], MODES[mode_id - VOCAB.first_mode])


def decode_bars(ids, meter, key: Key, head: Key, *, open_last: bool = True) -> list[Bar]:
    """Bars of a token stream after a prefix, in a meter and key already in force.

    A trailing bar without a barline is kept when it holds notes (`open_last`).
    Bars in the head key get ``key=None``.
    """
    bars: list[Bar] = []
    notes: list[Note] = []
    form: dict = {}
    pending: list = []           # (pitch, ticks, tie) of the note being written
    kpc = mode = None

    def flush():
        if pending:
            p, t, tie = pending
            notes.append(Note(p, Fraction(t, TICKS_PER_QUARTER), tie))
            pending.clear()

    for i in ids:
        i = int(i)
        if i == VOCAB.eos:
            break
        if VOCAB.is_note(i):          # (<pad> and short match nothing below)
            flush()
            p, t = VOCAB.note_of(i)
            pending.extend([p, t, False])
        elif VOCAB.is_extra(i):
            if pending:
                pending[1] += i - VOCAB.first_extra + 1
        elif i == VOCAB.tie:
            if pending:
                pending[2] = True
        elif i in VOCAB.bar_ends:
            flush()
            k = None if (key.tonic_pc, key.mode) == (head.tonic_pc, head.mode) else key
            bars.append(Bar(tuple(notes), meter, k, barline=VOCAB.itos[i], **form))
            notes, form = [], {}
        elif i == VOCAB.repeat_start:
            form["repeat_start"] = True
        elif i in VOCAB.endings:
            form["ending"] = VOCAB.endings[i]
        elif i in VOCAB.parts:
            form["part"] = VOCAB.parts[i]
        elif i in VOCAB.meters:
            meter = VOCAB.meters[i]
        elif VOCAB.is_key(i):
            kpc = i - VOCAB.first_key
        elif VOCAB.is_mode(i) and kpc is not None:
            key, kpc = _key_of(kpc, i), None
    flush()
    if notes and open_last:
        k = None if (key.tonic_pc, key.mode) == (head.tonic_pc, head.mode) else key
        bars.append(Bar(tuple(notes), meter, k, **form))
    return bars


def decode(ids, *, title: str = "Untitled", tempo: int = 120, tonic: str | None = None) -> Tune:
    """Token ids -> the written Tune (the reverse of `encode`, up to chords and spellings)."""
    ids = [int(i) for i in ids]
    if len(ids) < 4 or ids[0] != VOCAB.bos or ids[1] not in VOCAB.meters \
            or not VOCAB.is_key(ids[2]) or not VOCAB.is_mode(ids[3]):
        raise TokenizeError("token sequence does not start with <s> M: K: mode:")
    meter = VOCAB.meters[ids[1]]
    key = _key_of(ids[2] - VOCAB.first_key, ids[3], tonic)
    n0 = prefix_length(ids)
    pickup = VOCAB.pickup in ids[4:n0]
    parts = "".join(VOCAB.parts[i] for i in ids[:n0] if i in VOCAB.parts)
    bars = decode_bars(ids[n0:], meter, key, key)
    if not bars:
        raise TokenizeError("token sequence holds no bars")
    main = bars[1].meter if pickup and len(bars) > 1 else bars[0].meter
    return Tune(tuple(bars), main, key, title=title, tempo=tempo, pickup=pickup, parts=parts)


def comparable(tune: Tune) -> tuple:
    """What v2 keeps of a tune: the written form without chords, spellings and key names."""
    def k(key):
        return key.tonic_pc, key.mode
    bars = tuple((tuple((n.pitch, n.duration, n.tie) for n in b.notes), b.meter,
                  k(b.key or tune.key), b.barline, b.repeat_start, b.ending, b.part) for b in tune.bars)
    return bars, tune.meter, k(tune.key), tune.pickup, tune.parts


def same(a: Tune, b: Tune) -> bool:
    """True when a and b hold the same written tune as far as v2 can tell."""
    return comparable(a) == comparable(b)

