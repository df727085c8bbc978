"""Plain words -> `Intent`: what the user asked the co-composer to do.

Pure Python on purpose (no torch, no music21): the REPL parses every line with
it before anything heavy is imported, and ``st4rt parse "TEXT"`` prints the
result as one JSON object (``st4rt parse --explain "TEXT"`` also says which
words gave which modifier).

How a sentence is read (pgspecial style: each command is registered once, with
its trigger words, examples and help; help and completion read the same table):

1. words are normalised (lower case, "eight" -> 8, "third" -> 3rd, fillers such
   as "please" and "could you" dropped); file names and quoted text are kept;
2. *modifiers* are found anywhere in the sentence by small extractors and
   replaced by placeholders: bar counts ("8 bars"), bar lists ("bars 3-4",
   "the last bar"), meter ("6/8", "in three", tune types), key and mode,
   amount, temperature, profile, candidate count, repetitions, tempo, start
   bar, candidate references, parts, loop;
3. every registered command's triggers are tried on what is left; the best one
   (strongest trigger, fewest modifiers it cannot use, longest match) wins and
   turns the modifiers it accepts into arguments;
4. words nobody used make the sentence *unclear*: `parse` raises `Unclear`.

>>> parse("keep going for 4 bars")
Intent(name='continue', args={'bars': 4})
>>> parse("make me a jig in A dorian").args
{'bars': 8, 'meter': '6/8', 'key': 'A dorian'}
>>> parse("start from scratch in 9/8 E minor").args
{'bars': 8, 'meter': '9/8', 'key': 'E minor'}
>>> parse("try a different version of measure 5")
Intent(name='vary', args={'bars': [5]})
>>> parse("undo twice").args, parse("drop it an octave").args
({'count': 2}, {'semitones': -12})
>>> parse("play the second one").to_json()
'{"intent": "play", "args": {"candidate": 2}}'
>>> parse("vry bar 3")
Traceback (most recent call last):
...
st4rt_repl.commands.ParseError: did not understand 'vry bar 3' (did you mean 'vary bar 3'?)
>>> parse("write an 8 bar jig with lots of rolls")
Traceback (most recent call last):
...
st4rt_repl.commands.Unclear: Generate 8 bars in 6/8? (not understood: 'lots of rolls') [Y/n]

Clarifying questions: `Unclear` is a `ParseError` whose ``guess`` is the
`Intent` that was understood and whose ``question`` ends in "?".  The REPL
prints ``str(e)`` ("Generate 8 bars in 6/8? [Y/n]"), reads one line and runs
``e.guess`` on "", "y" or "yes"; any other answer is parsed as a new command.
In ``--script`` an unclear line is an error: report
``f"{file}:{line}: {e.message}"`` and, with ``--strict``, stop there; never run
the guess.  Questions about the tool ("how do I export?", "what can you do?")
are not unclear: they parse to ``help`` with a ``topic``.

Intents and their arguments (JSON names; "?" = optional, absent when not said):

=============  ==============================================================
intent         args
=============  ==============================================================
continue       bars (default 4; 8 with finish), finish? (true: continue to a
               natural end, bars is then the most to add), key?, meter?,
               temperature?, temperature_scale?, profile?, candidates?
generate       bars (default 8), meter?, key?, temperature?,
               temperature_scale?, profile?, candidates?
vary           bars [list], amount? (0..1), temperature?, temperature_scale?,
               profile?, candidates?
interpolate    from, to (bar numbers)
new_part       bars?, like? ("similar" | "contrast")
repeat         bars [list of written bars to wrap in |: :|]
unfold, fold   -
meter          meter ("3/4": re-bar the piece in another meter)
transpose      semitones | key ("D major": transpose to that key)
accept         candidate (k, -1 = last, null = "keep it"/"yes": the only or
               first candidate on show; the session decides)
play           candidate?, bars?, loop?, tempo? (bpm), from_bar?
show           candidate?
undo, redo     count?
reject, again, stop, status, sessions, new, paste, ports, config, quit  -
tempo          bpm                tempo_step   direction ("up" | "down")
temperature    value? | direction?           candidates   count?
export         format, path ("" = named after the title; no extension = as
               typed: a folder or a bare name), overwrite? ("overwrite",
               "replace it", "--force" on the line)
load           path               primer       abc (a pasted tune)
personalize    path               profile      name? (null = none)
save           name?              open         name
port           name               title        text
help           topic?
=============  ==============================================================

Values: bar numbers are 1-based written bars; negative numbers count from the
end (-1 is the last bar) and stay negative here: the session resolves them.
``key`` is "<Tonic> <mode>" ("G major", "F# minor", "Bb major", "D dorian");
``meter`` is "6/8".  Tune types give meters: jig 6/8, slip jig 9/8, reel 4/4,
hornpipe 4/4, waltz 3/4, polka 2/4, march 2/4 (6/8 marches exist: say "6/8
march"), strathspey 4/4, slide 12/8, mazurka 3/4.  ``temperature`` is absolute;
``temperature_scale`` multiplies the session's temperature ("wilder" 1.25, "a
bit wilder" 1.12, "a lot wilder" 1.6, "safer" 0.8, "a bit safer" 0.9, "a lot
safer" 0.6).  ``profile`` is true for "in my style" (the session's active
profile), a name for "with profile NAME", false for "without my profile".
``amount``: "a little" 0.25, "somewhat" 0.5, "a lot"/"completely" 0.8, or
"amount 0.6".  ``candidates`` on a request is how many to propose this time.
``play``'s ``tempo`` ("play it at 140") plays at that tempo without changing the
piece; ``from_bar`` ("play from bar 5") starts there.  "more please" and "keep
going" continue (4 bars); "again" re-rolls the last request.

Adding a command: register it below with `command(...)` (its triggers, examples,
help text and the modifier kinds it accepts); help, completion, the spelling
fixer and the tests' example check read the registry.  `explain(text)` shows the
reading of a sentence.
"""
from __future__ import annotations

import difflib
import json
import re
import sys

from st4rt_repl.limits import MAX_BARS, MAX_CANDIDATES

__all__ = ["Intent", "ParseError", "Unclear", "parse", "explain", "describe", "looks_like_abc",
           "COMMAND_WORDS", "EXPORT_FORMATS", "REGISTRY", "Command", "topic_for",
           "add_arguments", "run", "bar_list", "candidate_ref", "suggest"]


class Intent:
    """A parsed command: an intent name and its arguments (JSON-ready values); immutable.

    (A plain class, not a dataclass: importing dataclasses costs ~8 ms of every start.)
    """
    __slots__ = ("name", "args")

    def __init__(self, name: str, args: dict | None = None):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "args", {} if args is None else args)

    def __setattr__(self, key, value):
        raise AttributeError("an Intent cannot be changed; make a new one")

    def __eq__(self, other) -> bool:
        return isinstance(other, Intent) and (self.name, self.args) == (other.name, other.args)

    __hash__ = None          # args is a dict

    def __reduce__(self):    # copy, deepcopy and pickle rebuild it through __init__
        return (Intent, (self.name, self.args))

    def __repr__(self) -> str:
        return f"Intent(name={self.name!r}, args={self.args!r})"

    def to_json(self) -> str:
        """The `st4rt parse` form: ``{"intent": ..., "args": {...}}``."""
        return json.dumps({"intent": self.name, "args": self.args})


class ParseError(ValueError):
    """Input we could not understand; the message is one line, with a suggestion if any."""

    def __init__(self, message: str, suggestion: str | None = None):
        self.message, self.suggestion = message, suggestion
        hint = f" (did you mean '{suggestion}'?)" if suggestion and suggestion not in message else ""
        super().__init__(message + hint)


class Unclear(ParseError):
    """A sentence understood in part: ``guess`` is what was understood, ``question`` asks.

    ``str(e)`` is the prompt ("Generate 8 bars in 6/8? [Y/n]"); ``e.message`` is the
    same without "[Y/n]" (for a script's error line); ``e.ignored`` the words not used.
    """

    def __init__(self, guess: Intent, ignored: str = ""):
        self.guess, self.ignored = guess, ignored
        self.question = describe(guess) + "?"
        note = f" (not understood: '{ignored}')" if ignored else ""
        ParseError.__init__(self, self.question + note)
        self.args = (self.message + " [Y/n]",)

    def __str__(self) -> str:
        return self.args[0]


# ----------------------------------------------------------------------------
# Vocabulary
# ----------------------------------------------------------------------------
_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
          "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
          "seventeen", "eighteen", "nineteen"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
         "seventy": 70, "eighty": 80, "ninety": 90}
NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS)} | _TENS | {
    "dozen": 12, "couple": 2, "pair": 2, "few": 3, "single": 1, "once": 1, "twice": 2}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
             "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11,
             "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
             "sixteenth": 16, "twentieth": 20}
# Interval name -> semitones; an unqualified 2nd/3rd/6th/7th means the major one.
INTERVALS = {
    "unison": 0, "semitone": 1, "half step": 1, "half-step": 1, "half tone": 1,
    "halftone": 1, "minor second": 1, "whole step": 2, "whole-step": 2, "whole tone": 2,
    "tone": 2, "step": 2, "major second": 2, "second": 2, "minor third": 3,
    "major third": 4, "third": 4, "perfect fourth": 5, "fourth": 5, "tritone": 6,
    "augmented fourth": 6, "diminished fifth": 6, "perfect fifth": 7, "fifth": 7,
    "minor sixth": 8, "major sixth": 9, "sixth": 9, "minor seventh": 10,
    "major seventh": 11, "seventh": 11, "octave": 12,
}
EXPORT_FORMATS = {"midi": ".mid", "musicxml": ".musicxml", "abc": ".abc", "wav": ".wav",
                  "svg": ".svg"}
_EXT_FORMAT = {".mid": "midi", ".midi": "midi", ".musicxml": "musicxml", ".xml": "musicxml",
               ".mxl": "musicxml", ".abc": "abc", ".wav": "wav", ".svg": "svg"}
_FORMAT_WORDS = {"midi": "midi", "mid": "midi", "musicxml": "musicxml", "xml": "musicxml",
                 "mxl": "musicxml", "abc": "abc", "wav": "wav", "wave": "wav", "audio": "wav",
                 "svg": "svg", "sheet": "svg", "score": "svg", "notation": "svg"}
# Tune type -> meter (None: the type says nothing about the meter).  Marches come in
# 2/4 and 6/8; 2/4 is the commoner in the session repertoire ("6/8 march" picks 6/8).
TUNE_TYPES = {
    "slip jig": "9/8", "hop jig": "9/8", "double jig": "6/8", "single jig": "6/8", "jig": "6/8",
    "reel": "4/4", "hornpipe": "4/4", "waltz": "3/4", "polka": "2/4", "march": "2/4",
    "strathspey": "4/4", "slide": "12/8", "mazurka": "3/4", "barndance": "4/4",
    "barn dance": "4/4", "schottische": "4/4", "fling": "4/4", "polska": "3/4",
    "minuet": "3/4", "slow air": None, "air": None,
}
_MODES = {"major": "major", "maj": "major", "ionian": "major", "ion": "major",
          "minor": "minor", "min": "minor", "m": "minor", "aeolian": "minor", "aeo": "minor",
          "dorian": "dorian", "dor": "dorian", "mixolydian": "mixolydian", "mixo": "mixolydian",
          "mix": "mixolydian", "lydian": "lydian", "lyd": "lydian", "phrygian": "phrygian",
          "phr": "phrygian", "locrian": "locrian", "loc": "locrian"}


# ----------------------------------------------------------------------------
# Tokens: words are normalised (lower case, number words -> digits); paths and
# quoted strings are kept verbatim and stand in the text as @0, @1, ...
# ----------------------------------------------------------------------------
_TOKEN = re.compile(r'"([^"]*)"|(?<!\S)\'([^\']*)\'(?!\S)|(\S+)')
_PATHLIKE = re.compile(r"[/\\~]|^\.{1,2}$|\.[A-Za-z][A-Za-z0-9]{0,7}$")
_METER_TOKEN = re.compile(r"(?:m:)?\d{1,2}/\d{1,2}")
_FILLER_START = [
    "please", "could you", "can you", "would you", "will you", "let's", "lets", "let us",
    "i want to", "i'd like to", "i would like to", "i'd like", "i would like", "i want",
    "i wanna", "how about", "what about", "is there any chance of", "any chance of", "could we have",
    "can we have", "can i have", "can i get", "now", "ok so", "so", "hey", "just",
    "go ahead and", "then", "and", "maybe", "alright", "right", "well",
]
_FILLER_END = ["please", "now", "for me", "thanks", "thank you", "then"]


class _Line:
    """A command line split into normalised words and verbatim path tokens."""

    def __init__(self, words: list[str], paths: list[str], raw: list[str]):
        self.words = words        # normalised; a path/quoted token appears as '@i'
        self.paths = paths        # verbatim path/quoted tokens
        self.raw = raw            # the original tokens, aligned with `words`

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def path(self, word: str) -> str | None:
        if re.fullmatch(r"@\d+", word) and int(word[1:]) < len(self.paths):
            return self.paths[int(word[1:])]
        return None

    def raw_of(self, word: str) -> str:
        """The word as typed (case kept), for names."""
        return self.raw[self.words.index(word)] if word in self.words else word


def _is_number(tok: str) -> bool:
    return re.fullmatch(r"[-+]?\d*\.?\d+", tok) is not None


def _trim(tok: str) -> str:
    """Drop sentence punctuation around a word but keep a path's dots ("song.mid." -> "song.mid")."""
    tok = tok.rstrip(",;!?")
    if tok in (".", ".."):
        return tok
    return tok.rstrip(".")


def _tokenize(text: str) -> _Line:
    text = (text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
            .replace("\u266d", "b").replace("\u266f", "#"))
    if text.count('"') % 2:
        raise ParseError('unbalanced " quote')
    words, paths, raw = [], [], []
    for m in _TOKEN.finditer(text):
        quoted = m.group(1) if m.group(1) is not None else m.group(2)
        tok = quoted if quoted is not None else m.group(3)
        if quoted is None:
            tok = _trim(tok)
            if not tok:
                continue
        if quoted is not None or (_PATHLIKE.search(tok) and not _is_number(tok)
                                  and not _METER_TOKEN.fullmatch(tok.lower())):
            words.append(f"@{len(paths)}")
            paths.append(tok)
            raw.append(tok)
            continue
        # "3," "bars:" -> bare word; keep '-' (ranges, negatives) and '.' (decimals)
        for piece in re.split(r"[,;:!?()]+", tok):
            if not piece:
                continue
            m2 = re.fullmatch(r"(.+)-(bars?|measures?)", piece.lower())   # "8-bar", "eight-bar"
            pieces = [m2.group(1), m2.group(2)] if m2 else [piece.lower()]
            for p in pieces:
                words.append(p)
                raw.append(piece if len(pieces) == 1 else p)
    line = _Line(words, paths, raw)
    _numbers(line)
    _strip_fillers(line)
    return line


def _numbers(line: _Line) -> None:
    """Number and ordinal words -> digits, in place ("twenty four" -> "24", "third" -> "3rd")."""
    w, out, raw = line.words, [], []
    i = 0
    pronoun_before = {"1st", "2nd", "3rd", "last", "that", "this", "other", "which", "any",
                      "new", "different", "another", "the"}
    while i < len(w):
        tok = w[i]
        parts = tok.split("-")
        if len(parts) == 2 and parts[0] in _TENS and parts[1] in _UNITS[1:10]:
            out.append(str(_TENS[parts[0]] + _UNITS.index(parts[1]))); raw.append(line.raw[i])
            i += 1
            continue
        if tok in _TENS and i + 1 < len(w) and w[i + 1] in _UNITS[1:10]:
            out.append(str(_TENS[tok] + _UNITS.index(w[i + 1]))); raw.append(line.raw[i])
            i += 2
            continue
        if tok == "one" and out and (out[-1] in pronoun_before or re.fullmatch(r"\d+(st|nd|rd|th)", out[-1])):
            out.append(tok); raw.append(line.raw[i])   # "the second one": a pronoun
        elif tok in ("a", "an") and i + 1 < len(w) and w[i + 1] in (
                "bar", "measure", "semitone", "dozen", "couple", "few", "pair"):
            if w[i + 1] in ("dozen", "couple", "few", "pair"):
                i += 1
                tok = w[i]
                out.append(str(NUMBER_WORDS[tok])); raw.append(line.raw[i])
                if i + 1 < len(w) and w[i + 1] == "of":
                    i += 1
            else:
                out.append("1"); raw.append(line.raw[i])
        elif tok in NUMBER_WORDS and tok not in ("few", "couple", "pair", "once", "twice"):
            out.append(str(NUMBER_WORDS[tok])); raw.append(line.raw[i])
        elif tok in ("couple", "few", "pair") and i + 1 < len(w) and w[i + 1] == "of":
            out.append(str(NUMBER_WORDS[tok])); raw.append(line.raw[i])
            i += 1
        elif tok in _ORDINALS and not (tok == "second" and out and out[-1] in ("minor", "major")) \
                and not _interval_follows(w, i):
            n = _ORDINALS[tok]
            out.append(f"{n}{_suffix(n)}"); raw.append(line.raw[i])
        else:
            out.append(tok); raw.append(line.raw[i])
        i += 1
    line.words, line.raw = out, raw


def _interval_follows(w: list[str], i: int) -> bool:
    """True when an ordinal word names an interval ("a fifth", "up a third") or a part."""
    prev = w[i - 1] if i else ""
    return prev in ("a", "an", "perfect", "minor", "major", "augmented", "diminished",
                    "up", "down") or (prev.isdigit() and i >= 2 and w[i - 2] in ("up", "down", "by"))


def _suffix(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _strip_fillers(line: _Line) -> None:
    changed = True
    while changed and line.words:
        changed = False
        for f in _FILLER_START:
            fw = f.split()
            if line.words[:len(fw)] == fw and len(line.words) > len(fw):
                del line.words[:len(fw)], line.raw[:len(fw)]
                changed = True
        for f in _FILLER_END:
            fw = f.split()
            if line.words[-len(fw):] == fw and len(line.words) > len(fw):
                del line.words[-len(fw):], line.raw[-len(fw):]
                changed = True


# ----------------------------------------------------------------------------
# Bar and candidate phrases
# ----------------------------------------------------------------------------
_BARWORD = r"(?:bars?|measures?)"
_INT = r"[-+]?\d+"


def _expand(a: int, b: int) -> list[int]:
    if (a < 0) != (b < 0) and a != 0 and b != 0:
        raise ParseError(f"a bar range cannot mix counting from the start and from the end ({a} to {b})")
    lo, hi = min(a, b), max(a, b)
    if hi - lo + 1 > MAX_BARS:
        raise ParseError(f"too many bars ({hi - lo + 1}); at most {MAX_BARS}")
    return list(range(lo, hi + 1))


def bar_list(phrase: str) -> list[int] | None:
    """A bar phrase -> its bar numbers, expanded, or None when it is not one.

    >>> bar_list("bars 3-4"), bar_list("bars 2 to 5"), bar_list("the last 2 bars")
    ([3, 4], [2, 3, 4, 5], [-2, -1])
    >>> bar_list("bars 1, 3 and 5"), bar_list("the 2nd bar"), bar_list("bar -1")
    ([1, 3, 5], [2], [-1])
    """
    s = re.sub(r"^(?:the|of|in|on|at)\s+", "", phrase.strip())
    s = re.sub(r"\s+(?:again|please|a bit|a little|for me)$", "", s)
    m = re.fullmatch(rf"last\s+(\d+)\s+{_BARWORD}", s)
    if m:
        return _expand(-int(m.group(1)), -1)
    if re.fullmatch(rf"last\s+{_BARWORD}|final\s+{_BARWORD}|closing\s+{_BARWORD}|last\s+one", s):
        return [-1]
    m = re.fullmatch(rf"(?:1st|opening)\s+(\d+)\s+{_BARWORD}", s)
    if m:
        return _expand(1, int(m.group(1)))
    m = re.fullmatch(rf"(\d+)(?:st|nd|rd|th)\s+(?:to\s+)?last\s+{_BARWORD}", s)
    if m:
        return [-int(m.group(1))]
    m = re.fullmatch(rf"(\d+)(?:st|nd|rd|th)\s+{_BARWORD}", s)
    if m:
        return [int(m.group(1))]
    if re.fullmatch(r"(?:ending|end|last phrase|final phrase)", s):
        return [-2, -1]
    if re.fullmatch(r"(?:beginning|opening|start|1st phrase)", s):
        return [1, 2]
    m = re.fullmatch(rf"(?:from\s+)?(?:{_BARWORD}\s*)?(.+?)", s)
    body = m.group(1) if m else s
    items = re.split(r"\s*(?:,|\band\b|&|\+)\s*|\s+(?=[-+]?\d)(?<!to )(?<!from )(?<!through )(?<!thru )(?<!until )(?<!till )"
                     r"(?<!bar )(?<!bars )(?<!measure )(?<!measures )", body)
    out: list[int] = []
    for item in items:
        item = re.sub(rf"^(?:{_BARWORD}\s*)", "", item.strip())
        if not item:
            continue
        r = re.fullmatch(rf"(?:from\s+)?({_INT})\s*(?:-|to|through|thru|until|till|\.\.)\s*(?:{_BARWORD}\s*)?({_INT})", item)
        if r:
            out += _expand(int(r.group(1)), int(r.group(2)))
        elif re.fullmatch(_INT, item):
            out.append(int(item))
        else:
            return None
    if not out:
        return None
    seen: list[int] = []
    for b in out:
        if b not in seen:
            seen.append(b)
    if len(seen) > MAX_BARS:
        raise ParseError(f"too many bars ({len(seen)}); at most {MAX_BARS}")
    return seen


def candidate_ref(phrase: str) -> int | None:
    """'2', 'candidate 2', 'the 2nd one', '#2', 'the last one' -> the number (last = -1).

    >>> candidate_ref("the 2nd one"), candidate_ref("#3"), candidate_ref("the last one")
    (2, 3, -1)
    """
    s = phrase.strip()
    s = re.sub(r"^(?:the|that|this)\s+", "", s)
    s = re.sub(r"\s+(?:one|candidate|option|proposal|version|idea|choice)$", "", s)
    s = re.sub(r"^(?:candidate|option|proposal|version|number|no\.?|num|idea|choice|#)\s*#?", "", s)
    s = re.sub(r"^(?:the|that|this)\s+", "", s)
    if s in ("last", "final", "last one"):
        return -1
    m = re.fullmatch(r"#?([-+]?\d+)(?:st|nd|rd|th)?", s)
    return int(m.group(1)) if m else None


def _interval(phrase: str) -> int | None:
    """'up a fifth' -> 7, 'down 3 semitones' -> -3, 'an octave' -> 12, '-2' -> -2."""
    s = phrase.strip()
    sign = 1
    m = re.match(r"^(?:go\s+)?(up|higher|down|lower)\b\s*(?:by\s+)?", s)
    if m:
        sign = 1 if m.group(1) in ("up", "higher") else -1
        s = s[m.end():]
    m = re.search(r"\s*\b(up|higher|down|lower)$", s)
    if m:
        sign = 1 if m.group(1) in ("up", "higher") else -1
        s = s[:m.start()]
    s = re.sub(r"^(?:by\s+)?(?:(?:a|an|1)\s+)?", "", s.strip())
    m = re.fullmatch(rf"({_INT})(?:\s+(semitones?|half[ -]?steps?|half[ -]?tones?|halftones?|steps?|"
                     r"whole[ -]?steps?|whole[ -]?tones?|tones?|octaves?))?", s)
    if m:
        n = int(m.group(1))
        unit = m.group(2) or "semitone"
        mult = 12 if unit.startswith("octave") else 2 if unit.startswith(("whole", "tone")) or \
            unit.startswith("step") else 1
        return sign * n * mult
    m = re.fullmatch(r"(?:(\d+)\s+)?(.+?)s?", s)
    if m and m.group(2) in INTERVALS:
        return sign * int(m.group(1) or 1) * INTERVALS[m.group(2)]
    return None


# ----------------------------------------------------------------------------
# Modifiers: small extractors that find a phrase anywhere and leave a placeholder
# "<kind:i>" in the sentence (i = index into the found modifiers).
# ----------------------------------------------------------------------------
class Mod:
    """One modifier found in a sentence: its kind, value and the words that gave it."""
    __slots__ = ("kind", "value", "words", "soft")

    def __init__(self, kind: str, value: object, words: str, soft: bool = False):
        self.kind, self.value, self.words = kind, value, words
        self.soft = soft        # a softener ("a bit"): dropped silently where not used

    def __repr__(self) -> str:
        return f"Mod({self.kind!r}, {self.value!r}, {self.words!r})"


_B = r"(?<!\S)"                 # word start / end in a space-separated sentence
_E = r"(?!\S)"
_BAR = r"(?:bars?|measures?|bar's)"
_N = r"[-+]?\d+"
_SEP = r"\s*(?:-|to|through|thru|until|till|\.\.)\s*"
_ITEM = rf"{_N}(?:{_SEP}(?:{_BAR}\s+)?{_N})?"
_LIST = rf"{_ITEM}(?:\s*(?:and|&|\+)?\s*(?:{_BAR}\s+)?{_ITEM}(?!\s*(?:st|nd|rd|th|bars?|measures?|times|bpm)))*"
_DEG = r"(?:a\s+(?:little\s+)?(?:bit|little|touch|tad)|slightly|much|way|a\s+lot|even|far|lots|quite\s+a\s+bit)"
_WILD = (r"(?:adventurous|creative|daring|random|wild|experimental|surprising|bold|crazy|risky|"
         r"varied|unpredictable|inventive|exciting|interesting|free|loose|out there)")
_TAME = (r"(?:conservative|predictable|careful|safe|traditional|boring|sensible|conventional|"
         r"cautious|plain|tame|focused|simple|restrained)")
_UP_WORDS = r"(?:wilder|crazier|bolder|hotter|riskier|weirder|freer|looser|warmer)"
_DOWN_WORDS = r"(?:safer|tamer|calmer|cooler|colder|plainer|simpler|more careful)"
_PARTW = r"(?:part|section|strain)"
_PARTQ = r"(?:new|next|following|different|second|third|fourth|2nd|3rd|4th|another|other|a|b|c|d|e|f)"
_REF = r"(?:the\s+)?(?:a|1st|first|opening|previous|other|last)(?:\s+" + _PARTW + r")?"
_TONIC = r"[a-g](?:#|b|\s+sharp|\s+flat)?"
_MODEWORDS = r"(?:major|minor|maj|min|ionian|aeolian|dorian|mixolydian|lydian|phrygian|locrian|mixo|dor|mix|lyd|phr|loc|aeo|ion)"
_KEY_PREFIX = r"(?:(?:in|into|to)\s+)?(?:the\s+)?(?:key\s+(?:of\s+)?)?"
# "in A" is a key only where "a" cannot be the article ("in a jig", "in a loop"): at the
# end, or before one of these words or modifiers.
_A_FOLLOW = re.compile(r"\s*$|\s+(?:with|for|at|and|please|then|this|now|but|so|instead|time|make|write|"
                       r"compose|give|play|continue|generate|keep|add|create|start|go|carry|"
                       r"<(?:count|meter|tempo|temp|tempdir|profile|ncand|amount|bars)\b)")
_TYPES = "|".join(sorted((re.escape(t).replace(r"\ ", r"\s+") for t in TUNE_TYPES), key=len, reverse=True))
_INAMES = "|".join(sorted((re.escape(n).replace(r"\ ", r"\s+") for n in INTERVALS), key=len, reverse=True))
_IAMT = rf"(?:(?:a|an|\d+)\s+)?(?:{_INAMES})s?"
_INUM = (rf"{_N}(?:\s+(?:semitones?|half[ -]?steps?|half[ -]?tones?|halftones?|steps?|"
         r"whole[ -]?steps?|whole[ -]?tones?|tones?|octaves?))")
_NOT_NOUN = r"(?!\s+(?:part|section|strain|bars?|measures?|one|time|option|candidate|version|turn))"


def _scale(deg: str | None, up: bool) -> dict:
    """'a bit' / none / 'a lot' -> the factor on the session temperature."""
    d = (deg or "").strip()
    k = 1 if re.match(r"a\s+(?:little\s+)?(?:bit|little|touch|tad)|slightly", d) else \
        3 if d else 2
    factor = {1: 1.12, 2: 1.25, 3: 1.6}[k] if up else {1: 0.9, 2: 0.8, 3: 0.6}[k]
    return {"direction": "up" if up else "down", "temperature_scale": factor}


def _key_text(tonic: str, mode: str | None) -> str | None:
    t = re.sub(r"\s+sharp$", "#", re.sub(r"\s+flat$", "b", tonic.strip()))
    mode = _MODES.get(mode or "major")
    return f"{t[0].upper()}{t[1:]} {mode}" if mode else None


def _bars_mod(m: re.Match) -> dict:
    text = m.group(0)
    bars = bar_list(re.sub(r"^from\s+", "", text))
    if bars is None:
        return None
    nums = [int(x) for x in re.findall(_N, re.sub(r"\d+(?:st|nd|rd|th)", "", text))]
    if re.search(r"last|final|closing", text) and not nums:
        nums = [-1]
    ends = (nums[0], nums[-1]) if nums else (bars[0], bars[-1])
    return {"bars": bars, "ends": ends}


def _count_mod(m: re.Match) -> dict | None:
    n = int(m.group("n")) if m.group("n") else 1
    if not 1 <= n <= MAX_BARS:
        raise ParseError(f"{n} bars is out of range (1..{MAX_BARS})", "continue 8 bars")
    return {"bars": n, "more": bool(re.search(r"more|another|extra|further|next|additional", m.group(0)))}


def _meter_of(num: str, den: str) -> str | None:
    return f"{int(num)}/{int(den)}" if int(den) in (1, 2, 4, 8, 16, 32) and 0 < int(num) <= 32 else None


def _tempo_of(m: re.Match) -> int | None:
    n = int(next(g for g in m.groups() if g))
    return n if 20 <= n <= 400 else None


def _key_mod(m: re.Match) -> str | None:
    tonic, mode = m.group("t"), m.groupdict().get("m")
    if tonic == "a" and mode is None and not m.groupdict().get("j") and "key" not in m.group(0) \
            and not _A_FOLLOW.match(m.string, m.end()):
        return None
    if mode is None and m.groupdict().get("j"):
        mode = m.group("j")
        if tonic + mode in ("am", "cm") and not re.match(r"(?:in|into|to|key)\b", m.group(0)):
            return None          # "am", "cm" are words unless "in Am"
    return _key_text(tonic, mode)


def _type_of(m: re.Match) -> str | None:
    name = re.sub(r"\s+", " ", m.group(0))
    for cut in (name, name[:-1], name[:-2]):
        if cut in TUNE_TYPES:
            return cut
    return None


def _interval_mod(m: re.Match) -> dict | None:
    text = m.group(0)
    n = _interval(text)
    if n is None:
        return None
    return {"semitones": n, "dir": re.search(r"\b(?:up|down|higher|lower)\b", text) is not None}


# (kind, pattern, value function or constant, soft).  Order matters: "a bit wilder" is a
# temperature before "a bit" can be an amount; bar lists before bar counts; intervals
# ("a minor third") before keys ("A minor").
_EXTRACTORS: list[tuple[str, str, object, bool]] = [
    ("tune", r"from\s+the\s+(?:start|beginning|top)", None, False),
    ("loop", r"on\s+(?:a\s+)?loop|in\s+a\s+loop|looped|looping|on\s+repeat|repeatedly|over\s+and\s+over",
     True, False),
    ("tempdir", rf"(?:play\s+it|keep\s+it|stay|be)\s+safe|tone\s+it\s+down|calm\s+down|fewer\s+risks|"
                rf"less\s+risky|(?:lower|decrease|reduce|turn\s+down)\s+the\s+(?:temperature|temp|heat)|"
                rf"(?:temperature|temp)\s+down",
     _scale(None, False), False),
    ("tempdir", rf"take\s+(?:more\s+)?risks|surprise\s+me|go\s+wild|spice\s+it\s+up|let\s+loose|"
                rf"loosen\s+up|(?:raise|increase|turn\s+up)\s+the\s+(?:temperature|temp|heat)|"
                rf"(?:temperature|temp)\s+up",
     _scale(None, True), False),
    ("tempdir", rf"(?P<d>{_DEG}\s+)?(?:more\s+{_WILD}|less\s+{_TAME}|{_UP_WORDS})",
     lambda m: _scale(m.group("d"), True), False),
    ("tempdir", rf"(?P<d>{_DEG}\s+)?(?:more\s+{_TAME}|less\s+{_WILD}|{_DOWN_WORDS})",
     lambda m: _scale(m.group("d"), False), False),
    ("tempdir", rf"be\s+(?:{_WILD})", _scale(None, True), False),
    ("temp", r"(?:(?:at|with|using)\s+)?(?:a\s+)?(?:temperature|temp|heat|t)\s*(?:of|=|at|to|is)?\s*=?\s*(\d*\.?\d+)",
     lambda m: float(m.group(1)), False),
    ("amount", r"(?:(?:with|at|by)\s+)?(?:an?\s+)?(?:amount|strength)\s*(?:of|=|to)?\s*=?\s*(\d*\.?\d+)",
     lambda m: float(m.group(1)), False),
    ("amount", r"just\s+a\s+(?:little|bit|touch|tad)|a\s+(?:little\s+)?(?:little|bit|touch|tad)(?:\s+bit)?|"
               r"slightly|subtly|gently|lightly", 0.25, True),
    ("amount", r"somewhat|moderately|a\s+fair\s+bit|quite\s+a\s+bit", 0.5, True),
    ("amount", r"a\s+lot|completely|totally|radically|drastically|heavily|entirely|wildly", 0.8, True),
    ("profile", r"in\s+(?:my|our)\s+(?:own\s+)?style|with\s+my\s+(?:own\s+)?(?:profile|style)|"
                r"using\s+my\s+(?:own\s+)?(?:profile|style)|(?:the\s+)?way\s+i\s+(?:play|write)(?:\s+it)?|"
                r"like\s+i\s+(?:play|write)(?:\s+it)?", True, False),
    ("profile", r"without\s+(?:my|the|a)?\s*(?:profile|style)", False, False),
    ("profile", r"(?:with|using|in)\s+(?:the\s+)?profile\s+(?P<p>[^\s<@]+)|in\s+the\s+style\s+of\s+(?:profile\s+)?(?P<q>[^\s<@]+)",
     lambda m: m.group("p") or m.group("q"), False),
    ("tempo", r"(?:(?:at|with)\s+(?:a\s+)?)?(?:tempo|bpm|speed|metronome)\s*(?:to|at|=|of|is)?\s*(\d+)(?:\s*bpm)?|"
              r"(?:at|@)\s+(\d{2,3})(?:\s*bpm)?(?![\d.])|(\d{2,3})\s*bpm|q\s*=\s*(\d+)", _tempo_of, False),
    ("times", r"(\d+)\s+times|(?P<two>twice)|(?P<three>thrice)|(?<=back )(\d+)\s+steps?|(?<=forward )(\d+)\s+steps?|"
              r"(?:the\s+)?last\s+(\d+)\s+(?:changes|steps|turns|moves|edits|things)",
     lambda m: 2 if m.group("two") else 3 if m.group("three") else
     int(next(g for g in (m.group(1), m.group(4), m.group(5), m.group(6)) if g)),
     False),
    ("ncand", r"(\d+)(?=\s+(?:options|candidates|proposals|alternatives|variations|versions|choices|"
              r"ideas|takes|possibilities|different\s+ones)\b)", lambda m: int(m.group(1)), False),
    ("from_bar", rf"(?:start(?:ing)?\s+)?from\s+{_BAR}\s+({_N})(?!{_SEP}(?:{_BAR}\s+)?{_N})(?!\s*(?:and|&|\+)\s*{_N})",
     lambda m: int(m.group(1)), False),
    ("bars", rf"(?:the\s+)?last\s+\d+\s+{_BAR}|(?:the\s+)?(?:1st|opening)\s+\d+\s+{_BAR}|"
             rf"(?:the\s+)?(?:last|final|closing)\s+{_BAR}|(?:the\s+)?\d+(?:st|nd|rd|th)\s+(?:to\s+)?last\s+{_BAR}|"
             rf"(?:the\s+)?\d+(?:st|nd|rd|th)\s+{_BAR}|"
             rf"(?:from\s+)?{_BAR}\s+(?:from\s+)?{_LIST}|the\s+(?:ending|end|last\s+phrase|final\s+phrase)",
     _bars_mod, False),
    ("count", rf"(?:(?:for|by|in|with|of)\s+)?(?:(?:another|an\s+extra|a\s+further|the\s+next|extra|a|an)\s+)?"
              rf"(?P<n>\d+)\s*(?:(?:more|extra|further|new|additional)\s+)?{_BAR}(?:\s+(?:more|long|worth))?|"
              rf"(?:(?:for|by|with)\s+)?(?:another|an\s+extra|a\s+further)\s+{_BAR}(?P<z>)",
     _count_mod, False),
    # "less like A" and "more different" first: the "like A" below would take the first as "similar"
    ("like", rf"contrasting|contrasts?(?:\s+with\s+{_REF})?|more\s+different(?:\s+from\s+{_REF})?|different\s+from\s+{_REF}|"
             rf"(?:more\s+)?unlike\s+{_REF}|less\s+like\s+{_REF}|(?:further|farther)\s+(?:away\s+)?from\s+{_REF}",
     "contrast", False),
    ("like", rf"similar(?:\s+to\s+{_REF})?|(?:like|same\s+as|echoing|matching)\s+{_REF}(?=\s*$)|"
             rf"(?:like|same\s+as|echoing|matching)\s+{_REF}(?=\s+{_PARTW})|"
             rf"(?:closer|nearer)\s+to\s+{_REF}", "similar", False),
    ("part", rf"(?:(?:a|an|the|another)\s+)?(?:{_PARTQ}\s+)*{_PARTW}(?!\s+(?:of\s+the|signs?))|"
             rf"(?:(?:the|a|an|another|new|next)\s+|(?<=> ))turn(?!\s+(?:it|up|down|the|that|this|into))",
     True, False),
    ("interval", rf"(?:go\s+)?(?:up|down|higher|lower)\s+(?:by\s+)?(?:{_IAMT}|{_INUM}|{_N}){_NOT_NOUN}|"
                 rf"(?:by\s+)?(?:{_IAMT}|{_INUM})\s+(?:up|down|higher|lower)|"
                 rf"(?:by\s+)?(?:(?:a|an|\d+)\s+)(?:{_INAMES})s?{_NOT_NOUN}|(?:by\s+)?{_INUM}",
     _interval_mod, False),
    ("cand", r"(?:candidate|option|proposal|version|number|no\.?|num|choice|idea)\s*#?\s*([-+]?\d+)(?!\s*(?:st|nd|rd|th|bars?))|"
             r"#\s*(\d+)|(?:the\s+)?(?:last|final)\s+(?:one|candidate|option|proposal|version|choice)|"
             r"(?:the\s+)?(\d+)(?:st|nd|rd|th)(?:\s+(?:one|candidate|option|proposal|version|choice|idea))?"
             r"(?!\s+(?:bars?|measures?|part|section|<))",
     lambda m: int(next((g for g in m.groups() if g), "-1")), False),
    ("meter", rf"(?:(?:in|into|to)\s+)?(?:(?:{_TYPES})\s+time)",
     lambda m: TUNE_TYPES[re.sub(r"\s+", " ", re.search(_TYPES, m.group(0)).group(0))], False),
    ("meter", r"(?:(?:in|into|to)\s+)?(?:m\s*)?(\d{1,2})/(\d{1,2})(?:\s+time)?|(?:in\s+)?(\d{1,2})\s+(2|4|8|16)\s+time|"
              r"in\s+(\d{1,2})\s+(2|4|8)(?!\S)",
     lambda m: _meter_of(*[g for g in m.groups() if g][:2]), False),
    ("meter", r"(?:in\s+)?(?:common|4\s+4)\s+time", "4/4", False),
    ("meter", r"(?:in\s+)?(?:cut\s+(?:common\s+)?time|alla\s+breve)", "2/2", False),
    ("meter", r"in\s+(2|3|4)(?!\S)", lambda m: f"{m.group(1)}/4", False),
    ("type", rf"(?:{_TYPES})(?:e?s)?", _type_of, False),
    ("key", rf"{_KEY_PREFIX}(?P<t>{_TONIC})\s+(?P<m>{_MODEWORDS})", _key_mod, False),
    ("key", rf"{_KEY_PREFIX}(?P<t>[a-g][#b]?)(?P<j>m|maj|min|dor|mix|lyd|phr|loc|aeo|ion)", _key_mod, False),
    ("key", rf"(?:in|into|to|key\s+of|key)\s+(?:the\s+)?(?:key\s+(?:of\s+)?)?(?P<t>{_TONIC})",
     _key_mod, False),
    ("tune", r"(?:tune|melody|song|piece|ditty|composition)s?", None, False),
]
_DIGITS = tuple("0123456789")
# Substrings one of which must be in the sentence for each extractor above to be tried.
# The patterns are compiled on first use: compiling all of them costs ~100 ms, and
# `st4rt parse` must answer in under 50 ms.
_GUARDS: list[tuple[str, ...] | None] = [
    ("from the",), ("loop", "repeat", "over and over"),
    ("safe", "tone it", "calm", "risk", "down"), ("risk", "surprise", "wild", "spice", "loose", "up"),
    ("more", "less", "wilder", "crazier", "bolder", "hotter", "riskier", "weirder", "freer", "looser",
     "warmer"),
    ("more", "less", "safer", "tamer", "calmer", "cooler", "colder", "plainer", "simpler"), ("be ",),
    ("temp", "heat", "t ", "t="), ("amount", "strength"),
    ("little", "bit", "touch", "tad", "slightly", "subtly", "gently", "lightly"),
    ("somewhat", "moderately", "fair bit", "quite a bit"),
    ("lot", "complete", "total", "radical", "drastic", "heavi", "entire", "wildly"),
    ("style", "profile", "way i", "like i"), ("without",), ("profile", "style of"),
    ("tempo", "bpm", "speed", "metronome", "at ", "@", "q"), ("times", "twice", "thrice", "step", "last"),
    ("option", "candidate", "proposal", "alternative", "variation", "version", "choice", "idea",
     "take", "possibilit", "different ones"),
    ("from",), ("bar", "measure", "the end", "phrase"), ("bar", "measure"),
    ("contrast", "different", "unlike", "less like", "further", "farther"),
    ("similar", "like", "same as", "echoing", "matching", "closer", "nearer"),
    ("part", "section", "strain", "turn"),
    ("up", "down", "higher", "lower", "unison", "tone", "step", "second", "third", "fourth", "fifth",
     "sixth", "seventh", "octave"),
    ("candidate", "option", "proposal", "version", "number", "no", "num", "choice", "idea", "#",
     "last", "final") + _DIGITS,
    (" time",), ("/", " time", "in "), ("time",), ("cut", "breve"), ("in ",),
    ("jig", "reel", "hornpipe", "waltz", "polka", "march", "strathspey", "slide", "mazurka", "barn",
     "schottische", "fling", "polska", "minuet", "air"),
    ("maj", "min", "ion", "aeo", "dor", "mix", "lyd", "phr", "loc"), None, ("in ", "to ", "key"),
    ("tune", "melod", "song", "piece", "ditty", "composition"),
]
assert len(_GUARDS) == len(_EXTRACTORS)
_COMPILED: list[re.Pattern | None] = [None] * len(_EXTRACTORS)


def _pattern(i: int) -> re.Pattern:
    if _COMPILED[i] is None:
        _COMPILED[i] = re.compile(_B + "(?:" + _EXTRACTORS[i][1] + ")" + _E)
    return _COMPILED[i]


class _Found:
    """A sentence after the extractors: the skeleton with placeholders, and the modifiers."""

    def __init__(self, skeleton: str, mods: list[Mod]):
        self.skeleton, self.mods = skeleton, mods

    def __repr__(self) -> str:
        return f"_Found({self.skeleton!r}, {self.mods!r})"

    def order(self) -> list[int]:
        """Modifier indices in the order their placeholders appear in the sentence."""
        return [int(i) for i in re.findall(r"<\w+:(\d+)>", self.skeleton)]


def _extract(text: str) -> _Found:
    """Run every extractor over a normalised sentence.

    >>> _extract("write an 8 bar jig in g")
    _Found('write <count:0> <type:1> <key:2>', [Mod('count', {'bars': 8, 'more': False}, 'an 8 bar'), \
Mod('type', 'jig', 'jig'), Mod('key', 'G major', 'in g')])
    """
    mods: list[Mod] = []
    for i, (kind, _, value, soft) in enumerate(_EXTRACTORS):
        guard = _GUARDS[i]
        if guard is not None and not any(g in text for g in guard):
            continue
        rx = _pattern(i)

        def repl(m: re.Match, kind=kind, value=value, soft=soft) -> str:
            v = value(m) if callable(value) else value
            if v is None and kind != "tune":
                return m.group(0)
            mods.append(Mod(kind, v, m.group(0), soft))
            tail = " more" if kind == "count" and v["more"] else ""
            return f"<{kind}:{len(mods) - 1}>{tail}"
        text = rx.sub(repl, text)
    return _Found(re.sub(r"\s+", " ", text).strip(), mods)


# ----------------------------------------------------------------------------
# The registry
# ----------------------------------------------------------------------------
class _Trigger:
    """Words that name a command.  ``requires``: any one of these (a kind or "a+b") must be
    found; ``args``: arguments the words themselves give; ``guess``: only a guess (ask);
    ``unless``: kinds that rule it out."""
    __slots__ = ("pattern", "weight", "requires", "args", "guess", "unless")

    def __init__(self, pattern, weight, requires, args, guess, unless):
        self.pattern, self.weight, self.requires = pattern, weight, requires
        self.args, self.guess, self.unless = args, guess, unless


class Command:
    """One command: its words, help, the modifiers it takes and how they become arguments.

    words: first words (completion, help aliases); accepts: modifier kind -> argument;
    number: the argument a bare number fills ("name*": all of them, as a list);
    say: how a question names it ("Generate"); follow: completions after the first word;
    finish(args, found, line) -> args: checks and completes; verbatim(line) -> Intent|None:
    for commands whose argument is a file, a name or a title; topic: its help topic when
    that is another command's.
    """

    def __init__(self, name: str, summary: str, group: str, examples: list[str], *,
                 details: str = "", words: tuple[str, ...] = (), triggers=(), accepts=None,
                 number: str | None = None, defaults=None, say: str = "",
                 follow: tuple[str, ...] = (), finish=None, verbatim=None, topic: str = ""):
        self.name, self.summary, self.group, self.examples = name, summary, group, examples
        self.details, self.words, self.triggers = details, tuple(words), list(triggers)
        self.accepts, self.number = dict(accepts or {}), number
        self.defaults, self.say, self.follow = dict(defaults or {}), say, tuple(follow)
        self.finish, self.verbatim, self.topic = finish, verbatim, topic


REGISTRY: dict[str, Command] = {}
_REQUEST = {"temp": "temperature", "tempdir": "temperature_scale", "profile": "profile",
            "ncand": "candidates", "tune": ""}


class _Hit:
    """Where a trigger phrase matched: character span and text (like a regex match)."""
    __slots__ = ("_span", "_text")

    def __init__(self, span: tuple[int, int], text: str):
        self._span, self._text = span, text

    def span(self) -> tuple[int, int]:
        return self._span

    def start(self) -> int:
        return self._span[0]

    def end(self) -> int:
        return self._span[1]

    def group(self, _: int = 0) -> str:
        return self._text


class _Phrases:
    """Trigger phrases matched word by word (no regex: compiling ~50 large alternations
    cost ~45 ms at every start).  "<kind>" matches any placeholder of that kind."""

    def __init__(self, phrases: tuple[str, ...]):
        self.by_first: dict[str, list[tuple[str, ...]]] = {}
        for p in sorted(phrases, key=len, reverse=True):     # longest first at one place
            words = tuple(p.split())
            self.by_first.setdefault(words[0], []).append(words)

    @staticmethod
    def _key(word: str) -> str:
        return word.split(":", 1)[0] + ">" if word.startswith("<") else word

    def _at(self, words: list[str], i: int) -> int:
        """Length (in words) of the longest phrase starting at word i, or 0."""
        for phrase in self.by_first.get(self._key(words[i]), ()):
            n = len(phrase)
            if i + n <= len(words) and all(self._key(w) == p for w, p in zip(words[i:i + n], phrase)):
                return n
        return 0

    def search(self, text: str) -> _Hit | None:
        words, pos = text.split(" "), 0
        for i, w in enumerate(words):
            n = self._at(words, i) if w else 0
            if n:
                hit = " ".join(words[i:i + n])
                return _Hit((pos, pos + len(hit)), hit)
            pos += len(w) + 1
        return None

    def sub(self, repl: str, text: str) -> str:
        words, out, i = text.split(" "), [], 0
        while i < len(words):
            n = self._at(words, i) if words[i] else 0
            if n:
                out.append(repl.strip())
                i += n
            else:
                out.append(words[i])
                i += 1
        return " ".join(w for w in out if w)


def T(*phrases: str, weight: float = 1, requires: tuple[str, ...] = (), args: dict | None = None,
      guess: bool = False, unless: tuple[str, ...] = ()) -> _Trigger:
    """A trigger: any of the phrases; ``unless``: kinds that rule it out
    ("more" stands for a bar count said with more/another/next)."""
    pat = _Phrases(phrases) if phrases else None
    return _Trigger(pat, weight, tuple(requires), dict(args or {}), guess, tuple(unless))


def command(name: str, summary: str, group: str, examples: list[str], **kw):
    """Register a command; used as a decorator on its `finish` function (or called plainly)."""
    cmd = Command(name, summary, group, examples, **kw)
    REGISTRY[name] = cmd

    def deco(fn):
        cmd.finish = fn
        return fn
    return deco


def _need_bars(verb: str, example: str):
    def check(args: dict, found: _Found, line: _Line) -> dict:
        if not args.get("bars"):
            raise ParseError(f"{verb} which bars? e.g. {example}", example)
        return args
    return check


def _bars_in_range(verb: str, example: str):
    def check(args: dict, found: _Found, line: _Line) -> dict:
        n = args.get("bars")
        if not isinstance(n, int) or not 1 <= n <= MAX_BARS:
            raise ParseError(f"{verb}: {n} bars is out of range (1..{MAX_BARS})", example)
        c = args.get("candidates")
        if c is not None and not 1 <= c <= MAX_CANDIDATES:
            raise ParseError(f"{verb}: {c} candidates is out of range (1..{MAX_CANDIDATES})", example)
        return args
    return check


# --- making music -----------------------------------------------------------------
command(
    "continue", "add N new bars after the piece (K candidates)", "Make music",
    ["continue 8 bars", "keep going for 4 bars", "give me 8 more bars", "more please",
     "continue 8 bars at temperature 1.2", "continue in D minor for 4 bars", "finish the tune",
     "add 8 bars in my style, a bit wilder"],
    details="The attention-RNN writes exactly N full bars after the last bar of the piece, in its "
            "key and meter (or the key/meter you name). 'finish the tune' continues to a natural "
            "end (at most 8 bars unless you say). Modifiers: 'at temperature T', 'wilder'/'safer', "
            "'in my style', 'give me 3 options'.",
    words=("continue", "more", "extend", "finish"), say="Continue",
    follow=("4 bars", "8 bars", "16 bars"), number="bars", defaults={"bars": 4},
    accepts={"count": "bars", "key": "key", "meter": "meter", **_REQUEST},
    triggers=[
        T("continue", "keep going", "go on", "carry on", "keep writing", "keep it going", "extend",
          "proceed", "continue writing", "let it run on", "let it run", "run on", "go further",
          "what comes next", "what happens next", "and then", "keep on", "go on writing",
          "extend it", "lengthen it", "make it longer", "longer"),
        # "more" alone asks for more bars, but "more like A" / "more different" steer a part
        T("more", unless=("like",)),
        T("add", "append", "give me", "write", "another", "have", "tack on", "stick on",
          requires=("count",), unless=("part",)),
        T("finish", "finish it", "finish it off", "finish off", "finish the <tune>", "round it off",
          "bring it home", "wrap it up", "give it an ending", "write an ending", "end it",
          "close it out", "an ending", "end the <tune>", "finish up", "complete it",
          "complete the <tune>", args={"finish": True, "bars": 8}),
        T(weight=-1, requires=("count",), guess=True),
    ])(_bars_in_range("continue", "continue 8 bars"))


@command(
    "generate", "a new tune of N bars from scratch", "Make music",
    ["generate 16 bars", "make a new tune of 8 bars", "write an 8 bar jig",
     "make me a jig in A dorian", "compose a 16 bar reel in G", "start from scratch in 9/8 E minor",
     "new tune in 6/8, key of D"],
    details="MusicVAE samples a new tune (in the key and meter you name, else the piece's, else D "
            "major 4/4). Tune types set the meter: jig 6/8, slip jig 9/8, reel 4/4, hornpipe 4/4, "
            "waltz 3/4, polka 2/4, march 2/4 (say '6/8 march' for the other kind), strathspey "
            "4/4, slide 12/8, mazurka 3/4. Accepting a generated tune replaces the piece.",
    words=("generate", "compose"), say="Generate", follow=("8 bars", "16 bars", "a jig in D"),
    number="bars", defaults={"bars": 8},
    accepts={"count": "bars", "key": "key", "meter": "meter", "type": "meter", **_REQUEST},
    triggers=[
        T("generate", "start from scratch", "from scratch", "start fresh", "start afresh",
          "start a new <tune>", "start a <tune>", "new <tune>", "new <type>", "a new <tune>",
          "start over with", "start over in", "begin a new <tune>", "a fresh <tune>", "fresh <tune>",
          "brand new <tune>", "generate a <tune>"),
        # a noun wins over continue's "write 8 bars" (weight 1.1): "write an 8 bar tune"
        T("make", "write", "compose", "create", "invent", "dream up", "give me", "have", "make me",
          "knock out", "whip up", "rattle off", "cook up", "throw together", "give us",
          "write me", "compose me", "play me", "something", "start", "new", "fresh", "come up with",
          requires=("type", "tune", "meter", "key", "~something"), weight=1.1,
          unless=("more", "bars")),
        T(weight=0, requires=("type",), unless=("more",)),
        T(weight=-0.5, requires=("meter", "key"), guess=True, unless=("more",)),
    ])
def _finish_generate(args: dict, found: _Found, line: _Line) -> dict:
    return _bars_in_range("generate", "generate 16 bars")(args, found, line)


command(
    "vary", "new versions of some bars; all other bars stay", "Make music",
    ["vary bar 3", "vary bars 3-4", "make bar 3 different", "change bars 5 to 6",
     "vary the last 2 bars", "try a different version of measure 5", "vary bar 3 a little",
     "vary bar 3 at temperature 1.5"],
    details="MusicVAE rewrites only the chosen written bars (a repeated bar changes in every pass). "
            "Bars count from 1; -1 is the last bar. 'a little' / 'a lot' / 'amount 0.6' sets how "
            "far the variations stray; 'wilder'/'safer' and 'at temperature T' also work.",
    words=("vary", "rewrite", "change", "variation"), say="Vary",
    accepts={"bars": "bars", "amount": "amount", **_REQUEST},
    triggers=[
        T("vary", "rewrite", "re-write", "rework", "reimagine", "tweak", "alter", "modify", "variate",
          "vary up", "rethink", "mix up", "shake up", "mess with", "play with", "spice up",
          "variation", "variations", "variations of", "variations on", "variations for",
          "a variation of", "a variation on", "versions of", "version of", "different version of",
          "another version of", "new version of", "a new version of", "other versions of",
          "another take on", "a different take on", "a new take on", "alternatives to",
          "alternatives for", "new ideas for", "a new idea for"),
        T("change", "redo", "re-do", "replace", "fix", "improve", "make", "let", "have", "try",
          "try something", "try something else", "try something different", "something else",
          "something different", "different", "differently", "do something else with",
          "do something different with", "give me", "i don't like", "i dont like", "i hate",
          "not happy with", "i'm not happy with", "needs work", "needs a change", "could use work",
          "needs to change", "could be better", "is boring", "new", "better", "more interesting",
          "are boring", "boring", "is dull", "are dull", "dull", "sounds wrong", "sound wrong",
          "is wrong", "are wrong", "doesn't work", "don't work", "is weak", "are weak",
          requires=("bars",)),
        T(weight=-1, requires=("bars",), guess=True),
    ])(_need_bars("vary", "vary bar 3"))


@command(
    "interpolate", "phrases that morph one bar's phrase into another's", "Make music",
    ["interpolate bar 1 to bar 5", "morph bar 1 into bar 4", "bridge bars 2 and 6"],
    details="The 2-bar phrases at the two bars are blended in latent space; the bridge is "
            "inserted right after the first phrase.",
    words=("interpolate", "morph", "bridge", "blend"), say="Interpolate",
    number="_nums*", accepts={"bars": "_bars"},
    triggers=[
        T("interpolate", "morph", "bridge", "blend", "interpolation", "a bridge", "make a bridge",
          "build a bridge", "a transition", "make a transition", "transition", "a morph"),
        T("connect", "join", "link", "merge", "glide", "travel", "go", requires=("bars",)),
    ])
def _finish_interpolate(args: dict, found: _Found, line: _Line) -> dict:
    ends = [e for i in found.order() if found.mods[i].kind == "bars"
            for e in found.mods[i].value["ends"]]
    ends = [ends[0], ends[-1]] if ends else list(args.get("_nums", []))
    if len(ends) != 2 or ends[0] == ends[1]:
        raise ParseError("interpolate which bars? e.g. interpolate bar 1 to bar 5",
                         "interpolate bar 1 to bar 5")
    return {"from": ends[0], "to": ends[1]}


@command(
    "new_part", "a new part (B part, next part) in repeat signs", "Make music",
    ["new part", "add a B part", "write the next part", "give me the B part",
     "write an 8 bar B part", "a part like A", "a contrasting part"],
    details="Writes a new part after the piece, in repeat signs, the way tunes go on to their B "
            "part. 'like A' / 'similar' keeps it close to the first part, 'contrasting' moves "
            "away; after a proposal, 'more like A' or 'more different' asks again, steered. Without a "
            "length it matches the first part.",
    words=("part",), say="Write a new part",
    accepts={"count": "bars", "like": "like", **_REQUEST},
    # 0.9: a verb of its own wins ("vary the B part" asks which bars, it writes no new part)
    triggers=[T("<part>", "<like> <part>", "<part> <like>", weight=0.9),
              T(weight=0, requires=("like",))])
def _finish_new_part(args: dict, found: _Found, line: _Line) -> dict:
    if "bars" in args:
        _bars_in_range("new part", "write an 8 bar B part")(args, found, line)
    return args


# --- form -----------------------------------------------------------------------
command(
    "repeat", "put repeat signs around written bars", "Form",
    ["repeat bars 1-8", "put repeat signs around bars 1 to 8", "repeat the first 8 bars"],
    details="Wraps the written bars in |: :| (undo takes it back).",
    words=("repeat",), say="Repeat", accepts={"bars": "bars"},
    triggers=[T("repeat", "put repeat signs around", "put repeat signs on", "put repeats around",
                "put repeats on", "add repeat signs to", "add repeat signs around", "add repeats to",
                "add repeats around", "repeat signs around", "repeat signs on", "add a repeat to",
                "make a repeat of", "wrap in repeats", "wrap in repeat signs", "repeated",
                "put a repeat around")],
)(_need_bars("repeat", "repeat bars 1-8"))
command(
    "unfold", "write the repeats out in full", "Form",
    ["unfold", "write out the repeats", "expand the repeats"],
    details="The piece becomes its performed melody: every repeat, ending and part order played "
            "out as plain bars.", words=("unfold",), say="Unfold the repeats",
    triggers=[T("unfold", "unfold the repeats", "write out the repeats", "write the repeats out",
                "expand the repeats", "unroll", "unroll the repeats", "flatten", "flatten it",
                "write it out in full", "write it out", "remove the repeats", "no repeats",
                "drop the repeats", "play out the repeats", "spell out the repeats",
                "write the <tune> out", "write the <tune> out in full", "write out the <tune>",
                "write everything out", "unfold the <tune>", weight=1.2)])   # over "write a <tune>"
command(
    "fold", "find repeated sections and write them as repeats", "Form",
    ["fold", "fold the repeats", "find the repeats"],
    details="Verbatim repeated 4- or 8-bar sections become |: :| repeats (the opposite of unfold).",
    words=("fold",), say="Fold repeated sections into repeats",
    triggers=[T("fold", "fold it", "fold the repeats", "find the repeats", "find repeats",
                "detect the repeats", "detect repeats", "put the repeats back", "add repeats",
                "add repeat signs", "refold", "fold it up", "fold the <tune>", "fold it back",
                "fold it back up", "fold up")])


# --- choosing -------------------------------------------------------------------
command(
    "accept", "make candidate K the piece", "Choose",
    ["take 2", "accept 1", "i like the first one", "go with option 3", "keep it", "yes"],
    details="Proposals are numbered from 1; 'take the last one' takes the last. 'keep it' or "
            "'yes' takes the candidate on show (the only one, or the first).",
    words=("accept", "take", "keep", "pick", "choose"), say="Accept", number="candidate",
    defaults={"candidate": None}, accepts={"cand": "candidate"},
    triggers=[
        T("accept", "take", "keep", "choose", "pick", "select", "use", "go with", "go for",
          "i like", "i'll take", "ill take", "i'll have", "i will take", "i choose", "i pick",
          "i prefer", "i love", "we'll take", "yes", "yeah", "yep", "yes please", "ok", "okay",
          "that's good", "thats good", "that's it", "that's the one", "thats the one", "sounds good",
          "good", "great", "perfect", "nice", "lovely", "brilliant", "grand", "approve", "commit",
          "i'll go with", "ill go with", "let's go with", "let's use", "let's take", "the winner is",
          "winner", "i vote for", "best is", "best one is", "keep it", "keep that", "keep this",
          "keep that one", "keep this one", "take it", "take that", "take that one", "accept it",
          "i like it", "i like that", "use it", "love it", "that one", "this one", "go with it",
          "go with that"),
        T(weight=0, requires=("cand", "number")),       # "the second one", "#2", "2"
    ])
command("reject", "clear the candidates (again rolls new ones)", "Choose",
        ["reject", "no", "none of them"], words=("reject",), say="Reject the candidates",
        triggers=[T("reject", "no", "nope", "nah", "none", "none of them", "none of these",
                    "none of those", "discard", "discard them", "discard these", "discard those",
                    "discard it", "discard all", "dismiss", "dismiss them", "scrap that",
                    "scrap them", "scrap those", "scrap these", "scrap it", "i don't like them",
                    "i don't like any of them", "i don't like these", "i don't like those",
                    "i don't like any", "i don't like it", "i don't like that",
                    "i dont like any of them", "throw them away", "throw it away", "drop them",
                    "drop these", "drop those", "clear", "clear them", "clear proposals",
                    "clear candidates", "bin them", "bin it", "not those", "not these",
                    "forget it", "forget them", "reject them", "reject all", "reject all of them",
                    "reject these", "reject those", "none of those work", "no thanks", "no thank you",
                    "no good", "rubbish")])
command("again", "the same request again with a new seed", "Choose",
        ["again", "try again", "one more time", "give me different ones"], words=("again",),
        say="Roll again",
        triggers=[T("again", "try again", "once more", "1 more time", "reroll", "re-roll", "roll again",
                    "retry", "regenerate", "shuffle", "more ideas", "more options", "more candidates",
                    "more suggestions", "another try", "another go", "another round",
                    "another batch", "another set", "another", "different ones", "new ones",
                    "other ones", "some others", "others", "same again", "do it again",
                    "do that again", "try it again", "try that again", "1 more go",
                    "again with a new seed", "show me others", "show me some others",
                    "give me others", "give me some others", "roll the dice", "reshuffle",
                    "let's try again")])
command("undo", "step back through the whole history (piece and candidates)", "Choose",
        ["undo", "go back", "undo twice", "undo 3 times"], words=("undo",), say="Undo",
        number="count", accepts={"times": "count"},
        triggers=[T("undo", "go back", "back", "take that back", "take it back", "revert", "oops",
                    "step back", "undo that", "undo it", "undo last", "undo the last one",
                    "undo the last turn", "undo the last change", "undo the last step", "previous",
                    "ctrl-z", "go back one step", "back up", "undo the last", "go back a step",
                    "step backwards", "whoops", "undo <cand>", "go back to the way it was",
                    "back to how it was", "the way it was", "as it was")])
command("redo", "step forward again after undo", "Choose", ["redo", "redo twice"],
        words=("redo",), say="Redo", number="count", accepts={"times": "count"},
        triggers=[T("redo", "go forward", "forward", "redo that", "redo it", "step forward", "ctrl-y",
                    "undo the undo", "undo undo", "put it back")])


# --- hear and see ---------------------------------------------------------------
command("play", "listen to the piece, a candidate or some bars", "Hear and see",
        ["play", "play 2", "play the second one", "play bars 1-4", "loop bars 1-4",
         "play it at 140", "play from bar 5"],
        details="Plays through the sound card with fluidsynth, or a MIDI port ('port NAME'). "
                "Without a sound card it writes the WAV and MIDI it would have played and says "
                "where. 'at 140' plays at that tempo (the piece's tempo is unchanged); "
                "'from bar 5' starts there.",
        words=("play", "listen", "loop", "hear"), say="Play", number="candidate",
        accepts={"cand": "candidate", "bars": "bars", "loop": "loop", "tempo": "tempo",
                 "from_bar": "from_bar"},
        triggers=[T("play", "play back", "playback", "play it", "play it back", "play it again",
                    "listen", "listen to", "let me hear", "let's hear", "can i hear", "hear",
                    "give it a listen", "give it a spin", "give us a listen", "play that",
                    "play this", "how does it sound", "how does that sound", "let me hear it",
                    "play me"),
                  T("loop", "play on loop", "play in a loop", "loop it", args={"loop": True})])
command("stop", "stop playing", "Hear and see", ["stop"], words=("stop",), say="Stop",
        triggers=[T("stop", "stop playing", "stop it", "stop the music", "stop playback",
                    "stop that", "silence", "quiet", "hush", "shh", "shhh", "shut up", "enough",
                    "pause")])
command("show", "show the piece, or candidate K in full", "Hear and see",
        ["show", "show 2", "show candidate 3"], words=("show",), say="Show", number="candidate",
        accepts={"cand": "candidate"},
        triggers=[T("show", "show me", "display", "print", "view", "see", "look at", "let me see",
                    "list", "what do we have", "where are we", "what have we got",
                    "show me the proposals", "show the candidates", "show me the candidates",
                    "show the proposals", "show me the options", "show me everything", "show it",
                    "show me the abc", "show the abc", "the abc", "show me the notes", "the notes",
                    "the whole thing", "the score")])


# --- changing the piece ----------------------------------------------------------
@command(
    "transpose", "move the piece (and the candidates) up or down, or to a key", "Change the piece",
    ["transpose up 2", "transpose -3", "transpose down a fifth", "up an octave",
     "transpose to D", "drop it an octave", "change the key to A minor"],
    details="Semitones, or interval names: a third is a major third; 'minor third' = 3. 'to D' / "
            "'to E minor' moves the tonic to that key by the nearest way.",
    words=("transpose", "key"), say="Transpose",
    follow=("up", "down", "by", "to", "a fifth", "an octave", "a minor third"),
    number="semitones", accepts={"interval": "semitones", "key": "key"},
    triggers=[
        T("transpose", "transpose it", "shift", "key change", "change key", "change the key",
          "change keys", "key", "modulate", "pitch shift"),
        T("move", "move it", "put", "put it", "take", "take it", "bring", "bring it", "raise", "try it",
          "raise it", "lift", "lift it", "up", "go up", "higher", "shift it",
          requires=("interval", "key")),
        T("lower", "lower it", "drop", "drop it", "down", "go down", "lower", "bring it down",
          requires=("interval", "key"), args={"_sign": -1}),
        T(weight=0, requires=("interval",)),
    ])
def _finish_transpose(args: dict, found: _Found, line: _Line) -> dict:
    iv = next((found.mods[i].value for i in found.order() if found.mods[i].kind == "interval"), None)
    sign = args.pop("_sign", 1)
    if iv is not None and not iv["dir"]:
        args["semitones"] = sign * abs(iv["semitones"]) if sign < 0 else iv["semitones"]
    if "key" in args:
        args.pop("semitones", None)
        return args
    if "semitones" not in args:
        rest = _leftover_words(found, REGISTRY["transpose"])
        if rest:
            raise ParseError(f"transpose: did not understand {rest!r}", "transpose down a fifth")
        raise ParseError("transpose by how much? e.g. transpose up 2", "transpose up 2")
    return args


command("meter", "re-bar the piece in another meter", "Change the piece",
        ["change the meter to 3/4", "make it a waltz", "put it in 6/8"],
        details="Keeps the notes and re-bars them in the new meter (a waltz is 3/4, a jig 6/8 ...).",
        words=("meter", "rebar"), say="Change the meter", follow=("3/4", "6/8", "4/4"),
        accepts={"meter": "meter", "type": "meter"},
        triggers=[T("meter", "change the meter", "change the meter to", "time signature",
                    "change the time signature", "rebar", "re-bar", "rebar it", "re-bar it",
                    "set the meter", "set the time signature"),
                  T("make it", "make it a", "make it an", "turn it into", "turn it into a",
                    "put it in", "put it", "switch to", "switch it to", "convert it to", "try it in",
                    "convert to", "change it to", "change it to a", "switch", "in",
                    requires=("meter", "type"), weight=1.2)])
command("tempo", "set the tempo in beats (quarter notes) per minute", "Change the piece",
        ["tempo 100", "set the tempo to 140", "slower", "faster"], words=("tempo", "bpm"),
        say="Set the tempo", follow=("80", "100", "120", "140"), number="bpm",
        accepts={"tempo": "bpm"},
        triggers=[T("tempo", "bpm", "speed", "metronome"), T(weight=0, requires=("tempo",))])
command("tempo_step", "a bit slower or faster", "Change the piece", ["slower", "a bit faster"],
        words=("slower", "faster"), say="Change the tempo", topic="tempo",
        triggers=[T("slower", "less fast", "slow down", "slow it down", "take it slower",
                    "play it slower", "reduce the tempo", "lower the tempo", "decrease the tempo",
                    "reduce the speed", "lower the speed", "tempo down", "slow", "slowly",
                    "ease off", args={"direction": "down"}),
                  T("faster", "quicker", "less slow", "speed up", "speed it up", "take it faster",
                    "play it faster", "increase the tempo", "raise the tempo", "tempo up",
                    "pick up the pace", "pick it up", "quick", "quickly", "up the tempo",
                    args={"direction": "up"})])
command("title", "rename the piece", "Change the piece", ["title The Kesh", "call it My Reel"],
        words=("title",), say="Rename", verbatim=lambda line: _title(line),
        triggers=[T("title", "call it", "name it", "rename")])


# --- steering -------------------------------------------------------------------
command("temperature", "how adventurous the proposals are (default 1.0)", "Steer",
        ["temperature 0.8", "be more adventurous", "be more conservative", "temperature",
         "wilder", "safer"],
        details="Higher is wilder, lower is safer (0.05..3). It scales sampling for continue and "
                "how far vary strays. For one request only, add it to the request: 'continue 8 "
                "bars, a bit wilder', 'vary bar 3 at temperature 1.5'.",
        words=("temperature", "wilder", "safer"), say="Set the temperature",
        follow=("0.8", "1.0", "1.2", "up", "down"), number="value",
        accepts={"temp": "value", "tempdir": "direction"},
        triggers=[T("temperature", "temp", "what's the temperature", "whats the temperature",
                    "show the temperature", "heat"),
                  T(weight=0, requires=("temp", "tempdir"))])
command("candidates", "how many candidates each turn makes (default 4)", "Steer",
        ["candidates 6", "give me 3 options"], words=("candidates",), say="Set the candidates",
        number="count", accepts={"ncand": "count"},
        triggers=[T("candidates", "how many candidates", "options", "proposals", "alternatives",
                    "choices", "set candidates", "candidates per turn", "k"),
                  T(weight=0, requires=("ncand",))])
command("personalize", "learn a profile from your own tunes (MidiMe)", "Steer",
        ["personalize my_tunes/", "learn my style from tunes.abc"],
        details="Trains profile 'me' on a file or folder of your tunes and switches it on; "
                "'profile none' switches it off; 'in my style' on a request uses it.",
        words=("personalize", "learn"), say="Personalize", verbatim=lambda line: _personalize(line),
        triggers=[T("personalize", "personalise", "learn my style", "learn", "train on")])
command("profile", "choose the profile that steers proposals", "Steer",
        ["profile me", "profile none", "profile"], words=("profile",), say="Set the profile",
        follow=("me", "none"), verbatim=lambda line: _profile(line),
        triggers=[T("profile", "my style", "style")])


# --- files and sessions -----------------------------------------------------------
command("load", "open a tune file (.abc .mid .musicxml) as the piece", "Files and sessions",
        ["load tune.abc", "open reel.mid", "use jig.abc as primer"],
        details="You can also paste an ABC tune straight into the prompt, or start st4rt with a "
                "file: st4rt tune.abc", words=("load", "import"), say="Load",
        verbatim=lambda line: _load(line), triggers=[T("load", "import", "read", "open a file")])
command("paste", "paste a multi-line ABC tune", "Files and sessions", ["paste"],
        details="Type 'paste', paste the tune, then press Ctrl-D (in a script: lines up to 'end'). "
                "Most terminals also let you paste an ABC tune straight at the prompt.",
        words=("paste",), say="Paste a tune",
        triggers=[T("paste", "paste a <tune>", "paste my <tune>", "paste the <tune>", "i'll paste",
                    "i'll paste a <tune>", "paste abc", "paste some abc")])
command("export", "write the piece as midi, musicxml, abc, wav or svg", "Files and sessions",
        ["export midi song.mid", "write it to song.mid", "export musicxml", "export wav song.wav",
         "export svg"],
        details="The format comes from the word or the file's extension. Without a file name the "
                "piece's title names the file.", words=("export", "write", "render"), say="Export",
        follow=("midi", "musicxml", "abc", "wav", "svg"), verbatim=lambda line: _export_rule(line),
        triggers=[T("export", "render", "save it as", "write it to", "save", "write out", "output")])
command("save", "save the session under a name (sessions also autosave every turn)",
        "Files and sessions", ["save my-reel"],
        details="Sessions live in the data folder (st4rt_repl.paths.data_dir()/sessions).",
        words=("save",), say="Save the session", verbatim=lambda line: _save_open(line),
        triggers=[T("save the session", "save session")])
command("open", "switch to a saved session ('sessions' lists them)", "Files and sessions",
        ["open my-reel"],
        words=("open",), say="Open", verbatim=lambda line: _save_open(line),
        triggers=[T("open", "resume", "open a session")])
command("sessions", "list saved sessions", "Files and sessions", ["sessions", "list sessions"],
        details="Every turn is saved as it happens; nothing is lost if the terminal dies. On start "
                "st4rt offers to resume the last session ('st4rt --resume' resumes without asking, "
                "'st4rt --new' never asks). Scripts start a new session unless given --resume.",
        words=("sessions",), say="List the sessions",
        triggers=[T("sessions", "list sessions", "saved sessions", "show sessions",
                    "show the sessions", "which sessions", "list the sessions", "my sessions")])
command("new", "start a new, empty session (the current one stays saved)", "Files and sessions",
        ["new session"], words=("new",), say="Start a new session",
        triggers=[T("new session", "start over", "reset", "start again", "fresh session",
                    "clear all", "new", "blank slate", "a new session", "start a new session")])


# --- other ----------------------------------------------------------------------
command("status", "where the session stands: file, history, settings", "Other", ["status"],
        words=("status",), say="Show the status",
        triggers=[T("status", "info", "state", "summary", "session", "where are we at")])
command("port", "play through a MIDI port ('port none': the sound card)", "Other",
        ["port FLUID Synth", "port none"], words=("port",), say="Use the port", topic="ports",
        verbatim=lambda line: _port(line), triggers=[T("port", "midi port", "use port")])
command("ports", "list MIDI output ports ('port NAME' plays through one)", "Other",
        ["ports", "port FLUID Synth", "port none"], words=("ports",), say="List the ports",
        triggers=[T("ports", "list ports", "list midi ports", "midi ports", "show ports",
                    "show the ports", "show midi ports", "show the midi ports", "which ports")])
command("config", "show the config file and its settings", "Other", ["config"],
        words=("config", "settings"), say="Show the config",
        triggers=[T("config", "settings", "preferences", "show config", "show the config",
                    "show settings", "show the settings", "configuration")])
command("help", "this help; help COMMAND for details", "Other",
        ["help", "help vary", "how do I export?", "what can you do?"], words=("help",),
        say="Show help", triggers=[T("help", "commands", "usage", "help me", "menu", "h")])
command("quit", "leave (the session is already saved)", "Other", ["quit", "exit", "bye"],
        words=("quit", "exit"), say="Quit",
        triggers=[T("quit", "exit", "bye", "goodbye", "q", "wq", "q!", "quit()", "exit()",
                    "i'm done", "im done", "that's all", "thats all", "see you", "see ya",
                    "leave", "close", "good night", "goodnight")])
# Topics that are not commands: help texts only.
EXTRA_TOPICS = {
    "scripts": ("run commands from a file or a pipe",
                "st4rt --script FILE (or commands on stdin) runs the same commands with the same "
                "output. An ABC tune in a script runs from an X: line to the next blank line, or "
                "between 'paste' and 'end'. Lines starting with '# ' are comments. A line the "
                "parser finds unclear is an error with its line number. --strict stops at the "
                "first failing command with exit code 1; without it the script goes on and exits "
                "1 if anything failed.",
                ["st4rt --script session.txt --strict", "echo 'help' | st4rt"]),
}


# ----------------------------------------------------------------------------
# Verbatim commands: their argument is a file, a folder, a session name or a title
# ----------------------------------------------------------------------------
def _format_of_path(path: str) -> str | None:
    m = re.search(r"(\.[A-Za-z0-9]+)$", path)
    return _EXT_FORMAT.get(m.group(1).lower()) if m else None


def _export(line: _Line, verb_len: int) -> Intent:
    """export FORMAT [PATH] [overwrite]: a path without an extension is kept as typed (it may
    be a folder: the session writes inside a folder and adds the extension to a file name)."""
    fmt, path, overwrite = None, None, False
    skip = {"it", "to", "as", "the", "a", "an", "file", "into", "in", "called", "named",
            "this", "that", "everything", "music", "format", "version", "me", "of",
            "and", "save", "export", "my", "our", "anyway", "please", "folder", "directory"}
    nouns = {"tune", "piece", "melody", "song", "score", "whole", "thing"}
    words, raws = line.words[verb_len:], line.raw[verb_len:]
    leftover = []
    prev = line.words[verb_len - 1] if verb_len else ""
    for k, (w, r) in enumerate(zip(words, raws)):
        after_article = prev in ("the", "this", "my", "our", "that", "whole")
        nxt = words[k + 1] if k + 1 < len(words) else ""
        prev = w
        if w in nouns and after_article:
            continue
        if line.path(w) is not None:
            if path is not None:
                raise ParseError("export takes one file name")
            path = line.path(w)
        elif w in ("overwrite", "overwriting", "force", "--force", "replace", "replacing", "-f"):
            overwrite = True
        elif w in _FORMAT_WORDS:
            fmt = _FORMAT_WORDS[w]
        elif w in skip or (w == "out" and (k == 0 or words[k - 1] in ("it", "this", "that")
                                           or nxt in ("as", "to", "in", "into"))):
            continue                       # "write it out as midi": not a file called "out"
        else:
            leftover.append(r)
    if path is None and len(leftover) == 1:
        path = leftover.pop()
    if leftover:
        raise ParseError(f"export: did not understand {' '.join(leftover)!r}",
                         "export midi song.mid")
    if path is not None:
        ext_fmt = _format_of_path(path)
        has_ext = re.search(r"\.[A-Za-z][A-Za-z0-9]{0,7}$", path.rsplit("/", 1)[-1]) is not None
        if ext_fmt is None and has_ext:
            raise ParseError(f"{path}: unknown file type; use one of "
                             + " ".join(sorted(_EXT_FORMAT)))
        if fmt and ext_fmt and fmt != ext_fmt:
            raise ParseError(f"{path} is not a {fmt} file name")
        fmt = fmt or ext_fmt
        if fmt is None:
            raise ParseError("export: which format? midi, musicxml, abc, wav or svg",
                             f"export midi {path}.mid")
    if fmt is None:
        raise ParseError("export: which format and file? e.g. export midi song.mid",
                         "export midi song.mid")
    # An empty path means "name it after the tune's title" (the session decides).
    return Intent("export", {"format": fmt, "path": path or ""} | ({"overwrite": True} if overwrite else {}))


def _export_rule(line: _Line) -> Intent | None:
    w = line.words
    first = w[0]
    has_path = any(line.path(x) is not None for x in w)
    has_format = any(x in _FORMAT_WORDS for x in w[1:])
    if first in ("export", "render", "output", "dump"):
        return _export(line, 1)
    if first in ("write", "save", "store", "put") and (has_format or (has_path and any(
            _format_of_path(line.path(x) or "") for x in w))):
        return _export(line, 1)
    if first in ("write", "save") and has_path and _format_of_path(line.paths[0]) is None \
            and re.search(r"\.[A-Za-z]", line.paths[0]):
        return _export(line, 1)
    return None


def _path_arg(line: _Line, start: int, skip: set[str]) -> str | None:
    for w in line.words[start:]:
        if line.path(w) is not None:
            return line.path(w)
    rest = [r for w, r in zip(line.words[start:], line.raw[start:]) if w not in skip]
    return " ".join(rest) if rest else None


def _load(line: _Line) -> Intent | None:
    w, text = line.words, line.text
    has_path = any(line.path(x) is not None for x in w)
    m = re.match(r"^(load|open|import|read|use|start from|start with|begin with|primer)\b", text)
    if m and (has_path or w[0] in ("load", "import", "read")):
        n = len(m.group(1).split())
        path = _path_arg(line, n, {"the", "file", "tune", "from", "as", "primer", "a", "my",
                                   "start", "starting", "point"})
        if not path:
            raise ParseError("load: which file? e.g. load tune.abc", "load tune.abc")
        if w[0] == "open" and not has_path:
            return Intent("open", {"name": path})
        return Intent("load", {"path": path})
    return None


def _personalize(line: _Line) -> Intent | None:
    m = re.match(r"^(personali[sz]e|learn(?: my style)?(?: from)?|train on|make it sound like|"
                 r"sound like|learn from)\b", line.text)
    if m:
        n = len(m.group(1).split())
        path = _path_arg(line, n, {"on", "with", "from", "my", "tunes", "in", "the", "style",
                                   "of", "using", "folder", "file", "files", "me", "to", "own"})
        if not path:
            raise ParseError("personalize: which file or folder of your tunes?",
                             "personalize my_tunes/")
        return Intent("personalize", {"path": path})
    return None


def _save_open(line: _Line) -> Intent | None:
    w = line.words
    if w[0] in ("save", "open", "resume") and len(w) <= 4:
        rest = [r for x, r in zip(w[1:], line.raw[1:]) if x not in ("session", "as", "the", "it", "to")]
        if w[0] == "save":
            return Intent("save", {"name": "-".join(rest)} if rest else {})
        if rest:
            return Intent("open", {"name": "-".join(rest)})
        if w[0] == "open":
            raise ParseError("open: which session? ('sessions' lists them)", "sessions")
    return None


def _title(line: _Line) -> Intent | None:
    m = re.match(r"^(title|call it|name it|rename(?: it)?(?: to)?|set title(?: to)?|set the title to)\b",
                 line.text)
    if m and len(line.words) > len(m.group(1).split()):
        return Intent("title", {"text": " ".join(line.raw[len(m.group(1).split()):])})
    return None


def _profile(line: _Line) -> Intent | None:
    text = line.text
    m = re.match(r"^(?:use |switch to |set )?(?:the )?profile(?: to)?\b", text)
    if m:
        rest = line.raw[len(m.group(0).split()):]
        if not rest:
            return Intent("profile", {})
        name = " ".join(rest)
        return Intent("profile", {"name": None if name.lower() in ("none", "off", "no") else name})
    if text in ("use my profile", "my profile on", "switch my profile on", "use my style"):
        return Intent("profile", {"name": "me"})      # 'personalize' trains the profile 'me'
    if text in ("no profile", "profile off", "drop the profile", "without profile", "no style"):
        return Intent("profile", {"name": None})
    return None


def _port(line: _Line) -> Intent | None:
    m = re.match(r"^(?:use |set )?(?:midi )?port(?: to)?\b", line.text)
    if m and len(line.words) > len(m.group(0).split()):
        return Intent("port", {"name": " ".join(line.raw[len(m.group(0).split()):])})
    return None


# ----------------------------------------------------------------------------
# Choosing the command
# ----------------------------------------------------------------------------
# Words that may be left over without making a sentence unclear.
_STOP = set("""
a an the it its it's this that these those them me us my our i i'm you we to of for with in on at by
from into onto and but then so please now just some also again be is are was do can could would
will should let let's lets have get got go give make write put set take bring use want like need
one ones time times this-time instead thanks thank ok okay well really very more new next fresh
whole all everything thing up out off here there over as about bit little than only too same
another other something yeah yes oh hmm hey right maybe think see what how try keep tune piece
please, different extra further another's bars bar measures measure options candidates proposals
alternatives choices ideas idea version versions takes shall done via using around add between
compose create get do there's here's change no nah nope that's thats it's what's whats current
""".split())
_STOP_PHRASES = re.compile(_B + r"(?:this time|from now on|each time|per turn|at a time|each turn|"
                           r"for now|if you can|if possible|for a change|in full|<tune:\d+>)" + _E)


def _requirement_met(req: str, kinds: set[str]) -> bool:
    """"bars", "a+b" (both), "~word" (the word itself is in the sentence: kinds holds it)."""
    return all(k in kinds for k in req.split("+"))


def _numbers_in(text: str) -> list[str]:
    return re.findall(_B + r"[-+]?\d*\.?\d+" + _E, text)


def _score(cmd: Command, trig: _Trigger, found: _Found, kinds: set[str]):
    """(weight, -modifiers it cannot use, words matched) for a trigger that applies, else None."""
    if trig.requires and not any(_requirement_met(r, kinds) for r in trig.requires):
        return None
    if any(k in kinds for k in trig.unless):
        return None
    span = (0, 0)
    if trig.pattern is not None:
        m = trig.pattern.search(found.skeleton)
        if m is None:
            return None
        span = m.span()
    unused = sum(1 for mod in found.mods if not mod.soft and mod.kind not in cmd.accepts
                 and mod.kind != "tune")
    rest = found.skeleton[:span[0]] + " " + found.skeleton[span[1]:]
    bare = len(_numbers_in(rest))
    if bare and not cmd.number:
        unused += bare
    elif bare > 1 and not (cmd.number or "").endswith("*"):
        unused += bare - 1
    return (trig.weight, -unused, span[1] - span[0])


def _kinds(found: _Found) -> set[str]:
    """The kinds of modifier found, plus "more" (a count said with more/another/next),
    "number" (a bare number) and "~w" for each plain word."""
    kinds = {m.kind for m in found.mods}
    if any(m.kind == "count" and m.value["more"] for m in found.mods):
        kinds.add("more")
    if _numbers_in(found.skeleton):
        kinds.add("number")
    kinds.update("~" + w for w in found.skeleton.split())
    return kinds


def _choose(found: _Found) -> tuple[Command, _Trigger] | None:
    """The best (command, trigger) for a sentence, by `_score`; None when nothing applies."""
    kinds = _kinds(found)
    best, best_score = None, None
    for cmd in REGISTRY.values():
        if cmd.verbatim is not None:
            continue
        for trig in cmd.triggers:
            s = _score(cmd, trig, found, kinds)
            if s is not None and (best_score is None or s > best_score):
                best, best_score = (cmd, trig), s
    return best


def _leftover_words(found: _Found, cmd: Command | None = None) -> str:
    """The words of the sentence that no trigger, modifier or stop list accounted for,
    as the stretch of the sentence they lie in ("lots of rolls")."""
    text = found.skeleton
    if cmd is not None:
        for trig in cmd.triggers:
            if trig.pattern is not None:
                text = re.sub(r"\s+", " ", trig.pattern.sub(" ", text))
    text = _STOP_PHRASES.sub(" ", text)
    shown: list[tuple[str, bool]] = []          # (words, not understood)
    numbers_left = 0 if cmd is None or not cmd.number else 99 if cmd.number.endswith("*") else 1
    for w in text.split():
        ph = re.fullmatch(r"<(\w+):(\d+)>", w)
        if ph:
            mod = found.mods[int(ph.group(2))]
            if cmd is not None and (mod.kind in cmd.accepts or mod.soft or mod.kind == "tune"):
                continue
            shown.append((mod.words, True))
        elif _is_number(w) and numbers_left:
            numbers_left -= 1
        else:
            shown.append((w, w not in _STOP))
    bad = [i for i, (_, b) in enumerate(shown) if b]
    return " ".join(w for w, _ in shown[bad[0]:bad[-1] + 1]) if bad else ""


def _build(cmd: Command, trig: _Trigger, found: _Found, line: _Line) -> tuple[Intent, str]:
    """The intent: defaults, the trigger's own args, the modifiers the command accepts (in
    sentence order; bar lists add up), a bare number; and the words left unexplained."""
    args = dict(cmd.defaults) | dict(trig.args)
    said: set[str] = set()
    # a tune type's meter only where no meter is named ("a march in 6/8" is in 6/8)
    named_meter = any(m.kind == "meter" for m in found.mods)
    for i in found.order():
        mod = found.mods[i]
        if mod.kind == "type" and named_meter:
            continue
        name = cmd.accepts.get(mod.kind)
        if not name or mod.kind == "tune":
            continue
        value = mod.value
        if isinstance(value, dict):
            value = value.get(name, value.get("bars"))
        if mod.kind == "type" and value is not None:
            value = TUNE_TYPES.get(value)
        if value is None:
            continue
        if mod.kind == "profile" and isinstance(value, str):
            value = line.raw_of(value)
        if name in said:
            if isinstance(args[name], list):
                args[name] = args[name] + [v for v in value if v not in args[name]]
            continue
        args[name] = value
        said.add(name)
    nums = _numbers_in(_STOP_PHRASES.sub(" ", found.skeleton))
    if cmd.number and nums:
        # the skeleton's trigger words may contain a number ("1 more time"): skip those
        rest = trig.pattern.sub(" ", found.skeleton) if trig.pattern is not None else found.skeleton
        nums = _numbers_in(rest)
        if cmd.number.endswith("*"):
            args[cmd.number[:-1]] = [int(float(n)) for n in nums if "." not in n]
        elif nums and cmd.number not in said:
            n = nums[0]
            if "." in n and cmd.number != "value":       # only a temperature has decimals
                raise ParseError(f"{cmd.name}: {n} is not a whole number",
                                 cmd.examples[0] if cmd.examples else None)
            args[cmd.number] = float(n) if "." in n else int(n)
    ignored = _leftover_words(found, cmd)
    if cmd.finish is not None:
        args = cmd.finish(args, found, line)
    args = {k: v for k, v in args.items() if not k.startswith("_")}
    return Intent(cmd.name, args), ignored


# ----------------------------------------------------------------------------
# Help questions
# ----------------------------------------------------------------------------
_QUESTION = re.compile(r"^(?:how\s+(?:do|can|could|should|would|does|will)\s+(?:i|we|you|one)|how\s+to|"
                       r"what\s+(?:does|do\s+i\s+type\s+to|can\s+(?:i|you)|commands)|why\s+(?:does|do|is|can't)|"
                       r"where\s+(?:do|can|is|are)|is\s+there\s+a\s+way\s+to|explain|tell\s+me\s+about|"
                       r"what\s+is\s+the\s+command\s+(?:for|to)|i\s+don'?t\s+know\s+how\s+to)\b\s*(.*)$")


def topic_for(text: str) -> str | None:
    """The help topic a word or phrase is about ("take" -> "accept"), or None.

    >>> topic_for("take"), topic_for("morph"), topic_for("add a B part"), topic_for("zzz")
    ('accept', 'interpolate', 'new_part', None)
    """
    t = text.strip().lower()
    if not t:
        return None
    if t in REGISTRY:
        return REGISTRY[t].topic or t
    if t in EXTRA_TOPICS:
        return t
    for cmd in REGISTRY.values():
        if t in cmd.words:
            return cmd.topic or cmd.name
    try:
        line = _tokenize(t)
    except ParseError:
        return None
    if not line.words:
        return None
    for w in line.words:
        if line.path(w) is not None:
            return None
    found = _extract(line.text)
    kinds = _kinds(found)
    best, best_score = None, None
    for cmd in REGISTRY.values():
        for trig in cmd.triggers:
            met = not trig.requires or any(_requirement_met(r, kinds) for r in trig.requires)
            if trig.pattern is None:
                if not met:
                    continue
                s = (True, False, 0, trig.weight)
            else:
                m = trig.pattern.search(found.skeleton)
                if m is None:
                    continue
                # a phrase that applies, then one with real words ("repeat" over "<part>"),
                # then the longest names the topic
                s = (met, not m.group(0).startswith("<"), m.end() - m.start(), trig.weight)
            if best_score is None or s > best_score:
                best, best_score = cmd, s
    return (best.topic or best.name) if best else None


def _help_intent(line: _Line) -> Intent | None:
    text = line.text
    m = re.fullmatch(r"(?:help|\?|h|usage|commands|help me|menu|what can i (?:do|say|type)|"
                     r"what can you do|how does (?:this|it) work|what now|what commands are there)", text)
    if m:
        return Intent("help", {})
    m = re.fullmatch(r"(?:help|\?|h|usage)\s+(?:on\s+|with\s+|about\s+|me\s+with\s+)?(.+)", text)
    if m:
        topic = topic_for(m.group(1))
        return Intent("help", {"topic": topic or m.group(1).split()[0]})
    m = _QUESTION.match(text)
    if m:
        topic = topic_for(m.group(1)) if m.group(1) else None
        return Intent("help", {"topic": topic} if topic else {})
    return None


# ----------------------------------------------------------------------------
# parse
# ----------------------------------------------------------------------------
class _Reading:
    """Everything `parse` worked out about one line (for --explain)."""

    def __init__(self):
        self.intent: Intent | None = None
        self.error: ParseError | None = None
        self.found: _Found | None = None
        self.trigger = ""
        self.ignored = ""


def looks_like_abc(text: str) -> bool:
    """True for pasted text that is an ABC tune (an X: or K: header line).

    >>> looks_like_abc("X:1\\nT:Hi\\nK:D\\nDEF|"), looks_like_abc("vary bar 3")
    (True, False)
    """
    return re.search(r"^\s*[XK]:", text, re.M) is not None and (
        "\n" in text.strip() or text.lstrip().startswith("X:"))


def _read(text: str) -> _Reading:
    """Parse one line into a `_Reading` (never raises)."""
    r = _Reading()
    try:
        r.intent = _read_line(text, r)
    except ParseError as e:
        r.error = e
    return r


def _read_line(text: str, r: _Reading, hint: bool = True) -> Intent:
    """`parse` without the wrapping; ``hint``: look for a spelling fix (not when checking one)."""
    if not text or not text.strip():
        raise ParseError("empty command")
    if text.strip().startswith("?"):
        text = "help " + text.strip()[1:]
    if looks_like_abc(text) and "\n" in text.strip():
        return Intent("primer", {"abc": text.strip() + "\n"})
    line = _tokenize(text.strip())
    if not line.words:
        raise ParseError("empty command")
    intent = _help_intent(line)
    if intent is not None:
        r.trigger = line.text
        return intent
    for cmd in REGISTRY.values():
        if cmd.verbatim is not None:
            intent = cmd.verbatim(line)
            if intent is not None:
                r.trigger = line.words[0]
                return intent
    if any(line.path(x) is not None for x in line.words):
        raise ParseError(f"did not understand {text.strip()!r}", suggest(text) if hint else None)
    found = _extract(line.text)
    r.found = found
    choice = _choose(found)
    if choice is None:
        raise ParseError(f"did not understand {text.strip()!r}", suggest(text) if hint else None)
    cmd, trig = choice
    hits = [t.pattern.search(found.skeleton) for t in cmd.triggers if t.pattern is not None]
    r.trigger = max((h.group(0) for h in hits if h), key=len, default="")
    intent, ignored = _build(cmd, trig, found, line)
    r.ignored = ignored
    if ignored or trig.guess:
        fix = _spelling_fix(text) if ignored and hint else None
        if fix is not None:
            raise ParseError(f"did not understand {text.strip()!r}", fix)
        raise Unclear(intent, ignored)
    return intent


def parse(text: str) -> Intent:
    """Parse one command line; raises ParseError (with a suggestion) when it makes no sense,
    and `Unclear` (a ParseError with a ``guess``) when it makes sense only in part."""
    r = _read(text)
    if r.error is not None:
        raise r.error
    return r.intent


def _bars_text(bars) -> str:
    if isinstance(bars, int):
        return f"{bars} bar" + ("s" if bars != 1 else "")
    if bars == [-1]:
        return "the last bar"
    if len(bars) > 2 and bars == list(range(bars[0], bars[-1] + 1)):
        return f"bars {bars[0]}-{bars[-1]}"
    return ("bar " if len(bars) == 1 else "bars ") + ", ".join(str(b) for b in bars)


def describe(intent: Intent) -> str:
    """A short sentence saying what an intent will do (the clarifying question's words).

    >>> describe(Intent("generate", {"bars": 8, "meter": "6/8", "key": "E minor"}))
    'Generate 8 bars in 6/8 in E minor'
    >>> describe(Intent("vary", {"bars": [3], "temperature_scale": 1.25}))
    'Vary bar 3, wilder'
    """
    cmd = REGISTRY.get(intent.name)
    a = intent.args
    out = [cmd.say if cmd and cmd.say else intent.name.replace("_", " ").capitalize()]
    if "candidate" in a:
        out.append("the candidate on show" if a["candidate"] is None else
                   "the last candidate" if a["candidate"] == -1 else f"candidate {a['candidate']}")
    if "bars" in a:
        out.append(_bars_text(a["bars"]))
    if "from" in a:
        out.append(f"from bar {a['from']} to bar {a['to']}")
    if a.get("finish"):
        out.append("to a natural end")
    for k, fmt in (("meter", "in {}"), ("key", "to {}" if intent.name == "transpose" else "in {}"),
                   ("semitones", "by {:+d} semitones"), ("bpm", "to {} bpm"), ("tempo", "at {} bpm"),
                   ("from_bar", "from bar {}"), ("temperature", "at temperature {}"),
                   ("amount", "by amount {}"), ("count", "{} times" if intent.name in ("undo", "redo")
                                                 else "{}"),
                   ("value", "to {}"), ("direction", "{}"), ("candidates", "({} candidates)")):
        if k in a and a[k] is not None:
            out.append(fmt.format(a[k]))
    s = a.get("temperature_scale")
    text = " ".join(out)
    if s is not None:
        text += ", " + ("a bit " if s in (1.12, 0.9) else "a lot " if s in (1.6, 0.6) else "") + \
            ("wilder" if s > 1 else "safer")
    if a.get("profile") is True:
        text += ", in your style"
    elif isinstance(a.get("profile"), str):
        text += f", with profile {a['profile']}"
    if a.get("like"):
        text += ", like the first part" if a["like"] == "similar" else ", contrasting"
    if a.get("loop"):
        text += ", on a loop"
    return text


def _spelling_fix(text: str) -> str | None:
    """The line with misspelt words replaced by known ones, if that parses cleanly."""
    try:
        line = _tokenize(text.strip())
    except ParseError:
        return None
    words, fixed = line.words, []
    for w in words:
        path = line.path(w)
        if path is not None:
            fixed.append(f'"{path}"' if " " in path else path)
        elif re.fullmatch(r"[-+]?\d[\d.\-/]*(?:st|nd|rd|th)?", w) or w in _VOCAB:
            fixed.append(w)
        else:
            # never "fix" a word into a little word ("any" -> "an"): only into a longer one
            m = [c for c in difflib.get_close_matches(w, _VOCAB, n=3, cutoff=0.7) if len(c) > 3]
            fixed.append(m[0] if m else w)
    if fixed != words:
        cand = " ".join(fixed)
        r = _Reading()
        try:
            if _read_line(cand, r, hint=False) is not None:
                return cand
        except ParseError:
            pass
    return None


def suggest(text: str) -> str | None:
    """A close, valid command for a misspelt one ("vry bar 3" -> "vary bar 3")."""
    fix = _spelling_fix(text)
    if fix is not None:
        return fix
    try:
        words = _tokenize(text.strip()).words
    except ParseError:
        return None
    m = difflib.get_close_matches(text.strip().lower(), EXAMPLES, n=1, cutoff=0.7)
    if m:
        return m[0]
    if words:
        m = difflib.get_close_matches(words[0], COMMAND_WORDS, n=1, cutoff=0.7)
        if m:
            for ex in EXAMPLES:
                if ex.split()[0] == m[0]:
                    return ex
    return None


def explain(text: str) -> str:
    """The intent and which words gave which modifier (``st4rt parse --explain``).

    >>> print(explain("write an 8 bar jig in G"))
    {"intent": "generate", "args": {"bars": 8, "meter": "6/8", "key": "G major"}}
      command   'write' -> generate
      modifier  'an 8 bar' -> count 8
      modifier  'jig' -> type jig (meter 6/8)
      modifier  'in g' -> key G major
    """
    r = _read(text)
    lines = []
    if r.intent is not None:
        lines.append(r.intent.to_json())
    elif isinstance(r.error, Unclear):
        lines.append(f"unclear: {r.error}")
        lines.append(f"  guess     {r.error.guess.to_json()}")
    else:
        lines.append(f"error: {r.error}")
    name = r.intent.name if r.intent else (r.error.guess.name if isinstance(r.error, Unclear) else "")
    if name:
        lines.append(f"  command   {r.trigger!r} -> {name}" if r.trigger else f"  command   (from the modifiers) -> {name}")
    if r.found is not None:
        for i in r.found.order():
            mod = r.found.mods[i]
            v = mod.value
            if mod.kind == "tune":
                continue
            if mod.kind == "type":
                shown = f"type {v}" + (f" (meter {TUNE_TYPES[v]})" if TUNE_TYPES.get(v) else "")
            elif mod.kind == "count":
                shown = f"count {v['bars']}"
            elif mod.kind == "bars":
                shown = f"bars {v['bars']}"
            elif isinstance(v, dict):
                shown = f"{mod.kind} " + ", ".join(f"{k}={x}" for k, x in v.items())
            else:
                shown = f"{mod.kind} {v}"
            lines.append(f"  modifier  {mod.words!r} -> {shown}")
    if r.ignored:
        lines.append(f"  ignored   {r.ignored!r}")
    return "\n".join(lines)


# First words the REPL completes and colours, and the spelling fixer's vocabulary.
COMMAND_WORDS: list[str] = list(dict.fromkeys(
    w for cmd in REGISTRY.values() for w in ((cmd.name,) if "_" not in cmd.name else ()) + cmd.words))
# Canonical examples used for "did you mean" when spelling fixes are not enough.
EXAMPLES: list[str] = list(dict.fromkeys(e for cmd in REGISTRY.values() for e in cmd.examples))
_VOCAB = sorted(set(COMMAND_WORDS) | set(NUMBER_WORDS) | set(_ORDINALS) | set(TUNE_TYPES) | {
    "bar", "bars", "measure", "measures", "candidate", "option", "number", "the", "last",
    "up", "down", "a", "an", "by", "to", "from", "into", "and", "more", "less", "keep",
    "going", "go", "back", "try", "one", "it", "of", "for", "with", "semitones", "octave",
    "fifth", "fourth", "third", "minor", "major", "dorian", "mixolydian", "adventurous",
    "conservative", "make", "different", "change", "midi", "musicxml", "abc", "wav", "svg", "bpm",
    "write", "again", "tune", "new", "me", "variation", "variations", "bridge", "blend", "part",
    "wilder", "safer", "take", "pick", "in", "key", "repeats", "times", "twice",
})


# ----------------------------------------------------------------------------
# `st4rt parse "TEXT"`
# ----------------------------------------------------------------------------
def add_arguments(parser) -> None:
    """Arguments of `st4rt parse`."""
    parser.add_argument("text", nargs="+", help='a command in plain words, e.g. "vary bar 3"')
    parser.add_argument("--explain", action="store_true",
                        help="also print which words gave which modifier")


def run(args) -> int:
    """Print the intent of the text as one JSON object; exit 2 (the CLI's user-error code)
    with one line when it cannot be parsed or is unclear."""
    text = " ".join(args.text)
    if getattr(args, "explain", False):
        print(explain(text))
        return 0 if _read(text).error is None else 2
    try:
        intent = parse(text)
    except Unclear as e:
        print(f"st4rt parse: unclear: {e.message} (guess: {e.guess.to_json()})", file=sys.stderr)
        return 2
    except ParseError as e:
        print(f"st4rt parse: {e}", file=sys.stderr)
        return 2
    print(intent.to_json())
    return 0
