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
from st4rt_repl.formats.abc_out import to_abc
from st4rt_repl.models import continuation, variation  # noqa: F401  (torch, once, at collection)
from st4rt_repl.session import (CommandError, Session, State, list_sessions, sessions_dir)
from st4rt_repl.tune import Key, Tune

sys.path.insert(0, str(Path(__file__).parent))
from tunes import KESH  # noqa: E402

from test_playback import RecordingPort  # noqa: E402  (the in-memory MIDI port)


@pytest.fixture(autouse=True)
def home(home):
    """tests/conftest.py's home, and no sound left playing after the test."""
    yield home
    playback.stop()


@pytest.fixture(scope="module")
def models():
    """The shipped checkpoints, loaded once for the module (the engine caches them)."""
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


def do(s: Session, intent: str, /, **args):
    return s.apply(Intent(intent, args))


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


def test_more_like_a_after_a_new_part_asks_again_steered_and_keeps_the_piece(models):
    """What a musician says on seeing a B part: "more like A" / "more different" (these went
    to continue 4 bars before), a new set of proposals after the same first part."""
    s = session(scale(), seed=4, temperature=0.7)
    do(s, "new_part", candidates=2)
    for said, like, seed in (("more like A", "similar", 5), ("more different", "contrast", 6)):
        out = s.apply(parse(said))
        assert s.proposals == tuple(engine.new_part(scale(), 4, like=like, candidates=4, seed=seed,
                                                    temperature=0.7))                # the default K
        assert out.message == offer(f"new part of 4 bars ({like})", seed, n=4)
        assert s.piece.num_bars == 4                          # nothing taken: the piece is the A part


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
        assert p.tune.bar(5).key == p.tune.bar(6).key == Key("A", "major")    # both in A
        abc = to_abc(p.tune)                     # written: one key change, and it holds
        assert abc.count("[K:") == 1 and "[K:A]" in abc
        assert parse_abc_text(abc).tune.key_at(6) == Key("A", "major")
        new = pitches(q.tune)[len(pitches(piece)):]
        assert pitches(p.tune)[len(pitches(piece)):] == [x if x is None else x - 5 for x in new]   # rests stay
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
    assert all(b.key == Key("G", "major") for b in got.bars[first:])
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
    # the meter that counts is the last bar's
    s.set_piece(Tune.from_bars([[(62, 4)], [(66, 4)], [(64, 2)]], title="Mixed").with_bar(3, meter=(2, 4)),
                "load")
    out = do(s, "continue", bars=1, candidates=1, meter="2/4")
    assert out.message == offer("continue 1 bars", 4, n=1)
    with pytest.raises(CommandError) as e:
        do(s, "continue", bars=1, meter="4/4")
    assert str(e.value) == ("continue keeps the piece's meter 2/4; for a tune in another meter: "
                            "'generate 8 bars in 4/4'")
    s.set_piece(Tune.from_bars([[(62, 3)], [(66, 3)], [(64, 3)]], meter=(3, 4)).with_bar(3, meter=(6, 8)),
                "load")
    with pytest.raises(CommandError) as e:
        do(s, "continue", bars=1, meter="3/4")
    assert str(e.value) == ("continue keeps the piece's meter 6/8; for a tune in another meter: "
                            "'generate 8 bars in 3/4'")


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


# ----- choosing: take, reject, undo, redo ---------------------------------------------------
def table(s: Session, piece: Tune, k: int = 2) -> tuple:
    """k hand-made continuations of `piece` (bar 1 again, bar 2 again, ...) on the table."""
    props = tuple(Proposal(piece.append_bars([piece.bar(i + 1)]), (piece.num_bars + 1,))
                  for i in range(k))
    s.push_proposals(props, Intent("continue", {"bars": 1}), "continue 1 bars")
    return props


def test_take_reject_and_the_candidate_numbers():
    s = session(scale())
    with pytest.raises(CommandError) as e:
        do(s, "accept")
    assert str(e.value) == "no candidates on the table to keep: try 'continue 8 bars'"
    with pytest.raises(CommandError) as e:
        do(s, "accept", candidate=1)
    assert str(e.value) == "no candidates on the table: try 'continue 8 bars' or 'vary bar 3'"
    with pytest.raises(CommandError) as e:
        do(s, "reject")
    assert str(e.value) == "no candidates to reject"
    props = table(s, scale(), 3)
    for k in (4, 0, -4):
        with pytest.raises(CommandError) as e:
            do(s, "accept", candidate=k)
        assert str(e.value) == f"there is no candidate {k}: choose 1 to 3"
    out = do(s, "accept", candidate=-1)                      # the last one
    assert out.message == "accepted candidate 3: the piece now has 5 bars" and out.kind == "piece"
    assert s.piece == props[2].tune and s.proposals == () and s.state.label == "accept 3"
    assert s.state.request is None
    do(s, "undo")
    out = do(s, "accept")                                    # "yes": the first one
    assert out.message == "accepted candidate 1: the piece now has 5 bars" and s.piece == props[0].tune
    do(s, "undo")
    out = do(s, "reject")
    assert out.message == "rejected 3 candidates ('again' rolls new ones)" and out.changed
    assert s.proposals == () and s.piece == scale() and s.state.label == "reject"
    assert s.state.request == Intent("continue", {"bars": 1})
    assert saved(s)["history"][-1] == {"piece": 0, "proposals": [], "label": "reject",
                                       "request": {"intent": "continue", "args": {"bars": 1}}}


def test_undo_and_redo_say_what_they_undid_and_redid():
    s = session(scale())
    with pytest.raises(CommandError) as e:
        Session(seed=1).apply(Intent("undo", {}))
    assert str(e.value) == "nothing to undo"
    do(s, "transpose", semitones=2)
    do(s, "tempo", bpm=90)
    table(s, s.piece)
    out = do(s, "undo")
    assert out.message == "undid 'continue 1 bars'" and out.kind == "piece"
    assert s.proposals == () and s.piece.tempo == 90 and s.index == 3
    out = do(s, "undo", count=0)                          # at least one
    assert out.message == "undid 'tempo 90'" and s.index == 2
    out = do(s, "redo", count=0)
    assert out.message == "redid 'tempo 90'" and out.kind == "piece" and s.piece.tempo == 90
    out = do(s, "undo", count=5)
    assert out.message == "undid 'tempo 90', 'transpose +2', 'load' (only 3 turns to undo)"
    assert s.index == 0 and s.piece is None and saved(s)["index"] == 0
    out = do(s, "redo", count=2)
    assert out.message == "redid 'load', 'transpose +2'" and s.piece == scale().transpose(2)
    assert saved(s)["index"] == 2
    out = do(s, "redo", count=3)
    assert out.message == "redid 'tempo 90', 'continue 1 bars' (only 2 turns to redo)"
    assert out.kind == "proposals" and len(s.proposals) == 2
    out = do(s, "undo", count=2)
    assert out.message == "undid 'continue 1 bars', 'tempo 90'" and s.index == 2
    assert out.kind == "piece"
    do(s, "redo")
    out = do(s, "redo")
    assert out.kind == "proposals"
    with pytest.raises(CommandError) as e:
        do(s, "redo")
    assert str(e.value) == "nothing to redo"
    out = do(s, "undo", count=1)
    assert out.message == "undid 'continue 1 bars'"
    do(s, "redo")
    do(s, "accept", candidate=1)
    out = do(s, "undo")                                    # back to the table
    assert out.message == "undid 'accept 1'" and out.kind == "proposals"


def test_history_keeps_the_last_200_turns():
    s = Session(seed=1, autosave=False)
    s.set_piece(scale(), "load")
    for k in range(210):
        s.push(State(scale(), (), None, f"turn {k}"))
    assert len(s.history) == 200 and s.index == 199
    assert s.history[0].label == "turn 10" and s.state.label == "turn 209"
    s.index = 150
    s.push(State(None, (), None, "new"))                   # the redo branch goes
    assert len(s.history) == 152 and s.index == 151 and not s.can_redo() and s.can_undo()
    assert not (sessions_dir() / f"{s.name}.json").exists()          # autosave off: no file


# ----- the written form and the piece's settings ------------------------------------------------
def test_repeat_unfold_and_fold_messages():
    s = session(scale())
    table(s, scale())
    out = do(s, "repeat", bars=[2, 1])
    assert out.message == "bars 1-2 are now between repeat signs: 4 bars, 6 played"
    assert out.kind == "piece" and s.state.label == "repeat bars 1-2"
    assert s.piece.bar(1).repeat_start and s.piece.bar(2).barline == ":|"
    assert all(p.tune.bar(1).repeat_start and p.tune.bar(2).barline == ":|" for p in s.proposals)
    do(s, "undo")
    out = do(s, "repeat", bars=[3, 1, 2])
    assert out.message == "bars 1-3 are now between repeat signs: 4 bars, 7 played"
    assert s.state.label == "repeat bars 1-3" and s.piece.bar(3).barline == ":|"
    do(s, "undo")
    do(s, "repeat", bars=[2, 1])
    out = do(s, "unfold")
    assert out.message == "unfolded: the repeats are written out (6 bars)" and out.kind == "piece"
    assert s.piece.num_bars == 6 and not s.piece.has_form and s.proposals == ()
    assert s.state.label == "unfold"
    assert do(s, "unfold").message == "nothing to unfold: the piece has no repeats or parts"
    assert do(s, "fold").message == "nothing to fold: no section is repeated note for note"
    a = [[(60 + k, 2)] for k in range(4)]
    b = [[(67 + k, 2)] for k in range(4)]
    s.set_piece(Tune.from_bars(a + a + b + b, meter=(2, 4), title="AABB"), "load")
    table(s, s.piece)
    out = do(s, "fold")
    assert out.message == "folded: repeated sections are written as repeats (8 bars, 16 played)"
    assert out.kind == "piece" and s.state.label == "fold" and s.piece.num_played_bars == 16
    assert s.proposals == ()
    for name in ("repeat", "unfold", "fold", "transpose", "play"):
        with pytest.raises(CommandError) as e:
            Session(seed=1).apply(Intent(name, {"bars": [1]} if name == "repeat" else {}))
        assert str(e.value) == (f"nothing to {name} yet: paste or load a tune first "
                                "(or 'generate 8 bars')")


def test_change_the_meter():
    s = session(scale())
    out = do(s, "meter", meter="4/4")
    assert out.message == "the piece is already in 4/4" and not out.changed
    out = do(s, "meter", meter=[2, 4])
    assert out.message == "re-barred in 2/4: 8 bars" and out.kind == "piece"
    assert s.piece.meter == (2, 4) and s.state.label == "meter 2/4"
    assert s.piece.sounding() == scale().sounding() and all(b.meter == (2, 4) for b in s.piece.bars)
    # a pickup stays a pickup: the Kesh's one quaver, then 6/8 bars as 3/4 bars
    s.set_piece(kesh(), "load")
    assert do(s, "meter", meter="6/8").message == "the piece is already in 6/8"
    out = do(s, "meter", meter="3/4")
    assert s.piece.pickup and s.piece.bars[0].notes == kesh().bars[0].notes
    assert s.piece.sounding() == kesh().sounding() and s.piece.meter == (3, 4)
    assert out.message == f"re-barred in 3/4: {s.piece.num_bars} bars + pickup"
    # a half-bar pickup in 4/4 is a whole bar of 2/4
    s.set_piece(Tune.from_bars([[(60, 1), (62, 1)], [(64, 4)], [(65, 4)]], pickup=True), "load")
    out = do(s, "meter", meter="2/4")
    assert out.message == "re-barred in 2/4: 5 bars" and not s.piece.pickup
    # a piece in 4/4 with one bar in 2/4 is not all in 4/4
    mixed = Tune.from_bars([[(62, 4)], [(64, 2)]]).with_bar(2, meter=(2, 4))
    s.set_piece(mixed, "load")
    out = do(s, "meter", meter="4/4")
    assert out.message.startswith("re-barred in 4/4") and s.piece.bar(2).meter == (4, 4)
    s.set_piece(scale().with_repeat(1, 2), "load")
    with pytest.raises(CommandError) as e:
        do(s, "meter", meter="3/4")
    assert str(e.value) == "the piece has repeats or parts: 'unfold' it first, then change the meter"
    with pytest.raises(CommandError) as e:
        Session(seed=1).apply(Intent("meter", {"meter": "3/4"}))
    assert str(e.value).startswith("nothing to change the meter of yet")


@pytest.mark.parametrize("start,direction,bpm", [
    (120, "up", 132), (120, "down", 109), (390, "up", 400), (21, "down", 20), (400, "up", 400),
    (4, "up", 20), (5, "down", 20),           # too slow to step by 10 %: the floor
])
def test_faster_and_slower(start, direction, bpm):
    s = session(scale().with_(tempo=start))
    out = do(s, "tempo_step", direction=direction)
    assert s.piece.tempo == bpm and out.message == f"tempo is now {bpm} bpm"


def test_tempo_and_title_edit_the_piece_and_the_table():
    s = session(scale())
    table(s, scale())
    for bpm in (19, 401):
        with pytest.raises(CommandError) as e:
            do(s, "tempo", bpm=bpm)
        assert str(e.value) == f"tempo {bpm} is out of range: use 20..400 bpm"
    for bpm in (20, 400):
        assert do(s, "tempo", bpm=bpm).message == f"tempo is now {bpm} bpm"
        assert s.piece.tempo == bpm and all(p.tune.tempo == bpm for p in s.proposals)
    assert s.state.label == "tempo 400" and s.state.request == Intent("continue", {"bars": 1})
    out = do(s, "title", text="  The   Morning\tDew ")
    assert out.message == "title is now 'The Morning Dew'" and s.state.label == "title"
    assert s.piece.title == "The Morning Dew" and all(p.tune.title == "The Morning Dew" for p in s.proposals)
    do(s, "undo")
    assert s.piece.title == "Scale" and len(s.proposals) == 2
    with pytest.raises(CommandError) as e:
        Session(seed=1).apply(Intent("title", {"text": "x"}))
    assert str(e.value).startswith("nothing to name yet: paste or load")
    for intent in (Intent("tempo", {"bpm": 90}), Intent("tempo_step", {"direction": "up"})):
        with pytest.raises(CommandError) as e:
            Session(seed=1).apply(intent)
        assert str(e.value).startswith("nothing to " + ("set" if intent.name == "tempo" else "change")
                                       + " the tempo of yet")


@pytest.mark.parametrize("args,message,shift", [
    ({"semitones": 1}, "transposed up 1 semitone: now Eb major", 1),
    ({"semitones": -1}, "transposed down 1 semitone: now Db major", -1),
    ({"semitones": -12}, "transposed down 12 semitones: now D major", -12),
    ({"key": "G"}, "transposed up 5 semitones: now G major", 5),
    ({"key": "A minor"}, "transposed down 5 semitones: now A major", -5),   # the tonic only
    ({"key": "G#"}, "transposed down 6 semitones: now Ab major", -6),       # a tritone: down
    ({"semitones": 53}, "transposed up 53 semitones: now G major", 53),      # top note 127
    ({"semitones": -62}, "transposed down 62 semitones: now C major", -62),  # bottom note 0
])
def test_transpose_says_how_far_and_into_which_key(args, message, shift):
    s = session(scale())
    out = do(s, "transpose", **args)
    assert out.message == message and out.changed
    assert pitches(s.piece) == [p + shift for p in pitches(scale())]
    assert s.state.label == f"transpose {shift:+d}"


def test_transpose_limits_count_the_proposals_too():
    s = session(scale())
    with pytest.raises(CommandError) as e:
        do(s, "transpose")
    assert str(e.value) == "transpose: say by how much ('up 2') or to which key ('to D')"
    out = do(s, "transpose", semitones=0)
    assert out.message == "transposed by 0: nothing changed" and not out.changed
    assert do(s, "transpose", key="D").message == "transposed by 0: nothing changed"
    high = Tune.from_bars([[(96, 4)]], title="High")
    s.push_proposals([Proposal(scale().append_bars(high.bars), (5,))], None, "continue")
    with pytest.raises(CommandError) as e:
        do(s, "transpose", semitones=32)                 # the piece could, bar 5 of the table not
    assert str(e.value) == "transposing by 32 would leave the MIDI range 0..127"
    with pytest.raises(CommandError) as e:
        do(s, "transpose", semitones=-63)
    assert str(e.value) == "transposing by -63 would leave the MIDI range 0..127"
    do(s, "transpose", semitones=31)
    assert s.proposals[0].tune.bar(5).notes[0].pitch == 127
    rests = session(Tune.from_bars([[(None, 4)]], title="Rest"))
    assert do(rests, "transpose", semitones=200).message == "transposed up 200 semitones: now Ab major"


# ----- settings -----------------------------------------------------------------------------
def test_temperature_setting():
    s = Session(seed=1)
    out = do(s, "temperature")
    assert out.message == "temperature is 1.0 (higher = more adventurous)" and not out.changed
    for bad in (0.04, 3.01):
        with pytest.raises(CommandError) as e:
            do(s, "temperature", value=bad)
        assert str(e.value) == f"temperature {bad} is out of range: use 0.05..3"
    for value, shown in ((0.05, 0.05), (3.0, 3.0), (0.12345, 0.123), (1, 1.0)):
        out = do(s, "temperature", value=value)
        assert out.message == f"temperature is now {shown}" and out.changed
        assert s.settings.temperature == shown and saved(s)["settings"]["temperature"] == shown
    for direction, shown in (("up", 1.25), ("up", 1.56), ("down", 1.25), ("down", 1.0)):
        do(s, "temperature", direction=direction)
        assert s.settings.temperature == shown
    s.settings.temperature = 2.9
    do(s, "temperature", direction="up")
    assert s.settings.temperature == 3.0
    s.settings.temperature = 0.06
    out = do(s, "temperature", direction="down")
    assert s.settings.temperature == 0.05 and out.message == "temperature is now 0.05"
    s.settings.temperature = 0.333
    do(s, "temperature", direction="up")
    assert s.settings.temperature == 0.42               # two places when stepping


def test_candidates_profile_and_port_settings():
    s = Session(seed=1)
    out = do(s, "candidates")
    assert out.message == "4 candidates per turn" and not out.changed
    for bad in (0, 17):
        with pytest.raises(CommandError) as e:
            do(s, "candidates", count=bad)
        assert str(e.value) == "candidates: use 1..16"
    for n in (1, 16):
        out = do(s, "candidates", count=n)
        assert out.message == f"{n} candidates per turn from now on" and out.changed
        assert saved(s)["settings"]["candidates"] == n
    assert do(s, "profile").message == "profile: none"
    out = do(s, "profile", name="fiddle")
    assert out.message == "profile is now fiddle" and out.changed and saved(s)["settings"]["profile"] == "fiddle"
    assert do(s, "profile").message == "profile: fiddle"
    assert do(s, "profile", name=None).message == "profile is now none" and s.settings.profile is None
    out = do(s, "port", name="Synth 1")
    assert out.message == "MIDI port: Synth 1" and out.changed and saved(s)["settings"]["port"] == "Synth 1"
    for word in ("none", "Off", "DEFAULT"):
        do(s, "port", name="x")
        out = do(s, "port", name=word)
        assert out.message == "MIDI port: none (audio)" and s.settings.port is None
        assert saved(s)["settings"]["port"] is None


def test_personalize_makes_the_profile_me_and_turns_it_on(home, monkeypatch):
    from st4rt_repl.models import midime
    monkeypatch.setattr(midime, "STEPS", 5)
    s = Session(seed=1)
    (home / "empty").mkdir()
    (home / "empty" / "notes.txt").write_text("not a tune")
    with pytest.raises(CommandError) as e:
        do(s, "personalize", path="empty")
    assert str(e.value) == "empty: no .abc, .mid or .musicxml files in this folder"
    with pytest.raises(CommandError) as e:
        do(s, "personalize", path="nowhere")
    assert str(e.value) == "nowhere: no such file or folder"
    assert s.settings.profile is None
    (home / "tunes" / "jigs").mkdir(parents=True)
    (home / "tunes" / "jigs" / "kesh.ABC").write_text(KESH)     # found in a sub-folder, any case
    out = do(s, "personalize", path="tunes")
    assert out.message.startswith("profile 'me': 1 tunes, ") and out.message.endswith("; profile 'me' is now on")
    assert s.settings.profile == "me" and saved(s)["settings"]["profile"] == "me" and out.changed
    assert midime.profile_path("me").is_file()
    out = do(s, "personalize", path=str(home / "tunes" / "jigs" / "kesh.ABC"))   # one file
    assert out.message.startswith("profile 'me': 1 tunes, ")


# ----- playing (the MIDI port is the in-memory one of test_playback) -----------------------------
@pytest.fixture
def port(monkeypatch):
    ports = []

    def open_port(name):
        ports.append((name, RecordingPort(name)))
        return ports[-1][1]
    monkeypatch.setattr(playback, "_open_port", open_port)
    return ports


def playing(what: str, port: str = "rec") -> str:
    return f"playing {what} to MIDI port {port!r}; stop (or Ctrl-C) stops it"


STEPS = Tune.from_bars([[(60, 4)], [(62, 4)], [(64, 4)], [(65, 4)]], title="Steps")   # C D E F


def heard(s: Session, port, **args) -> tuple:
    """(first pitch the port hears, how many bars, bpm, looping) of `play ARGS`."""
    import re
    out = do(s, "play", **args)
    m = re.fullmatch(r"playing 'Steps' bars (\d+)-(\d+) at (\d+) bpm on piano(, looping)? to MIDI "
                     r"port 'rec'; stop \(or Ctrl-C\) stops it", out.message)
    assert m, out.message
    received = port[-1][1].received
    deadline = time.monotonic() + 10
    while not any(msg.type == "note_on" for _, msg in received) and time.monotonic() < deadline:
        time.sleep(0.01)
    first = next(msg.note for _, msg in received if msg.type == "note_on")
    assert out.kind == "info" and not out.changed
    return first, int(m.group(2)) - int(m.group(1)) + 1, int(m.group(3)), bool(m.group(4))


def test_play_the_piece_some_bars_or_a_candidate_to_the_port(port):
    s = session(STEPS)
    s.settings.port = "rec"
    assert do(s, "play").message == playing("'Steps' bars 1-4 at 120 bpm on piano")
    assert port[-1][0] == "rec"
    assert do(s, "stop").message == "stopped"
    assert do(s, "stop").message == "nothing is playing"
    assert heard(s, port) == (60, 4, 120, False)
    assert heard(s, port, bars=[3, 2]) == (62, 2, 120, False)
    assert heard(s, port, bars=[-1]) == (65, 1, 120, False)
    assert heard(s, port, **{"from": 2}) == (62, 3, 120, False)
    assert heard(s, port, from_bar=-2) == (64, 2, 120, False)
    assert heard(s, port, **{"from": 3, "from_bar": 1}) == (64, 2, 120, False)
    assert heard(s, port, loop=True) == (60, 4, 120, True)
    assert heard(s, port, tempo=20) == (60, 4, 20, False)
    assert heard(s, port, tempo=400, bars=[2, 3], loop=True) == (62, 2, 400, True)
    for bad in (19, 401):
        with pytest.raises(CommandError) as e:
            do(s, "play", tempo=bad)
        assert str(e.value) == f"tempo {bad} is out of range: use 20..400 bpm"
    s.push_proposals([Proposal(STEPS.append_bars([STEPS.bar(k)]), (5,)) for k in (2, 3)],
                     None, "continue 1 bars")
    assert heard(s, port, candidate=2) == (60, 5, 120, False)
    assert heard(s, port, candidate=-1, bars=[5]) == (64, 1, 120, False)
    assert heard(s, port, candidate=1, bars=[5]) == (62, 1, 120, False)
    with pytest.raises(CommandError) as e:
        do(s, "play", bars=[9])
    assert str(e.value) == "bar 9 does not exist: the tune has 4 bars"
    with pytest.raises(CommandError) as e:
        do(s, "play", candidate=3)
    assert str(e.value) == "there is no candidate 3: choose 1 to 2"
    do(s, "stop")
    assert s.index == 2                          # playing is no turn


def test_play_at_a_tempo_overrides_the_config_tempo(port, home):
    from st4rt_repl import paths
    from st4rt_repl.config import load_config
    load_config()                                # writes the commented default file
    cfg = paths.config_file()
    cfg.write_text(cfg.read_text().replace("\ntempo = 0", "\ntempo = 100")
                   .replace('midi_port = ""', 'midi_port = "cfgport"'))
    s = session(scale())
    assert do(s, "play").message == playing("'Scale' bars 1-4 at 100 bpm on piano", "cfgport")
    assert do(s, "play", tempo=140).message == playing("'Scale' bars 1-4 at 140 bpm on piano", "cfgport")
    s.settings.port = "mine"                     # the session's port before the config's
    assert do(s, "play").message == playing("'Scale' bars 1-4 at 100 bpm on piano", "mine")
    assert do(s, "play", tempo=90, loop=True).message == \
        playing("'Scale' bars 1-4 at 90 bpm on piano, looping", "mine")
    do(s, "stop")


def test_play_without_a_sound_device_writes_the_bars_it_would_play():
    s = session(scale())
    out = do(s, "play", bars=[2, 3], tempo=200)
    midi = Path(out.message.split(" and ")[-1])
    notes = [m for m in mido.MidiFile(str(midi)) if m.type == "note_on" and m.velocity]
    assert [m.note for m in notes] == [69, 71, 74, 69]
    tempos = [m.tempo for m in mido.merge_tracks(mido.MidiFile(str(midi)).tracks) if m.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(200)]


def test_ports_config_help_paste_and_quit(monkeypatch):
    s = Session(seed=1)
    monkeypatch.setattr(playback, "list_ports", lambda: ["Synth A", "Synth B"])
    assert do(s, "ports").message == "MIDI output ports: Synth A, Synth B"
    monkeypatch.setattr(playback, "list_ports", lambda: [])
    assert do(s, "ports").message == "MIDI output ports: none found"
    out = do(s, "config")
    assert (out.kind, out.text, out.message) == ("text", playback.show_config(), "")
    out = do(s, "help", topic="play")
    assert (out.kind, out.topic, out.message) == ("help", "play", "")
    assert do(s, "help").topic is None
    assert (do(s, "paste").kind, do(s, "paste").message) == ("paste", "")
    out = do(s, "quit")
    assert (out.kind, out.message, out.changed) == ("quit", "bye", False)
    with pytest.raises(CommandError) as e:
        do(s, "frobnicate")
    assert str(e.value) == "'frobnicate' is not something a session can do"


# ----- what the musician is shown ------------------------------------------------------------
def test_status_lists_piece_file_history_and_settings():
    s = session(kesh().with_repeat(1, 8).with_(parts="AAB"), seed=7)
    s.settings.rolls, s.settings.temperature, s.settings.candidates = 3, 0.8, 2
    out = do(s, "status")
    assert (out.kind, out.message) == ("text", "")
    assert out.text.split("\n") == [
        f"session {s.name} (The Kesh, 8 bars, 16 played + pickup, turn 1)",
        "piece: The Kesh, 8 bars, 16 played + pickup, G major, 6/8, 120 bpm, parts AAB",
        f"file: {s.path}",
        "history: turn 1 of 1 (undo yes, redo no)",
        "temperature 0.8, 2 candidates, profile none, seed 7+3, port audio"]
    table(s, s.piece)
    do(s, "undo")
    s.settings.profile, s.settings.port = "me", "Synth"
    assert do(s, "status").text.split("\n")[2:] == [
        f"file: {s.path}",
        "history: turn 1 of 2 (undo yes, redo yes)",
        "temperature 0.8, 2 candidates, profile me, seed 7+3, port Synth"]
    do(s, "redo")
    assert s.describe() == f"session {s.name} (The Kesh, 8 bars, 16 played + pickup, 2 proposals, turn 2)"
    s = session(scale(), seed=1)
    assert do(s, "status").text.split("\n")[1] == "piece: Scale, 4 bars, D major, 4/4, 120 bpm"
    empty = Session(seed=2)
    assert do(empty, "status").text.split("\n") == [
        f"session {empty.name} (no piece yet, turn 0)", f"file: {empty.path}",
        "history: turn 0 of 0 (undo no, redo no)",
        "temperature 1.0, 4 candidates, profile none, seed 2+0, port audio"]


def test_show_the_piece_the_table_or_one_candidate():
    s = Session(seed=1)
    out = do(s, "show")
    assert out.message == "nothing yet: paste an ABC tune, 'load FILE' or 'generate 8 bars'"
    assert out.kind == "info"
    s.set_piece(scale(), "load")
    assert (do(s, "show").kind, do(s, "show").message) == ("piece", "")
    with pytest.raises(CommandError) as e:
        do(s, "show", candidate=1)
    assert str(e.value) == "no candidates on the table: try 'continue 8 bars' or 'vary bar 3'"
    table(s, scale(), 3)
    assert do(s, "show").kind == "proposals"
    out = do(s, "show", candidate=-1)
    assert (out.kind, out.candidate, out.message) == ("candidate", 3, "")
    assert do(s, "show", candidate=2).candidate == 2
    s = Session(seed=1)
    s.push_proposals([Proposal(scale(), (1, 2, 3, 4))], Intent("generate", {"bars": 4}), "generate")
    assert do(s, "show").kind == "proposals"          # generated tunes, no piece yet


def test_length_text_counts_written_and_played_bars():
    from st4rt_repl.session import length_text
    one = Tune.from_bars([[(60, 4)]])
    assert length_text(one) == "1 bar"
    assert length_text(one.with_repeat(1, 1)) == "1 bar, 2 played"
    assert length_text(kesh()) == "8 bars + pickup"
    assert length_text(scale()) == "4 bars"


# ----- saved sessions ---------------------------------------------------------------------------
def test_sessions_are_listed_newest_first_with_their_pieces(home):
    assert list_sessions() == []
    assert do(Session(seed=1), "sessions").message == "no saved sessions yet"
    a = Session("alpha", seed=1)
    a.set_piece(kesh(), "load")
    a.apply(Intent("transpose", {"semitones": 2}))
    b = Session("beta", seed=1)
    b.set_piece(scale("A tune with a very long title indeed, longer than thirty"), "load")
    c = Session("gamma", seed=1)
    c.save()
    for k, name in enumerate(("alpha", "beta", "gamma")):          # a clear order of saving
        os.utime(sessions_dir() / f"{name}.json", (1_000_000 + k, 1_000_000 + k))
    for name, text in (("broken", "{"), ("a-list", "[1]"), ("no-history", "{}"),    # all skipped
                       ("no-index", '{"history": []}'), ("index-out", '{"history": [], "index": 0}')):
        (sessions_dir() / f"{name}.json").write_text(text)
    (sessions_dir() / "folder.json").mkdir()
    bare = json.loads(b.path.read_text())
    del bare["saved"]
    (sessions_dir() / "bare.json").write_text(json.dumps(bare))
    os.utime(sessions_dir() / "bare.json", (999_999, 999_999))
    (sessions_dir() / "notes.txt").write_text("not a session")      # not *.json
    rows = list_sessions()
    assert [(r["name"], r["title"], r["bars"], r["turns"]) for r in rows] == [
        ("gamma", "(empty)", 0, 0),
        ("beta", "A tune with a very long title indeed, longer than thirty", 4, 1),
        ("alpha", "The Kesh", 8, 2),
        ("bare", "A tune with a very long title indeed, longer than thirty", 4, 1)]
    assert rows[-1]["saved"] == ""
    assert rows[0]["saved"] == saved(c)["saved"] and len(rows[0]["saved"]) == 19
    out = do(b, "sessions")
    assert out.message == "4 saved sessions ('open NAME' to switch)" and out.kind == "text"
    assert out.text.split("\n")[:3] == [
        f"  gamma                    (empty)                          0 bars  {rows[0]['saved']}",
        f"* beta                     A tune with a very long title    4 bars  {rows[1]['saved']}",
        f"  alpha                    The Kesh                         8 bars  {rows[2]['saved']}"]


def test_sessions_shows_thirty_at_most(home):
    for k in range(31):
        Session(f"s{k:02d}", seed=1).save()
    out = do(Session("s00", seed=1), "sessions")
    assert out.message == "31 saved sessions ('open NAME' to switch)"
    assert len(out.text.split("\n")) == 30


def test_save_open_and_new(home):
    s = session(scale(), seed=5)
    s.settings.rolls = 2
    first = s.name
    out = do(s, "save", name="tune-1")
    assert out.message == f"saved session tune-1 ({sessions_dir() / 'tune-1.json'})"
    assert s.name == "tune-1" and (sessions_dir() / "last").read_text() == "tune-1\n"
    assert (sessions_dir() / f"{first}.json").exists()            # the old file stays
    quiet = Session("quiet", seed=1, autosave=False)
    quiet.set_piece(kesh(), "load")
    assert not quiet.path.exists()
    assert do(quiet, "save").message == f"saved session quiet ({quiet.path})"
    assert Session.open("quiet").piece == kesh()
    out = do(s, "new")
    assert s.name != "tune-1" and s.piece is None and s.index == 0
    assert out.message == f"new session {s.name} (the old one is saved as tune-1)"
    assert s.settings.seed == 5 + 2 + 1 and s.settings.rolls == 0
    assert saved(s)["settings"]["seed"] == 8 and Session.last_name() == s.name
    fresh = s.name
    table(s, scale())
    out = do(s, "open", name="tune-1")
    assert out.message == "opened session tune-1 (Scale, 4 bars, turn 1)" and out.kind == "piece"
    assert s.name == "tune-1" and s.piece == scale() and s.settings.seed == 5
    assert Session.open(fresh).proposals != ()                    # the one left was saved
    assert Session.last_name() == "tune-1"
    out = do(s, "open", name=fresh)
    assert out.kind == "proposals" and out.message == f"opened session {fresh} (no piece yet, 2 proposals, turn 1)"
    with pytest.raises(CommandError) as e:
        do(s, "open", name="nothing-here")
    assert str(e.value).startswith("no saved session 'nothing-here' (saved: ")
    with pytest.raises(CommandError) as e:
        do(s, "save", name="last")
    assert str(e.value) == "bad session name 'last': use letters, digits, '-', '_' or '.'"


def test_open_lists_five_saved_sessions_when_the_name_is_wrong(home):
    with pytest.raises(CommandError) as e:
        Session.open("none")
    assert str(e.value) == "no saved session 'none'"
    for k in range(6):
        Session(f"s{k}", seed=1).save()
        os.utime(sessions_dir() / f"s{k}.json", (1_000_000 + k, 1_000_000 + k))
    with pytest.raises(CommandError) as e:
        Session.open("none")
    assert str(e.value) == "no saved session 'none' (saved: s5, s4, s3, s2, s1)"


def test_fresh_names_never_reuse_a_file(home, monkeypatch):
    real, noon = time.strftime, time.struct_time((2026, 11, 29, 12, 0, 0, 6, 333, 0))
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: real(fmt, noon))
    names = []
    for _ in range(3):
        names.append(Session(seed=1))
        names[-1].save()
    assert [s.name for s in names] == ["20261129-120000", "20261129-120000-2", "20261129-120000-3"]


# ----- loading and pasting ------------------------------------------------------------------
def test_load_and_paste_say_what_came_in(home):
    (home / "kesh.abc").write_text(KESH)
    s = Session(seed=1)
    out = do(s, "load", path="kesh.abc")
    assert out.message == "loaded The Kesh (G major, 6/8, 8 bars + pickup)" and out.kind == "piece"
    assert s.piece == kesh() and s.state.label == "load kesh.abc"
    (home / "two.abc").write_text(KESH + "\nX:2\nT:Other\nM:2/4\nL:1/8\nK:D\nDEFG|ABcd|]\n")
    out = do(s, "load", path=str(home / "two.abc"))
    assert out.message == "loaded The Kesh (G major, 6/8, 8 bars + pickup); tune 1 of 2: The Kesh"
    assert s.state.label == "load two.abc"
    out = do(s, "primer", abc=KESH.replace("The Kesh", "Pasted"))
    assert out.message == "primer: Pasted (G major, 6/8, 8 bars + pickup)" and out.kind == "piece"
    assert s.state.label == "paste Pasted" and s.piece.title == "Pasted"
    out = do(s, "primer", abc=KESH + "\nX:2\nT:Other\nK:D\nDEFG|]\n")
    assert out.message == "primer: The Kesh (G major, 6/8, 8 bars + pickup); tune 1 of 2: The Kesh"
    assert s.state.label == "paste The Kesh"


# ----- exporting -------------------------------------------------------------------------------
def test_export_names_and_places_the_file(home):
    s = session(kesh())
    with pytest.raises(CommandError) as e:
        Session(seed=1).apply(Intent("export", {"format": "abc"}))
    assert str(e.value) == "nothing to export yet: paste or load a tune first (or 'generate 8 bars')"
    with pytest.raises(CommandError) as e:
        do(s, "export", format="pdf")
    assert str(e.value) == "unknown export format 'pdf'"
    out = do(s, "export", format="abc")                            # no name: the title's
    assert out.message == "wrote the-kesh.abc (abc, 8 bars + pickup)"
    assert (home / "the-kesh.abc").is_file()
    out = do(s, "export", format="abc", path="song")               # no extension: .abc added
    assert out.message == "wrote song.abc (abc, 8 bars + pickup)" and not out.changed
    assert parse_abc_text((home / "song.abc").read_text()).tune.sounding() == kesh().sounding()
    (home / "out").mkdir()
    out = do(s, "export", format="musicxml", path="out/.musicxml")  # "export musicxml out/"
    assert out.message == "wrote out/the-kesh.musicxml (musicxml, 8 bars + pickup)"
    assert (home / "out" / "the-kesh.musicxml").is_file() and not (home / "out.musicxml").exists()
    (home / "a.mid").mkdir()
    with pytest.raises(CommandError) as e:                          # a folder named like a file
        do(s, "export", format="midi", path="a")
    assert str(e.value) == "a.mid: is a folder"
    (home / "taken.abc").write_text("mine")
    with pytest.raises(CommandError) as e:
        do(s, "export", format="abc", path="taken.abc")
    assert str(e.value) == ("taken.abc already exists: say 'export abc taken.abc overwrite' to "
                            "replace it (or run the script with --force)")
    assert e.value.question == "taken.abc already exists. Replace it? [y/N] "
    assert e.value.then == Intent("export", {"format": "abc", "path": "taken.abc", "overwrite": True})
    assert (home / "taken.abc").read_text() == "mine"
    out = do(s, "export", format="abc", path="taken.abc", force=True)
    assert out.message == "wrote taken.abc (abc, 8 bars + pickup)"
    assert (home / "taken.abc").read_text().startswith("X:")
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(".")) == []


# ----- a turn that fails says so in one line and changes nothing ------------------------------
def test_errors_from_below_are_one_line(home, monkeypatch, port):
    s = session(scale())
    with pytest.raises(CommandError) as e:                       # a hand-made intent
        do(s, "tempo", speed=3)
    assert str(e.value).startswith("tempo: bad arguments (Session.") and "_do_tempo" in str(e.value)
    assert str(e.value).endswith("() got an unexpected keyword argument 'speed')")
    with pytest.raises(CommandError) as e:                       # an OSError naming its file
        do(s, "export", format="abc", path="nodir/x.abc")
    assert str(e.value) == f"nodir/.x.{os.getpid()}.part.abc: No such file or directory"
    with pytest.raises(CommandError) as e:                       # ... inside the data folder
        do(s, "export", format="abc", path=str(home / "home" / "nodir" / "x.abc"))
    assert str(e.value) == (f"cannot write to {home / 'home'} (No such file or directory): "
                            "set ST4RT_HOME to a folder you can write")
    s.settings.port = "rec"

    def broken(error):
        def open_port(name):
            raise error
        return open_port
    for error, line in ((OSError(5, "Input/output error"), "Input/output error"),
                        (OSError("the port  went\naway"), "the port went away"),
                        (playback.PlaybackError(""), "PlaybackError"),
                        (playback.PlaybackError("port\nbusy"), "port busy")):
        monkeypatch.setattr(playback, "_open_port", broken(error))
        with pytest.raises(CommandError) as e:
            do(s, "play")
        assert str(e.value) == line
    monkeypatch.setattr(playback, "_open_port", broken(ValueError("a bug")))
    with pytest.raises(ValueError):                               # a bug is not hidden
        do(s, "play")
    assert s.index == 1 and len(s.history) == 2


def test_a_missing_module_is_named(monkeypatch):
    s = session(scale())
    import st4rt_repl
    monkeypatch.setitem(sys.modules, "st4rt_repl.playback", None)     # as if not installed
    monkeypatch.delattr(st4rt_repl, "playback", raising=False)
    with pytest.raises(CommandError) as e:
        do(s, "ports")
    assert str(e.value) == "ports is not available (st4rt_repl.playback is missing)"
    assert do(s, "stop").message == "nothing is playing"
    monkeypatch.setitem(sys.modules, "st4rt_repl.fold", None)
    monkeypatch.delattr(st4rt_repl, "fold", raising=False)
    with pytest.raises(CommandError) as e:
        do(s, "fold")
    assert str(e.value) == "fold is not available in this version"


@pytest.mark.parametrize("content,warning", [
    (b"x" * 50 + b"/\n", "{last} is damaged (names '" + "x" * 40 + "'); starting a new session"),
    (b"last\n", "{last} is damaged (names 'last'); starting a new session"),
    (b"../up\n", "{last} is damaged (names '../up'); starting a new session"),
    (b"gone\n", "{last} names session 'gone', which is gone; starting a new session"),
    (b"\xff\xfe", "{last} is damaged (not text); starting a new session"),
    (None, "cannot read {last} (Is a directory); starting a new session"),
])
def test_a_damaged_last_pointer_says_exactly_why(content, warning):
    from st4rt_repl.session import find_last
    Session("kept", seed=1).save()
    last = sessions_dir() / "last"
    if content is None:
        last.unlink()
        last.mkdir()
    else:
        last.write_bytes(content)
    assert find_last() == (None, warning.format(last=last))


@pytest.mark.parametrize("piece,bars", [
    (kesh().with_repeat(1, 6).with_repeat(7, 8), 6),            # a pickup is not counted
    (Tune.from_bars([[(62, 4)]] * 12).with_repeat(1, 1).with_repeat(2, 9).with_repeat(10, 12), 4),
    (Tune.from_bars([[(62, 4)]] * 12).with_bar(1, part="A").with_bar(8, part="B"), 7),
])
def test_the_first_part_ends_at_the_next_part_or_repeat(models, piece, bars):
    s = session(piece, seed=2)
    out = do(s, "new_part", candidates=1)
    assert out.message.startswith(f"1 candidates (new part of {bars} bars, seed 2)")


def test_generate_makes_eight_bars_unless_told(models):
    s = Session(seed=3)
    out = do(s, "generate", candidates=1)
    assert out.message == offer("generate 8 bars in 4/4, D major", 3, n=1)
    assert s.proposals[0].tune.num_bars == 8
    s.set_piece(scale(), "load")
    out = do(s, "continue", candidates=1)
    assert out.message == offer("continue 8 bars", 4, n=1) and s.proposals[0].tune.num_bars == 12


# ----- the session file ------------------------------------------------------------------------
def _file(s: Session, **changes) -> dict:
    d = saved(s)
    for path, value in changes.items():
        *head, last = path.split("__")
        target = d
        for k in head:
            target = target[int(k)] if isinstance(target, list) else target[k]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return d


def test_the_session_file_brings_back_every_setting_and_label():
    s = session(kesh(), seed=11)
    s.settings.likeness, s.settings.rolls, s.settings.profile, s.settings.port = 0.25, 4, "me", "Synth"
    s.settings.temperature, s.settings.candidates = 0.7, 3
    table(s, kesh())
    s.save()
    back = Session.open(s.name)
    assert back.settings == s.settings and back.autosave_enabled
    assert [st.label for st in back.history] == ["start", "load", "continue 1 bars"]
    assert back.history == s.history and back.index == 2
    d = saved(s)
    assert (d["name"], d["version"], d["format"]) == (s.name, 2, "st4rt-session")
    assert Session.from_json(d).name == s.name
    assert Session.from_json(_file(s, name="other")).name == "other"
    del d["version"]                                        # before versions: taken as 0
    assert Session.from_json(d).history == s.history


@pytest.mark.parametrize("changes,why", [
    ({"settings": [1]}, "settings are not a table"),
    ({"settings__candidates": True}, "setting candidates = True"),
    ({"settings__likeness": "0.5"}, "setting likeness = '0.5'"),
    ({"settings__rolls": 1.5}, "setting rolls = 1.5"),
    ({"settings__profile": 3}, "setting profile = 3"),
    ({"settings__port": ["a"]}, "setting port = ['a']"),
    ({"settings__temperature": 3.01}, "settings out of range"),
    ({"settings__temperature": 0.049}, "settings out of range"),
    ({"settings__candidates": 17}, "settings out of range"),
    ({"settings__candidates": 0}, "settings out of range"),
    ({"settings__likeness": 1.01}, "settings out of range"),
    ({"settings__likeness": -0.01}, "settings out of range"),
    ({"index": True}, "expected a whole number, found True"),
    ({"index": 2}, "index 2 outside the history"),
    ({"index": -1}, "index -1 outside the history"),
    ({"history__1__piece": False}, "expected a whole number, found False"),
    ({"history__1__piece": 1.0}, "expected a whole number, found 1.0"),
])
def test_a_damaged_setting_or_index_is_named(changes, why):
    s = session(kesh())
    s.path.write_text(json.dumps(_file(s, **changes)))
    with pytest.raises(CommandError) as e:
        Session.open(s.name)
    assert str(e.value) == f"{s.path}: damaged session file ({why})"


@pytest.mark.parametrize("changes", [
    {"settings__temperature": 0.05}, {"settings__temperature": 3.0}, {"settings__temperature": 1},
    {"settings__candidates": 1}, {"settings__candidates": 16},
    {"settings__likeness": 0}, {"settings__likeness": 1},
    {"settings__profile": None}, {"settings__port": None}, {"settings": {}}, {"index": 0},
])
def test_the_limits_of_a_sound_file_are_accepted(changes):
    s = session(kesh())
    s.path.write_text(json.dumps(_file(s, **changes)))
    back = Session.open(s.name)
    for path, value in changes.items():
        if path.startswith("settings__"):
            assert getattr(back.settings, path.split("__")[1]) == value
    if changes == {"settings": {}}:                     # nothing said: the defaults
        from st4rt_repl.session import Settings
        assert back.settings == Settings()


@pytest.mark.parametrize("version", [True, "2", 2.0])
def test_a_version_that_is_not_a_whole_number_is_damage(version):
    s = session(kesh())
    s.path.write_text(json.dumps(_file(s, version=version)))
    with pytest.raises(CommandError) as e:
        Session.open(s.name)
    assert str(e.value) == f"{s.path}: damaged session file (version {version!r})"


def test_unreadable_session_files_say_why_in_one_line():
    with pytest.raises(CommandError) as e:
        Session.open("")
    assert str(e.value) == "bad session name '': use letters, digits, '-', '_' or '.'"
    with pytest.raises(CommandError) as e:
        Session.from_json({"format": "other"})
    assert str(e.value) == "<session>: not an ST4RT+ session file"
    s = session(kesh())
    s.path.write_text('{"format":\n\n   "st4rt-session",,}')
    with pytest.raises(CommandError) as e:
        Session.open(s.name)
    assert str(e.value) == (f"{s.path}: cannot read session file "
                            "(Expecting property name enclosed in double quotes: line 3 column 20 (char 31))")
    long = "x" * 64                                       # the longest name: a long error
    folder = sessions_dir() / f"{long}.json"
    folder.mkdir()
    with pytest.raises(CommandError) as e:
        Session.open(long)
    full = f"[Errno 21] Is a directory: {str(folder)!r}"
    assert len(full) > 120 and str(e.value) == f"{folder}: cannot read session file ({full[:120]})"


def test_a_fresh_session_draws_its_seed_from_31_bits():
    import random
    state = random.getstate()
    try:
        random.seed(2026)
        drawn = [Session().settings.seed for _ in range(3)]
    finally:
        random.setstate(state)
    want = random.Random(2026)
    assert drawn == [want.randrange(2**31) for _ in range(3)]


def test_an_interrupted_turn_puts_the_saved_file_back_too(monkeypatch):
    """Ctrl-C after the session file was written (while `last` is): memory and file roll back."""
    import st4rt_repl.session as session_mod
    s = session(scale())
    real = session_mod.atomic_write
    hits = []

    def interrupted(path, text):
        real(path, text)
        if path.name == "last" and not hits:
            hits.append(path)
            raise KeyboardInterrupt
    monkeypatch.setattr(session_mod, "atomic_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        do(s, "transpose", semitones=2)
    assert hits and s.piece == scale() and s.index == 1
    back = Session.open(s.name)
    assert back.piece == scale() and back.index == 1 and len(back.history) == 2


def test_a_failed_first_turn_writes_no_file():
    s = Session(seed=1)
    with pytest.raises(CommandError):
        do(s, "load", path="nosuch.abc")
    assert not s.path.exists() and not sessions_dir().exists()


def test_the_file_is_compact_json_in_the_data_folder(home):
    s = session(scale(), seed=1)
    assert s.path == home / "home" / "data" / "sessions" / f"{s.name}.json"
    text = s.path.read_text()
    assert json.loads(text)["name"] == s.name and '": ' not in text and ', "' not in text


def test_a_save_that_fails_names_the_file_or_the_folder(home, monkeypatch):
    import errno
    import st4rt_repl.session as session_mod
    s = session(scale(), seed=1)

    def eio(fd):
        raise OSError(errno.EIO, "Input/output error")
    with monkeypatch.context() as m:
        m.setattr(session_mod.os, "fsync", eio)
        with pytest.raises(CommandError) as e:
            s.save()
    assert str(e.value) == f"{s.path}: cannot save the session: Input/output error"
    shutil.rmtree(sessions_dir())
    sessions_dir().write_text("a file where the folder should be")
    with pytest.raises(CommandError) as e:
        s.save()
    assert str(e.value) == (f"cannot write to {home / 'home'} (File exists): "
                            "set ST4RT_HOME to a folder you can write")
