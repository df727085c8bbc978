"""`st4rt eval continue`: the cuts, the copy/close figures, and one small end-to-end run."""
from __future__ import annotations

import json
import pickle
from fractions import Fraction

import pytest
import torch

from st4rt_repl.models import eval_continue as ev
from st4rt_repl.tune import Key, Tune

E = Fraction(1, 2)


def _tune(seed: int, pickup: bool = False) -> Tune:
    """An AABB-shaped 6/8 tune: an 8-bar A part in repeat signs, an 8-bar B part."""
    a = [[(67 + (seed + i) % 5, E * 3), (71, E * 3)] for i in range(8)]
    b = [[(74 - (seed + i) % 4, E * 3), (72, E * 3)] for i in range(8)]
    bars = ([[(62, E)]] if pickup else []) + a + b
    t = Tune.from_bars(bars, meter=(6, 8), key=Key("G"), pickup=pickup, title=f"T{seed}")
    return t.with_repeat(1, 8).with_repeat(9, 16)


def test_cuts_after_the_part_and_mid_part():
    t = _tune(0, pickup=True)
    ((primer, real, whole),) = ev.cuts([t], "after_part")
    assert primer.num_bars == 8 and primer.bars[-1].barline == ":|"
    assert real == list(t.bars[9:17]) and whole is t
    ((primer, real, _),) = ev.cuts([t], "mid_part")
    assert primer.num_bars == 4 and real == list(t.bars[5:13])
    assert ev.cuts([t.with_bar(8, ending="1")], "after_part") == []   # endings first: not used
    assert ev.cuts([t.slice_bars(0, 12)], "after_part") == []         # fewer than 8 bars after


def test_copy_and_close_figures():
    t = _tune(1)
    primer, real, _ = ev.cuts([t], "after_part")[0]
    assert ev.copy_rate(list(primer.bars[:3]), primer) == 1.0
    assert ev.copy_rate(real, primer) == 0.0
    assert ev.closes_part(real) is True                         # bar 8 ends with :|
    assert ev.closes_part([b.with_notes(b.notes) for b in primer.bars[:3]]) is False


def test_main_prints_one_json_line_and_refuses_missing_checkpoints(tmp_path, capsys):
    from st4rt_repl.models.attention_rnn import AttentionRNN, RNNConfig, save_checkpoint
    from st4rt_repl.tokenizers.written import VOCAB
    assert ev.main(["--rnn", str(tmp_path / "none.pt"), "--corpus", str(tmp_path)]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    for split, seeds in (("train", range(10)), ("valid", range(10, 14)), ("test", range(14, 22))):
        with open(tmp_path / f"{split}.tunes.pkl", "wb") as fh:
            pickle.dump([_tune(s, pickup=s % 2 == 0) for s in seeds], fh)
    torch.manual_seed(0)
    ck = tmp_path / "r.pt"
    save_checkpoint(ck, AttentionRNN(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=32,
                                               tokenizer=2, vocab=len(VOCAB))), transpose="tonic")
    assert ev.main(["--rnn", str(ck), "--noattn", str(ck), "--corpus", str(tmp_path), "--copy-odds", "2"]) == 2
    assert "--copy-odds needs a checkpoint with a pointer head" in capsys.readouterr().err
    assert ev.main(["--rnn", str(ck), "--noattn", str(ck), "--corpus", str(tmp_path),
                    "--turns", "4", "--abc-check", "1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    r = json.loads(out[0])
    cut = r["after_part"]
    assert cut["turns"] == 4 and cut["real_copy_rate"] == 0.0 and cut["real_closes_part"] == 1.0
    for name in ("rnn", "noattn", "ngram"):
        m = cut["models"][name]
        assert m["exact_bars"] == 1.0 and 0.0 <= m["copy_rate"] <= 1.0
        assert set(m["realism"]["overlap"]) == {"pitch_class", "interval", "length", "ioi"}
        assert all(lo <= hi for lo, hi in m["shortfall_ci95"].values())
        lo, hi = m["copy_gap_ci95"]
        assert 0.0 <= lo <= hi <= 1.0
    assert r["mid_part"]["turns"] == 4
    assert r["nll_bits_per_note"]["rnn"] > 0
