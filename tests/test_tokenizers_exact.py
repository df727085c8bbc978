"""Exact behaviour of the tokenizers (tokenizers/melody.py, tokenizers/written.py): the
mutation-testing cases of issue #14.  Stable ids (a checkpoint's embedding rows depend on
them), the exact tokens of small tunes, the decoders on hand-made streams, and each refusal
as its one-line message."""
from __future__ import annotations

from fractions import Fraction as F

import pytest

from st4rt_repl.tokenizers import melody, written
from st4rt_repl.tune import Bar, Key, Note, Tune

M, W = melody.VOCAB, written.VOCAB


def ids_of(vocab, text: str) -> list[int]:
    return [vocab.stoi[s] for s in text.split()]


def names(vocab, ids) -> str:
    return " ".join(vocab.itos[int(i)] for i in ids)


# ----- the vocabularies: ids are stable ------------------------------------------------------

def test_melody_vocabulary_layout():
    v = melody.Vocab()                      # built afresh: the layout, not the module's copy
    assert len(v) == 254 and v.itos == M.itos
    assert v.itos[:6] == ["<pad>", "<s>", "</s>", "|", "~", "pickup"]
    assert v.itos[6:8] == ["M:2/4", "M:3/4"] and v.itos[28] == "M:6/2"
    assert v.itos[29:31] == ["K:0", "K:1"] and v.itos[41] == "mode:major"
    assert v.itos[48:50] == ["r", "p36"] and v.itos[109:111] == ["p96", "d1"] and v.itos[-1] == "d144"
    assert all(v.stoi[s] == i for i, s in enumerate(v.itos))
    assert (v.pad, v.bos, v.eos, v.bar, v.tie, v.pickup) == (0, 1, 2, 3, 4, 5)
    assert (v.rest, v.first_pitch, v.first_duration) == (48, 49, 110)


def test_written_vocabulary_layout():
    v = written.Vocab()
    assert len(v) == 1414 and v.itos == W.itos
    assert v.itos[:13] == ["<pad>", "<s>", "</s>", "pickup", "order", "/order", "~", "short", "|:",
                           "|", "||", "|]", ":|"]
    assert v.itos[13] == "[1" and v.itos[23] == "[2-3" and v.itos[24] == "P:A" and v.itos[49] == "P:Z"
    assert v.itos[50] == "M:2/4" and v.itos[73] == "K:0" and v.itos[85] == "mode:major"
    assert v.itos[92] == "+d1" and v.itos[235] == "+d144"
    assert v.itos[236:238] == ["r:1", "r:2"] and v.itos[255] == "p36:1" and v.itos[-1] == "p96:144"
    assert all(v.stoi[s] == i for i, s in enumerate(v.itos))
    assert (v.first_note, v.n_dur, v.n_pitch) == (236, 19, 62)
    assert (v.pad, v.bos, v.eos, v.pickup, v.order, v.order_end) == (0, 1, 2, 3, 4, 5)
    assert (v.tie, v.short, v.repeat_start) == (6, 7, 8)
    assert (v.bar, v.double, v.final, v.repeat_end) == (9, 10, 11, 12) and v.bar_ends == {9, 10, 11, 12}
    assert v.endings[13] == "1" and v.endings[17] == "1,2" and len(v.endings) == 11
    assert v.parts[24] == "A" and v.parts[49] == "Z" and len(v.parts) == 26
    assert v.meters[50] == (2, 4) and v.meters[57] == (12, 8) and len(v.meters) == 23
    assert (v.first_key, v.first_mode, v.first_extra) == (73, 85, 92)


@pytest.mark.parametrize("i,pitch,duration", [
    (47, False, False), (48, True, False), (49, True, False), (109, True, False),
    (110, False, True), (253, False, True), (254, False, False)])
def test_melody_token_classes(i, pitch, duration):
    assert M.is_pitch(i) == pitch and M.is_duration(i) == duration


def test_melody_pitch_and_duration_ids():
    assert (M.pitch_id(None), M.pitch_id(36), M.pitch_id(96)) == (48, 49, 109)
    assert (M.pitch_of(48), M.pitch_of(49), M.pitch_of(109)) == (None, 36, 96)
    assert (M.duration_id(1), M.duration_id(144), M.ticks_of(110), M.ticks_of(253)) == (110, 253, 1, 144)
    for bad in (35, 97):
        with pytest.raises(melody.TokenizeError, match=f"^pitch {bad} outside MIDI 36..96$"):
            M.pitch_id(bad)


@pytest.mark.parametrize("i,note,extra,key,mode", [
    (235, False, True, False, False), (236, True, False, False, False), (1413, True, False, False, False),
    (91, False, False, False, True), (92, False, True, False, False), (72, False, False, False, False),
    (73, False, False, True, False), (84, False, False, True, False), (85, False, False, False, True),
    (78, False, False, True, False)])
def test_written_token_classes(i, note, extra, key, mode):
    assert (W.is_note(i), W.is_extra(i), W.is_key(i), W.is_mode(i)) == (note, extra, key, mode)


def test_written_note_ids():
    assert (W.note_id(None, 0), W.note_id(None, 18), W.note_id(36, 0), W.note_id(96, 18)) == (236, 254, 255, 1413)
    assert (W.note_of(236), W.note_of(254), W.note_of(255), W.note_of(1413)) == \
        ((None, 1), (None, 144), (36, 1), (96, 144))
    for bad in (35, 97):
        with pytest.raises(written.TokenizeError, match=f"^pitch {bad} outside MIDI 36..96$"):
            W.note_id(bad, 0)


# ----- encoding: exact tokens ------------------------------------------------------------

@pytest.mark.parametrize("tokenizer", [melody, written])
@pytest.mark.parametrize("d", [F(1, 48), F(1, 5)])
def test_off_grid_duration_is_refused(tokenizer, d):
    with pytest.raises(tokenizer.TokenizeError, match=f"^duration {d} quarter is not on the 1/24 grid$"):
        tokenizer.to_ticks(d)


@pytest.mark.parametrize("tokenizer", [melody, written])
def test_meter_outside_the_vocabulary_is_refused(tokenizer):
    assert tokenizer._meter_id((6, 8)) == tokenizer.VOCAB.stoi["M:6/8"]
    with pytest.raises(tokenizer.TokenizeError, match="^meter 5/16 is not in the vocabulary$"):
        tokenizer._meter_id((5, 16))


MELODY_CASES = [
    # pickup, a long note (d144 + d48), a tie, a rest, a meter change, </s>
    (Tune.from_bars([[(62, F(1, 2))], [(67, 8, True)], [(67, 1), (None, 1)]], meter=(2, 4),
                    key=Key("G", "dorian"), pickup=True).with_bar(2, meter=(3, 8)),
     "<s> M:2/4 K:7 mode:dorian pickup p62 d12 | p67 d144 d48 ~ | M:3/8 p67 d24 r d24 | </s>"),
    (Tune.from_bars([[(96, F(1, 24)), (36, F(143, 24))]], meter=(6, 4), key=Key("Bb", "minor")),
     "<s> M:6/4 K:10 mode:minor p96 d1 p36 d143 | </s>"),
    # the prefix has the first bar's meter (not the tune's); a change is written once
    (Tune((Bar((Note(60, F(3, 2)),), (3, 8)), Bar((Note(62, 3),), (6, 8)), Bar((Note(64, 3),), (6, 8))), (6, 8)),
     "<s> M:3/8 K:0 mode:major p60 d36 | M:6/8 p62 d72 | p64 d72 | </s>"),
]


@pytest.mark.parametrize("t,text", MELODY_CASES)
def test_melody_tokens_and_back(t, text):
    assert names(M, melody.encode(t)) == text
    assert names(M, melody.encode(t, eos=False)) == text[:-len(" </s>")]
    back = melody.decode(melody.encode(t), title="T", tempo=90)
    main = (t.bars[1] if t.pickup else t.bars[0]).meter      # the decoded tune's meter
    assert back.bars == t.bars and back.meter == main and back.pickup == t.pickup
    assert (back.key.tonic_pc, back.key.mode, back.title, back.tempo) == (t.key.tonic_pc, t.key.mode, "T", 90)


def test_melody_an_empty_tune_is_its_prefix():
    assert names(M, melody.prefix(Tune((), (3, 4), Key("D", "major")))) == "<s> M:3/4 K:2 mode:major"
    assert names(M, melody.encode(Tune((), (3, 4), Key("D", "major")))) == "<s> M:3/4 K:2 mode:major </s>"


def test_melody_decode_details():
    # the tonic spelling: sharps and flats by pitch class, or as asked
    assert melody.decode(ids_of(M, "<s> M:4/4 K:6 mode:major p60 d96 |")).key == Key("F#", "major")
    assert melody.decode(ids_of(M, "<s> M:4/4 K:8 mode:major p60 d96 |")).key == Key("Ab", "major")
    assert melody.decode(ids_of(M, "<s> M:4/4 K:6 mode:major p60 d96 |"), tonic="Gb").key.tonic == "Gb"
    # defaults; padding skipped; durations add up; everything after </s> ignored
    t = melody.decode(ids_of(M, "<s> M:4/4 K:0 mode:major <pad> p60 d48 <pad> d48 ~ | </s> p62 d96 |"))
    assert (t.title, t.tempo, t.pickup) == ("Untitled", 120, False)
    assert t.bars == (Bar((Note(60, F(4), True),), (4, 4)),)
    # a trailing bar without a barline is kept; an empty bar is not a bar; a pitch without a
    # length is dropped
    t = melody.decode(ids_of(M, "<s> M:3/4 K:0 mode:major | p60 d72 | p62 p64 d24"))
    assert [[(n.pitch, n.duration) for n in b.notes] for b in t.bars] == [[(60, 3)], [(64, 1)]]
    # the open last bar keeps the meter in force
    assert t.bars[1].meter == (3, 4)
    # a length before any pitch (at the start, or after a barline) is no note
    t = melody.decode(ids_of(M, "<s> M:2/4 K:0 mode:major d24 ~ p60 d48 | d12 p62 d48 |"))
    assert t.bars == (Bar((Note(60, 2),), (2, 4)), Bar((Note(62, 2),), (2, 4)))
    # the meter of a tune with a pickup is its first full bar's
    t = melody.decode(ids_of(M, "<s> M:2/4 K:0 mode:major pickup p60 d24 | M:6/8 p60 d72 |"))
    assert t.meter == (6, 8) and t.pickup and t.bars[0].meter == (2, 4)
    t = melody.decode(ids_of(M, "<s> M:2/4 K:0 mode:major pickup p60 d24 |"))
    assert t.meter == (2, 4) and t.pickup


@pytest.mark.parametrize("text,message", [
    ("<s> M:4/4 K:0", "token sequence does not start with <s> and a prefix"),
    ("M:4/4 <s> K:0 mode:major p60 d96 |", "token sequence does not start with <s> and a prefix"),
    ("<s> K:0 M:4/4 mode:major p60 d96 |", "bad prefix K:0 M:4/4 mode:major"),
    ("<s> M:4/4 mode:major K:0 p60 d96 |", "bad prefix M:4/4 mode:major K:0"),
    ("<s> M:4/4 K:0 p60 d96 |", "bad prefix M:4/4 K:0 p60"),
    ("<s> M:4/4 K:0 mode:major | </s>", "token sequence holds no notes"),
    ("<s> M:4/4 K:0 mode:major", "token sequence holds no notes"),
])
def test_melody_decode_refusals(text, message):
    with pytest.raises(melody.TokenizeError, match=f"^{message}$"):
        melody.decode(ids_of(M, text))


@pytest.mark.parametrize("ids,n", [([1, 6, 29, 41], 4), ([1, 6, 29, 41, 5], 5), ([1, 6, 29, 41, 49], 4),
                                   ([1, 6, 29, 5], 4)])
def test_melody_prefix_length(ids, n):
    assert melody.prefix_length(ids) == n


def test_melody_positions():
    ids = ids_of(M, "<s> M:2/4 K:0 mode:major pickup p60 d12 | p62 d12 d12 ~ p64 d24 | </s>")
    assert melody.positions(ids) == [0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 12, 24, 24, 24, 48, 0]


WRITTEN_CASES = [
    # a rare length (+d), a tie, a long note, a key change back and forth, a part, an ending
    (Tune((Bar((Note(60, F(7, 8)), Note(62, F(25, 8), True)), (4, 4)),
           Bar((Note(62, 14),), (4, 4), key=Key("A", "minor"), part="B"),
           Bar((Note(None, 4),), (4, 4), ending="1,3", barline=":|"),
           Bar((Note(64, 4),), (4, 4), ending="2", barline="|]")),
          (4, 4), Key("C", "major"), parts="AB"),
     "<s> M:4/4 K:0 mode:major order P:A P:B /order p60:18 +d3 p62:72 +d3 ~ | K:9 mode:minor P:B "
     "p62:144 +d144 +d48 | K:0 mode:major [1,3 r:96 :| [2 p64:96 |] </s>"),
    # one extra tick; a rest with extra ticks
    (Tune.from_bars([[(60, F(13, 24)), (None, F(83, 24))]]),
     "<s> M:4/4 K:0 mode:major p60:12 +d1 r:72 +d11 | </s>"),
    # a pickup, a repeat start, a meter change, a short bar, a relative key (same pitch class
    # and mode as the head: no key tokens)
    (Tune((Bar((Note(62, 1),), (3, 4)), Bar((Note(67, 3),), (3, 4), repeat_start=True),
           Bar((Note(69, 2),), (6, 8), key=Key("Cb", "major"), barline="||")),
          (3, 4), Key("B", "major"), pickup=True),
     "<s> M:3/4 K:11 mode:major pickup p62:24 | |: p67:72 | M:6/8 short p69:48 || </s>"),
    # the prefix has the first bar's meter (not the tune's); a change is written once, before
    # a key change in the same bar
    (Tune((Bar((Note(60, F(3, 2)),), (3, 8)), Bar((Note(62, 3),), (6, 8), key=Key("E", "minor")),
           Bar((Note(64, 3),), (6, 8), key=Key("E", "minor"))), (6, 8)),
     "<s> M:3/8 K:0 mode:major p60:36 | M:6/8 K:4 mode:minor p62:72 | p64:72 | </s>"),
]


@pytest.mark.parametrize("t,text", WRITTEN_CASES)
def test_written_tokens_and_back(t, text):
    assert names(W, written.encode(t)) == text
    assert names(W, written.encode(t, eos=False)) == text[:-len(" </s>")]
    back = written.decode(written.encode(t), title="T", tempo=90)
    main = (t.bars[1] if t.pickup else t.bars[0]).meter      # the decoded tune's meter
    assert written.same(back, t.with_(meter=main)) and (back.title, back.tempo) == ("T", 90)


def test_written_refusals():
    with pytest.raises(written.TokenizeError, match=r"^part label 'a' is not in the vocabulary \(A-Z\)$"):
        written.encode(Tune.from_bars([[(60, 4)]]).with_bar(1, part="a"))
    with pytest.raises(written.TokenizeError, match=r"^part label 'b' is not in the vocabulary \(A-Z\)$"):
        written.encode(Tune.from_bars([[(60, 4)]], parts="Ab"))
    with pytest.raises(written.TokenizeError, match=r"^ending \[5 is not in the vocabulary$"):
        written.encode(Tune.from_bars([[(60, 4)]]).with_bar(1, ending="5"))


def test_written_an_empty_tune_is_its_prefix():
    assert names(W, written.prefix(Tune((), (9, 8), Key("E", "dorian")))) == "<s> M:9/8 K:4 mode:dorian"
    assert names(W, written.encode(Tune((), (9, 8), Key("E", "dorian")))) == "<s> M:9/8 K:4 mode:dorian </s>"


@pytest.mark.parametrize("text,n", [
    ("<s> M:4/4 K:0 mode:major", 4), ("<s> M:4/4 K:0 mode:major p60:96", 4),
    ("<s> M:4/4 K:0 mode:major pickup", 5), ("<s> M:4/4 K:0 mode:major pickup p60:96", 5),
    ("<s> M:4/4 K:0 mode:major order P:A P:B /order p60:96", 8),
    ("<s> M:4/4 K:0 mode:major pickup order P:A /order p60:96", 8),
    ("<s> M:4/4 K:0 mode:major order P:A", 7),          # an order never closed: all of it
])
def test_written_prefix_length(text, n):
    assert written.prefix_length(ids_of(W, text)) == n


def test_written_decode_bars_on_hand_made_streams():
    head = Key("D", "major")
    ids = ids_of(W, "+d3 ~ <pad> short p62:12 +d3 ~ | mode:minor K:9 p64:24 :| K:2 mode:major "
                    "K:9 mode:minor |: [2 P:C M:6/8 p66:36 || p67:12 </s> p69:12 |")
    bars = written.decode_bars(ids, (2, 4), head, head)
    assert [(b.notes, b.meter, b.key, b.barline, b.repeat_start, b.ending, b.part) for b in bars] == [
        ((Note(62, F(15, 24), True),), (2, 4), None, "|", False, "", ""),      # +d and ~ before a note: nothing
        ((Note(64, 1),), (2, 4), None, ":|", False, "", ""),                    # a mode without a K: is no key
        ((Note(66, F(3, 2)),), (6, 8), Key("A", "minor"), "||", True, "2", "C"),
        ((Note(67, F(1, 2)),), (6, 8), Key("A", "minor"), "|", False, "", ""),   # open last bar kept
    ]
    assert len(written.decode_bars(ids, (2, 4), head, head, open_last=False)) == 3
    # an open last bar in the head key has no key of its own, and keeps its form
    bars = written.decode_bars(ids_of(W, "p60:24 | |: [2 P:B p62:24"), (2, 4), head, head)
    assert (bars[1].notes, bars[1].key, bars[1].repeat_start, bars[1].ending, bars[1].part) == \
        ((Note(62, 1),), None, True, "2", "B")
    # the key in force at the start differs from the head key: bars carry it
    (bar,) = written.decode_bars(ids_of(W, "p60:24 |"), (2, 4), Key("A", "minor"), head)
    assert bar.key == Key("A", "minor")


def test_written_decode_details():
    t = written.decode(ids_of(W, "<s> M:2/4 K:6 mode:lydian pickup order P:B P:A /order P:A p60:24 | "
                                 "M:6/8 p62:72"), tonic="Gb")
    assert t.key == Key("Gb", "lydian") and t.pickup and t.parts == "BA" and t.meter == (6, 8)
    assert (t.title, t.tempo) == ("Untitled", 120) and t.bars[0].part == "A" and len(t.bars) == 2
    t = written.decode(ids_of(W, "<s> M:2/4 K:6 mode:major pickup p60:24 |"))
    assert t.meter == (2, 4) and t.key == Key("F#", "major")
    t = written.decode(ids_of(W, "<s> M:2/4 K:3 mode:major p60:48 |"))
    assert t.meter == (2, 4) and not t.pickup and t.parts == "" and t.key == Key("Eb", "major")


@pytest.mark.parametrize("text,message", [
    ("<s> M:4/4 K:0", "token sequence does not start with <s> M: K: mode:"),
    ("M:4/4 <s> K:0 mode:major p60:96 |", "token sequence does not start with <s> M: K: mode:"),
    ("<s> K:0 K:0 mode:major p60:96 |", "token sequence does not start with <s> M: K: mode:"),
    ("<s> M:4/4 M:4/4 mode:major p60:96 |", "token sequence does not start with <s> M: K: mode:"),
    ("<s> M:4/4 K:0 K:0 p60:96 |", "token sequence does not start with <s> M: K: mode:"),
    ("<s> M:4/4 K:0 mode:major </s>", "token sequence holds no bars"),
    ("<s> M:4/4 K:0 mode:major", "token sequence holds no bars"),
])
def test_written_decode_refusals(text, message):
    with pytest.raises(written.TokenizeError, match=f"^{message}$"):
        written.decode(ids_of(W, text))


def test_same_is_what_v2_keeps():
    t = Tune.from_bars([[(60, 2), (62, 2)], [(64, 4)]], key=Key("C#", "minor"))
    assert written.same(t, t.with_(key=Key("Db", "minor"), title="other"))      # key names not kept
    assert written.same(t, t.with_bar(1, chords=((F(0), "C"),)))               # nor chord symbols
    changed = [t.with_bar(1, barline="||"), t.with_bar(2, repeat_start=True), t.with_bar(2, ending="2"),
               t.with_bar(2, part="B"), t.with_(parts="AB"), t.with_(pickup=True), t.with_(meter=(2, 2)),
               t.with_(key=Key("C#", "dorian")), t.with_bar(2, key=Key("E", "major")),
               t.with_bar(1, meter=(2, 2)), t.transpose(1),
               t.with_bar(1, notes=(Note(60, 2, True), Note(62, 2))),
               t.with_bar(1, notes=(Note(60, 3), Note(62, 1)))]
    assert not any(written.same(t, c) for c in changed)
    # a bar in the head key compares equal whether its key is written or not
    assert written.same(t, t.with_bar(2, key=Key("Db", "minor")))
