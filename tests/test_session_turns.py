"""Every turn of a session through `Session.apply`, with the shipped models (issue 14).

The generative turns are checked against the engine called directly with the
arguments the session must pass (seed, candidates, temperature, profile,
likeness, amount, steps, key): the same seed gives the same candidates, so a
session that passed anything else would put other music on the table.  The other
turns are checked by what a musician sees: bar counts (written and played), keys,
meters, repeat signs, what undo and redo restore, the exact lines shown and what
is saved to disk.  Requests stay small (2 bars, 2 candidates); every seed is fixed.
"""
import json
import os
import shutil
import sys
import time
from fractions import Fraction
from pathlib import Path

import mido
import pytest

from st4rt_repl import engine, playback
from st4rt_repl.commands import Intent, parse
from st4rt_repl.engine import Proposal
from st4rt_repl.formats import parse_abc_text
from st4rt_repl.session import (CommandError, Session, State, list_sessions, sessions_dir)
from st4rt_repl.tune import Key, Tune

sys.path.insert(0, str(Path(__file__).parent))
from tunes import KESH  # noqa: E402

from test_playback import RecordingPort  # noqa: E402  (the in-memory MIDI port)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ST4RT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    playback.stop()


@pytest.fixture(scope="module")
def models():
    """The shipped checkpoints, loaded once for the module (the engine caches them)."""
    from st4rt_repl.models import continuation
    continuation.load()
    engine.vary(scale(), [1], candidates=1, seed=0)
    return True


@pytest.fixture(scope="module")
def profile_file(tmp_path_factory):
    """A real MidiMe profile of the Kesh ('me'), trained with few steps to stay fast."""
    from st4rt_repl.models import midime
    home = tmp_path_factory.mktemp("profile-home")
    folder = home / "mine"
    folder.mkdir()
    (folder / "kesh.abc").write_text(KESH)
    old_home, old_steps = os.environ.get("ST4RT_HOME"), midime.STEPS
    os.environ["ST4RT_HOME"] = str(home / "h")
    midime.STEPS = 20
    try:
        engine.personalize([str(folder)], name="me")
        return midime.profile_path("me")
    finally:
        midime.STEPS = old_steps
        if old_home is None:
            del os.environ["ST4RT_HOME"]
        else:
            os.environ["ST4RT_HOME"] = old_home


def use_profile(profile_file) -> None:
    from st4rt_repl.models import midime
    target = midime.profile_path("me")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(profile_file, target)


def scale(title="Scale") -> Tune:
    """Four full 4/4 bars in D major: D E F# G | A2 B2 | d2 A2 | D4."""
    return Tune.from_bars([[(62, 1), (64, 1), (66, 1), (67, 1)], [(69, 2), (71, 2)],
                           [(74, 2), (69, 2)], [(62, 4)]], key=Key("D", "major"), title=title)


def kesh() -> Tune:
    return parse_abc_text(KESH).tune


def pitches(t: Tune) -> list:
    return [n.pitch for b in t.bars for n in b.notes]


def session(piece: Tune | None = None, seed: int = 7, **settings) -> Session:
    s = Session(seed=seed)
    for k, v in settings.items():
        setattr(s.settings, k, v)
    if piece is not None:
        s.set_piece(piece, "load")
    return s


def do(s: Session, name: str, **args):
    return s.apply(Intent(name, args))


def offer(label: str, seed: int, n: int = 2, few: str = "") -> str:
    return f"{n} candidates ({label}, seed {seed}){few}: 'take N' to accept, 'again' for new ones"


def saved(s: Session) -> dict:
    return json.loads(s.path.read_text(encoding="utf-8"))


# ----- the generative turns ask the engine with the session's settings ---------------------------
def test_continue_passes_seed_temperature_and_candidates(models):
    s = session(scale(), seed=7, temperature=0.6)
    out = do(s, "continue", bars=2, candidates=2)
    want = engine.continue_tune(scale(), 2, candidates=2, seed=7, temperature=0.6)
    assert s.proposals == tuple(want) and len(want) == 2
    assert out.message == offer("continue 2 bars", 7) and out.kind == "proposals" and out.changed
    for p in s.proposals:                      # exactly two new written bars after the four
        assert p.tune.num_bars == 6 and p.changed == (5, 6) and p.tune.bars[:4] == scale().bars
    assert s.piece == scale() and s.state.label == "continue 2 bars"
    assert s.state.request == Intent("continue", {"bars": 2, "candidates": 2})
    assert s.settings.rolls == 1
    d = saved(s)                               # saved at once, the roll and the request too
    assert d["settings"]["rolls"] == 1 and d["history"][-1]["label"] == "continue 2 bars"
    assert d["history"][-1]["request"] == {"intent": "continue", "args": {"bars": 2, "candidates": 2}}


def test_the_settings_candidates_and_temperature_are_the_default(models):
    s = session(scale(), seed=3, temperature=0.5, candidates=3)
    out = do(s, "continue", bars=2)
    assert s.proposals == tuple(engine.continue_tune(scale(), 2, candidates=3, seed=3,
                                                     temperature=0.5))
    assert out.message == offer("continue 2 bars", 3, n=3)
    s.settings.candidates = 2
    do(s, "continue", bars=2, candidates=0)    # 0 means "not said": the setting
    assert len(s.proposals) == 2 and s.settings.rolls == 2


@pytest.mark.parametrize("args,temperature", [
    ({"temperature": 0.4}, 0.4),                           # said in the request
    ({"temperature_scale": 0.5}, 0.3),                     # "calmer": 0.6 * 0.5
    ({"temperature": 2.9, "temperature_scale": 1.25}, 3.0),   # capped at 3
    ({"temperature": 0.06, "temperature_scale": 0.5}, 0.05),  # floored at 0.05
    ({"temperature": 0.6, "temperature_scale": 1.0 / 3}, 0.2),  # rounded to 3 places
])
def test_a_request_temperature_overrides_the_setting(models, args, temperature):
    s = session(scale(), seed=5, temperature=0.6)
    do(s, "continue", bars=2, candidates=2, **args)
    want = engine.continue_tune(scale(), 2, candidates=2, seed=5, temperature=temperature)
    assert s.proposals == tuple(want)


@pytest.mark.parametrize("temperature", [0.05, 3.0])
def test_the_temperature_limits_are_allowed(models, temperature):
    s = session(scale(), seed=5)
    do(s, "generate", bars=1, candidates=1, temperature=temperature)
    assert s.proposals == tuple(engine.generate(1, candidates=1, seed=5, temperature=temperature))


def test_the_profile_and_likeness_reach_every_model(models, profile_file):
    use_profile(profile_file)
    s = session(scale(), seed=9, likeness=0.9, profile="me")
    do(s, "continue", bars=2, candidates=2)
    assert s.proposals == tuple(engine.continue_tune(scale(), 2, candidates=2, seed=9,
                                                     profile="me", likeness=0.9))
    do(s, "vary", bars=[2], candidates=2)
    assert s.proposals == tuple(engine.vary(scale(), [2], candidates=2, seed=10, amount=0.5,
                                            profile="me", likeness=0.9))
    do(s, "generate", bars=2, candidates=2)
    assert s.proposals == tuple(engine.generate(2, candidates=2, seed=11, profile="me",
                                                likeness=0.9))
    do(s, "continue", bars=2, candidates=2, profile=False)      # "without my profile"
    assert s.proposals == tuple(engine.continue_tune(scale(), 2, candidates=2, seed=12,
                                                     likeness=0.9))
    s.settings.profile = None
    do(s, "continue", bars=2, candidates=2, profile="me")       # a profile named in the request
    assert s.proposals == tuple(engine.continue_tune(scale(), 2, candidates=2, seed=13,
                                                     profile="me", likeness=0.9))
    with pytest.raises(CommandError) as e:
        do(s, "continue", bars=2, profile=True)                 # "in my style", none active
    assert str(e.value) == "no profile yet: 'personalize FOLDER' makes one from your tunes"
    s.settings.profile = "me"
    do(s, "generate", bars=2, candidates=2, profile=True)
    assert s.proposals == tuple(engine.generate(2, candidates=2, seed=14, profile="me",
                                                likeness=0.9))


def test_new_part_passes_its_like_and_labels_it(models):
    s = session(scale(), seed=4, temperature=0.7)
    out = do(s, "new_part", bars=2, candidates=2, like="contrast")
    want = engine.new_part(scale(), 2, like="contrast", candidates=2, seed=4, temperature=0.7)
    assert s.proposals == tuple(want)
    assert out.message == offer("new part of 2 bars (contrast)", 4)
    for p in s.proposals:
        new = p.tune.bars[4:]
        assert sum(b.is_full for b in new) == 2 and p.tune.bars[:3] == scale().bars[:3]
    out = do(s, "new_part", bars=2, candidates=2)
    assert s.proposals == tuple(engine.new_part(scale(), 2, candidates=2, seed=5, temperature=0.7))
    assert out.message == offer("new part of 2 bars", 5)


@pytest.mark.parametrize("piece,bars", [
    (scale(), 4),                                                   # 4 bars: at least 4
    (Tune.from_bars([[(62, 4)]] * 3, title="Three"), 4),           # shorter: still 4
    (Tune.from_bars([[(62, 4)]] * 12).with_repeat(1, 6).with_repeat(7, 12), 6),   # part A: 6
    (Tune.from_bars([[(62, 4)]] * 18, title="Long"), 16),          # at most 16
])
def test_a_new_part_is_as_long_as_the_first_part(models, piece, bars):
    s = session(piece, seed=2)
    out = do(s, "new_part", candidates=1)
    assert out.message.startswith(f"1 candidates (new part of {bars} bars, seed 2)")
    assert s.state.request == Intent("new_part", {"bars": bars, "candidates": 1})


def test_vary_passes_the_bars_and_an_amount_from_the_temperature(models):
    s = session(scale(), seed=6, temperature=0.8)
    out = do(s, "vary", bars=[3, -2, 2], candidates=2)          # bar -2 is bar 3
    want = engine.vary(scale(), [2, 3], candidates=2, seed=6, amount=0.4)
    assert s.proposals == tuple(want)
    assert out.message == offer("vary bars 2-3", 6)
    for p in s.proposals:                                        # only bars 2 and 3 are new
        assert p.changed == (2, 3) and p.tune.num_bars == 4
        assert (p.tune.bar(1), p.tune.bar(4)) == (scale().bar(1), scale().bar(4))
    do(s, "vary", bars=[1], candidates=2, amount=0.9)
    assert s.proposals == tuple(engine.vary(scale(), [1], candidates=2, seed=7, amount=0.9))
    s.settings.temperature = 2.5                                   # 0.5 * 2.5 is capped at 1
    out = do(s, "vary", bars=[1, 4], candidates=2)
    assert s.proposals == tuple(engine.vary(scale(), [1, 4], candidates=2, seed=8, amount=1.0))
    assert out.message == offer("vary bars 1, 4", 8)
    s.settings.temperature = 0.06                                  # 0.03 is raised to 0.05
    do(s, "vary", bars=[4], candidates=2)
    assert s.proposals == tuple(engine.vary(scale(), [4], candidates=2, seed=9, amount=0.05))


@pytest.mark.parametrize("amount", [0.0, 1.0])
def test_vary_amount_limits_are_allowed(models, amount):
    s = session(scale(), seed=6)
    do(s, "vary", bars=[2], candidates=1, amount=amount)
    assert s.proposals == tuple(engine.vary(scale(), [2], candidates=1, seed=6, amount=amount))


def test_generate_takes_meter_and_key_from_the_request_or_the_piece(models):
    s = session(None, seed=8)
    out = do(s, "generate", bars=2, candidates=2)          # nothing yet: a reel in D
    assert s.proposals == tuple(engine.generate(2, candidates=2, seed=8))
    assert out.message == offer("generate 2 bars in 4/4, D major", 8)
    assert all(p.tune.num_bars == 2 and p.tune.meter == (4, 4) for p in s.proposals)
    s.set_piece(kesh(), "load")                                # a jig in G: the piece's
    out = do(s, "generate", bars=2, candidates=2)
    assert s.proposals == tuple(engine.generate(2, meter=(6, 8), key=Key("G", "major"),
                                                candidates=2, seed=9))
    assert out.message == offer("generate 2 bars in 6/8, G major", 9)
    out = do(s, "generate", bars=2, candidates=2, meter=[3, 4], key=["A", "dorian"])
    assert s.proposals == tuple(engine.generate(2, meter=(3, 4), key=Key("A", "dorian"),
                                                candidates=2, seed=10))
    assert out.message == offer("generate 2 bars in 3/4, A dorian", 10)
    assert all(p.tune.key == Key("A", "dorian") and p.tune.meter == (3, 4) for p in s.proposals)
    out = do(s, "generate", bars=2, candidates=2, meter="2/4", key="E minor")
    assert out.message == offer("generate 2 bars in 2/4, E minor", 11)
    assert s.piece == kesh()                                    # the piece waits for a take


def test_generate_sixteen_candidates_at_most(models):
    s = session(None, seed=1, candidates=16)
    out = do(s, "generate", bars=1)
    assert len(s.proposals) == 16 and out.message == offer("generate 1 bars in 4/4, D major", 1, 16)
    with pytest.raises(CommandError) as e:
        do(s, "generate", bars=1, candidates=17)
    assert str(e.value) == "candidates: use 1..16"
    s.settings.candidates = 1
    do(s, "generate", bars=1)
    assert len(s.proposals) == 1


def test_interpolate_passes_the_bars_and_steps(models):
    s = session(scale(), seed=12)
    out = do(s, "interpolate", **{"from": 1, "to": -2, "candidates": 2})   # -2 is bar 3
    assert s.proposals == tuple(engine.interpolate(scale(), 1, 3, steps=3, candidates=2, seed=12))
    assert out.message == offer("interpolate bar 1 to bar 3", 12)
    assert s.state.request == Intent("interpolate", {"from": 1, "to": -2, "candidates": 2})
    do(s, "interpolate", **{"from": 2, "to": 4, "steps": 1, "candidates": 2})
    assert s.proposals == tuple(engine.interpolate(scale(), 2, 4, steps=1, candidates=2, seed=13))
    for p in s.proposals:                  # the bridge goes after the 2-bar window at bar 2
        assert p.tune.bars[:3] == scale().bars[:3] and p.changed[0] == 4
    with pytest.raises(CommandError) as e:
        do(s, "interpolate", **{"from": 4, "to": -1})
    assert str(e.value) == "interpolate needs two different bars"


def test_again_rolls_the_same_request_with_the_next_seed(models):
    s = session(scale(), seed=20)
    with pytest.raises(CommandError) as e:
        do(s, "again")
    assert str(e.value) == ("nothing to roll again: ask for continue, vary, generate or "
                            "interpolate first")
    do(s, "vary", bars=[2], candidates=2)
    first = s.proposals
    out = do(s, "again")
    assert out.message == offer("vary bar 2", 21) and s.proposals != first
    assert s.proposals == tuple(engine.vary(scale(), [2], candidates=2, seed=21, amount=0.5))
    assert s.state.request == Intent("vary", {"bars": [2], "candidates": 2})
    # a request saved without its bar count (hand-made) continues by 8 bars
    s.push_proposals(s.proposals, Intent("continue", {"candidates": 1}), "continue")
    out = do(s, "again")
    assert out.message.startswith("1 candidates (continue 8 bars, seed 22)")
    assert s.proposals[0].tune.num_bars == 12


def test_fewer_distinct_candidates_are_said(models):
    s = session(scale(), seed=7, temperature=0.05)
    out = do(s, "continue", bars=1, candidates=4)
    n = len(s.proposals)
    assert n < 4 and len({p.tune.bar(5).notes for p in s.proposals}) == n
    assert out.message == offer("continue 1 bars", 7, n,
                                f"; only {n} distinct (the model found no more)")


def test_continue_in_another_key_moves_the_new_bars_the_nearest_way(models):
    piece = scale()
    s = session(piece, seed=14)
    want = engine.continue_tune(piece, 2, candidates=2, seed=14)
    out = do(s, "continue", bars=2, candidates=2, key="A major")      # D -> A: down a fourth
    assert out.message == offer("continue 2 bars in A major", 14)
    for p, q in zip(s.proposals, want, strict=True):
        assert p.tune.bars[:4] == piece.bars[:4] and p.changed == q.changed
        assert p.tune.bar(5).key == Key("A", "major") and p.tune.bar(6).key is None
        assert pitches(p.tune)[len(pitches(piece)):] == [x - 5 for x in pitches(q.tune)[len(pitches(piece)):]]
    do(s, "continue", bars=2, candidates=2, key=["E", "major"])       # D -> E: up a tone
    want = engine.continue_tune(piece, 2, candidates=2, seed=15)
    for p, q in zip(s.proposals, want, strict=True):
        assert pitches(p.tune)[len(pitches(piece)):] == [x + 2 for x in pitches(q.tune)[len(pitches(piece)):]]
    do(s, "continue", bars=2, candidates=2, key="D major")           # the same key: as is
    assert s.proposals == tuple(engine.continue_tune(piece, 2, candidates=2, seed=16))
    assert s.state.label == "continue 2 bars"
    with pytest.raises(CommandError) as e:
        do(s, "continue", bars=2, key="B minor")
    assert str(e.value) == ("continuing in B minor from D major is not possible yet (the mode "
                            "changes); 'transpose to ...' moves the whole piece")


def test_continue_in_the_key_the_piece_ends_in(models):
    """The key that counts is the one in force in the last bar, not the header's."""
    piece = kesh().with_bar(8, key=Key("D", "major"))      # the short last bar turns to D
    s = session(piece, seed=3)
    out = do(s, "continue", bars=2, candidates=1, key="D major")
    assert out.message == offer("continue 2 bars", 3, n=1)
    assert s.proposals == tuple(engine.continue_tune(piece, 2, candidates=1, seed=3))
    out = do(s, "continue", bars=2, candidates=1, key="G major")     # D -> G: up a fourth
    want = engine.continue_tune(piece, 2, candidates=1, seed=4)[0]
    got = s.proposals[0].tune
    first = len(piece.bars)
    assert out.message == offer("continue 2 bars in G major", 4, n=1)
    assert got.bars[first].key == Key("G", "major")
    assert got.bars[:first - 1] == piece.bars[:-1]          # (the model may close the short last bar)
    assert [n.pitch for b in got.bars[first:] for n in b.notes] == \
        [n.pitch + 5 if n.pitch is not None else None for b in want.tune.bars[first:] for n in b.notes]


def test_continue_keeps_the_meter(models):
    s = session(kesh(), seed=3)
    with pytest.raises(CommandError) as e:
        do(s, "continue", bars=2, meter="3/4")
    assert str(e.value) == ("continue keeps the piece's meter 6/8; for a tune in another meter: "
                            "'generate 8 bars in 3/4'")
    with pytest.raises(CommandError) as e:
        do(s, "new_part", bars=2, meter=[2, 4])
    assert str(e.value) == ("new part keeps the piece's meter 6/8; for a tune in another meter: "
                            "'generate 8 bars in 2/4'")
    out = do(s, "continue", bars=2, candidates=1, meter="6/8")         # its own meter is fine
    assert out.message == offer("continue 2 bars", 3, n=1)


@pytest.mark.parametrize("intent,message", [
    (Intent("continue", {"bars": 2, "candidates": 17}), "candidates: use 1..16"),
    (Intent("continue", {"bars": 2, "temperature": 3.5}),
     "temperature 3.5 is out of range: use 0.05..3"),
    (Intent("vary", {"bars": [1], "temperature": 0.04}),
     "temperature 0.04 is out of range: use 0.05..3"),
    (Intent("vary", {"bars": [1], "amount": 1.5}), "amount 1.5 is out of range: use 0..1"),
    (Intent("vary", {"bars": [1], "amount": -0.1}), "amount -0.1 is out of range: use 0..1"),
    (Intent("continue", {"bars": 0}), "continue: bars must be 1..256 (asked for 0)"),
    (Intent("new_part", {"bars": 257}), "new part: bars must be 1..256 (asked for 257)"),
    (Intent("vary", {"bars": [9]}), "bar 9 does not exist: the tune has 4 bars"),
    (Intent("new_part", {"bars": 2, "key": "E minor"}),
     "continuing in E minor from D major is not possible yet (the mode changes); "
     "'transpose to ...' moves the whole piece"),
])
def test_bad_requests_are_one_exact_line_and_change_nothing(models, intent, message):
    s = session(scale())
    before = (s.index, len(s.history), s.settings.rolls, s.path.read_text())
    with pytest.raises(CommandError) as e:
        s.apply(intent)
    assert str(e.value) == message
    assert (s.index, len(s.history), s.settings.rolls, s.path.read_text()) == before


@pytest.mark.parametrize("intent,what", [
    (Intent("continue", {"bars": 2}), "continue"),
    (Intent("new_part", {"bars": 2}), "add a part to"),
    (Intent("vary", {"bars": [1]}), "vary"),
    (Intent("interpolate", {"from": 1, "to": 2}), "interpolate"),
    (Intent("again", {}), None),
])
def test_turns_on_the_piece_need_a_piece(intent, what):
    s = session(None)
    if what is None:            # again with a request but no piece: the request's own words
        s.push_proposals((), Intent("new_part", {"bars": 2}), "x")
        what = "new part"
    with pytest.raises(CommandError) as e:
        s.apply(intent)
    assert str(e.value) == (f"nothing to {what} yet: paste or load a tune first "
                            "(or 'generate 8 bars')")
