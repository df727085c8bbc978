"""Help texts: `help` lists everything, `help COMMAND` explains one with examples.

>>> topic_of("take"), topic_of("morph"), topic_of("nonsense")
('accept', 'interpolate', None)
"""
from __future__ import annotations

import difflib

__all__ = ["TOPICS", "ALIASES", "overview", "topic_help", "topic_of"]

# topic -> (one-line summary, details, examples)
TOPICS: dict[str, tuple[str, str, list[str]]] = {
    "continue": ("add N new bars after the piece (K candidates)",
                 "The attention-RNN writes exactly N full bars after the last bar of the piece, "
                 "in its key and meter. Add 'at temperature T' for one request at another "
                 "temperature.",
                 ["continue 8 bars", "keep going for 4 bars", "give me 8 more bars",
                  "continue 8 bars at temperature 1.2"]),
    "generate": ("a new tune of N bars from scratch",
                 "MusicVAE samples a new tune (in the piece's key and meter if there is one, else "
                 "D major 4/4). Accepting a generated tune replaces the piece.",
                 ["generate 16 bars", "make a new tune of 8 bars", "write an 8 bar jig"]),
    "vary": ("new versions of some bars; all other bars stay",
             "MusicVAE rewrites only the chosen bars. Bars count from 1; -1 is the last bar. "
             "The temperature sets how far the variations stray.",
             ["vary bar 3", "vary bars 3-4", "make bar 3 different", "change bars 5 to 6",
              "vary the last 2 bars"]),
    "interpolate": ("phrases that morph one bar's phrase into another's",
                    "The 2-bar phrases at the two bars are blended in latent space; the bridge "
                    "is inserted right after the first phrase.",
                    ["interpolate bar 1 to bar 5", "morph bar 1 into bar 4", "bridge bars 2 and 6"]),
    "accept": ("make candidate K the piece",
               "Proposals are numbered from 1. 'take the last one' takes the last.",
               ["take 2", "accept 1", "i like the first one", "go with option 3"]),
    "reject": ("clear the candidates (again rolls new ones)", "",
               ["reject", "no", "none of them"]),
    "again": ("the same request again with a new seed", "",
              ["again", "try again", "one more time"]),
    "undo": ("step back through the whole history (piece and candidates)", "",
             ["undo", "go back"]),
    "redo": ("step forward again after undo", "", ["redo"]),
    "play": ("listen to the piece, a candidate or some bars",
             "Plays through the sound card with fluidsynth, or a MIDI port ('port NAME'). "
             "Without a sound card it writes the WAV and MIDI it would have played and says where.",
             ["play", "play 2", "play the second one", "play bars 1-4", "loop bars 1-4", "stop"]),
    "stop": ("stop playing", "", ["stop"]),
    "show": ("show the piece, or candidate K in full", "",
             ["show", "show 2", "show candidate 3"]),
    "transpose": ("move the piece (and the candidates) up or down",
                  "Semitones, or interval names: a third is a major third; 'minor third' = 3.",
                  ["transpose up 2", "transpose -3", "transpose down a fifth", "up an octave",
                   "transpose up a minor third"]),
    "tempo": ("set the tempo in beats (quarter notes) per minute", "",
              ["tempo 100", "set the tempo to 140", "slower", "faster"]),
    "temperature": ("how adventurous the proposals are (default 1.0)",
                    "Higher is wilder, lower is safer (0.05..3). It scales sampling for continue "
                    "and how far vary strays.",
                    ["temperature 0.8", "be more adventurous", "be more conservative",
                     "temperature"]),
    "candidates": ("how many candidates each turn makes (default 4)", "", ["candidates 6"]),
    "export": ("write the piece as midi, musicxml, abc, wav or svg",
               "The format comes from the word or the file's extension. Without a file name "
               "the piece's title names the file.",
               ["export midi song.mid", "write it to song.mid", "export musicxml",
                "export wav song.wav", "export svg"]),
    "load": ("open a tune file (.abc .mid .musicxml) as the piece",
             "You can also paste an ABC tune straight into the prompt, or start "
             "st4rt with a file: st4rt tune.abc",
             ["load tune.abc", "open reel.mid", "use jig.abc as primer"]),
    "paste": ("paste a multi-line ABC tune",
              "Type 'paste', paste the tune, then press Ctrl-D (in a script: lines up to 'end'). "
              "Most terminals also let you paste an ABC tune straight at the prompt.",
              ["paste"]),
    "personalize": ("learn a profile from your own tunes (MidiMe)",
                    "Trains profile 'me' on a file or folder of your tunes and switches it on; "
                    "'profile none' switches it off.",
                    ["personalize my_tunes/", "learn my style from tunes.abc", "profile none"]),
    "profile": ("choose the profile that steers proposals", "",
                ["profile me", "profile none", "profile"]),
    "title": ("rename the piece", "", ["title The Kesh", "call it My Reel"]),
    "save": ("save the session under a name (sessions also autosave every turn)",
             "Sessions live in the data folder (st4rt_repl.paths.data_dir()/sessions).",
             ["save my-reel"]),
    "open": ("switch to a saved session", "", ["open my-reel", "sessions"]),
    "sessions": ("list saved sessions",
                 "Every turn is saved as it happens; nothing is lost if the terminal dies. "
                 "On start st4rt offers to resume the last session ('st4rt --resume' resumes "
                 "without asking, 'st4rt --new' never asks). Scripts start a new session unless "
                 "given --resume.", ["sessions", "new"]),
    "new": ("start a new, empty session (the current one stays saved)", "", ["new session"]),
    "status": ("where the session stands: file, history, settings", "", ["status"]),
    "ports": ("list MIDI output ports ('port NAME' plays through one)", "",
              ["ports", "port FLUID Synth", "port none"]),
    "config": ("show the config file and its settings", "", ["config"]),
    "scripts": ("run commands from a file or a pipe",
                "st4rt --script FILE (or commands on stdin) runs the same commands with the same "
                "output. An ABC tune in a script runs from an X: line to the next blank line, or "
                "between 'paste' and 'end'. Lines starting with '# ' are comments. --strict stops "
                "at the first failing command with exit code 1; without it the script goes on and "
                "exits 1 if anything failed.",
                ["st4rt --script session.txt --strict", "echo 'help' | st4rt"]),
    "help": ("this help; help COMMAND for details", "", ["help", "help vary"]),
    "quit": ("leave (the session is already saved)", "", ["quit", "exit", "Ctrl-D"]),
}

ALIASES = {"take": "accept", "keep": "accept", "choose": "accept", "morph": "interpolate",
           "bridge": "interpolate", "slower": "tempo", "faster": "tempo", "temp": "temperature",
           "write": "export", "render": "export", "open-file": "load", "import": "load",
           "personalise": "personalize", "exit": "quit", "script": "scripts", "bpm": "tempo",
           "resume": "sessions", "no": "reject", "listen": "play", "bars": "vary",
           "variation": "vary", "variations": "vary", "session": "sessions", "keys": "help",
           "port": "ports", "settings": "config", "roll": "again", "retry": "again"}

GROUPS = [
    ("Make music", ["continue", "generate", "vary", "interpolate"]),
    ("Choose", ["accept", "reject", "again", "undo", "redo"]),
    ("Hear and see", ["play", "stop", "show"]),
    ("Change the piece", ["transpose", "tempo", "title"]),
    ("Steer", ["temperature", "candidates", "personalize", "profile"]),
    ("Files and sessions", ["load", "paste", "export", "save", "open", "sessions", "new"]),
    ("Other", ["status", "ports", "config", "scripts", "help", "quit"]),
]


def topic_of(word: str | None) -> str | None:
    """The help topic a word refers to, or None."""
    if not word:
        return None
    w = word.lower()
    return w if w in TOPICS else ALIASES.get(w)


def overview() -> str:
    """All commands, grouped, one line each."""
    lines = ["Say what you want in plain words; these are the things st4rt understands.",
             "Paste an ABC tune at the prompt to start from it. 'help COMMAND' shows examples.", ""]
    for group, names in GROUPS:
        lines.append(group)
        for n in names:
            lines.append(f"  {n:<12} {TOPICS[n][0]}")
    lines += ["", "Keys: Tab completes, Up/Down history, Ctrl-R searches it, Ctrl-C cancels the "
              "running turn, Ctrl-D quits."]
    return "\n".join(lines)


def topic_help(word: str) -> str:
    """Details and examples of one command (or a suggestion for an unknown word)."""
    topic = topic_of(word)
    if topic is None:
        close = difflib.get_close_matches(word.lower(), list(TOPICS) + list(ALIASES), n=1)
        hint = f"; did you mean 'help {close[0]}'?" if close else "; 'help' lists them all"
        raise KeyError(f"no help on {word!r}{hint}")
    summary, details, examples = TOPICS[topic]
    lines = [f"{topic}: {summary}"]
    if details:
        lines.append(details)
    if examples:
        lines.append("examples:")
        lines += [f"  {e}" for e in examples]
    return "\n".join(lines)
