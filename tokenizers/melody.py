"""Note-level melody tokens: exact for every rhythm on a 1/24-quarter grid.

Vocabulary (ids are stable; `VOCAB.itos` lists them):

=============  ======================================================
``<pad>``      padding (id 0)
``<s>``        start of tune          ``</s>``  end of tune
``|``          barline (after every bar, the pickup's included)
``~``          tie: the note just written is tied to the next one
``pickup``     the first bar is a pickup (bar 0)
``M:6/8``      meter (prefix; repeated at a bar where the meter changes)
``K:0..K:11``  key tonic as a pitch class (prefix)
``mode:dorian`` mode (prefix)
``r``          rest;   ``p36`` .. ``p96``  pitch (MIDI number)
``d1`` ..      duration in ticks, 24 ticks = a quarter note, up to ``d144``
               (a dotted whole); a longer note repeats ``d`` tokens, which add up
=============  ======================================================

A tune is ``<s> M:x K:n mode:m [pickup]`` (the conditioning prefix) then, per bar,
``(pitch|r) d.. [~]`` for each note, then ``|``; finally ``</s>``.  Sixteenth
triplets (4 ticks), eighth triplets (8 ticks) and 32nds (3 ticks) are all exact.

>>> from st4rt_repl.tune import Tune, Key
>>> t = Tune.from_bars([[(62, '1/3'), (64, '1/3'), (66, '1/3'), (67, '3/2', True)],
...                     [(67, '1/2'), (None, 2)]], meter=(3, 4), key=Key('D', 'major'))
>>> ids = encode(t)
>>> [VOCAB.itos[i] for i in ids][:9]
['<s>', 'M:3/4', 'K:2', 'mode:major', 'p62', 'd8', 'p64', 'd8', 'p66']
>>> decode(ids).bars == t.bars
True
"""
from __future__ import annotations

from fractions import Fraction

from st4rt_repl.tune import Bar, Key, Note, Tune, TuneError, MODES

TICKS_PER_QUARTER = 24
MAX_DURATION_TICKS = 144
PITCH_LO, PITCH_HI = 36, 96
METERS = ["2/4", "3/4", "4/4", "2/2", "3/2", "6/8", "9/8", "12/8", "3/8", "6/4", "5/4",
          "7/8", "5/8", "4/8", "2/8", "1/4", "3/1", "4/2", "7/4", "9/4", "11/8", "10/8", "6/2"]
# For the tonic spelling on decode: sharps for these pitch classes' major keys, flats otherwise.
_TONIC_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


class TokenizeError(TuneError):
    """A tune our vocabulary cannot hold (odd tuplet, exotic meter, pitch out of range)."""


class Vocab:
    """The token list; `stoi` maps a token to its id, `itos` an id to its token."""

    def __init__(self):
        itos = ["<pad>", "<s>", "</s>", "|", "~", "pickup"]
        itos += [f"M:{m}" for m in METERS]
        itos += [f"K:{pc}" for pc in range(12)]
        itos += [f"mode:{m}" for m in MODES]
        itos += ["r"] + [f"p{p}" for p in range(PITCH_LO, PITCH_HI + 1)]
        itos += [f"d{t}" for t in range(1, MAX_DURATION_TICKS + 1)]
        self.itos = itos
        self.stoi = {s: i for i, s in enumerate(itos)}
        self.pad, self.bos, self.eos = self.stoi["<pad>"], self.stoi["<s>"], self.stoi["</s>"]
        self.bar, self.tie, self.pickup = self.stoi["|"], self.stoi["~"], self.stoi["pickup"]
        self.rest = self.stoi["r"]
        self.first_pitch = self.stoi[f"p{PITCH_LO}"]
        self.first_duration = self.stoi["d1"]

    def __len__(self) -> int:
        return len(self.itos)

    def is_pitch(self, i: int) -> bool:
        """Pitch or rest token."""
        return i == self.rest or self.first_pitch <= i <= self.first_pitch + PITCH_HI - PITCH_LO

    def is_duration(self, i: int) -> bool:
        return self.first_duration <= i < self.first_duration + MAX_DURATION_TICKS

    def pitch_id(self, pitch: int | None) -> int:
        if pitch is None:
            return self.rest
        if not PITCH_LO <= pitch <= PITCH_HI:
            raise TokenizeError(f"pitch {pitch} outside MIDI {PITCH_LO}..{PITCH_HI}")
        return self.first_pitch + pitch - PITCH_LO

    def pitch_of(self, i: int) -> int | None:
        return None if i == self.rest else PITCH_LO + i - self.first_pitch

    def duration_id(self, ticks: int) -> int:
        return self.first_duration + ticks - 1

    def ticks_of(self, i: int) -> int:
        return i - self.first_duration + 1


VOCAB = Vocab()


def to_ticks(d: Fraction) -> int:
    t = d * TICKS_PER_QUARTER
    if t.denominator != 1:
        raise TokenizeError(f"duration {d} quarter is not on the 1/{TICKS_PER_QUARTER} grid")
    return int(t)


def _meter_id(meter) -> int:
    name = f"M:{meter[0]}/{meter[1]}"
    if name not in VOCAB.stoi:
        raise TokenizeError(f"meter {meter[0]}/{meter[1]} is not in the vocabulary")
    return VOCAB.stoi[name]


def prefix(tune: Tune) -> list[int]:
    """The conditioning prefix: <s>, meter, key tonic, mode and the pickup flag."""
    ids = [VOCAB.bos, _meter_id(tune.bars[0].meter if tune.bars else tune.meter),
           VOCAB.stoi[f"K:{tune.key.tonic_pc}"], VOCAB.stoi[f"mode:{tune.key.mode}"]]
    if tune.pickup:
        ids.append(VOCAB.pickup)
    return ids


def encode_bar(bar: Bar) -> list[int]:
    """Tokens of one bar's notes followed by the barline token."""
    ids: list[int] = []
    for n in bar.notes:
        ids.append(VOCAB.pitch_id(n.pitch))
        ticks = to_ticks(n.duration)
        while ticks > 0:
            step = min(ticks, MAX_DURATION_TICKS)
            ids.append(VOCAB.duration_id(step))
            ticks -= step
        if n.tie:
            ids.append(VOCAB.tie)
    ids.append(VOCAB.bar)
    return ids


def encode(tune: Tune, *, eos: bool = True) -> list[int]:
    """Token ids of a whole tune (prefix, bars, and </s> unless eos=False)."""
    ids = prefix(tune)
    meter = tune.bars[0].meter if tune.bars else tune.meter
    for bar in tune.bars:
        if bar.meter != meter:
            ids.append(_meter_id(bar.meter))
            meter = bar.meter
        ids.extend(encode_bar(bar))
    if eos:
        ids.append(VOCAB.eos)
    return ids


def prefix_length(ids: list[int]) -> int:
    """Number of conditioning tokens at the start (4, or 5 with a pickup)."""
    return 5 if len(ids) > 4 and ids[4] == VOCAB.pickup else 4


def decode(ids, *, title: str = "Untitled", tempo: int = 120, tonic: str | None = None) -> Tune:
    """Token ids -> Tune.  A trailing bar without a barline is kept (it may be short)."""
    ids = [int(i) for i in ids]
    if len(ids) < 4 or ids[0] != VOCAB.bos:
        raise TokenizeError("token sequence does not start with <s> and a prefix")
    meter_tok, key_tok, mode_tok = (VOCAB.itos[i] for i in ids[1:4])
    if not (meter_tok.startswith("M:") and key_tok.startswith("K:") and mode_tok.startswith("mode:")):
        raise TokenizeError(f"bad prefix {meter_tok} {key_tok} {mode_tok}")
    num, den = meter_tok[2:].split("/")
    meter = (int(num), int(den))
    pc = int(key_tok[2:])
    key = Key(tonic or _TONIC_NAMES[pc], mode_tok[5:])
    n0 = prefix_length(ids)
    pickup = n0 == 5
    bars: list[Bar] = []
    notes: list[Note] = []
    pitch, ticks, tie = "none", 0, False

    def flush():
        nonlocal pitch, ticks, tie
        if pitch != "none" and ticks > 0:
            notes.append(Note(pitch, Fraction(ticks, TICKS_PER_QUARTER), tie))
        pitch, ticks, tie = "none", 0, False

    for i in ids[n0:]:
        if i == VOCAB.eos:
            break
        if i == VOCAB.pad:
            continue
        if VOCAB.is_pitch(i):
            flush()
            pitch = VOCAB.pitch_of(i)
        elif VOCAB.is_duration(i):
            ticks += VOCAB.ticks_of(i)
        elif i == VOCAB.tie:
            tie = True
        elif i == VOCAB.bar:
            flush()
            if notes:
                bars.append(Bar(tuple(notes), meter))
            notes = []
        elif VOCAB.itos[i].startswith("M:"):
            num, den = VOCAB.itos[i][2:].split("/")
            meter = (int(num), int(den))
    flush()
    if notes:
        bars.append(Bar(tuple(notes), meter))
    if not bars:
        raise TokenizeError("token sequence holds no notes")
    main_meter = bars[1].meter if pickup and len(bars) > 1 else bars[0].meter
    return Tune(tuple(bars), main_meter, key, title=title, tempo=tempo, pickup=pickup)


def positions(ids) -> list[int]:
    """Onset within the bar, in ticks, of the note each token belongs to (0 for others).

    Lets a model know where in the bar it is without counting for itself.

    >>> positions([VOCAB.bos, VOCAB.stoi['M:2/4'], VOCAB.stoi['K:0'], VOCAB.stoi['mode:major'],
    ...            VOCAB.stoi['p60'], VOCAB.stoi['d24'], VOCAB.stoi['p62'], VOCAB.stoi['d24'],
    ...            VOCAB.bar])
    [0, 0, 0, 0, 0, 0, 24, 24, 48]
    """
    out, pos = [], 0
    for i in ids:
        i = int(i)
        if VOCAB.is_duration(i):
            out.append(pos)
            pos += VOCAB.ticks_of(i)
            continue
        out.append(pos)
        if i == VOCAB.bar or i == VOCAB.bos:
            pos = 0
    return out
