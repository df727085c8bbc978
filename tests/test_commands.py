"""Plain words -> intents: the phrasings users type, and what they must mean."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from st4rt_repl.commands import (COMMAND_WORDS, REGISTRY, Intent, ParseError, Unclear, bar_list,
                                 candidate_ref, explain, parse, topic_for)

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
    ("more please", "continue", {"bars": 4}),
    ("continue in D minor for 4 bars", "continue", {"bars": 4, "key": "D minor"}),
    ("finish the tune", "continue", {"bars": 8, "finish": True}),
    ("finish it in 4 bars", "continue", {"bars": 4, "finish": True}),
    ("keep going, a bit wilder", "continue", {"bars": 4, "temperature_scale": 1.12}),
    ("add 8 bars in my style", "continue", {"bars": 8, "profile": True}),
    ("continue 8 bars with profile Fiddle, give me 3 options", "continue",
     {"bars": 8, "profile": "Fiddle", "candidates": 3}),
    # generate
    ("generate 16 bars", "generate", {"bars": 16}),
    ("make a new tune of 8 bars", "generate", {"bars": 8}),
    ("write an 8 bar tune", "generate", {"bars": 8}),
    ("compose a 12-bar melody", "generate", {"bars": 12}),
    ("new tune", "generate", {"bars": 8}),
    ("start fresh with sixteen bars", "generate", {"bars": 16}),
    ("write an 8 bar jig", "generate", {"bars": 8, "meter": "6/8"}),
    ("start from scratch in 9/8 E minor", "generate", {"bars": 8, "meter": "9/8", "key": "E minor"}),
    ("make me a jig in A dorian", "generate", {"bars": 8, "meter": "6/8", "key": "A dorian"}),
    ("new tune in 6/8, key of D", "generate", {"bars": 8, "meter": "6/8", "key": "D major"}),
    ("a 6/8 march in G", "generate", {"bars": 8, "meter": "6/8", "key": "G major"}),
    ("a march in G", "generate", {"bars": 8, "meter": "2/4", "key": "G major"}),
    ("a slip jig in F sharp minor", "generate", {"bars": 8, "meter": "9/8", "key": "F# minor"}),
    ("a reel in Bb", "generate", {"bars": 8, "meter": "4/4", "key": "Bb major"}),
    ("a waltz in Amix", "generate", {"bars": 8, "meter": "3/4", "key": "A mixolydian"}),
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
    ("try a different version of measure 5", "vary", {"bars": [5]}),
    ("vary bar 3 at temperature 1.5", "vary", {"bars": [3], "temperature": 1.5}),
    ("vary bar 3 a little", "vary", {"bars": [3], "amount": 0.25}),
    ("vary bar 3 with amount 0.6", "vary", {"bars": [3], "amount": 0.6}),
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
    ("keep it", "accept", {"candidate": None}),
    ("yes", "accept", {"candidate": None}),
    ("take it", "accept", {"candidate": None}),
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
    ("undo twice", "undo", {"count": 2}),
    ("undo 3 times", "undo", {"count": 3}),
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
    ("play it at 140", "play", {"tempo": 140}),
    ("play from bar 5", "play", {"from_bar": 5}),
    ("loop bars 1-2", "play", {"bars": [1, 2], "loop": True}),
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
    ("transpose to D", "transpose", {"key": "D major"}),
    ("transpose to G", "transpose", {"key": "G major"}),
    ("drop it an octave", "transpose", {"semitones": -12}),
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
    # a path without an extension may be a folder: kept as typed, the session decides
    ("export midi song", "export", {"format": "midi", "path": "song"}),
    ("export abc out/", "export", {"format": "abc", "path": "out/"}),
    ("export midi x.mid overwrite", "export", {"format": "midi", "path": "x.mid", "overwrite": True}),
    ("export midi x.mid, replace it", "export", {"format": "midi", "path": "x.mid", "overwrite": True}),
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
    ("how do I export?", "help", {"topic": "export"}),
    ("what can you do?", "help", {}),
    ("help pick", "help", {"topic": "accept"}),
]

# Intents new in round 2 (kept apart: the session test walks PHRASES for handlers).
NEW_PHRASES = [
    ("new part", "new_part", {}),
    ("add a B part", "new_part", {}),
    ("write the next part", "new_part", {}),
    ("give me the B part", "new_part", {}),
    ("write an 8 bar B part", "new_part", {"bars": 8}),
    ("a part like A", "new_part", {"like": "similar"}),
    ("a contrasting part", "new_part", {"like": "contrast"}),
    ("repeat bars 1-8", "repeat", {"bars": [1, 2, 3, 4, 5, 6, 7, 8]}),
    ("put repeat signs around bars 1 to 4", "repeat", {"bars": [1, 2, 3, 4]}),
    ("unfold", "unfold", {}),
    ("write out the repeats", "unfold", {}),
    ("fold the repeats", "fold", {}),
    ("change the meter to 3/4", "meter", {"meter": "3/4"}),
    ("make it a jig", "meter", {"meter": "6/8"}),
]


@pytest.mark.parametrize("text,name,args", PHRASES + NEW_PHRASES,
                         ids=[p[0] for p in PHRASES + NEW_PHRASES])
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
    ("repeat", "repeat which bars"),
    ("transpose", "transpose by how much"),
    ("interpolate bar 3", "interpolate which bars"),
    ("export midi song.abc", "is not a midi file name"),
    ("export song.txt", "unknown file type"),
    ("transpose sideways", "transpose: did not understand"),
    ("generate 0 bars", "out of range"),
    ("give me 99 options for a reel", "out of range"),
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
    assert r.returncode == 2          # the CLI's one exit code for user errors
    assert r.stdout == ""
    assert r.stderr.strip().count("\n") == 0
    assert "did you mean 'vary bar 3'?" in r.stderr
    assert "Traceback" not in r.stderr


def test_commands_import_neither_torch_nor_music21():
    code = ("import sys, st4rt_repl.commands as c; c.parse('vary bar 3'); "
            "print(any(m in sys.modules for m in ('torch', 'music21', 'numpy')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False", r.stderr


# ----- clarifying questions ------------------------------------------------------------
@pytest.mark.parametrize("text,guess,ignored", [
    ("8 bars in 6/8", Intent("generate", {"bars": 8, "meter": "6/8"}), ""),
    ("write an 8 bar jig with lots of rolls", Intent("generate", {"bars": 8, "meter": "6/8"}),
     "lots of rolls"),
    ("continue 8 bars with a flourish", Intent("continue", {"bars": 8}), "flourish"),
    ("bar 3", Intent("vary", {"bars": [3]}), ""),
    ("undo 8 bars", Intent("undo", {}), "8 bars"),
])
def test_a_sentence_understood_in_part_asks(text, guess, ignored):
    with pytest.raises(Unclear) as e:
        parse(text)
    assert e.value.guess == guess
    assert e.value.ignored == ignored
    assert str(e.value).endswith("? [Y/n]") or str(e.value).endswith(") [Y/n]")
    assert "\n" not in str(e.value) and "[Y/n]" not in e.value.message
    assert isinstance(e.value, ParseError)       # callers that know only ParseError still cope


def test_the_question_says_what_was_understood():
    with pytest.raises(Unclear) as e:
        parse("8 bars in 6/8")
    assert str(e.value) == "Generate 8 bars in 6/8? [Y/n]"
    with pytest.raises(Unclear) as e:
        parse("continue 8 bars with a flourish")
    assert e.value.message == "Continue 8 bars? (not understood: 'flourish')"


def test_misspellings_get_a_suggestion_not_a_question():
    with pytest.raises(ParseError) as e:
        parse("contnue 8 bars in my style")
    assert not isinstance(e.value, Unclear)
    assert e.value.suggestion == "continue 8 bars in my style"


# ----- the registry: help, completion and examples from one table -----------------------
def test_every_registered_example_parses_to_its_command():
    for cmd in REGISTRY.values():
        for example in cmd.examples:
            intent = parse(example)
            got = REGISTRY[intent.name]
            assert (got.topic or got.name) == (cmd.topic or cmd.name), (example, intent)


def test_every_command_word_and_verb_has_a_help_topic():
    from st4rt_repl.repl.help import TOPICS, topic_help, topic_of
    for word in COMMAND_WORDS:
        assert topic_of(word) in TOPICS, word
        assert topic_help(word).startswith(f"{topic_of(word)}: ")
    for cmd in REGISTRY.values():
        assert (cmd.topic or cmd.name) in TOPICS, cmd.name
        assert cmd.examples and cmd.summary, cmd.name
    # the old drift: parse("pick 2") accepted while "help pick" knew nothing
    assert parse("pick 2").name == "accept" and topic_of("pick") == "accept"
    assert topic_for("write out the repeats") == "unfold"


def test_help_overview_lists_every_topic_once():
    from st4rt_repl.repl.help import GROUPS, TOPICS, overview
    listed = [n for _, names in GROUPS for n in names]
    assert sorted(listed) == sorted(TOPICS) and len(listed) == len(set(listed))
    text = overview()
    assert "new_part" in text and "unfold" in text and "repeat" in text


def test_completion_reads_the_registry():
    from prompt_toolkit.document import Document

    from st4rt_repl.repl.completer import CommandCompleter
    c = CommandCompleter(lambda: None)

    def complete(text):
        return [x.text for x in c.get_completions(Document(text), None)]
    assert complete("unf") == ["unfold"]
    assert "repeat" in complete("re")
    assert complete("transpose ") == list(REGISTRY["transpose"].follow)
    assert complete("help new_") == ["new_part"]
    assert complete("generate a jig in ")[:3] == ["D", "G", "A"]
    assert "9/8" in complete("compose in ") and complete("transpose to E") == ["E minor"]


# ----- st4rt parse --explain -----------------------------------------------------------
def test_explain_names_the_words_behind_each_modifier():
    text = explain("compose a 16 bar reel in G, a bit wilder")
    first, *rest = text.splitlines()
    assert json.loads(first) == {"intent": "generate", "args": {
        "bars": 16, "meter": "4/4", "key": "G major", "temperature_scale": 1.12}}
    assert "  command   'compose' -> generate" in rest
    assert "  modifier  'a 16 bar' -> count 16" in rest
    assert "  modifier  'reel' -> type reel (meter 4/4)" in rest
    assert "  modifier  'in g' -> key G major" in rest
    assert any(ln.startswith("  modifier  'a bit wilder' -> tempdir") for ln in rest)
    text = explain("write an 8 bar jig with lots of rolls")
    assert text.startswith("unclear: Generate 8 bars in 6/8?")
    assert "  ignored   'lots of rolls'" in text.splitlines()


def test_run_explain_and_unclear_exit_codes(capsys):
    from argparse import Namespace

    from st4rt_repl.commands import run
    assert run(Namespace(text=["undo", "twice"], explain=True)) == 0
    out = capsys.readouterr().out
    assert json.loads(out.splitlines()[0]) == {"intent": "undo", "args": {"count": 2}}
    assert "'twice' -> times 2" in out
    assert run(Namespace(text=["8 bars in 6/8"], explain=False)) == 2
    err = capsys.readouterr().err
    assert err.startswith("st4rt parse: unclear: Generate 8 bars in 6/8?") and err.count("\n") == 1


# ----- robustness and speed ------------------------------------------------------------
def test_fuzz_random_command_lines_raise_only_parse_errors():
    import random
    rng = random.Random(13)
    vocab = sorted({w for cmd in REGISTRY.values() for e in cmd.examples for w in e.split()} | {
        "bar", "bars", "-", "to", "the", "last", "a", "jig", "in", "6/8", "E", "minor", "dorian",
        "twice", "at", "temperature", "1.3", "-1", "0", "99999", "part", "B", "like", "#",
        '"', "'", "?", ":", "..", "/", "~", "x.abc", "and", "of", "one", "third", "up", "down",
        "\u266d", "\u00e9", "\t", "[", "]", "|:", ":|", "K:D", "X:1", "\n", "1.5", "2.5", "1e5",
        "\u00bd", "3/0", "0/8", "99/99", "+3", "f#", "bb", "sharp", "wilder", "options"})
    for i in range(1000):
        if i % 5 == 0:
            line = "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(0, 30)))
        else:
            line = " ".join(rng.choice(vocab) for _ in range(rng.randrange(0, 9)))
        try:
            intent = parse(line)
        except ParseError as e:           # Unclear is a ParseError
            assert "\n" not in str(e), repr(line)
            continue
        assert json.loads(intent.to_json())["intent"] == intent.name, repr(line)


def test_parsing_is_fast():
    import time
    lines = [p[0] for p in PHRASES + NEW_PHRASES]
    start = time.perf_counter()
    for text in lines:
        try:
            parse(text)
        except ParseError:
            pass
    per_line = (time.perf_counter() - start) / len(lines)
    assert per_line < 0.005, f"{per_line * 1000:.2f} ms per line"


# ----- modifiers, one by one -----------------------------------------------------------
@pytest.mark.parametrize("tune_type,meter", [
    ("jig", "6/8"), ("double jig", "6/8"), ("slip jig", "9/8"), ("hop jig", "9/8"), ("reel", "4/4"),
    ("hornpipe", "4/4"), ("waltz", "3/4"), ("polka", "2/4"), ("march", "2/4"), ("strathspey", "4/4"),
    ("slide", "12/8"), ("mazurka", "3/4"), ("barndance", "4/4"), ("polska", "3/4"),
])
def test_tune_types_give_their_meter(tune_type, meter):
    assert parse(f"write a {tune_type}").args == {"bars": 8, "meter": meter}
    assert parse(f"write a {tune_type} in 5/4").args["meter"] == "5/4"     # a named meter wins


@pytest.mark.parametrize("words,key", [
    ("in G", "G major"), ("in E minor", "E minor"), ("in Em", "E minor"), ("in A dorian", "A dorian"),
    ("key of D", "D major"), ("in the key of C", "C major"), ("in D major", "D major"),
    ("in F#m", "F# minor"), ("in F sharp minor", "F# minor"), ("in B flat", "Bb major"),
    ("in Bb", "Bb major"), ("in Dmix", "D mixolydian"), ("in A mixolydian", "A mixolydian"),
    ("in G lydian", "G lydian"), ("in E phrygian", "E phrygian"), ("in B aeolian", "B minor"),
    ("in Am", "A minor"), ("in A", "A major"), ("in Ador", "A dorian"),
])
def test_keys_and_modes_anywhere(words, key):
    assert parse(f"make a reel {words}").args["key"] == key
    assert parse(f"{words}, make a reel").args["key"] == key


@pytest.mark.parametrize("words,meter", [
    ("in 6/8", "6/8"), ("in three", "3/4"), ("in 2", "2/4"), ("in 9/8 time", "9/8"),
    ("in common time", "4/4"), ("in cut time", "2/2"), ("in waltz time", "3/4"),
    ("in six eight time", "6/8"), ("M:12/8", "12/8"),
])
def test_meters(words, meter):
    assert parse(f"new tune {words}").args["meter"] == meter


@pytest.mark.parametrize("text,args", [
    ("vary bar 3 a little", {"bars": [3], "amount": 0.25}),
    ("vary bar 3 slightly", {"bars": [3], "amount": 0.25}),
    ("vary bar 3 somewhat", {"bars": [3], "amount": 0.5}),
    ("vary bar 3 a lot", {"bars": [3], "amount": 0.8}),
    ("vary bar 3 amount 0.7", {"bars": [3], "amount": 0.7}),
    ("vary bar 3, wilder", {"bars": [3], "temperature_scale": 1.25}),
    ("vary bar 3, a bit safer", {"bars": [3], "temperature_scale": 0.9}),
    ("vary bar 3, much wilder", {"bars": [3], "temperature_scale": 1.6}),
    ("vary bar 3 at temperature 0.7", {"bars": [3], "temperature": 0.7}),
    ("vary bar 3 t=1.4", {"bars": [3], "temperature": 1.4}),
    ("in my style vary bar 3", {"bars": [3], "profile": True}),
    ("vary bar 3 without my profile", {"bars": [3], "profile": False}),
    ("vary bar 3 using profile Cape_Breton", {"bars": [3], "profile": "Cape_Breton"}),
    ("give me 5 variations of bar 3", {"bars": [3], "candidates": 5}),
    ("vary the last bar", {"bars": [-1]}),
    ("vary measures 2 through 4", {"bars": [2, 3, 4]}),
    ("vary the 2nd to last bar", {"bars": [-2]}),
])
def test_vary_modifiers_in_any_order(text, args):
    assert parse(text).args == args


@pytest.mark.parametrize("text,name,args", [
    ("for eight bars keep going", "continue", {"bars": 8}),
    ("4 bars, continue", "continue", {"bars": 4}),
    ("in E minor, safer, continue for 2 bars", "continue",
     {"bars": 2, "key": "E minor", "temperature_scale": 0.8}),
    ("at 100 bpm play bars 1-2", "play", {"bars": [1, 2], "tempo": 100}),
    ("from bar 3 play it on a loop", "play", {"from_bar": 3, "loop": True}),
    ("twice undo", "undo", {"count": 2}),
])
def test_modifiers_before_the_verb(text, name, args):
    assert (parse(text).name, parse(text).args) == (name, args)


def test_intent_is_a_small_immutable_value():
    import copy
    import pickle
    i = parse("vary bar 3")
    assert i == Intent("vary", {"bars": [3]}) and i != Intent("vary", {"bars": [4]})
    assert copy.deepcopy(i) == i == pickle.loads(pickle.dumps(i))
    with pytest.raises(AttributeError):
        i.name = "generate"
    assert repr(i) == "Intent(name='vary', args={'bars': [3]})"


def test_a_musician_composes_a_tune_with_a_b_part_in_plain_sentences():
    # the sentences of the closing transcript, each one intent
    session = [
        ("make me a reel in D", "generate", {"bars": 8, "meter": "4/4", "key": "D major"}),
        ("play the second one", "play", {"candidate": 2}),
        ("I'll take that one", "accept", {"candidate": None}),
        ("try a different version of measure 5", "vary", {"bars": [5]}),
        ("keep the third", "accept", {"candidate": 3}),
        ("put repeat signs around bars 1 to 8", "repeat", {"bars": list(range(1, 9))}),
        ("now write a contrasting B part, 8 bars", "new_part", {"bars": 8, "like": "contrast"}),
        ("yes", "accept", {"candidate": None}),
        ("finish the tune", "continue", {"bars": 8, "finish": True}),
        ("undo", "undo", {}),
        ("play it at 110 from bar 9", "play", {"tempo": 110, "from_bar": 9}),
        ("write out the repeats", "unfold", {}),
        ("export abc my_reel.abc", "export", {"format": "abc", "path": "my_reel.abc"}),
    ]
    for text, name, args in session:
        assert parse(text) == Intent(name, args), text
