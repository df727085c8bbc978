"""The turn engine: piece, proposals, undo/redo, atomic autosave, bad input."""
import json
import shutil
import os
import re
from fractions import Fraction

import pytest

from st4rt_repl import engine
from st4rt_repl.commands import Intent, parse
from st4rt_repl.engine import Proposal
from st4rt_repl.formats import parse_abc_text
from st4rt_repl.session import CommandError, Session, list_sessions, sessions_dir
from st4rt_repl.tune import Bar, Key, Note, Tune

from tunes import KESH  # noqa: E402  (tests/ is on sys.path)


pytestmark = pytest.mark.usefixtures("home")     # tests/conftest.py


@pytest.fixture(scope="module")
def kesh() -> Tune:
    return parse_abc_text(KESH).tune


def scale(title="Scale") -> Tune:
    return Tune.from_bars([[(62, 1), (64, 1), (66, 1), (67, 1)], [(69, 2), (71, 2)],
                           [(74, 4)]], key=Key("D", "major"), title=title)


def pitches(t: Tune) -> list:
    return [n.pitch for b in t.bars for n in b.notes]


def fingerprint(s: Session):
    return (s.index, len(s.history), s.piece, s.proposals, s.name, s.settings.temperature)


def apply(s: Session, text: str):
    return s.apply(parse(text))


# ----- JSON -----------------------------------------------------------------------
def test_tune_json_round_trip_is_exact(kesh):
    odd = Tune((Bar((Note(60, Fraction(1, 3)), Note(None, Fraction(2, 3)), Note(62, 1, tie=True)), (2, 4)),
                Bar((Note(62, Fraction(1, 2)), Note(64, Fraction(3, 2)), Note(65, 1)), (3, 4))),
               (2, 4), Key("Bb", "dorian"), title="Odd \u00e9", tempo=77, pickup=False)
    for t in (kesh, odd, scale()):
        d = json.loads(json.dumps(t.to_json()))
        assert Tune.from_json(d) == t
    assert odd.to_json()["bars"][0]["notes"][0] == [60, "1/3"]
    assert odd.to_json()["bars"][1]["meter"] == [3, 4]      # only where it differs


def test_session_file_is_versioned_and_round_trips(kesh):
    s = Session(seed=5)
    s.set_piece(kesh, "load")
    props = [Proposal(kesh.append_bars([kesh.bar(k)]), (kesh.num_bars + 1,)) for k in (1, 2, 3)]
    s.push_proposals(props, Intent("continue", {"bars": 1}), "continue 1 bars")
    d = json.loads(s.path.read_text())
    assert d["format"] == "st4rt-session" and d["version"] == 2
    assert len(d["tunes"]) == 4          # the piece once, plus three proposals
    back = Session.open(s.name)
    assert back.piece == kesh and back.proposals == s.proposals
    assert back.state.request == Intent("continue", {"bars": 1})
    assert back.index == s.index and back.settings.seed == 5
    assert not list(sessions_dir().glob(".*tmp"))     # no temp files left behind


def test_newer_or_damaged_session_files_are_refused(kesh):
    s = Session()
    s.set_piece(kesh, "load")
    d = json.loads(s.path.read_text())
    d["version"] = 99
    s.path.write_text(json.dumps(d))
    with pytest.raises(CommandError, match="newer"):
        Session.open(s.name)
    s.path.write_text('{"format": "st4rt-session", "version": 1, "tunes": [')
    with pytest.raises(CommandError, match="cannot read"):
        Session.open(s.name)


# ----- turns on the piece ----------------------------------------------------------------
def test_load_transpose_tempo_undo_redo(home, kesh):
    (home / "kesh.abc").write_text(KESH)
    s = Session(seed=1)
    out = apply(s, "load kesh.abc")
    assert out.kind == "piece" and out.changed
    assert s.piece == kesh
    apply(s, "transpose down a fifth")
    assert s.piece.key == Key("C", "major")
    assert pitches(s.piece) == [p - 7 for p in pitches(kesh)]
    apply(s, "tempo 96")
    assert s.piece.tempo == 96
    apply(s, "undo")
    apply(s, "undo")
    assert s.piece == kesh
    apply(s, "redo")
    assert s.piece.key == Key("C", "major") and s.piece.tempo == kesh.tempo
    apply(s, "slower")                       # a new turn drops the redo branch
    assert s.piece.tempo == round(kesh.tempo / 1.1)
    with pytest.raises(CommandError, match="nothing to redo"):
        apply(s, "redo")
    assert [st.label for st in s.history] == ["start", "load kesh.abc", "transpose -7",
                                              f"tempo {round(kesh.tempo / 1.1)}"]


def test_pasted_primer_becomes_the_piece(kesh):
    s = Session()
    out = s.apply(parse(KESH))
    assert out.kind == "piece" and s.piece == kesh
    assert "The Kesh" in out.message


def test_accept_reject_again_and_history_of_proposals(kesh):
    s = Session(seed=3)
    s.set_piece(kesh, "load")
    props = [Proposal(kesh.replace_bars(3, 3, [kesh.bar(k)]), (3,)) for k in (1, 2, 4)]
    s.push_proposals(props, Intent("vary", {"bars": [3]}), "vary bar 3")
    with pytest.raises(CommandError, match="no candidate 4"):
        apply(s, "take 4")
    apply(s, "take the second one")
    assert s.piece.bar(3) == kesh.bar(2) and s.proposals == ()
    apply(s, "undo")                                  # back to the table of proposals
    assert s.piece == kesh and len(s.proposals) == 3
    apply(s, "take the last one")
    assert s.piece.bar(3) == kesh.bar(4)
    apply(s, "undo")
    out = apply(s, "reject")
    assert s.proposals == () and "rejected 3" in out.message
    assert s.state.request == Intent("vary", {"bars": [3]})    # so `again` still knows
    apply(s, "undo")
    assert len(s.proposals) == 3


def test_transpose_and_tempo_also_move_the_proposals(kesh):
    s = Session()
    s.set_piece(kesh, "load")
    s.push_proposals([Proposal(kesh.append_bars([kesh.bar(1)]), (kesh.num_bars + 1,))], None, "continue")
    apply(s, "up an octave")
    apply(s, "tempo 90")
    assert pitches(s.proposals[0].tune) == [p + 12 for p in pitches(kesh.append_bars([kesh.bar(1)]))]
    assert s.proposals[0].tune.tempo == 90
    apply(s, "take 1")
    assert s.piece.num_bars == kesh.num_bars + 1 and s.piece.key == Key("G", "major")


def test_settings(kesh):
    s = Session()
    assert apply(s, "temperature 0.5").changed
    assert s.settings.temperature == 0.5
    apply(s, "be more adventurous")
    assert s.settings.temperature == 0.62
    apply(s, "be more conservative")
    assert s.settings.temperature == 0.5
    apply(s, "candidates 6")
    assert s.settings.candidates == 6
    apply(s, "profile me")
    assert s.settings.profile == "me"
    apply(s, "no profile")
    assert s.settings.profile is None
    assert Session.open(s.name).settings.candidates == 6


def test_every_intent_the_parser_makes_has_a_turn():
    from test_commands import PHRASES
    for _, name, _ in PHRASES + [("", "primer", {}), ("", "tempo_step", {}), ("", "port", {}),
                                 ("", "new", {}), ("", "config", {}), ("", "ports", {})]:
        assert hasattr(Session, f"_do_{name}"), name


# ----- bad input leaves everything as it was -------------------------------------------
@pytest.mark.parametrize("command,fragment", [
    ("load missing.abc", "missing.abc: no such file"),
    ("load junk.mid", "junk.mid"),
    ("load notes.txt", "unknown file type"),
    ("take 1", "no candidates on the table"),
    ("again", "nothing to roll again"),
    ("redo", "nothing to redo"),
    ("tempo 5", "out of range"),
    ("temperature 9", "out of range"),
    ("vary bar 40", "bar 40 does not exist"),
    ("play bars 30-31", "does not exist"),
    ("interpolate bar 1 to bar 99", "does not exist"),
    ("transpose up 100", "MIDI range"),
    ("open nosuchsession", "no saved session"),
    ("save ../evil", "bad session name"),
    ("show 3", "no candidates"),
])
def test_bad_commands_change_nothing(home, kesh, command, fragment):
    (home / "junk.mid").write_bytes(b"this is not a midi file at all")
    (home / "notes.txt").write_text("hello")
    s = Session()
    s.set_piece(kesh, "load")
    before = fingerprint(s)
    saved = s.path.read_text()
    with pytest.raises(CommandError) as e:
        apply(s, command)
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)
    assert fingerprint(s) == before
    assert s.path.read_text() == saved


def test_commands_that_need_a_piece_say_so():
    s = Session()
    for command in ("continue 8 bars", "vary bar 1", "transpose up 2", "export midi x.mid",
                    "play", "tempo 100"):
        with pytest.raises(CommandError, match="paste or load a tune first"):
            apply(s, command)
    assert s.index == 0


# ----- sessions ---------------------------------------------------------------------------
def test_save_open_new_and_list(kesh):
    s = Session()
    s.set_piece(kesh, "load")
    apply(s, "save my-kesh")
    assert s.name == "my-kesh" and (sessions_dir() / "my-kesh.json").exists()
    apply(s, "transpose up 2")
    apply(s, "new")
    assert s.piece is None and s.name != "my-kesh"
    out = apply(s, "open my-kesh")
    assert s.name == "my-kesh" and s.piece == kesh.transpose(2)
    apply(s, "undo")
    assert s.piece == kesh
    assert "my-kesh" in [r["name"] for r in list_sessions()]
    assert Session.last_name() == "my-kesh"


# ----- files --------------------------------------------------------------------------------
def test_export_abc_and_midi(home, kesh):
    import mido
    s = Session()
    s.set_piece(kesh, "load")
    apply(s, "export abc kesh.abc")
    back = parse_abc_text((home / "kesh.abc").read_text()).tune
    assert [n.pitch for _, n in back.notes()] == [n.pitch for _, n in kesh.notes()]
    apply(s, "write it to kesh.mid")
    mid = mido.MidiFile(str(home / "kesh.mid"))
    ons = [m.note for m in mido.merge_tracks(mid.tracks) if m.type == "note_on" and m.velocity]
    assert ons == [p for _, _, p in kesh.sounding()]
    out = apply(s, "export midi")                      # no name: the title names the file
    assert (home / "the-kesh.mid").exists() and "the-kesh.mid" in out.message


@pytest.mark.skipif(not (shutil.which("abcm2ps") and shutil.which("fluidsynth")),
                    reason="abcm2ps and fluidsynth (Debian packages) are not installed")
def test_export_svg_and_wav_and_play_without_a_sound_card(home, kesh):
    s = Session()
    s.set_piece(kesh, "load")
    apply(s, "export svg kesh.svg")
    svg = (home / "kesh.svg").read_text()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "The Kesh" in svg
    apply(s, "render it to kesh.wav")
    import wave
    with wave.open(str(home / "kesh.wav")) as w:
        seconds = w.getnframes() / w.getframerate()
    assert float(kesh.duration) * 60 / kesh.tempo <= seconds <= float(kesh.duration) * 60 / kesh.tempo + 2.5
    out = apply(s, "play bars 1-2")
    if "wrote" in out.message:          # no audio device here: it says where the files went
        wav = re.search(r"wrote (\S+\.wav)", out.message).group(1)
        assert os.path.exists(wav) and "\n" not in out.message
    apply(s, "stop")


# ----- the models, through the real engine ---------------------------------------------------
def _rnn_retraining() -> str | None:
    """While the attention-RNN is being retrained for the written-form tokens (issue 11), its
    shipped checkpoint is refused; the continuation tests wait for the new one."""
    try:
        from st4rt_repl.models import continuation
        continuation.load()
    except engine.NotAvailable as e:
        return str(e) if "retrain" in str(e) else None
    return None


def test_continue_again_and_accept_with_the_model(kesh):
    if _rnn_retraining():
        pytest.skip(_rnn_retraining())
    s = Session(seed=11)
    s.set_piece(kesh, "load")
    out = apply(s, "continue 4 bars")
    assert out.kind == "proposals" and len(s.proposals) == 4
    first = s.proposals
    n = len(kesh.bars)
    for p in first:
        new = p.tune.bars[n:]
        # exactly 4 new full bars, perhaps after the new part's pickup (the primer's
        # last bar, "AGF G2", is the A part's short last bar)
        assert sum(b.is_full for b in new) == 4 and all(b.is_full for b in new[-4:])
        assert len(new) in (4, 5) and (len(new) == 4 or not new[0].is_full)
        assert p.tune.bars[:n - 1] == kesh.bars[:n - 1]
        assert p.tune.bars[n - 1].notes == kesh.bars[-1].notes
        assert p.changed[-len(new):] == tuple(range(kesh.num_bars + 1, kesh.num_bars + 1 + len(new)))
    apply(s, "again")
    assert s.proposals != first and len(s.proposals) == 4     # a new seed
    apply(s, "undo")
    assert s.proposals == first
    apply(s, "take 3")
    assert s.piece == first[2].tune


# ----- issue 13: damaged session files never stop a start ----------------------------------
def _good_session(kesh) -> Session:
    s = Session()
    s.set_piece(kesh, "load")
    return s


DAMAGE = {
    "bad utf-8": b"\xff\xfe\x00garbage\x81",
    "bad json": b'{"format": "st4rt-session", "version": 2, "tunes": [',
    "a list": b"[1, 2, 3]",
    "wrong types": json.dumps({"format": "st4rt-session", "version": 2, "name": "x",
                               "settings": {"temperature": "hot"}, "index": 0,
                               "history": [{"piece": None, "proposals": [], "request": None,
                                            "label": "start"}], "tunes": []}).encode(),
    "index is a string": json.dumps({"format": "st4rt-session", "version": 2, "name": "x",
                                     "settings": {}, "index": "0", "history": [], "tunes": []}).encode(),
    "tune refs nowhere": json.dumps({"format": "st4rt-session", "version": 2, "name": "x",
                                     "settings": {}, "index": 0,
                                     "history": [{"piece": 7, "proposals": [], "request": None,
                                                  "label": "x"}], "tunes": []}).encode(),
    "bars not a list": json.dumps({"format": "st4rt-session", "version": 2, "name": "x",
                                   "settings": {}, "index": 0,
                                   "history": [{"piece": 0, "proposals": [], "request": None,
                                                "label": "x"}],
                                   "tunes": [{"title": 1, "meter": "6/8", "bars": 3}]}).encode(),
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_session_file_is_one_line_and_a_new_session(kesh, kind):
    from st4rt_repl.repl.app import _start_session
    s = _good_session(kesh)
    s.path.write_bytes(DAMAGE[kind])
    with pytest.raises(CommandError) as e:
        Session.open(s.name)
    assert "\n" not in str(e.value) and str(s.path) in str(e.value)
    said = []
    args = type("A", (), {"resume": True, "new": False, "file": None, "seed": 3})()
    fresh = _start_session(args, None, lambda m, c: said.append(m))
    assert fresh.piece is None and fresh.name != s.name
    assert len(said) == 1 and said[0].startswith("warning: ") and "new session" in said[0]


@pytest.mark.parametrize("content,fragment", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not text"),
    (b"nosuchsession\n", "which is gone"),
    (b"../../etc/passwd\n", "damaged"),
    (b"\n", None),
])
def test_a_damaged_last_pointer_is_one_warning(kesh, content, fragment):
    from st4rt_repl.repl.app import _start_session
    from st4rt_repl.session import find_last
    _good_session(kesh)
    (sessions_dir() / "last").write_bytes(content)
    name, warning = find_last()
    assert name is None and Session.last_name() is None
    said = []
    args = type("A", (), {"resume": False, "new": False, "file": None, "seed": None})()
    s = _start_session(args, lambda q: True, lambda m, c: said.append(m))
    assert s.piece is None
    if fragment is None:
        assert warning is None and said == []
    else:
        assert fragment in warning and said == [f"warning: {warning}"]


def test_random_bytes_as_session_files_never_raise_anything_but_command_error(kesh):
    import random
    rng = random.Random(13)
    s = _good_session(kesh)
    good = s.path.read_bytes()
    for _ in range(200):
        if rng.random() < 0.5:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
        else:       # a few bytes of a good file changed: mostly still JSON
            data = bytearray(good)
            for _ in range(rng.randrange(1, 6)):
                data[rng.randrange(len(data))] = rng.choice(b'{}[]",:0123456789 -tfn\xff')
            data = bytes(data)
        s.path.write_bytes(data)
        try:
            opened = Session.open(s.name)
        except CommandError as e:
            assert "\n" not in str(e)
        else:
            assert isinstance(opened, Session)


def test_a_round_1_session_file_still_opens(kesh):
    """Version 1 files (written before the written form) hold flat tunes with no form fields."""
    old = {"format": "st4rt-session", "version": 1, "name": "old", "saved": "2026-11-01 10:00:00",
           "settings": {"temperature": 1.0, "candidates": 4, "profile": None, "likeness": 0.5,
                        "seed": 7, "rolls": 1, "port": None},
           "index": 1,
           "history": [{"piece": None, "proposals": [], "request": None, "label": "start"},
                       {"piece": 0, "proposals": [{"tune": 1, "changed": [3]}],
                        "request": {"intent": "continue", "args": {"bars": 1}},
                        "label": "continue 1 bars"}],
           "tunes": [{"title": "Old", "meter": [2, 4], "key": ["D", "major"], "tempo": 100,
                      "pickup": False, "bars": [{"notes": [[62, "1"], [64, "1"]]},
                                                {"notes": [[66, "2", 1]]}]},
                     {"title": "Old", "meter": [2, 4], "key": ["D", "major"], "tempo": 100,
                      "pickup": False, "bars": [{"notes": [[62, "1"], [64, "1"]]},
                                                {"notes": [[66, "2", 1]]},
                                                {"notes": [[66, "1"], [None, "1"]], "meter": [2, 4]}]}]}
    (sessions_dir()).mkdir(parents=True, exist_ok=True)
    (sessions_dir() / "old.json").write_text(json.dumps(old))
    s = Session.open("old")
    assert s.piece.num_bars == 2 and not s.piece.has_form and s.piece.num_played_bars == 2
    assert [n.pitch for n in s.piece.bar(1).notes] == [62, 64] and s.piece.bar(2).notes[0].tie
    assert s.proposals[0].changed == (3,) and s.settings.seed == 7
    apply(s, "take 1")                                  # and it goes on, saved as version 2
    assert json.loads(s.path.read_text())["version"] == 2 and s.piece.num_bars == 3


# ----- issue 13: nothing overwritten silently ------------------------------------------------
def test_export_onto_an_existing_file_asks_first(home, kesh):
    from st4rt_repl.session import Confirm
    s = _good_session(kesh)
    target = home / "song.mid"
    target.write_text("my notes, not MIDI")
    with pytest.raises(Confirm) as e:
        apply(s, "export midi song.mid")
    assert "already exists" in str(e.value) and "overwrite" in str(e.value)
    assert e.value.question.endswith("[y/N] ")
    assert target.read_text() == "my notes, not MIDI"          # untouched
    s.apply(e.value.then)                                      # the yes
    assert target.read_bytes()[:4] == b"MThd"
    apply(s, "export abc song.abc")
    s.apply(Intent("export", {"format": "abc", "path": "song.abc", "overwrite": True}))
    assert not [p for p in home.iterdir() if p.name.startswith(".")]   # no temporary files


def test_export_into_a_folder_names_the_file_after_the_piece(home, kesh):
    s = _good_session(kesh)
    (home / "out").mkdir()
    out = s.apply(Intent("export", {"format": "abc", "path": "out"}))
    assert (home / "out" / "the-kesh.abc").is_file() and "the-kesh.abc" in out.message
    apply(s, "export midi out/")
    assert (home / "out" / "the-kesh.mid").is_file()
    assert not (home / "out.abc").exists()


# ----- issue 13: shared limits ---------------------------------------------------------------
@pytest.mark.parametrize("intent,fragment", [
    (Intent("continue", {"bars": 100000}), "continue: bars must be 1..256 (asked for 100000)"),
    (Intent("generate", {"bars": 100000}), "generate: bars must be 1..256 (asked for 100000)"),
    (Intent("interpolate", {"from": 1, "to": 3, "steps": 500}), "steps must be 1..16"),
    (Intent("generate", {"bars": 8, "meter": "99/8"}), "meter 99/8 is not supported; supported: 2/4"),
    (Intent("generate", {"bars": 8, "key": "H major"}), "unknown key 'H major'"),
])
def test_sizes_and_words_are_refused_in_one_line(kesh, intent, fragment):
    s = _good_session(kesh)
    before = fingerprint(s)
    with pytest.raises(CommandError) as e:
        s.apply(intent)
    assert fragment in str(e.value) and "\n" not in str(e.value)
    assert fingerprint(s) == before


# ----- issue 10: written bars, repeats, unfold ------------------------------------------------
def test_repeat_unfold_and_status_count_written_and_played_bars(kesh):
    s = _good_session(kesh)
    out = s.apply(Intent("repeat", {"bars": [1, 8]}))
    p = s.piece
    assert p.num_bars == 8 and p.num_played_bars == 16 and p.bar(1).repeat_start
    assert p.bar(8).barline == ":|" and "8 bars, 16 played" in out.message
    status = s.apply(Intent("status", {})).text
    assert "8 bars, 16 played + pickup" in status
    assert "8 bars, 16 played" in s.describe()
    s.apply(Intent("unfold", {}))
    assert s.piece.num_bars == 16 and not s.piece.has_form
    assert s.piece.sounding() == p.performed().sounding()
    s.apply(Intent("undo", {"count": 2}))
    assert s.piece == kesh
    out = s.apply(Intent("redo", {"count": 5}))
    assert s.piece.num_bars == 16 and "only 2 turns to redo" in out.message


def test_vary_a_repeated_bar_changes_every_pass(kesh):
    s = Session(seed=2)
    s.set_piece(kesh.with_repeat(2, 7), "load")       # full bars: both passes on the beat
    s.apply(Intent("vary", {"bars": [3]}))
    for prop in s.proposals:
        t = prop.tune
        assert t.bar(3).notes != kesh.bar(3).notes and t.bar(2).repeat_start and t.bar(7).barline == ":|"
        heard = t.performed()                   # bar 3 is heard twice, both times the new notes
        n3 = [b.notes for b in heard.bars]
        assert n3.count(t.bar(3).notes) >= 2 and kesh.bar(3).notes not in n3
    # distinct candidates: no two the same in the changed bar
    assert len({p.tune.bar(3).notes for p in s.proposals}) == len(s.proposals)


def test_accept_with_no_number_takes_the_first_candidate(kesh):
    s = _good_session(kesh)
    with pytest.raises(CommandError, match="no candidates on the table"):
        s.apply(Intent("accept", {}))
    props = [Proposal(kesh.append_bars([kesh.bar(k)]), (kesh.num_bars + 1,)) for k in (1, 2)]
    s.push_proposals(props, Intent("continue", {"bars": 1}), "continue 1 bars")
    s.apply(Intent("accept", {"candidate": None}))
    assert s.piece == props[0].tune


# ----- the parser's modifiers reach the turns (issue 13) ----------------------------------------
def test_transpose_to_a_key_and_change_the_meter(kesh):
    s = _good_session(kesh)
    out = apply(s, "transpose to D")
    assert s.piece.key == Key("D", "major") and pitches(s.piece) == [p - 5 for p in pitches(kesh)]
    assert "down 5 semitones: now D major" in out.message
    apply(s, "undo")
    flat = Tune.from_bars([[(62, Fraction(1, 2))] * 6, [(64, Fraction(1, 2))] * 6], meter=(6, 8),
                          key=Key("G"), title="Flat")
    s.set_piece(flat, "load")
    out = apply(s, "change the meter to 3/4")
    assert s.piece.meter == (3, 4) and s.piece.num_bars == 2 and "re-barred in 3/4" in out.message
    assert pitches(s.piece) == pitches(flat) and all(b.is_full for b in s.piece.bars)
    s.set_piece(kesh.with_repeat(2, 7), "load")
    with pytest.raises(CommandError, match="'unfold' it first"):
        apply(s, "change the meter to 3/4")


def test_generate_with_meter_key_and_count_from_words(kesh):
    if _rnn_retraining():          # generate's shipped sampler is the attention-RNN (issue 12)
        pytest.skip(_rnn_retraining())
    s = Session(seed=4)
    out = apply(s, "make me a jig in A dorian")
    assert out.kind == "proposals" and "generate 8 bars in 6/8, A dorian" in out.message
    for p in s.proposals:
        assert p.tune.meter == (6, 8) and p.tune.key == Key("A", "dorian") and p.tune.num_bars == 8
    assert len({tuple(p.tune.sounding()) for p in s.proposals}) == len(s.proposals)   # distinct
    apply(s, "yes")                                     # keep it: the first candidate
    assert s.piece == s.history[-2].proposals[0].tune


def test_play_from_a_bar_at_a_tempo(kesh):
    s = _good_session(kesh)
    import mido
    out = s.apply(Intent("play", {"from_bar": 5, "tempo": 140}))
    apply(s, "stop")
    if "wrote" in out.message:           # no sound card: the MIDI it would have played
        mid = mido.MidiFile(re.search(r"wrote \S+ and (\S+\.mid)", out.message).group(1))
        tempos = [m.tempo for m in mido.merge_tracks(mid.tracks) if m.type == "set_tempo"]
        notes = [m.note for m in mido.merge_tracks(mid.tracks) if m.type == "note_on" and m.velocity]
        assert tempos == [mido.bpm2tempo(140)]
        assert notes == [p for _, _, p in kesh.slice_bars(5, 8).sounding()]
    else:
        assert "bars 5-8 at 140 bpm" in out.message
    with pytest.raises(CommandError, match="tempo 999 is out of range"):
        s.apply(Intent("play", {"tempo": 999}))


def test_a_new_part_is_a_labelled_repeated_section(kesh):
    if _rnn_retraining():
        pytest.skip(_rnn_retraining())
    s = Session(seed=5)
    s.set_piece(kesh.with_repeat(1, 8).with_bar(1, part="A"), "load")
    out = apply(s, "add a B part")
    assert out.kind == "proposals" and "new part of" in out.message
    for p in s.proposals:
        t = p.tune
        first = kesh.num_bars + 1                 # the B part, perhaps opening with its pickup
        new = t.bars[len(kesh.bars):]
        assert sum(b.is_full for b in new) == 8 and len(new) in (8, 9)   # as long as part A
        opening = next(b for b in new if b.is_full)          # the B part's first full bar
        assert opening.part == "B" and opening.repeat_start and t.bar(-1).barline == ":|"
        assert t.bars[:len(kesh.bars) - 1] == s.piece.bars[:len(kesh.bars) - 1]
        assert p.changed[-1] == t.num_bars


def test_fold_writes_repeated_sections_as_repeats_and_undo_unfolds(kesh):
    a = [[(60 + k, 2)] for k in range(4)]
    b = [[(67 + k, 2)] for k in range(4)]
    flat = Tune.from_bars(a + a + b + b, meter=(2, 4), key=Key("C"), title="AABB")
    s = Session()
    s.set_piece(flat, "load")
    out = apply(s, "fold")
    assert s.piece.num_bars == 8 and s.piece.num_played_bars == 16 and "8 bars, 16 played" in out.message
    assert s.piece.performed().sounding() == flat.sounding()
    assert "nothing to fold" in apply(s, "fold").message
    apply(s, "undo")
    assert s.piece == flat
