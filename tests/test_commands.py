"""Plain words -> intents: the phrasings users type, and what they must mean."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from st4rt_repl.commands import Intent, ParseError, bar_list, candidate_ref, parse

# (what the user types, intent, args) -- args exactly as `st4rt parse` prints them.
PHRASES = [
    # continue
    ("continue 8 bars", "continue", {"bars": 8}),
    ("keep going for 4 bars", "continue", {"bars": 4}),
    ("continue for eight bars", "continue", {"bars": 8}),
    ("please continue for twelve bars now", "continue", {"bars": 12}),
    ("add 4 bars", "continue", {"bars": 4}),
    ("give me 8 more bars", "continue", {"bars": 8}),
    ("4 more bars", "continue", {"bars": 4}),
    ("one more bar", "continue", {"bars": 1}),
    ("add a bar", "continue", {"bars": 1}),
    ("add a couple of bars", "continue", {"bars": 2}),
    ("extend it by twenty-four bars", "continue", {"bars": 24}),
    ("continue", "continue", {"bars": 4}),
    ("continue 8 bars at temperature 1.2", "continue", {"bars": 8, "temperature": 1.2}),
    # generate
    ("generate 16 bars", "generate", {"bars": 16}),
    ("make a new tune of 8 bars", "generate", {"bars": 8}),
    ("write an 8 bar tune", "generate", {"bars": 8}),
    ("compose a 12-bar melody", "generate", {"bars": 12}),
    ("new tune", "generate", {"bars": 8}),
    ("start fresh with sixteen bars", "generate", {"bars": 16}),
    # vary
    ("vary bar 3", "vary", {"bars": [3]}),
    ("Vary Bar 3.", "vary", {"bars": [3]}),
    ("vary bars 3-4", "vary", {"bars": [3, 4]}),
    ("vary bars 2 to 5", "vary", {"bars": [2, 3, 4, 5]}),
    ("vary bars from 2 to 5", "vary", {"bars": [2, 3, 4, 5]}),
    ("vary bars 1, 3 and 5", "vary", {"bars": [1, 3, 5]}),
    ("make bar 3 different", "vary", {"bars": [3]}),
    ("change bars 5 to 6", "vary", {"bars": [5, 6]}),
    ("rewrite the last bar", "vary", {"bars": [-1]}),
    ("vary the last 2 bars", "vary", {"bars": [-2, -1]}),
    ("vary the first four bars", "vary", {"bars": [1, 2, 3, 4]}),
    ("vary bars -3 to -1", "vary", {"bars": [-3, -2, -1]}),
    ("try something else for bar 3", "vary", {"bars": [3]}),
    ("redo bar 3", "vary", {"bars": [3]}),
    ("i don't like bar 5", "vary", {"bars": [5]}),
    ("variations on bars 1 and 2", "vary", {"bars": [1, 2]}),
    ("change the ending", "vary", {"bars": [-2, -1]}),
    ("vary the third bar", "vary", {"bars": [3]}),
    # interpolate
    ("interpolate 1 4", "interpolate", {"from": 1, "to": 4}),
    ("interpolate bar 1 to bar 4", "interpolate", {"from": 1, "to": 4}),
    ("morph bar 1 into bar 4", "interpolate", {"from": 1, "to": 4}),
    ("bridge bars 2 and 6", "interpolate", {"from": 2, "to": 6}),
    ("go from bar 1 to bar 5", "interpolate", {"from": 1, "to": 5}),
    ("a bridge between bar 4 and bar 8", "interpolate", {"from": 4, "to": 8}),
    ("blend bar 2 with the last bar", "interpolate", {"from": 2, "to": -1}),
    # accept / reject / again / undo / redo
    ("take 2", "accept", {"candidate": 2}),
    ("take two", "accept", {"candidate": 2}),
    ("accept 1", "accept", {"candidate": 1}),
    ("i like the first one", "accept", {"candidate": 1}),
    ("the second one", "accept", {"candidate": 2}),
    ("number 3", "accept", {"candidate": 3}),
    ("#2", "accept", {"candidate": 2}),
    ("keep the third", "accept", {"candidate": 3}),
    ("let's go with option 4", "accept", {"candidate": 4}),
    ("take the last one", "accept", {"candidate": -1}),
    ("reject", "reject", {}),
    ("no", "reject", {}),
    ("none of them", "reject", {}),
    ("i don't like any of them", "reject", {}),
    ("again", "again", {}),
    ("try again", "again", {}),
    ("one more time", "again", {}),
    ("undo", "undo", {}),
    ("go back", "undo", {}),
    ("oops", "undo", {}),
    ("redo", "redo", {}),
    # play / show
    ("play", "play", {}),
    ("play it", "play", {}),
    ("let me hear it", "play", {}),
    ("play the second one", "play", {"candidate": 2}),
    ("play 3", "play", {"candidate": 3}),
    ("play bars 1-4", "play", {"bars": [1, 2, 3, 4]}),
    ("play bar 3", "play", {"bars": [3]}),
    ("play the last 4 bars", "play", {"bars": [-4, -3, -2, -1]}),
    ("play candidate 2 bars 1-4", "play", {"candidate": 2, "bars": [1, 2, 3, 4]}),
    ("play bars 1-4 of the second one", "play", {"candidate": 2, "bars": [1, 2, 3, 4]}),
    ("show", "show", {}),
    ("show me the tune", "show", {}),
    ("show 2", "show", {"candidate": 2}),
    ("show candidate 3", "show", {"candidate": 3}),
    # transpose
    ("transpose up 2", "transpose", {"semitones": 2}),
    ("transpose -3", "transpose", {"semitones": -3}),
    ("transpose by -3", "transpose", {"semitones": -3}),
    ("transpose down a fifth", "transpose", {"semitones": -7}),
    ("up an octave", "transpose", {"semitones": 12}),
    ("transpose up a minor third", "transpose", {"semitones": 3}),
    ("transpose it down a perfect fourth", "transpose", {"semitones": -5}),
    ("lower it by a tone", "transpose", {"semitones": -2}),
    ("raise it 2 semitones", "transpose", {"semitones": 2}),
    ("move it up a fifth", "transpose", {"semitones": 7}),
    ("transpose down two octaves", "transpose", {"semitones": -24}),
    # tempo and temperature
    ("tempo 100", "tempo", {"bpm": 100}),
    ("set the tempo to 140", "tempo", {"bpm": 140}),
    ("change the tempo to 90", "tempo", {"bpm": 90}),
    ("120 bpm", "tempo", {"bpm": 120}),
    ("slower", "tempo_step", {"direction": "down"}),
    ("a bit faster", "tempo_step", {"direction": "up"}),
    ("temperature 0.8", "temperature", {"value": 0.8}),
    ("set the temperature to 1.5", "temperature", {"value": 1.5}),
    ("temperature", "temperature", {}),
    ("be more adventurous", "temperature", {"direction": "up"}),
    ("be a bit more creative", "temperature", {"direction": "up"}),
    ("be more conservative", "temperature", {"direction": "down"}),
    ("play it safe", "temperature", {"direction": "down"}),
    ("wilder", "temperature", {"direction": "up"}),
    # export / load / personalize
    ("export midi song.mid", "export", {"format": "midi", "path": "song.mid"}),
    ("write it to song.mid", "export", {"format": "midi", "path": "song.mid"}),
    ("export song.musicxml", "export", {"format": "musicxml", "path": "song.musicxml"}),
    ("save as tune.abc", "export", {"format": "abc", "path": "tune.abc"}),
    ("export as musicxml to out.xml", "export", {"format": "musicxml", "path": "out.xml"}),
    ("render it to song.wav", "export", {"format": "wav", "path": "song.wav"}),
    ("write the sheet music to Tune.svg", "export", {"format": "svg", "path": "Tune.svg"}),
    ("export midi song", "export", {"format": "midi", "path": "song.mid"}),
    ("export wav", "export", {"format": "wav", "path": ""}),
    ('export "my song.mid"', "export", {"format": "midi", "path": "my song.mid"}),
    ("export to ~/tunes/x.abc", "export", {"format": "abc", "path": "~/tunes/x.abc"}),
    ("load tune.abc", "load", {"path": "tune.abc"}),
    ("open Reels/Kesh.ABC", "load", {"path": "Reels/Kesh.ABC"}),
    ("use jig.mid as primer", "load", {"path": "jig.mid"}),
    ("personalize my_tunes/", "personalize", {"path": "my_tunes/"}),
    ("learn my style from tunes/", "personalize", {"path": "tunes/"}),
    # housekeeping
    ("help", "help", {}),
    ("?", "help", {}),
    ("help vary", "help", {"topic": "vary"}),
    ("how do i export", "help", {"topic": "export"}),
    ("quit", "quit", {}),
    ("exit", "quit", {}),
    (":q", "quit", {}),
    ("save", "save", {}),
    ("save MyReel", "save", {"name": "MyReel"}),
    ("open my-reel", "open", {"name": "my-reel"}),
    ("sessions", "sessions", {}),
    ("stop", "stop", {}),
    ("paste", "paste", {}),
    ("status", "status", {}),
    ("candidates 6", "candidates", {"count": 6}),
    ("profile me", "profile", {"name": "me"}),
    ("no profile", "profile", {"name": None}),
    ("call it The Kesh Jig", "title", {"text": "The Kesh Jig"}),
]


@pytest.mark.parametrize("text,name,args", PHRASES, ids=[p[0] for p in PHRASES])
def test_phrasing(text, name, args):
    intent = parse(text)
    assert (intent.name, intent.args) == (name, args)
    # and the JSON form is exactly {"intent": ..., "args": {...}}
    assert json.loads(intent.to_json()) == {"intent": name, "args": args}


def test_there_are_many_phrasings():
    assert len(PHRASES) >= 50
    core = {"continue", "generate", "vary", "interpolate", "accept", "reject", "again", "undo",
            "redo", "play", "show", "transpose", "tempo", "temperature", "export", "load",
            "personalize", "help", "quit"}
    assert core <= {p[1] for p in PHRASES}


@pytest.mark.parametrize("text,suggestion", [
    ("vry bar 3", "vary bar 3"),
    ("contnue 8 bars", "continue 8 bars"),
    ("transpse up 2", "transpose up 2"),
    ("tkae 2", "take 2"),
    ("exprot midi song.mid", "export midi song.mid"),
])
def test_misspelt_commands_get_a_suggestion(text, suggestion):
    with pytest.raises(ParseError) as e:
        parse(text)
    assert e.value.suggestion == suggestion
    assert f"did you mean '{suggestion}'?" in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("text,fragment", [
    ("", "empty"),
    ("blah blah blah", "did not understand"),
    ("vary", "vary which bars"),
    ("take it", "accept which candidate"),
    ("export midi song.abc", "is not a midi file name"),
    ("export song.txt", "unknown file type"),
    ("transpose sideways", "transpose: did not understand"),
    ("transpose to G", "not supported"),
    ("vary bars 2 to -1", "cannot mix"),
    ("continue 100000 bars", "out of range"),
    ('load "unclosed', "unbalanced"),
    ("vary bars 1-100000", "too many bars"),
])
def test_bad_commands_are_one_line_errors(text, fragment):
    with pytest.raises(ParseError) as e:
        parse(text)
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)


def test_bar_and_candidate_phrases():
    assert bar_list("bars 3 through 6") == [3, 4, 5, 6]
    assert bar_list("bars 4 3 2") == [4, 3, 2]
    assert bar_list("bars 6-3") == [3, 4, 5, 6]
    assert bar_list("the 2nd to last bar") == [-2]
    assert bar_list("the tune") is None
    assert candidate_ref("option #4") == 4
    assert candidate_ref("bar 3") is None


def test_pasted_abc_is_a_primer():
    abc = "X:1\nT:Scale\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|\n"
    assert parse(abc) == Intent("primer", {"abc": abc})


def _run(*argv, **kw):
    env = dict(os.environ, ST4RT_HOME=kw.pop("home", "/nonexistent-st4rt-home"))
    st4rt = str(Path(sys.executable).with_name("st4rt"))
    return subprocess.run([st4rt, *argv], capture_output=True, text=True, env=env, timeout=60, **kw)


def test_st4rt_parse_prints_one_json_object():
    r = _run("parse", "keep going for 4 bars")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1
    assert json.loads(r.stdout) == {"intent": "continue", "args": {"bars": 4}}
    r = _run("parse", "write", "it", "to", "song.mid")
    assert json.loads(r.stdout) == {"intent": "export", "args": {"format": "midi", "path": "song.mid"}}


def test_st4rt_parse_bad_text_is_one_line_and_nonzero():
    r = _run("parse", "vry bar 3")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.strip().count("\n") == 0
    assert "did you mean 'vary bar 3'?" in r.stderr
    assert "Traceback" not in r.stderr


def test_commands_import_neither_torch_nor_music21():
    code = ("import sys, st4rt_repl.commands as c; c.parse('vary bar 3'); "
            "print(any(m in sys.modules for m in ('torch', 'music21', 'numpy')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False", r.stderr
