"""engine: distinct candidates, meters and keys in musicians' words, shared limits, loading."""
import sys
import subprocess

import pytest

from st4rt_repl import engine
from st4rt_repl.engine import Proposal, distinct
from st4rt_repl.formats import parse_abc_text
from st4rt_repl.tune import Key, Tune, TuneError

from tunes import KESH  # noqa: E402


def _tune(p: int) -> Tune:
    return Tune.from_bars([[(60, 4)], [(p, 4)]])


def test_distinct_drops_repeats_and_samples_again_with_other_seeds():
    asked = []

    def sample(n, seed):          # a sampler whose second bar depends on the seed only mod 3
        asked.append((n, seed))
        return [Proposal(_tune(60 + (seed + i) % 3), (2,)) for i in range(n)]
    got = distinct(sample, 4, seed=10)
    assert len(got) == 3 and len({p.tune.bars[1].notes for p in got}) == 3   # only 3 exist
    assert asked == [(4, 10), (4, 10 + 7919), (4, 10 + 2 * 7919)]           # 2 more rounds, then stop
    asked.clear()
    assert len(distinct(sample, 2, seed=0)) == 2 and asked == [(2, 0)]       # no extra round needed


def test_a_turn_with_fewer_distinct_candidates_says_so(tmp_path, monkeypatch):
    from st4rt_repl.commands import Intent
    from st4rt_repl.session import Session
    monkeypatch.setenv("ST4RT_HOME", str(tmp_path))
    one_note = Tune.from_bars([[(62, 4)], [(62, 4)], [(62, 4)]], key=Key("D"), title="Drone")
    s = Session(seed=0)
    s.set_piece(one_note, "load")
    s.settings.candidates = 16
    out = s.apply(Intent("vary", {"bars": [2], "amount": 0.0}))
    n = len(s.proposals)
    assert len({p.tune.bar(2).notes for p in s.proposals}) == n
    if n < 16:
        assert f"only {n} distinct (the model found no more)" in out.message
    else:
        assert "only" not in out.message


@pytest.mark.parametrize("text,meter", [("C", (4, 4)), ("C|", (2, 2)), ("6/8", (6, 8)), (" 9 / 8 ", (9, 8))])
def test_meters(text, meter):
    assert engine.parse_meter(text) == meter


@pytest.mark.parametrize("text,key", [
    ("Em", Key("E", "minor")), ("F#m", Key("F#", "minor")), ("E minor", Key("E", "minor")),
    ("Dmix", Key("D", "mixolydian")), ("A dorian", Key("A", "dorian")), ("Ador", Key("A", "dorian")),
    ("Bb", Key("Bb", "major")), ("bb", Key("Bb", "major")), ("G major", Key("G", "major")),
    ("key of D", Key("D", "major")), ("E♭ lydian", Key("Eb", "lydian")), ("C#aeolian", Key("C#", "minor")),
])
def test_keys_as_musicians_write_them(text, key):
    assert engine.parse_key(text) == key


@pytest.mark.parametrize("text", ["H", "Emq", "99", "", "E blues"])
def test_bad_keys_list_the_forms(text):
    with pytest.raises(TuneError, match="e.g. D, Em, F#m, Bb, E minor, A dorian, Dmix"):
        engine.parse_key(text)


def test_limits_and_meters_are_checked_before_any_model():
    kesh = parse_abc_text(KESH).tune
    for call, msg in [
        (lambda: engine.continue_tune(kesh, 100000), "bars must be 1..256"),
        (lambda: engine.continue_tune(kesh, 4, beam=0), "beam must be 1..16"),
        (lambda: engine.generate(100000), "bars must be 1..256"),
        (lambda: engine.generate(8, meter=(99, 8)), "meter 99/8 is not supported; supported: "),
        (lambda: engine.interpolate(kesh, 1, 5, steps=500), "steps must be 1..16"),
        (lambda: engine.interpolate(kesh, 0, 5), "from bar 0 does not exist: interpolate takes two bars of 1..8"),
        (lambda: engine.vary(kesh, [3], candidates=17), "candidates must be 1..16"),
    ]:
        with pytest.raises(TuneError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            call()


def test_no_import_circles_between_config_and_playback():
    code = ("import sys; import st4rt_repl.config; "
            "assert 'st4rt_repl.playback' not in sys.modules, 'config imports playback'")
    subprocess.run([sys.executable, "-c", code], check=True)
