"""`st4rt eval generate` and the samplers behind `generate` (shipped checkpoints, small sizes)."""
from __future__ import annotations

import json

import pytest
import torch

from st4rt_repl.models import eval_generate as eg
from st4rt_repl.models import generation, realism
from st4rt_repl.tune import Key

# Six 8-bar jigs/reels in the common meters: the "real set" of the smoke test.
_JIG = """X:{x}
T:Jig {x}
M:6/8
L:1/8
K:{k}
|:GAG GAB|ABA ABd|edd gdd|edB dBA|GAG GAB|ABA ABd|edd gdB|AGF G3:|
"""
_REEL = """X:{x}
T:Reel {x}
M:4/4
L:1/8
K:{k}
|:d2fd Adfd|d2fd egfe|d2fd Adfd|edcB A2FA|d2fd Adfd|d2fd egfe|dfaf gecA|d2fd d4:|
"""


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    torch.set_num_threads(1)


@pytest.fixture()
def folder(tmp_path):
    for i, k in enumerate(["G", "D", "A"]):
        (tmp_path / f"j{i}.abc").write_text(_JIG.format(x=i, k=k))
        (tmp_path / f"r{i}.abc").write_text(_REEL.format(x=i, k=k))
    return tmp_path


def test_eval_generate_prints_one_json_line(folder, capsys):
    assert eg.main(["--data", str(folder), "--n", "2", "--methods", "rnn,vae_prior,ngram",
                    "--seed", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    r = json.loads(lines[0])
    assert r["n"] == 2 and r["n_refs"] == 4
    for m in ("ceiling", "rnn", "vae_prior", "ngram"):
        assert set(r[m]["overlap"]) == set(realism.FEATURES), m
        assert 0.0 <= r[m]["leap_rate"] <= 1.0
        assert set(r[m]["mgeval_oa"]) == set(realism.MGEVAL_FEATURES)
    # the real set here repeats two tunes: no leap above a fifth at all (AGF G3 -> GAG ends low)
    assert r["ceiling"]["real_leap_rate"] < 0.05
    assert set(r["summary"]) == {"rnn", "vae_prior", "ngram"}


def test_eval_generate_rejects_bad_options(folder, capsys):
    assert eg.main(["--data", str(folder), "--methods", "gpt"]) == 2
    assert "unknown method 'gpt'" in capsys.readouterr().err
    assert eg.main(["--data", str(folder), "--n", "6"]) == 2
    assert "--n must be smaller" in capsys.readouterr().err


@pytest.mark.parametrize("meter,key", [((6, 8), Key("G")), ((3, 4), Key("A", "dorian")),
                                       ((9, 8), Key("D"))])
def test_rnn_tunes_are_full_bars_in_the_asked_meter_and_key(meter, key):
    tunes = generation.rnn_tunes(meter, key, 8, 3, seed=1)
    assert len(tunes) == 3
    assert len({tuple((n.pitch, n.duration) for b in t.bars for n in b.notes) for t in tunes}) == 3
    for t in tunes:
        assert t.num_bars == 8 and all(b.is_full and b.meter == meter for b in t.bars)
        assert t.key == key
        # the tonic-C model output moved to the key: most notes' pitch classes are in its scale
        ev = realism.events(t)
        assert realism.histograms([t])["pitch_class"][0] > 0, "the tonic is heard"
        assert len(ev) >= 8


def test_generate_is_seeded_and_distinct():
    a = generation.generate((6, 8), Key("D"), 8, 4, seed=5)
    b = generation.generate((6, 8), Key("D"), 8, 4, seed=5)
    assert [t.bars for t in a] == [t.bars for t in b]
    assert len(generation.distinct(a, 4)) == 4


def test_generated_tunes_leap_less_than_the_vae_prior():
    # the complaint: VAE prior samples leap more than a fifth at ~13 % of intervals
    conds = [((6, 8), Key("G")), ((4, 4), Key("D"))]
    rnn = [t for m, k in conds for t in generation.generate(m, k, 8, 4, seed=2)]
    vae = [t for m, k in conds for t in generation.vae_prior_tunes(m, k, 8, 4, seed=2)]
    assert realism.leap_rate(rnn) < realism.leap_rate(vae)
    assert realism.leap_rate(rnn) < 0.08


def test_eval_vary_prints_one_json_line(folder, capsys):
    from st4rt_repl.models import eval_vary
    assert eval_vary.main(["--data", str(folder), "--n", "3", "--bar", "3", "--candidates", "3",
                           "--seed", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    r = json.loads(lines[0])
    assert (r["n"], r["bar"], r["candidates"]) == (3, 3, 3)
    assert set(r["overlap"]) == set(realism.FEATURES)
    # the real bar 3 of these tunes joins bars 2 and 4 by steps: no junction leaps
    assert r["real_junction_leap_rate"] == 0.0
    assert r["junction_leap_rate"] <= 1 / 6          # at most one new leap in 3 x 2 junctions
    assert r["distinct"] == 1.0


def test_junctions_are_the_intervals_into_and_out_of_the_bar():
    from st4rt_repl.models.eval_vary import junctions
    from st4rt_repl.tune import Tune
    t = Tune.from_bars([[(60, 2), (64, 2)], [(76, 3), (74, 1)], [(62, 4)]])
    assert junctions(t, 2) == [12, -12]
    assert junctions(t, 1) == [76 - 64]          # no bar before bar 1


def test_eval_interpolate_keeps_the_tune_and_prints_one_json_line(folder, capsys):
    from st4rt_repl.models import eval_interpolate
    assert eval_interpolate.main(["--data", str(folder), "--n", "2", "--candidates", "2",
                                  "--seed", "2"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["n"] == 2 and r["endpoints_exact"] == 1.0
    assert set(r["overlap"]) == set(realism.FEATURES)
    assert 0.0 <= r["junction_leap_rate"] <= 1.0
