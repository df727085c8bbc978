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
