"""Attention-RNN: model equivalence, training, constrained continuation (form too), CLI, n-gram."""
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
from st4rt_repl.models.attention_rnn import (AttentionRNN, RNNConfig, WrittenTracker, featurize_written,
                                             load_checkpoint, save_checkpoint)
from st4rt_repl.models.decoding import FormGrammar
from st4rt_repl.tokenizers import written
from st4rt_repl.tune import Bar, Key, Note, Tune

V2 = written.VOCAB

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
                 AttentionRNN(RNNConfig(hidden=24, emb=8, feat=4, attn=8, window=32, tokenizer=2,
                                        vocab=len(V2))))


@pytest.fixture(scope="module")
def overfit_ckpt(tmp_path_factory):
    """A tiny model trained a few seconds on TUNE alone (tonic view: it must transpose back)."""
    from st4rt_repl.models.train_rnn import train
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("rnn_fit")
    moved = TUNE.transpose(-2)                      # D -> C, as the tonic view stores it
    seqs = [np.array(written.encode(moved), dtype=np.int16)]
    cfg = RNNConfig(hidden=48, emb=16, feat=4, attn=16, window=64, dropout=0.0, tokenizer=2,
                    vocab=len(V2))
    out = tmp / "fit.pt"
    train(cfg, seqs * 8, seqs, out=out, lr=1e-2, epochs=150, patience=1000, seed=0,
          progress=False, log=lambda *_: None, extra={"transpose": "tonic"})
    continuation.clear_cache()
    return out


def test_generation_path_matches_training_path():
    torch.manual_seed(1)
    ids = written.encode(TUNE.with_repeat(1, 2))
    f = torch.as_tensor(featurize_written(ids)).long()[None]
    for window, copy in ((6, False), (0, False), (6, True), (64, True)):
        m = AttentionRNN(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=window, tokenizer=2,
                                   vocab=len(V2), copy=copy)).eval()
        if copy:                        # a gate that mixes in the pointer, not the 88 % it starts at
            torch.nn.init.normal_(m.gate.weight)
            torch.nn.init.normal_(m.cbias)
            torch.nn.init.normal_(m.gbias)
        odds = 2.5 if copy else 1.0              # the pointer's calibration reaches both paths alike
        st = m.stepper(odds, half=False)
        with torch.no_grad():
            full = m.run(f, odds)["out"][0]
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


def test_same_seed_same_output(random_ckpt):
    primer = _primer((6, 8), True)
    a = continuation.continue_tune(primer, 2, candidates=4, seed=11, checkpoint=random_ckpt)
    b = continuation.continue_tune(primer, 2, candidates=4, seed=11, checkpoint=random_ckpt)
    c = continuation.continue_tune(primer, 2, candidates=4, seed=12, checkpoint=random_ckpt)
    assert [t.bars for t in a] == [t.bars for t in b]
    assert [t.bars for t in a] != [t.bars for t in c]


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
    g, t = FormGrammar(60, 72), WrittenTracker()
    for tok in ["<s>", "M:3/4", "K:0", "mode:major"]:
        t.push(V2.stoi[tok])
    mask = g.mask(t, bars_left=2)
    allowed = {V2.note_of(i)[1] for i in mask.nonzero()[:, 0].tolist() if i >= V2.first_note}
    assert 72 in allowed and 36 in allowed and 8 in allowed
    assert 71 not in allowed and 70 not in allowed and 1 not in allowed   # 1 or 2 ticks would remain
    assert mask[V2.bar].item() is False


def test_missing_checkpoint_is_not_available(tmp_path):
    from st4rt_repl.errors import NotAvailable
    with pytest.raises(NotAvailable, match="no trained checkpoint"):
        continuation.continue_tune(TUNE, 2, checkpoint=tmp_path / "none.pt")


def test_random_candidates_pass_abc2midi(random_ckpt):
    from st4rt_repl.formats.abc2midi import available, check
    from st4rt_repl.formats.abc_out import to_abc
    if not available():
        pytest.skip("abc2midi is not installed")
    for meter in [(2, 4), (6, 8), (9, 8)]:
        primer = _primer(meter, True)
        for t in continuation.continue_tune(primer, 4, candidates=3, seed=2, temperature=1.3,
                                            checkpoint=random_ckpt):
            check(to_abc(t))          # strict: any abc2midi error or warning raises


def test_cli_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.abc"
    bad.write_text("X:1\nT:no key\nM:4/4\nabc|\n")
    r = subprocess.run([sys.executable, "-m", "st4rt_repl.cli", "continue", str(bad), "--bars", "2",
                        "-o", str(tmp_path / "o.abc")], capture_output=True, text=True)
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and "bad.abc" in r.stderr


def test_cli_writes_candidates(tmp_path, random_ckpt):
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
    seqs = [np.array(written.encode(TUNE.transpose(s))) for s in (0, 2, 4, 5)]
    m3 = KneserNey(seqs, order=3)
    m1 = KneserNey(seqs, order=1)
    r3, r1 = m3.evaluate(seqs[:1]), m1.evaluate(seqs[:1])
    assert r3["nll_per_note"] < r1["nll_per_note"]
    assert r3["accuracy"] > r1["accuracy"]


@pytest.mark.skipif(not SHIPPED.exists(), reason="no checkpoint shipped yet")
def test_shipped_checkpoint_loads_weights_only():
    ck = torch.load(SHIPPED, map_location="cpu", weights_only=True)
    assert {"config", "state_dict", "transpose", "tokenizer_version"} <= set(ck)
    assert ck["tokenizer_version"] == written.TOKENIZER_VERSION
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


def test_nucleus_is_the_same_when_it_reaches_past_the_first_tokens_sorted():
    """A peaked row's nucleus lies among the first tokens sorted; a flat one's does not
    (100 equal tokens, top_p 0.895: 90 of them) and must fall back to the full sort."""
    from st4rt_repl.models.decoding import NUCLEUS_FIRST_TRY, sample_probs
    gen = torch.Generator().manual_seed(1)
    flat = torch.full((4000, 200), 0.0)
    flat[:, 50:150] = 0.01                                       # 100 tokens of 1 %
    picks = sample_probs(flat, top_p=0.895, generator=gen)
    assert 90 > NUCLEUS_FIRST_TRY and len(set(picks.tolist())) == 90
    assert all(50 <= j < 150 for j in picks.tolist())
    peaked = torch.zeros(4000, 200)
    peaked[:, 7], peaked[:, 9], peaked[:, 120] = 0.7, 0.25, 0.05
    freq = torch.bincount(sample_probs(peaked, top_p=0.9, generator=gen), minlength=200) / 4000
    assert set(torch.nonzero(freq).flatten().tolist()) == {7, 9}    # 0.7 + 0.25 reach 0.9
    torch.testing.assert_close(freq[[7, 9]], torch.tensor([0.7, 0.25]) / 0.95, atol=0.02, rtol=0)


def test_assemble_transposes_back_beyond_the_vocabulary():
    """A tonic-view continuation near the top of the range comes back above p96 intact."""
    primer = Tune.from_bars([[(92, 2), (94, 2)]], meter=(4, 4), key=Key("D", "major"))
    new = [V2.stoi["p96:48"], V2.stoi["p90:48"], V2.bar]
    for shift in (-2, 0):
        out = continuation._assemble(primer, new, False, shift)
        assert out.bars[:1] == primer.bars
        assert [n.pitch for n in out.bars[1].notes] == [96 - shift, 90 - shift]
        assert out.bars[1].is_full


def test_cached_primer_run_matches_a_fresh_one(random_ckpt):
    primer = _primer((3, 4), True)
    a = continuation.continue_tune(primer, 2, candidates=3, seed=4, checkpoint=random_ckpt)
    continuation.forget_primer()
    b = continuation.continue_tune(primer, 2, candidates=3, seed=4, checkpoint=random_ckpt)
    assert [t.bars for t in a] == [t.bars for t in b]


# ----- the written form ------------------------------------------------------------------
A_PART = Tune.from_bars(
    [[(62, E)]] + [[(67, E), (71, E), (74, E), (71, E)], [(72, E), (69, E), (66, E), (62, E)]] * 2,
    meter=(2, 4), key=Key("G", "major"), pickup=True).with_repeat(1, 4)


def _form_ok(out: Tune, first_new: int, n: int, *, new_part: bool = False):
    """Repeat signs balanced, endings well formed, exactly n new full bars (after a cut bar's rest)."""
    new = list(out.bars[first_new:])
    if new and not new[0].is_full:                # the rest of a cut bar: the next part's pickup
        assert out.bars[first_new - 1].duration + new[0].duration == new[0].expected
        new = new[1:]
    assert len(new) == n and all(b.is_full for b in new)
    open_, first_end = False, False
    for i, b in enumerate(out.bars[first_new:]):
        if b.repeat_start:
            assert not open_, "a |: inside an open |:"
            open_ = True
        if b.ending:
            assert b.ending in ("1", "2") and (b.ending == "2") == first_end
            first_end = b.ending == "1"
        if b.barline == ":|":
            open_, first_end = False, first_end
        elif b.barline != "|":
            open_ = False
        if i and out.bars[first_new + i - 1].barline == ":|" and out.bars[first_new + i - 1].ending == "1":
            assert b.ending == "2"
    if new_part:
        assert out.bars[first_new].repeat_start and out.bars[-1].barline in (":|", "||")
        inner = [b.barline for b in new[:-1] if b.barline != "|"]
        assert all(x == ":|" for x in inner)          # only a first ending closes early


def test_continue_after_a_part_keeps_the_form_valid(random_ckpt):
    outs = continuation.continue_tune(A_PART, 8, candidates=6, seed=3, temperature=1.5, top_p=1.0,
                                      checkpoint=random_ckpt)
    for out in outs:
        assert out.bars[:len(A_PART.bars)] == A_PART.bars
        _form_ok(out, len(A_PART.bars), 8)
    assert any(b.barline != "|" or b.repeat_start for o in outs for b in o.bars[5:])


def test_new_part_is_one_section_in_repeat_signs(random_ckpt):
    for like in (None, "similar", "contrast"):
        outs = continuation.new_part(A_PART, 8, like=like, candidates=3, seed=4, temperature=1.5,
                                     checkpoint=random_ckpt)
        assert len(outs) == 3
        for out in outs:
            _form_ok(out, len(A_PART.bars), 8, new_part=True)
    plain = A_PART.with_bar(4, barline="|").with_bar(1, repeat_start=False)
    (out,) = continuation.new_part(plain, 4, candidates=1, seed=1, checkpoint=random_ckpt)
    assert out.bar(4).barline == "||"                 # the open A part is closed first
    with pytest.raises(Exception, match="like must be"):
        continuation.new_part(A_PART, 8, like="louder", checkpoint=random_ckpt)


def test_after_a_cut_bar_comes_its_rest(random_ckpt):
    """A part ending on a short bar (the B part has a pickup): the first new bar completes it."""
    last = A_PART.bars[-1]
    cut = A_PART.with_(bars=A_PART.bars[:-1] + (last.with_notes(last.notes[:3]),))
    for out in continuation.continue_tune(cut, 4, candidates=4, seed=2, checkpoint=random_ckpt):
        assert out.bars[len(cut.bars)].duration == E
        _form_ok(out, len(cut.bars), 4)


def test_final_barline_becomes_a_part_end_unless_a_repeat_is_open(random_ckpt):
    plain = A_PART.with_bar(1, repeat_start=False).with_bar(4, barline="|]")
    (out,) = continuation.continue_tune(plain, 2, candidates=1, seed=0, checkpoint=random_ckpt)
    assert out.bar(4).barline == "||" and out.num_bars == 6
    inside = A_PART.with_bar(4, barline="|]")                 # |: ... |]: the part is not over
    (out,) = continuation.continue_tune(inside, 2, candidates=1, seed=0, checkpoint=random_ckpt)
    assert out.bar(4).barline == "|" and out.num_bars == 6
    assert sum(b.repeat_start for b in out.bars) == sum(b.barline == ":|" for b in out.bars) == 1


def test_round_1_checkpoint_is_refused_in_one_line(tmp_path):
    from dataclasses import asdict

    from st4rt_repl.errors import NotAvailable
    old = tmp_path / "v1.pt"           # a round-1 file: the melody's token layout (no v1 model here)
    torch.save({"config": {**asdict(RNNConfig(hidden=8, emb=4, feat=2, attn=4, window=4)), "tokenizer": 1},
                "state_dict": {}, "tokenizer_version": 1}, old)
    continuation.clear_cache()
    with pytest.raises(NotAvailable) as e:
        continuation.continue_tune(TUNE, 2, checkpoint=old)
    msg = str(e.value)
    assert "\n" not in msg and "tokenizer v1" in msg and "needs v2" in msg
    with pytest.raises(ValueError, match="tokenizer v1 is retired"):
        AttentionRNN(RNNConfig(tokenizer=1))


def test_score_in_context_counts_form_tokens(random_ckpt):
    ids, spans = continuation.bar_spans(A_PART)
    assert [V2.itos[i] for i in ids[spans[1][0]:spans[1][1]]][:2] == ["|:", "p67:12"]
    assert V2.itos[ids[spans[4][1] - 1]] == ":|"
    a, b = continuation.score_in_context([A_PART, A_PART], [(1, 2), (3, 4)], checkpoint=random_ckpt)
    assert a < 0 and b < 0


def test_sample_tunes_writes_full_bars_in_the_asked_key(random_ckpt):
    outs = continuation.sample_tunes((6, 8), Key("A", "dorian"), 4, 3, seed=2, checkpoint=random_ckpt)
    assert len(outs) == 3
    for t in outs:
        assert t.key == Key("A", "dorian") and t.meter == (6, 8) and t.num_bars == 4
        assert all(b.is_full for b in t.bars)
        _form_ok(t, 0, 4)


def test_checkpoint_temperature_scale_applies(tmp_path):
    """A calibrated scale of 0 makes every temperature greedy: the candidates coincide."""
    torch.manual_seed(0)
    p = tmp_path / "cold.pt"
    save_checkpoint(p, AttentionRNN(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=16, tokenizer=2,
                                              vocab=len(V2))), temperature_scale=0.0)
    continuation.clear_cache()
    outs = continuation.continue_tune(A_PART, 3, candidates=3, seed=5, temperature=1.5, checkpoint=p)
    assert outs[0].bars == outs[1].bars == outs[2].bars


def test_new_part_after_a_labelled_part_is_labelled_b_once(random_ckpt):
    labelled = A_PART.with_bar(1, part="A")
    for out in continuation.new_part(labelled, 6, candidates=4, seed=6, temperature=1.5,
                                     checkpoint=random_ckpt):
        new = out.bars[len(labelled.bars):]
        assert [b.part for b in new] == ["B"] + [""] * 5
        assert new[0].repeat_start and new[-1].barline == ":|"


def _lag4_hits(ids, aligned: bool) -> tuple[int, int]:
    """(notes of the B part that lag-4 lookback foresees, notes in its bars 1-3)."""
    f = featurize_written(ids, aligned)
    lag4 = 9 + 2                                       # columns: 9 features, then lags 1, 2, 4, 8
    b_start = [i for i, t in enumerate(ids) if t == V2.repeat_start][1]
    b_bar1 = [i for i, t in enumerate(ids) if i > b_start and t == V2.bar][0]
    notes = [i for i in range(b_bar1 + 1, len(ids)) if V2.is_note(ids[i])]
    hits = sum(int(f[i - 1][lag4]) == ids[i] for i in notes[:9])
    return hits, len(notes[:9])


def test_aligned_lookback_puts_the_b_part_beside_the_a_part():
    """A jig-like pair of parts with pickups, B's bars 1-3 copying A's: lookback by 4
    bars finds each note of B in A once the part's pickup joins the bar it completes
    (RNNConfig.aligned); counted as a bar of its own, it looks one bar off."""
    from st4rt_repl.formats.abc_in import read_abc_text
    t = read_abc_text("X:1\nT:t\nM:2/4\nL:1/8\nK:D\n"
                      "|: A | d2 fd | e2 ce | d2 fd | e2 d :|\n"
                      "|: f | d2 fd | e2 ce | d2 fd | e2 d :|\n").tune
    ids = written.encode(t)
    assert V2.short in ids
    assert _lag4_hits(ids, aligned=True) == (9, 9)
    assert _lag4_hits(ids, aligned=False) == (0, 9)


def test_rhythm_temperature_keeps_the_length_distribution():
    """At rhythm temperature 1 the total per note length is the model's own, whatever
    the temperature of the pitch within it; masked tokens stay impossible."""
    from st4rt_repl.models.decoding import rhythm_pitch_probs
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, len(V2), generator=g) * 3
    mask = torch.rand(2, len(V2), generator=g) > 0.3
    F, D = V2.first_note, V2.n_dur

    def by_length(p):   # form tokens one by one, then notes summed over pitch per length
        return torch.cat([p[:, :F], p[:, F:].reshape(2, -1, D).sum(1)], 1)

    plain = torch.softmax(logits.masked_fill(~mask, float("-inf")), -1)
    for t in (0.3, 0.7, 1.6):
        p = rhythm_pitch_probs(logits, mask, F, D, 1.0, t)
        assert torch.allclose(by_length(p), by_length(plain), atol=1e-5)
        assert not torch.allclose(p, plain, atol=1e-3)          # the pitch choice did change
        assert float(p[~mask].sum()) == 0.0


def test_checkpoint_rhythm_scale_is_read(tmp_path):
    p = tmp_path / "r.pt"
    save_checkpoint(p, AttentionRNN(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=16, tokenizer=2,
                                              vocab=len(V2))), temperature_scale=0.6, rhythm_scale=0.9)
    continuation.clear_cache()
    model, _ = continuation.load(p)
    assert (model._st4rt_temperature_scale, model._st4rt_rhythm_scale) == (0.6, 0.9)


def test_set_weights_stores_weights_that_load_reads(tmp_path, capsys):
    from st4rt_repl.models.train_rnn import main
    p = tmp_path / "w.pt"
    save_checkpoint(p, AttentionRNN(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=16, tokenizer=2,
                                              vocab=len(V2))), temperature_scale=0.6, rhythm_scale=0.9)
    assert main(["--out", str(p), "--set-length-weight", "6", "1.5", "--set-length-weight", "8", "2",
                 "--set-interval-weight", "-2", "0.65"]) == 0
    ck = torch.load(p, weights_only=True)
    assert (ck["length_weights"], ck["interval_weights"]) == ({6: 1.5, 8: 2.0}, {2: 0.65})
    assert main(["--out", str(p), "--set-length-weight", "8", "1"]) == 0          # weight 1: removed
    ck = torch.load(p, weights_only=True)
    assert (ck["length_weights"], ck["interval_weights"], ck["temperature_scale"]) == ({6: 1.5}, {2: 0.65}, 0.6)
    continuation.clear_cache()
    model = continuation.load(p)[0]
    w, table = model._st4rt_length_weights, model._st4rt_interval_table
    assert float(w[written.DURATIONS.index(6)]) == 1.5 and float(w.sum()) == len(written.DURATIONS) + 0.5
    d = 62 - written.PITCH_LO                                  # after a D: C and E weighed 0.65, D# not
    assert [round(float(table[d, p - written.PITCH_LO + 1]), 2) for p in (60, 63, 64)] == [0.65, 1.0, 0.65]
    assert main(["--out", str(p), "--set-length-weight", "5", "2"]) == 2
    assert "no note length of 5 ticks" in capsys.readouterr().err


def _new_notes(path, n=8):
    outs = continuation.continue_tune(TUNE, n, candidates=8, seed=0, checkpoint=path)
    return [[x for b in t.bars[TUNE.num_bars:] for x in b.notes] for t in outs]


@pytest.mark.skipif(not SHIPPED.exists(), reason="no checkpoint shipped yet")
def test_sampling_weights_move_the_rhythm_and_the_steps(tmp_path):
    from st4rt_repl.models.train_rnn import set_sampling_weights
    plain, heavy, leapy = (tmp_path / f"{n}.pt" for n in ("plain", "heavy", "leapy"))
    for p, lengths, steps in ((plain, {6: 1.0}, {2: 1.0}), (heavy, {6: 4.0}, {2: 1.0}), (leapy, {6: 1.0}, {2: 0.05})):
        p.write_bytes(SHIPPED.read_bytes())
        set_sampling_weights(p, lengths=lengths, intervals=steps)

    def sixteenths(path):
        return sum(n.duration == Fraction(1, 4) for row in _new_notes(path) for n in row)

    def step_share(path):
        ivs = [abs(b.pitch - a.pitch) for row in _new_notes(path) for a, b in zip(row, row[1:])
               if a.pitch is not None and b.pitch is not None]
        return sum(i == 2 for i in ivs) / len(ivs)

    assert sixteenths(heavy) > sixteenths(plain) + 10
    assert step_share(leapy) < step_share(plain) - 0.08


def test_set_scales_stores_the_calibration(tmp_path):
    from st4rt_repl.models.train_rnn import main
    p = tmp_path / "c.pt"
    save_checkpoint(p, AttentionRNN(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=16, tokenizer=2,
                                              vocab=len(V2))), transpose="tonic")
    assert main(["--out", str(p), "--set-scales", "0.65", "1.0"]) == 0
    ck = torch.load(p, weights_only=True)
    assert (ck["temperature_scale"], ck["rhythm_scale"], ck["transpose"]) == (0.65, 1.0, "tonic")
    assert main(["--out", str(tmp_path / "none.pt"), "--set-scales", "1", "1"]) == 2


@pytest.mark.skipif(not SHIPPED.exists(), reason="no checkpoint shipped yet")
def test_a_primer_ending_inside_an_open_repeat_is_continued_and_closed():
    from st4rt_repl.formats import parse_abc_text
    from st4rt_repl.models.eval_continue import _abc_clean
    half = parse_abc_text("X:1\nT:Half a part\nM:6/8\nL:1/8\nK:D\n|:DFA dcd|AFA BGE|DFA dcd|AFA gfe|]\n").tune
    for seed in range(3):
        (out,) = continuation.continue_tune(half, 4, candidates=1, seed=seed, checkpoint=SHIPPED)
        assert out.bars[3].barline == "|"                   # the part goes on: not ended with ||
        assert sum(b.repeat_start for b in out.bars) == sum(b.barline == ":|" for b in out.bars) == 1
        assert _abc_clean(out)                               # abc2midi: no "Missing :|"


CARRICK_A = ("X:1\nT:The Ladies of Carrick\nM:6/8\nL:1/8\nK:A\n"
             "|:eAA edc|eAA Aaf|eAA edc|fBB Baf|eAA edc|eAA ef=g|fed edc|fBB Baf:|\n")


def test_likeness_compares_bars_as_heard_not_as_spelled():
    from st4rt_repl.formats import parse_abc_text
    written = parse_abc_text(CARRICK_A).tune                 # notes keep their letters (=g, c for C#)
    sampled = Tune.from_bars([[(n.pitch, n.duration) for n in b.notes] for b in written.bars],
                             meter=(6, 8), key=Key("A"))      # the same bars as a model writes them
    assert written.bars[0].notes != sampled.bars[0].notes
    assert continuation.part_similarity(list(written.bars), list(sampled.bars)) == 1.0
    assert continuation.contrast_score(written.bars, list(written.bars), list(sampled.bars)) == 2.0


@pytest.mark.skipif(not SHIPPED.exists(), reason="no checkpoint shipped yet")
def test_a_contrasting_part_borrows_fewer_bars_than_a_similar_one():
    from st4rt_repl.formats import parse_abc_text
    a_part = parse_abc_text(CARRICK_A).tune
    heard = {b.heard for b in a_part.bars}

    def borrowed(like):
        outs = [t for seed in range(3) for t in continuation.new_part(a_part, 8, like=like, seed=seed,
                                                                      checkpoint=SHIPPED)]
        return sum(b.heard in heard for t in outs for b in t.bars[a_part.num_bars:])

    assert borrowed("contrast") < borrowed("similar")


def _pointer_model(**kw):
    return AttentionRNN(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=64, tokenizer=2, vocab=len(V2),
                                  copy=True, **kw)).eval()


def test_pointer_odds_move_the_mass_onto_what_the_tune_already_played():
    """The pointer only proposes tokens that followed something earlier in the tune; its
    odds against the softmax (a sampling calibration) move the mass between the two."""
    torch.manual_seed(0)
    m = _pointer_model()
    ids = written.encode(TUNE)
    f = torch.as_tensor(featurize_written(ids)).long()[None]
    played = torch.zeros(len(V2), dtype=torch.bool)
    played[torch.tensor(ids[1:])] = True

    def mass(odds):
        logits, _ = m.stepper(odds).prime(f, 1, 8)
        return float(logits.exp()[0, played].sum())

    low, plain, high = mass(1e-6), mass(1.0), mass(1e6)
    assert low < 0.1 < plain < high and high > 0.999
    assert abs(float(torch.exp(m.stepper(3.0).prime(f, 1, 8)[0]).sum()) - 1.0) < 1e-4   # still a distribution


@pytest.mark.parametrize("kw", [{"copy": True}, {"copy": False}, {"window": 0}])
def test_a_primer_run_of_the_last_step_only_gives_that_steps_output_of_the_whole_run(kw):
    """`run(last=True)` (how a primer is run before sampling) skips the output layer and
    the pointer's mixture for every step but the last; the last one is unchanged."""
    torch.manual_seed(0)
    m = AttentionRNN(RNNConfig(**{"hidden": 16, "emb": 8, "feat": 4, "attn": 8, "window": 64,
                                  "tokenizer": 2, "vocab": len(V2), **kw})).eval()
    f = torch.as_tensor(featurize_written(written.encode(TUNE))).long()[None]
    with torch.no_grad():
        whole, last = m.run(f, 0.5), m.run(f, 0.5, last=True)
    assert last["out"].shape == (1, 1, len(V2))
    assert torch.allclose(last["out"][:, -1], whole["out"][:, -1], atol=1e-5)
    if kw.get("copy"):
        assert torch.equal(last["run"][0, -1], whole["run"][0, -1])


def test_match_runs_count_the_tokens_a_key_shares_with_the_query():
    from st4rt_repl.models.attention_rnn import RUN_CAP, match_runs
    ids = torch.tensor([[7] * (RUN_CAP + 3) + [5, 7]])
    run = match_runs(ids)[0]
    assert run[RUN_CAP + 2, RUN_CAP + 1] == RUN_CAP          # a long repeat is capped
    assert run[-1, 3] == run[-1, RUN_CAP + 2] == 1 and run[-2, 0] == 0   # the 5 breaks the match


def test_init_starts_from_a_checkpoint_and_adds_the_pointer(tmp_path):
    from st4rt_repl.models.train_rnn import train
    torch.manual_seed(0)
    base = AttentionRNN(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=64, tokenizer=2, vocab=len(V2)))
    save_checkpoint(tmp_path / "base.pt", base)
    seqs = [np.array(written.encode(TUNE.transpose(-2)), dtype=np.int16)]
    said = []
    cfg = RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=64, tokenizer=2, vocab=len(V2), copy=True)
    train(cfg, seqs, seqs, out=tmp_path / "p.pt", lr=0.0, new_lr=0.0, max_steps=1, progress=False,
          log=said.append, init=tmp_path / "base.pt")
    tuned = torch.load(tmp_path / "p.pt", weights_only=True)["state_dict"]
    assert torch.equal(tuned["lstm1.weight_ih_l0"], base.state_dict()["lstm1.weight_ih_l0"])
    assert "gate.weight" in tuned and "new: cbias, rbias, gbias" in said[0]
    with pytest.raises(ValueError, match="weights this model does not have: cbias"):
        train(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=64, tokenizer=2, vocab=len(V2)), seqs, seqs,
              out=tmp_path / "back.pt", max_steps=1, progress=False, log=said.append, init=tmp_path / "p.pt")


def test_set_copy_odds_is_stored_and_read_and_refused_without_a_pointer(tmp_path, capsys):
    from st4rt_repl.models.train_rnn import main
    p, plain = tmp_path / "p.pt", tmp_path / "plain.pt"
    save_checkpoint(p, _pointer_model())
    save_checkpoint(plain, AttentionRNN(RNNConfig(hidden=16, emb=8, feat=4, attn=8, window=16, tokenizer=2,
                                                  vocab=len(V2))))
    assert main(["--out", str(p), "--set-copy-odds", "0.4"]) == 0
    continuation.clear_cache()
    model, ck = continuation.load(p)
    assert ck["copy_odds"] == 0.4 and model._st4rt_copy_odds == 0.4
    assert continuation._stepper(model).copy_odds == 0.4
    assert main(["--out", str(plain), "--set-copy-odds", "0.4"]) == 2
    assert "has no pointer head (train with --copy)" in capsys.readouterr().err


@pytest.mark.skipif(not SHIPPED.exists(), reason="no checkpoint shipped yet")
def test_the_bfloat16_output_layers_stay_close_to_the_exact_path():
    """Generation runs layer 2 and the output layer in bfloat16 (Stepper(half=True)):
    every step's distribution stays within 3 % total variation of the exact one."""
    model, _ = continuation.load(SHIPPED)
    ids = written.encode(TUNE.transpose(-2))
    f = torch.as_tensor(featurize_written(ids, model.cfg.aligned)).long()[None]
    outs = []
    for half in (False, True):
        st = model.stepper(0.2, half)
        lg, state = st.prime(f[:, :9], 1, len(ids))
        outs.append(torch.cat([lg] + [st.step(f[:, t], state) for t in range(9, len(ids))]).exp())
    tv = 0.5 * (outs[0] - outs[1]).abs().sum(-1)
    assert float(tv.max()) < 0.03 and float(tv.max()) > 0.0


def test_train_refuses_a_pointer_without_attention(capsys):
    from st4rt_repl.models.train_rnn import main
    assert main(["--copy", "--no-attention", "--out", "/nonexistent/x.pt"]) == 2
    assert "--copy needs attention" in capsys.readouterr().err
