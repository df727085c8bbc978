"""Tokenizer v2 (the written form, one token per note): round trips, layout, tracker, views."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from st4rt_repl.formats import abc_in
from st4rt_repl.tokenizers.written import (VOCAB, TokenizeError, decode, encode, prefix_length,
                                           same)
from st4rt_repl.tune import Key, Tune

FORMED = """X:1
T:Formed
M:6/8
L:1/8
P:ABA
K:G
P:A
D|:G2B AGA|B2d d2D|G2B AGA|1B2G G2D:|2B2G G2d||
P:B
|:g2e d2B|c2A B2d|g2e d2B|[K:Em]c2A G2:|
"""


def toks(t: Tune) -> list[str]:
    return [VOCAB.itos[i] for i in encode(t)]


def test_the_written_form_round_trips_with_its_tokens():
    t = abc_in.read_abc_text(FORMED).tune
    s = toks(t)
    assert s[:10] == ["<s>", "M:6/8", "K:7", "mode:major", "pickup", "order", "P:A", "P:B", "P:A", "/order"]
    assert s[10:13] == ["P:A", "p62:12", "|"]                 # the pickup bar, labelled A
    assert s.count("|:") == 2 and s.count(":|") == 2 and s.count("||") == 1
    assert s.index("[2") == s.index(":|") + 1                  # [2 opens the bar right after :|
    assert "K:4" in s and s[s.index("K:4") + 1] == "mode:minor"  # the inline key change
    assert s.index("P:B", 10) == s.index("||") + 1              # the body label after the ||
    assert "short" in s                                        # the B part's last bar is short
    back = decode(encode(t))
    assert same(back, t)
    assert back.parts == "ABA" and back.bar(4).ending == "1" and back.bar(5).ending == "2"
    assert back.key_at(-1) == Key("E", "minor") and back.bar(1).key is None


def test_one_token_per_note_and_rare_lengths_add_up():
    t = Tune.from_bars([[(60, Fraction(7, 8)), (None, Fraction(1, 8)), (62, 3, True)],
                        [(62, Fraction(1, 12)), (64, Fraction(23, 12))],
                        [(60, 8)]], meter=(4, 4))
    s = toks(t)
    assert s[4:7] == ["p60:18", "+d3", "r:3"]                   # 21 ticks = 18 + 3
    assert s[7:9] == ["p62:72", "~"]
    assert "p62:2" in s and "p64:42" in s and "+d4" in s        # 46 ticks = 42 + 4
    assert s[-4:-2] == ["p60:144", "+d48"]                      # a long note: 192 = 144 + 48
    assert same(decode(encode(t)), t)


def test_meter_changes_and_partial_bars_round_trip():
    t = Tune.from_bars([[(60, 1)], [(62, 2)], [(64, 1)]], meter=(2, 4))
    t = t.with_(bars=t.bars + (t.bars[1].__class__(((t.bars[1].notes[0]),), (3, 8)),))
    s = toks(t)
    assert s.count("short") == 2 and "M:3/8" in s                # bars 1 and 3 are partial
    assert same(decode(encode(t)), t)


def test_what_the_vocabulary_cannot_hold_is_one_clear_error():
    with pytest.raises(TokenizeError, match="pitch 100 outside"):
        encode(Tune.from_bars([[(100, 4)]]))
    with pytest.raises(TokenizeError, match="meter 13/16"):
        encode(Tune.from_bars([[(60, Fraction(13, 4))]], meter=(13, 16)))
    t = Tune.from_bars([[(60, 4)]]).with_bar(1, ending="7")
    with pytest.raises(TokenizeError, match=r"ending \[7"):
        encode(t)


def test_prefix_length_counts_the_part_order():
    t = abc_in.read_abc_text(FORMED).tune
    assert prefix_length(encode(t)) == 10
    assert prefix_length(encode(Tune.from_bars([[(60, 4)]]))) == 4


def test_tracker_follows_sections_endings_and_cut_bars():
    from st4rt_repl.models.attention_rnn import WrittenTracker, written_pickup_ticks
    t = abc_in.read_abc_text(FORMED).tune
    ids = encode(t)
    tr = WrittenTracker(written_pickup_ticks(ids))
    seen = []
    for i in ids:
        tr.push(i)
        if VOCAB.itos[i] in ("|", ":|", "||"):
            seen.append((tr.bar_index, tr.sec_bar, tr.sec_n))
        if VOCAB.itos[i] == "[2":
            assert tr.sec_bar == 3 and not tr.need_ending2    # resumes the count of [1
        if VOCAB.itos[i] == ":|" and tr.bar_index == 5:
            assert tr.need_ending2
    assert seen[0] == (1, 0, 0)          # the pickup is not a bar of its section
    assert seen[4] == (5, 0, 1)          # the first ending's :| ends a section
    assert seen[5] == (6, 0, 1)          # ... [2 resumed it; its || ends it again


def test_view_transposition_equals_encoding_the_transposed_tune(tmp_path):
    import pickle

    from st4rt_repl.corpus import views
    t = abc_in.read_abc_text(FORMED).tune
    for split in views.SPLITS:
        with open(tmp_path / f"{split}.tunes.pkl", "wb") as fh:
            pickle.dump([t], fh)
    (tonic,) = views.written_sequences("test", root=tmp_path)
    assert np.array_equal(tonic, np.array(encode(t.transpose(5)), np.int16))   # G -> C, the nearer way
    keys = views.written_sequences("train", root=tmp_path, transpose="augment")
    assert len(keys) == 12 and [VOCAB.itos[int(s[2])] for s in keys[:2]] == ["K:0", "K:1"]
    assert (tmp_path / "test.v2.npz").exists()


def test_every_built_corpus_tune_round_trips():
    """On the default corpus when it is built (the lead's build); skipped otherwise."""
    from st4rt_repl.corpus import views
    try:
        tunes = views.tunes("test")
    except views.CorpusMissing:
        pytest.skip("no built corpus")
    bad = [t.title for t in tunes if not same(decode(encode(t)), t)]
    assert not bad
