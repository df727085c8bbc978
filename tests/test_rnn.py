"""Attention-RNN: model equivalence, training, constrained continuation, CLI, n-gram."""
from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from st4rt_repl.models import continuation
from st4rt_repl.models.attention_rnn import (AttentionRNN, RNNConfig, featurize, load_checkpoint,
                                             save_checkpoint)
from st4rt_repl.models.decoding import BarGrammar, BarState
from st4rt_repl.tokenizers.melody import VOCAB, encode
from st4rt_repl.tune import Key, Tune

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "checkpoints" / "attention_rnn.pt"

# A 4-bar D major reel-like tune in 2/4 with a pickup (eighths = 1/2 quarter).
E = Fraction(1, 2)
TUNE = Tune.from_bars(
    [[(69, E)],
     [(74, E), (73, E), (74, E), (76, E)], [(78, E), (76, E), (74, E), (73, E)],
     [(71, E), (69, E), (71, E), (73, E)], [(74, 1), (74, 1)]],
    meter=(2, 4), key=Key("D", "major"), pickup=True, title="Test reel")


def _ckpt(tmp: Path, name: str, model: AttentionRNN, transpose: str = "none") -> Path:
    p = tmp / f"{name}.pt"
    save_checkpoint(p, model, transpose=transpose)
    continuation.clear_cache()
    return p


@pytest.fixture(scope="module")
def random_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    return _ckpt(tmp_path_factory.mktemp("rnn"), "random",
                 AttentionRNN(RNNConfig(hidden=24, emb=8, feat=4, attn=8, window=32)))


@pytest.fixture(scope="module")
def overfit_ckpt(tmp_path_factory):
    """A tiny model trained a few seconds on TUNE alone (tonic view: it must transpose back)."""
    from st4rt_repl.models.train_rnn import train
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("rnn_fit")
    moved = TUNE.transpose(-2)                      # D -> C, as the tonic view stores it
    seqs = [np.array(encode(moved), dtype=np.int16)]
    cfg = RNNConfig(hidden=48, emb=16, feat=4, attn=16, window=64, dropout=0.0)
    out = tmp / "fit.pt"
    train(cfg, seqs * 8, seqs, out=out, lr=1e-2, epochs=150, patience=1000, seed=0,
          progress=False, log=lambda *_: None, extra={"transpose": "tonic"})
    continuation.clear_cache()
    return out


def test_generation_path_matches_training_path():
    torch.manual_seed(1)
    ids = encode(TUNE)
    f = torch.as_tensor(featurize(ids)).long()[None]
    for window in (6, 0):
        m = AttentionRNN(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=window)).eval()
        st = m.stepper()
        with torch.no_grad():
            full = m(f)[0]
            logits, state = st.prime(f[:, :9], 2, len(ids))
            steps = [logits[:1]] + [st.step(f[:, t].expand(2, -1), state)[1:] for t in range(9, len(ids))]
        torch.testing.assert_close(torch.cat(steps), full[8:], atol=1e-5, rtol=1e-4)


def test_overfit_tune_is_regenerated_greedily(overfit_ckpt):
    primer = TUNE.slice_bars(0, 1)
    out = continuation.continue_tune(primer, 3, candidates=1, temperature=0.0,
                                     checkpoint=overfit_ckpt)[0]
    assert out.bars == TUNE.bars
    assert out.key == TUNE.key


def test_score_in_context_prefers_the_learned_bars(overfit_ckpt):
    other = TUNE.replace_bars(3, 3, [TUNE.bar(2)])
    a, b = continuation.score_in_context([TUNE, other], [(3, 4), (3, 4)], checkpoint=overfit_ckpt)
    assert a > b
    (pt,) = continuation.score_in_context([TUNE], [(3, 4)], per_token=True, checkpoint=overfit_ckpt)
    assert pt < 0 and pt > a


def _primer(meter, pickup):
    bar = Fraction(4 * meter[0], meter[1])
    unit = Fraction(1, 2) if meter[1] == 4 else Fraction(1, 2)
    notes = [(62 + (i % 5) * 2, unit) for i in range(int(bar / unit))]
    bars = [notes, notes[::-1]]
    if pickup:
        bars = [[(69, unit)]] + bars
    return Tune.from_bars(bars, meter=meter, key=Key("G", "dorian"), pickup=pickup)


def _check_continuation(primer: Tune, out: Tune, n: int):
    assert out.num_bars == primer.num_bars + n
    assert out.bars[:len(primer.bars)] == primer.bars
    assert (out.key, out.meter, out.pickup) == (primer.key, primer.meter, primer.pickup)
    lo = min(n_.pitch for b in primer.bars for n_ in b.notes if n_.pitch) - 12
    hi = max(n_.pitch for b in primer.bars for n_ in b.notes if n_.pitch) + 12
    new = out.bars[len(primer.bars):]
    for i, b in enumerate(new):
        assert b.is_full, (primer.meter, b)
        assert b.meter == primer.meter
        for j, note in enumerate(b.notes):
            assert note.pitch is None or lo <= note.pitch <= hi
            if note.tie:   # only the bar's last note, into the same pitch
                assert j == len(b.notes) - 1 and note.pitch is not None
                if i + 1 < len(new):
                    assert new[i + 1].notes[0].pitch == note.pitch


@pytest.mark.parametrize("meter", [(2, 4), (3, 4), (4, 4), (6, 8), (9, 8), (12, 8)])
@pytest.mark.parametrize("pickup", [False, True])
def test_continue_gives_exactly_n_full_bars(random_ckpt, meter, pickup):
    primer = _primer(meter, pickup)
    outs = continuation.continue_tune(primer, 3, candidates=3, seed=5, temperature=1.5,
                                      top_p=1.0, checkpoint=random_ckpt)
    assert len(outs) == 3
    for out in outs:
        _check_continuation(primer, out, 3)


def test_same_seed_same_output_and_beam(random_ckpt):
    primer = _primer((6, 8), True)
    a = continuation.continue_tune(primer, 2, candidates=4, seed=11, checkpoint=random_ckpt)
    b = continuation.continue_tune(primer, 2, candidates=4, seed=11, checkpoint=random_ckpt)
    c = continuation.continue_tune(primer, 2, candidates=4, seed=12, checkpoint=random_ckpt)
    assert [t.bars for t in a] == [t.bars for t in b]
    assert [t.bars for t in a] != [t.bars for t in c]
    beams = continuation.continue_tune(primer, 2, candidates=2, beam=4, checkpoint=random_ckpt)
    assert len(beams) == 2 and beams[0].bars != beams[1].bars
    for t in beams:
        _check_continuation(primer, t, 2)


def test_short_last_bar_is_completed_first(random_ckpt):
    full = _primer((4, 4), False)
    short_bar = full.bars[-1].__class__(full.bars[-1].notes[:3], (4, 4))
    primer = full.with_(bars=full.bars[:-1] + (short_bar,))
    out = continuation.continue_tune(primer, 2, candidates=2, seed=3, checkpoint=random_ckpt)[0]
    assert out.num_bars == primer.num_bars + 2
    assert out.bars[:-3] == primer.bars[:-1]
    assert out.bars[-3].notes[:3] == short_bar.notes and out.bars[-3].is_full
    assert all(b.is_full for b in out.bars[-2:])


def test_tie_in_primer_forces_the_same_pitch(random_ckpt):
    primer = Tune.from_bars([[(60, 1), (62, 1), (64, 1), (67, 1, True)]], meter=(4, 4))
    for out in continuation.continue_tune(primer, 1, candidates=4, seed=0, checkpoint=random_ckpt):
        assert out.bars[1].notes[0].pitch == 67


def test_grammar_never_leaves_an_unfillable_remainder():
    g = BarGrammar(60, 72)
    s = BarState(bar_len=72)
    s.push(VOCAB.stoi["p60"])
    allowed = [VOCAB.ticks_of(i) for i in g.mask(s).nonzero()[:, 0].tolist()]
    assert 72 in allowed and 36 in allowed and 8 in allowed
    assert 71 not in allowed and 70 not in allowed and 1 not in allowed   # 1 or 2 ticks would remain
    assert g.mask(s)[VOCAB.bar].item() is False


def test_missing_checkpoint_is_not_available(tmp_path):
    from st4rt_repl.engine import NotAvailable
    with pytest.raises(NotAvailable, match="no trained checkpoint"):
        continuation.continue_tune(TUNE, 2, checkpoint=tmp_path / "none.pt")


def test_random_candidates_pass_abc2midi(random_ckpt):
    pytest.importorskip("st4rt_repl.formats.abc_out")
    from st4rt_repl.formats.abc2midi import available, check
    from st4rt_repl.formats.abc_out import to_abc
    if not available():
        pytest.skip("abc2midi is not installed")
    for meter in [(2, 4), (6, 8), (9, 8)]:
        primer = _primer(meter, True)
        for t in continuation.continue_tune(primer, 4, candidates=3, seed=2, temperature=1.3,
                                            checkpoint=random_ckpt):
            msgs = check(to_abc(t))
            assert not [m for m in msgs if m.startswith("Error") or "bar" in m.lower()], msgs


def test_cli_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.abc"
    bad.write_text("X:1\nT:no key\nM:4/4\nabc|\n")
    r = subprocess.run([sys.executable, "-m", "st4rt_repl.cli", "continue", str(bad), "--bars", "2",
                        "-o", str(tmp_path / "o.abc")], capture_output=True, text=True)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and "bad.abc" in r.stderr


def test_cli_writes_candidates(tmp_path, random_ckpt):
    pytest.importorskip("st4rt_repl.formats.abc_out")
    src = tmp_path / "in.abc"
    src.write_text("X:1\nT:Primer\nM:6/8\nL:1/8\nK:G\nD|GAB dBG|ABA AGE|\n")
    out = tmp_path / "out.abc"
    env = dict(os.environ, ST4RT_RNN_CHECKPOINT=str(random_ckpt))
    r = subprocess.run([sys.executable, "-m", "st4rt_repl.cli", "continue", str(src), "--bars", "2",
                        "--candidates", "3", "--seed", "1", "-o", str(out)],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    from st4rt_repl.formats import parse_abc_text
    text = out.read_text()
    assert text.count("X:") == 3
    t = parse_abc_text(text, tune=2).tune
    assert t.num_bars == 4 and t.pickup and all(b.is_full for b in t.bars[1:])


def test_ngram_learns_repetition():
    from st4rt_repl.models.ngram import KneserNey
    seqs = [np.array(encode(TUNE.transpose(s))) for s in (0, 2, 4, 5)]
    m3 = KneserNey(seqs, order=3)
    m1 = KneserNey(seqs, order=1)
    r3, r1 = m3.evaluate(seqs[:1]), m1.evaluate(seqs[:1])
    assert r3["nll_per_note"] < r1["nll_per_note"]
    assert r3["accuracy"] > r1["accuracy"]


@pytest.mark.skipif(not SHIPPED.exists(), reason="no checkpoint shipped yet")
def test_shipped_checkpoint_loads_weights_only():
    ck = torch.load(SHIPPED, map_location="cpu", weights_only=True)
    assert {"config", "state_dict", "transpose"} <= set(ck)
    model, _ = load_checkpoint(SHIPPED)
    assert SHIPPED.stat().st_size <= 20 * 2**20
    out = continuation.continue_tune(TUNE, 4, candidates=2, seed=0, checkpoint=SHIPPED)
    for t in out:
        _check_continuation(TUNE, t, 4)


def test_sample_follows_the_masked_nucleus():
    from st4rt_repl.models.decoding import sample
    gen = torch.Generator().manual_seed(0)
    logits = torch.log(torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.0]])).expand(20000, -1)
    mask = torch.tensor([[True, True, False, True, True]]).expand(20000, -1)
    freq = torch.bincount(sample(logits, mask, generator=gen), minlength=5) / 20000
    torch.testing.assert_close(freq, torch.tensor([1 / 7, 2 / 7, 0, 4 / 7, 0]), atol=0.015, rtol=0)
    # top_p 0.6 keeps {0.4, 0.2} of the allowed {0.4, 0.2, 0.1} (renormalised: 4/7, 2/7)
    freq = torch.bincount(sample(logits, mask, top_p=0.6, generator=gen), minlength=5) / 20000
    torch.testing.assert_close(freq, torch.tensor([0, 1 / 3, 0, 2 / 3, 0]), atol=0.015, rtol=0)
    forced = torch.zeros(50, 5, dtype=torch.bool)
    forced[:, 4] = True                                    # one allowed token, zero logits elsewhere
    assert sample(torch.zeros(50, 5), forced, generator=gen).tolist() == [4] * 50


def test_assemble_transposes_back_beyond_the_vocabulary():
    """A tonic-view continuation near the top of the range comes back above p96 intact."""
    primer = Tune.from_bars([[(92, 2), (94, 2)]], meter=(4, 4), key=Key("D", "major"))
    ids, open_bar = continuation._primer_ids(primer.transpose(-2))
    new = [VOCAB.stoi["p96"], VOCAB.stoi["d48"], VOCAB.stoi["p90"], VOCAB.stoi["d48"], VOCAB.bar]
    for shift in (-2, 0):
        out = continuation._assemble(primer, new, ids, open_bar, shift)
        assert out.bars[:1] == primer.bars
        assert [n.pitch for n in out.bars[1].notes] == [96 - shift, 90 - shift]
        assert out.bars[1].is_full


def test_cached_primer_run_matches_a_fresh_one(random_ckpt):
    primer = _primer((3, 4), True)
    a = continuation.continue_tune(primer, 2, candidates=3, seed=4, checkpoint=random_ckpt)
    continuation.forget_primer()
    b = continuation.continue_tune(primer, 2, candidates=3, seed=4, checkpoint=random_ckpt)
    assert [t.bars for t in a] == [t.bars for t in b]
