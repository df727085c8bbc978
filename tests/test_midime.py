"""MidiMe profiles: train, save, load, score, and steer generation and variation."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from st4rt_repl.formats import save
from st4rt_repl.models import midime
from st4rt_repl.models import music_vae as mv
from st4rt_repl.models import variation
from st4rt_repl.tune import Key, Tune, TuneError

TINY = dict(embed=16, enc_hidden=32, dec_hidden=48, z_dim=16, cond_embed=4, pos_embed=8,
            dropout=0.0)


def _scale_tune(start: int, step: int, title: str) -> Tune:
    """8 bars of 3/4 walking `step` semitones from `start` (folded into an octave)."""
    bars, p = [], start
    for _ in range(8):
        notes = []
        for _ in range(3):
            notes.append((start + (p - start) % 12, 1))
            p += step
        bars.append(notes)
    return Tune.from_bars(bars, meter=(3, 4), key=Key("G", "major"), title=title)


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ST4RT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(midime, "STEPS", 100)       # keep the test fast; 300 in use
    torch.set_num_threads(1)
    torch.manual_seed(0)
    variation.set_model(mv.MusicVAE(mv.VAEConfig(**TINY)))
    yield tmp_path
    variation.set_model(None)


def _write(folder: Path, tunes) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, t in enumerate(tunes):
        p = folder / f"t{i}.abc"
        save(t, p)
        out.append(str(p))
    return out


def test_profile_from_a_single_tune_saves_and_loads(home):
    files = _write(home / "user", [_scale_tune(67, 2, "Steps")])
    summary = midime.personalize(files, name="solo")
    assert "1 tunes" in summary and "7 phrases" in summary
    path = midime.profile_path("solo")
    assert path.exists() and str(path).startswith(str(home / "home"))
    prof = midime.load_profile("solo")
    assert prof.sample(5, torch.Generator().manual_seed(0)).shape == (5, 16)


def test_profile_changes_output_and_seeds_repeat(home):
    files = _write(home / "user", [_scale_tune(67, 7, "Fifths"), _scale_tune(62, 5, "Fourths")])
    midime.personalize(files, name="me")
    plain = variation.generate_tunes(4, meter=(3, 4), candidates=3, seed=4)
    mine = variation.generate_tunes(4, meter=(3, 4), candidates=3, seed=4, profile="me",
                                    likeness=1.0)
    again = variation.generate_tunes(4, meter=(3, 4), candidates=3, seed=4, profile="me",
                                     likeness=1.0)
    assert mine == again and mine != plain
    tune = _scale_tune(67, 2, "Steps")
    v0 = variation.vary_bars(tune, [3], candidates=2, seed=1, amount=1.0)
    v1 = variation.vary_bars(tune, [3], candidates=2, seed=1, amount=1.0, profile="me",
                             likeness=1.0)
    assert v0 != v1
    for t in v1:
        assert t.bars[:2] == tune.bars[:2] and t.bars[3:] == tune.bars[3:]


def test_score_prefers_the_users_own_tunes(home):
    users = [_scale_tune(67, 2, "A"), _scale_tune(69, 2, "B"), _scale_tune(71, 2, "C")]
    midime.personalize(_write(home / "user", users), name="steps")
    other = Tune.from_bars([[(48, 2), (84, 1)], [(None, 3)]] * 4, meter=(3, 4), key=Key("G", "major"))
    scores = midime.score_tunes("steps", users[:1] + [other])
    assert len(scores) == 2 and scores[0] > scores[1]


def test_errors_are_one_line(home):
    with pytest.raises(TuneError, match="no profile named 'ghost'"):
        midime.load_profile("ghost")
    with pytest.raises(TuneError, match="bad profile name"):
        midime.personalize(["x.abc"], name="../evil")
    short = Tune.from_bars([[(60, 3)]], meter=(3, 4))
    with pytest.raises(TuneError, match="no 2-bar phrase"):
        midime.personalize(_write(home / "u2", [short]), name="short")


def _jig(start: int, title: str) -> Tune:
    """8 bars of 6/8 eighths arpeggiating from `start`."""
    bars = [[(start + (i % 3) * 4, '1/2') for i in range(6)] for _ in range(8)]
    return Tune.from_bars(bars, meter=(6, 8), key=Key("G", "major"), title=title)


def test_a_mixed_tunebook_gets_a_profile_per_meter(home, monkeypatch):
    monkeypatch.setattr(midime, "MIN_CODES", 10)
    waltzes = [_scale_tune(67, 2, "W1"), _scale_tune(69, 2, "W2")]      # 3/4: 7 phrases each
    jigs = [_jig(67, "J1"), _jig(62, "J2")]                            # 6/8: 7 phrases each
    summary = midime.personalize(_write(home / "user", waltzes + jigs), name="mix")
    assert "28 phrases" in summary
    assert midime.profile_meters("mix") == ["3/4", "6/8"]
    assert midime.load_profile("mix", (3, 4)) is not midime.load_profile("mix", (6, 8))
    # a meter the user never played falls back to the profile over all phrases
    assert midime.load_profile("mix", (9, 8)) is midime.load_profile("mix")
    # the 6/8 profile samples from its own phrases' aggregate posterior: its codes are
    # the jigs' (14), so samples sit nearer the jigs' codes than the waltzes'
    jig_model = midime.load_profile("mix", (6, 8))
    assert len(jig_model.codes) == 14
    z = jig_model.sample(64, torch.Generator().manual_seed(0))
    waltz_codes = midime.load_profile("mix", (3, 4)).codes
    assert torch.cdist(z, jig_model.codes).min(1).values.mean() < \
        torch.cdist(z, waltz_codes).min(1).values.mean()


def test_round_1_profile_files_still_load(home):
    m = midime.fit(torch.randn(20, 16), steps=5)
    path = midime.profile_path("old")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": m.state_dict(), "config": {"z_dim": 16, "latent": 4,
                                                         "hidden": [256, 64]}, "summary": {}}, path)
    old = midime.load_profile("old", (6, 8))
    assert old.codes is None and old.sample(3).shape == (3, 16)


def test_eval_personalize_splits_each_meter_and_prints_one_json_line(home, capsys):
    import json
    from st4rt_repl.models import eval_personalize
    tunes = [_scale_tune(67, 2, "W1"), _scale_tune(69, 2, "W2"), _jig(67, "J1"), _jig(62, "J2")]
    _write(home / "book", tunes)
    assert eval_personalize.main(["--tunes", str(home / "book"), "--phrases", "8",
                                  "--tunes-generated", "2", "--seed", "1"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # one waltz and one jig on each side: the profile half holds both tune types
    assert (r["profile_tunes"], r["heldout_tunes"]) == (2, 2)
    assert r["meters"] == {"3/4": 2, "6/8": 2}
    for m in ("vae", "generate"):
        assert r[m]["distance_without_profile"] > 0 and r[m]["moved"] >= 0
        assert r[m]["samples"] >= 2
        to_prof = r[m]["to_profile_half"]
        assert to_prof["reduction"] == pytest.approx(1 - to_prof["with"] / to_prof["without"], abs=1e-3)
    assert 0 < r["halves_distance"] < 1     # two different scale tunes and jigs on each side


def test_split_by_meter_keeps_every_type_on_both_sides():
    from st4rt_repl.models.eval_personalize import split_by_meter
    loaded = [(f"w{i}", _scale_tune(60 + i, 2, f"W{i}")) for i in range(5)] + \
             [(f"j{i}", _jig(60 + i, f"J{i}")) for i in range(4)]
    prof, held = split_by_meter(loaded, seed=3)
    assert sorted(t.meter for _, t in prof) == [(3, 4)] * 2 + [(6, 8)] * 2
    assert sorted(t.meter for _, t in held) == [(3, 4)] * 3 + [(6, 8)] * 2
    assert split_by_meter(loaded, seed=3) == (prof, held)


def test_generate_with_a_profile_opens_with_a_profile_phrase_and_the_rnn_goes_on(home):
    from st4rt_repl.models import generation
    files = _write(home / "user", [_scale_tune(67, 7, "Fifths"), _scale_tune(62, 5, "Fourths")])
    midime.personalize(files, name="me")
    tunes = generation.generate((3, 4), Key("G"), 8, 3, seed=4, profile="me", likeness=1.0)
    openings = generation.vae_phrase_tunes((3, 4), Key("G"), 2, 3, 4, profile="me", likeness=1.0)
    notes = [[tuple((n.pitch, n.duration) for n in b.notes) for b in t.bars] for t in tunes]
    assert len(tunes) == 3 and len(set(map(tuple, notes))) == 3
    for t, o, ns in zip(tunes, openings, notes):
        assert t.num_bars == 8 and all(b.is_full for b in t.bars) and t.key == Key("G")
        assert ns[:2] == [tuple((n.pitch, n.duration) for n in b.notes) for b in o.bars]
    assert tunes == generation.generate((3, 4), Key("G"), 8, 3, seed=4, profile="me", likeness=1.0)


def test_eval_personalize_baseline_posterior_draws_the_shipped_mixture(tmp_path, monkeypatch, capsys):
    """--baseline posterior: the side without a profile decodes codes from the shipped
    checkpoint's aggregate posterior (the shipped weights), not N(0, I)."""
    import json
    from st4rt_repl.models import eval_personalize
    monkeypatch.setenv("ST4RT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(midime, "STEPS", 100)
    variation.set_model(None)
    _write(tmp_path / "book", [_scale_tune(67, 2, "W1"), _scale_tune(69, 2, "W2"), _jig(67, "J1"), _jig(62, "J2")])
    runs = {}
    for b in ("prior", "posterior"):
        assert eval_personalize.main(["--tunes", str(tmp_path / "book"), "--phrases", "8", "--methods", "vae",
                                      "--seed", "1", "--baseline", b]) == 0
        runs[b] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [runs[b]["baseline"] for b in runs] == ["prior", "posterior"]
    assert runs["prior"]["vae"]["distance_with_profile"] == runs["posterior"]["vae"]["distance_with_profile"]
    assert runs["prior"]["vae"]["distance_without_profile"] != runs["posterior"]["vae"]["distance_without_profile"]
