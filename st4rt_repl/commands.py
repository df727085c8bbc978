"""Plain words -> `Intent`: what the user asked the co-composer to do.

Pure Python on purpose (no torch, no music21): the REPL parses every line with
it before anything heavy is imported, and ``st4rt parse "TEXT"`` prints the
result as one JSON object.

>>> parse("keep going for 4 bars")
Intent(name='continue', args={'bars': 4})
>>> parse("make bar 3 different").args
{'bars': [3]}
>>> parse("transpose down a fifth").args
{'semitones': -7}
>>> parse("write it to song.mid").args
{'format': 'midi', 'path': 'song.mid'}
>>> parse("play the second one").to_json()
'{"intent": "play", "args": {"candidate": 2}}'

Bar numbers are 1-based and lists are expanded; negative numbers count from
the end (-1 is the last bar) and stay negative here: the session resolves
them against the piece.
"""
from __future__ import annotations

import difflib
import json
import re
import sys
from dataclasses import dataclass, field

__all__ = ["Intent", "ParseError", "parse", "looks_like_abc", "COMMAND_WORDS",
           "EXPORT_FORMATS", "add_arguments", "run"]

MAX_BARS = 256          # longest bar list or continuation we accept from words


@dataclass(frozen=True)
class Intent:
    """A parsed command: an intent name and its arguments (JSON-ready values)."""
    name: str
    args: dict = field(default_factory=dict)

    def to_json(self) -> str:
        """The `st4rt parse` form: ``{"intent": ..., "args": {...}}``."""
        return json.dumps({"intent": self.name, "args": self.args})


class ParseError(ValueError):
    """Input we could not understand; the message is one line, with a suggestion if any."""

    def __init__(self, message: str, suggestion: str | None = None):
        self.message, self.suggestion = message, suggestion
        hint = f" (did you mean '{suggestion}'?)" if suggestion and suggestion not in message else ""
        super().__init__(message + hint)


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
_LOAD_EXTS = {".abc", ".mid", ".midi", ".musicxml", ".xml", ".mxl"}

# First words the REPL completes and the spelling fixer knows.
COMMAND_WORDS = [
    "continue", "generate", "vary", "interpolate", "morph", "accept", "take", "reject",
    "again", "undo", "redo", "play", "stop", "show", "transpose", "tempo", "slower",
    "faster", "temperature", "export", "load", "personalize", "profile", "candidates",
    "save", "open", "sessions", "new", "paste", "status", "ports", "port", "config",
    "title", "help", "quit",
]
_VOCAB = sorted(set(COMMAND_WORDS) | set(NUMBER_WORDS) | set(_ORDINALS) | {
    "bar", "bars", "measure", "measures", "candidate", "option", "number", "the", "last",
    "up", "down", "a", "an", "by", "to", "from", "into", "and", "more", "less", "keep",
    "going", "go", "back", "try", "one", "it", "of", "for", "with", "semitones", "octave",
    "fifth", "fourth", "third", "minor", "major", "adventurous", "conservative", "make",
    "different", "change", "midi", "musicxml", "abc", "wav", "svg", "bpm", "write",
    "again", "tune", "new", "me", "variation", "variations", "bridge", "blend",
})
# Canonical examples used for "did you mean" when spelling fixes are not enough.
EXAMPLES = [
    "continue 8 bars", "keep going for 4 bars", "generate 16 bars", "vary bar 3",
    "vary bars 3-4", "make bar 3 different", "interpolate bar 1 to bar 5",
    "morph bar 1 into bar 4", "take 2", "accept 1", "reject", "try again", "undo",
    "redo", "play", "play 2", "play bars 1-4", "stop", "show", "show 2",
    "transpose up 2", "transpose down a fifth", "tempo 100", "slower", "faster",
    "temperature 0.8", "be more adventurous", "be more conservative",
    "export midi song.mid", "write it to song.mid", "load tune.abc",
    "personalize my_tunes/", "save mysession", "open mysession", "sessions", "paste",
    "status", "ports", "config", "profile me", "candidates 4", "title My Tune",
    "help", "help vary", "quit",
]


# ----------------------------------------------------------------------------
# Tokens: words are normalised (lower case, number words -> digits); paths and
# quoted strings are kept verbatim and stand in the text as @0, @1, ...
# ----------------------------------------------------------------------------
_TOKEN = re.compile(r'"([^"]*)"|(?<!\S)\'([^\']*)\'(?!\S)|(\S+)')
_PATHLIKE = re.compile(r"[/\\~]|^\.{1,2}$|\.[A-Za-z][A-Za-z0-9]{0,7}$")
_FILLER_START = [
    "please", "could you", "can you", "would you", "will you", "let's", "lets", "let us",
    "i want to", "i'd like to", "i would like to", "i wanna", "now", "ok", "okay", "so",
    "hey", "just", "go ahead and", "then", "and", "maybe", "alright", "right", "well",
]
_FILLER_END = ["please", "now", "for me", "thanks", "thank you", "a bit", "a little", "then"]


@dataclass
class _Line:
    """A command line split into normalised words and verbatim path tokens."""
    words: list[str]          # normalised; a path/quoted token appears as '@i'
    paths: list[str]          # verbatim path/quoted tokens
    raw: list[str]            # the original tokens, aligned with `words`

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def path(self, word: str) -> str | None:
        if re.fullmatch(r"@\d+", word) and int(word[1:]) < len(self.paths):
            return self.paths[int(word[1:])]
        return None


def _is_number(tok: str) -> bool:
    return re.fullmatch(r"[-+]?\d*\.?\d+", tok) is not None


def _trim(tok: str) -> str:
    """Drop sentence punctuation around a word but keep a path's dots ("song.mid." -> "song.mid")."""
    tok = tok.rstrip(",;!?")
    if tok in (".", ".."):
        return tok
    return tok.rstrip(".")


def _tokenize(text: str) -> _Line:
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
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
        if quoted is not None or (_PATHLIKE.search(tok) and not _is_number(tok)):
            words.append(f"@{len(paths)}")
            paths.append(tok)
            raw.append(tok)
            continue
        # "3," "bars:" -> bare word; keep '-' (ranges, negatives) and '.' (decimals)
        for piece in re.split(r"[,;:!?()]+", tok):
            if piece:
                words.append(piece.lower())
                raw.append(piece)
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
                "bar", "measure", "semitone", "dozen", "couple", "few", "pair") :
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
            if tok == "couple" and i + 1 < len(w) and w[i + 1] == "of":
                i += 1
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
    """True when an ordinal word names an interval ("a fifth", "up a third")."""
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
# Argument phrases: bars, candidates, intervals
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
    if re.fullmatch(rf"last\s+{_BARWORD}|final\s+{_BARWORD}|last\s+one", s):
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
    m = re.fullmatch(rf"(?:{_BARWORD}\s*)?(.+?)", s)
    body = m.group(1) if m else s
    items = re.split(r"\s*(?:,|\band\b|&|\+)\s*|\s+(?=[-+]?\d)(?<!to )(?<!from )(?<!through )(?<!thru )(?<!until )(?<!till )", body)
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


def _one_bar(phrase: str) -> int | None:
    bars = bar_list(phrase)
    return bars[0] if bars and len(bars) == 1 else None


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
    m = re.match(r"^(up|higher|down|lower)\b\s*(?:by\s+)?", s)
    if m:
        sign = 1 if m.group(1) in ("up", "higher") else -1
        s = s[m.end():]
    m = re.search(r"\s*\b(up|higher|down|lower)$", s)
    if m:
        sign = 1 if m.group(1) in ("up", "higher") else -1
        s = s[:m.start()]
    s = re.sub(r"^(?:by|a|an|1)\s+", "", s.strip())
    m = re.fullmatch(rf"({_INT})(?:\s+(semitones?|half[ -]?steps?|half[ -]?tones?|halftones?|steps?|"
                     r"whole[ -]?steps?|whole[ -]?tones?|tones?|octaves?))?", s)
    if m:
        n = int(m.group(1))
        unit = m.group(2) or "semitone"
        mult = 12 if unit.startswith("octave") else 2 if unit.startswith(("whole", "tone")) else 1
        return sign * n * mult
    m = re.fullmatch(r"(?:(\d+)\s+)?(.+?)s?", s)
    if m and m.group(2) in INTERVALS:
        return sign * int(m.group(1) or 1) * INTERVALS[m.group(2)]
    return None


# ----------------------------------------------------------------------------
# Rules on verbatim tokens (paths, names, titles)
# ----------------------------------------------------------------------------
def _format_of_path(path: str) -> str | None:
    m = re.search(r"(\.[A-Za-z0-9]+)$", path)
    return _EXT_FORMAT.get(m.group(1).lower()) if m else None


def _export(line: _Line, verb_len: int) -> Intent:
    fmt, path = None, None
    skip = {"it", "to", "as", "the", "a", "an", "file", "into", "in", "called", "named",
            "out", "this", "that", "everything", "music", "format", "version", "me", "of",
            "and", "save", "export", "my", "our"}
    nouns = {"tune", "piece", "melody", "song", "score", "whole", "thing"}
    leftover = []
    prev = ""
    for w, r in zip(line.words[verb_len:], line.raw[verb_len:]):
        after_article, prev = prev in ("the", "this", "my", "our", "that", "whole"), w
        if w in nouns and after_article:
            continue
        if line.path(w) is not None:
            if path is not None:
                raise ParseError("export takes one file name")
            path = line.path(w)
        elif w in _FORMAT_WORDS:
            fmt = _FORMAT_WORDS[w]
        elif w in skip:
            continue
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
        if not has_ext:
            path += EXPORT_FORMATS[fmt]
    if fmt is None:
        raise ParseError("export: which format and file? e.g. export midi song.mid",
                         "export midi song.mid")
    # An empty path means "name it after the tune's title" (the session decides).
    return Intent("export", {"format": fmt, "path": path or ""})


def _path_arg(line: _Line, start: int, skip: set[str]) -> str | None:
    for w in line.words[start:]:
        if line.path(w) is not None:
            return line.path(w)
    rest = [r for w, r in zip(line.words[start:], line.raw[start:]) if w not in skip]
    return " ".join(rest) if rest else None


def _verbatim_rules(line: _Line) -> Intent | None:
    """Commands whose argument is a file, a folder, a session name or a title."""
    w = line.words
    if not w:
        return None
    first, text = w[0], line.text
    has_path = any(line.path(x) is not None for x in w)
    has_format = any(x in _FORMAT_WORDS for x in w[1:])
    # export / write ... to FILE / save (it) as FILE.mid / render to FILE.wav
    if first in ("export", "render", "output", "dump"):
        return _export(line, 1)
    if first in ("write", "save", "store", "put") and (has_format or (has_path and any(
            _format_of_path(line.path(x) or "") for x in w))):
        return _export(line, 1)
    if first in ("write", "save") and has_path and _format_of_path(line.paths[0]) is None \
            and re.search(r"\.[A-Za-z]", line.paths[0]):
        return _export(line, 1)
    # load FILE / open FILE.abc / import / read / use FILE as primer / start from FILE
    m = re.match(r"^(load|open|import|read|use|start from|start with|begin with|primer)\b", text)
    if m and (has_path or first in ("load", "import", "read")):
        n = len(m.group(1).split())
        path = _path_arg(line, n, {"the", "file", "tune", "from", "as", "primer", "a", "my",
                                   "start", "starting", "point"})
        if not path:
            raise ParseError("load: which file? e.g. load tune.abc", "load tune.abc")
        if first == "open" and not has_path:
            return Intent("open", {"name": path})
        return Intent("load", {"path": path})
    # personalize FOLDER / learn my style from FILES / train on my tunes in DIR
    m = re.match(r"^(personali[sz]e|learn(?: my style)?(?: from)?|train on|make it sound like|"
                 r"sound like|learn from)\b", text)
    if m:
        n = len(m.group(1).split())
        path = _path_arg(line, n, {"on", "with", "from", "my", "tunes", "in", "the", "style",
                                   "of", "using", "folder", "file", "files", "me", "to", "own"})
        if not path:
            raise ParseError("personalize: which file or folder of your tunes?",
                             "personalize my_tunes/")
        return Intent("personalize", {"path": path})
    # save [session] [as] NAME / open [session] NAME
    if first in ("save", "open", "resume") and len(w) <= 4:
        rest = [r for x, r in zip(w[1:], line.raw[1:]) if x not in ("session", "as", "the", "it", "to")]
        if first == "save":
            if not rest:
                return Intent("save", {})
            return Intent("save", {"name": "-".join(rest)})
        if rest:
            return Intent("open", {"name": "-".join(rest)})
        if first == "open":
            raise ParseError("open: which session? ('sessions' lists them)", "sessions")
    # title / call it NAME
    m = re.match(r"^(title|call it|name it|rename(?: it)?(?: to)?|set title(?: to)?)\b", text)
    if m and len(w) > len(m.group(1).split()):
        n = len(m.group(1).split())
        return Intent("title", {"text": " ".join(line.raw[n:])})
    # profile NAME / use profile NAME / no profile
    m = re.match(r"^(?:use |switch to |set )?profile(?: to)?\b", text)
    if m:
        n = len(m.group(0).split())
        rest = line.raw[n:]
        if not rest:
            return Intent("profile", {})
        name = " ".join(rest)
        return Intent("profile", {"name": None if name.lower() in ("none", "off", "no") else name})
    if text in ("no profile", "profile off", "drop the profile", "without profile"):
        return Intent("profile", {"name": None})
    # port NAME / use port NAME
    m = re.match(r"^(?:use |set )?(?:midi )?port(?: to)?\b", text)
    if m and len(w) > len(m.group(0).split()):
        return Intent("port", {"name": " ".join(line.raw[len(m.group(0).split()):])})
    return None


# ----------------------------------------------------------------------------
# Rules on normalised text
# ----------------------------------------------------------------------------
_TEMP_SUFFIX = re.compile(r"\s+(?:at|with|using)?\s*(?:a\s+)?(?:temperature|temp|t)\s*(?:of|=|at)?\s*(\d*\.?\d+)$")
_NOUN = r"(?:tune|melody|song|piece|reel|jig|hornpipe|air|polka|waltz|one)"


def _fixed(s: str) -> Intent | None:
    table = [
        (r"(?:quit|exit|bye|goodbye|q|:q|:wq|:q!|quit\(\)|exit\(\)|i'?m done|that'?s all|"
         r"see you|see ya|leave|close)", "quit"),
        (r"(?:undo|go back|back|take (?:that|it) back|revert|oops|step back|undo (?:that|it|last|"
         r"the last (?:one|turn|change|step))|previous|ctrl-z|go back one step|back up)", "undo"),
        (r"(?:redo|go forward|forward|redo (?:that|it)|step forward|ctrl-y|undo (?:the )?undo|"
         r"put it back)", "redo"),
        (r"(?:reject|no|nope|nah|none|none of (?:them|these|those)|discard(?: (?:them|these|those|it|all))?|"
         r"dismiss(?: them)?|scrap (?:that|them|those|these|it)|i don'?t like (?:any of )?(?:them|these|"
         r"those|it|that|any)|throw (?:them|these|those|it) away|drop (?:them|these|those)|"
         r"clear(?: (?:them|proposals|candidates))?|bin (?:them|it)|not (?:those|these)|forget (?:it|them)|"
         r"reject (?:them|all|all of them|these|those)|none of those work|no thanks)", "reject"),
        (r"(?:again|try again|once more|one more time|re-?roll|roll again|retry|regenerate|shuffle|"
         r"more|more (?:ideas|options|candidates|suggestions|please)|another (?:try|go|round|batch|set)|"
         r"another|different ones|new ones|same again|"
         r"give me (?:some )?(?:other|different|new|more) (?:ones|options|ideas|candidates)|"
         r"(?:try|do) (?:it|that) again|1 more time|1 more go|again with (?:a )?new seed|show me (?:some )?others)", "again"),
        (r"(?:stop|stop (?:playing|it|the music|playback|that)|silence|quiet|hush|shh+|shut up|"
         r"enough|pause)", "stop"),
        (r"(?:status|info|state|summary|session)", "status"),
        (r"(?:sessions|list sessions|saved sessions|show (?:the )?sessions|which sessions)", "sessions"),
        (r"(?:new session|start over|reset|start again|start afresh|fresh session|clear all|"
         r"new|blank slate)", "new"),
        (r"(?:ports|list (?:midi )?ports|midi ports|show (?:the )?(?:midi )?ports|which ports)", "ports"),
        (r"(?:config|settings|preferences|show (?:the )?(?:config|settings)|configuration)", "config"),
        (r"(?:paste|paste (?:a|my|the) (?:tune|melody|abc)|i'?ll paste(?: a tune)?|paste abc)", "paste"),
        (r"(?:temperature|temp|what'?s the temperature|show (?:the )?temperature)", "temperature"),
        (r"(?:candidates|how many candidates)", "candidates"),
    ]
    for pat, name in table:
        if re.fullmatch(pat, s):
            return Intent(name, {})
    return None


def _help(s: str) -> Intent | None:
    if re.fullmatch(r"(?:help|\?|h|commands|usage|help me|what can i (?:do|say|type)|"
                    r"how does (?:this|it) work|what now|menu)", s):
        return Intent("help", {})
    m = re.fullmatch(r"(?:help|\?|h|usage)\s+(?:on\s+|with\s+|about\s+)?([a-z_\-]+)|"
                     r"how (?:do i|to)\s+([a-z_\-]+).*", s)
    if m:
        return Intent("help", {"topic": m.group(1) or m.group(2)})
    return None


def _tempo(s: str) -> Intent | None:
    m = re.fullmatch(r"(?:(?:set|change|make)\s+)?(?:the\s+)?(?:tempo|bpm|speed|metronome)"
                     r"(?:\s+(?:to|at|=|of|is))?\s*(\d+)(?:\s*bpm)?|(\d+)\s*bpm|"
                     r"(?:at|play at)\s+(\d+)\s*bpm|q\s*=\s*(\d+)", s)
    if m:
        return Intent("tempo", {"bpm": int(next(g for g in m.groups() if g))})
    if re.fullmatch(r"(?:a (?:bit|little|touch) |much |even |somewhat )?(?:slower|less fast)|"
                    r"slow (?:it )?down(?: a (?:bit|little))?|(?:take|play) it slower|"
                    r"(?:reduce|lower|decrease) the (?:tempo|speed)|tempo down", s):
        return Intent("tempo_step", {"direction": "down"})
    if re.fullmatch(r"(?:a (?:bit|little|touch) |much |even |somewhat )?(?:faster|quicker|less slow)|"
                    r"speed (?:it )?up(?: a (?:bit|little))?|(?:take|play) it faster|"
                    r"(?:increase|raise) the (?:tempo|speed)|tempo up|pick up the pace", s):
        return Intent("tempo_step", {"direction": "up"})
    return None


_MORE = r"(?:be\s+)?(?:a\s+(?:bit|little|lot)\s+|much\s+|even\s+|way\s+)?more\s+"
_LESS = r"(?:be\s+)?(?:a\s+(?:bit|little|lot)\s+|much\s+|even\s+)?less\s+"
_WILD = r"(?:adventurous|creative|daring|random|wild|experimental|surprising|bold|crazy|risky|varied|unpredictable|inventive|exciting)"
_TAME = r"(?:conservative|predictable|careful|safe|traditional|boring|sensible|conventional|cautious|plain|tame|focused)"


def _temperature(s: str) -> Intent | None:
    m = re.fullmatch(r"(?:(?:set|change|make)\s+)?(?:the\s+)?(?:temperature|temp|heat|t)"
                     r"(?:\s+(?:to|=|at|of|is))?\s*=?\s*(\d*\.?\d+)", s)
    if m:
        return Intent("temperature", {"value": float(m.group(1))})
    up = (rf"{_MORE}{_WILD}|{_LESS}{_TAME}|(?:temperature|temp)\s+up|(?:raise|increase|turn up|up)\s+the\s+"
          r"(?:temperature|temp|heat)|hotter|warmer|wilder|crazier|bolder|(?:take\s+)?more\s+risks|"
          r"surprise me|go wild|spice it up|let loose|loosen up|be adventurous|be bold|be creative")
    down = (rf"{_MORE}{_TAME}|{_LESS}{_WILD}|(?:temperature|temp)\s+down|(?:lower|decrease|reduce|turn down|down)\s+"
            r"the\s+(?:temperature|temp|heat)|cooler|colder|safer|tamer|calmer|calm down|"
            r"play it safe|tone it down|fewer risks|less risky|be conservative|be careful|be safe|stay safe")
    if re.fullmatch(up, s):
        return Intent("temperature", {"direction": "up"})
    if re.fullmatch(down, s):
        return Intent("temperature", {"direction": "down"})
    return None


def _candidates_count(s: str) -> Intent | None:
    m = re.fullmatch(r"(?:set\s+)?(?:candidates|proposals|options|k)(?:\s+(?:to|=))?\s*(\d+)|"
                     r"(?:give me\s+|show\s+|make\s+)?(\d+)\s+(?:candidates|proposals|options|alternatives)"
                     r"(?:\s+(?:each time|per turn|at a time|each turn|from now on))?", s)
    if m:
        return Intent("candidates", {"count": int(m.group(1) or m.group(2))})
    return None


def _transpose(s: str) -> Intent | None:
    m = re.fullmatch(r"(?:transpose|shift|move|put|pitch)(?:\s+(?:it|the tune|the piece|everything|this|that|"
                     r"the melody|all))?\s*(.*)", s)
    rest = None
    if m:
        rest = m.group(1)
        if not rest:
            raise ParseError("transpose by how much? e.g. transpose up 2", "transpose up 2")
        if re.match(r"^to\s+[a-g]\b", rest):
            raise ParseError("transpose to a key is not supported yet; say e.g. 'transpose up 2'",
                             "transpose up 2")
    else:
        m = re.fullmatch(r"(raise|lower)(?:\s+(?:it|the tune|the piece|everything|the melody|the pitch))?\s*(.*)", s)
        if m:
            rest = ("up " if m.group(1) == "raise" else "down ") + m.group(2)
        elif re.fullmatch(r"(?:up|down)\s+(?:by\s+)?(?:a|an|1|\d+)\b.*", s):
            rest = s
        else:
            return None
    n = _interval(rest.strip())
    if n is None:
        raise ParseError(f"transpose: did not understand {rest!r}", "transpose down a fifth")
    return Intent("transpose", {"semitones": n})


def _continue(s: str) -> Intent | None:
    temp = None
    m = _TEMP_SUFFIX.search(s)
    if m:
        temp, s = float(m.group(1)), s[:m.start()]
    verbs = (r"(?:continue|keep going|go on|carry on|keep writing|keep it going|extend|add|append|"
             r"give me|write|proceed|more|continue writing|let it run|run on|go further)")
    obj = r"(?:\s+(?:it|the tune|the piece|the melody|this|that|on))?"
    m = re.fullmatch(rf"{verbs}{obj}(?:\s+(?:for|by|with))?(?:\s+(?:another|an extra|a further|extra|a))?"
                     rf"\s+(\d+)(?:\s+(?:more|extra|further|new|additional))?(?:\s+{_BARWORD})?(?:\s+more)?", s)
    if not m:
        m = re.fullmatch(rf"(\d+)\s+(?:more|extra|further|new|additional)\s+{_BARWORD}(?:\s+please)?", s)
    if not m:
        m = re.fullmatch(rf"(?:another|one more|an extra)\s+{_BARWORD}", s)
        if m:
            return Intent("continue", {"bars": 1} | ({"temperature": temp} if temp is not None else {}))
    if not m:
        m = re.fullmatch(rf"(?:continue|keep going|go on|carry on|keep writing|keep it going|extend|continue writing|"
                         rf"proceed|what comes next|what happens next|and then)(?:{obj})?", s)
        if m:
            return Intent("continue", {"bars": 4} | ({"temperature": temp} if temp is not None else {}))
        return None
    n = int(m.group(1))
    if n < 1 or n > MAX_BARS:
        raise ParseError(f"continue: {n} bars is out of range (1..{MAX_BARS})", "continue 8 bars")
    return Intent("continue", {"bars": n} | ({"temperature": temp} if temp is not None else {}))


def _generate(s: str) -> Intent | None:
    m = re.match(r"^(start from scratch|start a new tune|start fresh|from scratch|generate|make|create|"
                 r"compose|write|invent|dream up|start|give me|new)\b\s*(?:me\s+)?(.*)$", s)
    if not m:
        return None
    verb, rest = m.group(1), m.group(2)
    nouny = re.search(rf"\b{_NOUN}s?\b", rest) is not None
    if verb not in ("generate", "from scratch", "start fresh", "start from scratch",
                    "start a new tune", "new") and not nouny:
        return None
    if verb == "new" and not nouny and rest and not re.match(r"^\d", rest):
        return None
    if re.search(r"\b(?:more|extra|further|another)\b", rest) and not nouny:
        return None
    n = re.search(rf"(\d+)\s*-?\s*{_BARWORD}", rest) or re.fullmatch(r"(\d+)", rest.strip())
    leftover = re.sub(rf"(\d+)\s*-?\s*{_BARWORD}(?:\s+long)?|\b(?:a|an|new|fresh|brand|whole|different|"
                      rf"random|{_NOUN}s?|of|with|that is|that's|lasting|long|from|scratch|with|"
                      rf"completely|totally|for|me|in|the|same|key|style|\d+)\b", " ", rest).strip()
    if leftover:
        return None
    bars = int(n.group(1)) if n else 8
    if bars < 1 or bars > MAX_BARS:
        raise ParseError(f"generate: {bars} bars is out of range (1..{MAX_BARS})", "generate 16 bars")
    return Intent("generate", {"bars": bars})


def _vary(s: str) -> Intent | None:
    pats = [
        r"(?:vary|change|rewrite|re-?write|redo|alter|mix up|shake up|rework|replace|reimagine|"
        r"tweak|modify|fix|improve|variate|vary up|rethink|re-?do|spice up|mess with|play with|"
        r"do something (?:else|different) with|try something (?:else|different) (?:for|in|with)|"
        r"try (?:a |some )?(?:variations?|alternatives?|other versions?) (?:of|for|on)|"
        r"give me (?:a |some )?(?:variations?|alternatives?|other versions?|options|ideas) (?:of|for|on)|"
        r"(?:a |some )?variations? (?:of|for|on)|(?:a |some )?alternatives? (?:to|for)|"
        r"(?:a |some )?new ideas? for|different) (?P<b>.+)",
        r"(?:make|let|have) (?P<b>.+?) (?:be )?(?:different|new|more interesting|better|fresh|less boring|"
        r"something else|change|more varied|vary|go somewhere else)",
        r"(?:i don'?t like|i hate|not happy with|i'?m not happy with) (?P<b>.+)",
        r"(?P<b>.+?) (?:needs|could use) (?:work|a change|a variation|something else|to change)",
    ]
    for pat in pats:
        m = re.fullmatch(pat, s)
        if m:
            bars = bar_list(m.group("b"))
            if bars is not None:
                return Intent("vary", {"bars": bars})
    if re.fullmatch(r"(?:vary|variation|variations|vary it|vary something)", s):
        raise ParseError("vary which bars? e.g. vary bar 3", "vary bar 3")
    return None


def _interpolate(s: str) -> Intent | None:
    pats = [
        r"(?:interpolate|morph|bridge|blend|connect|join|link|transition|merge|go|glide|move|travel|"
        r"make (?:a )?(?:bridge|transition|morph)|build a bridge|interpolation)(?:\s+(?:between|from))?"
        r"\s+(?P<a>.+?)\s+(?:into|to|with|and|toward|towards|->|=>|→|onto)\s+(?P<b>.+)",
        r"(?:a\s+)?(?:bridge|transition|morph|interpolation)\s+(?:between|from)\s+(?P<a>.+?)\s+(?:and|to|into)\s+(?P<b>.+)",
        r"(?:interpolate|morph|bridge|blend|interpolation)\s+(?P<a>[-+]?\d+)\s+(?P<b>[-+]?\d+)",
    ]
    for pat in pats:
        m = re.fullmatch(pat, s)
        if m:
            a, b = _one_bar(m.group("a")), _one_bar(m.group("b"))
            if a is not None and b is not None:
                return Intent("interpolate", {"from": a, "to": b})
    if re.fullmatch(r"(?:interpolate|morph|bridge|blend|interpolation)", s):
        raise ParseError("interpolate which bars? e.g. interpolate bar 1 to bar 5",
                         "interpolate bar 1 to bar 5")
    return None


_SHOW_WHOLE = r"(?:|it|me|the tune|the piece|the melody|everything|all|me the tune|me the piece|me everything|the whole thing|the score|us)"


def _play_or_show(s: str) -> Intent | None:
    m = re.fullmatch(r"(play|play back|playback|listen(?: to)?|let me hear|let'?s hear|can i hear|hear|"
                     r"loop|play on loop|play in a loop)(?:\s+(.*))?", s)
    name = "play"
    if not m:
        m = re.fullmatch(r"(show|show me|display|print|view|see|look at|let me see|list|what do we have|"
                         r"where are we|what have we got)(?:\s+(.*))?", s)
        name = "show"
        if not m:
            return None
    verb, rest = m.group(1), (m.group(2) or "").strip()
    args: dict = {}
    if name == "play" and (verb.startswith("loop") or verb.endswith("loop")):
        args["loop"] = True
    if name == "play" and re.search(r"\s*\b(?:on (?:a )?loop|in a loop|looped|looping|on repeat|repeatedly)$", rest):
        args["loop"] = True
        rest = re.sub(r"\s*\b(?:on (?:a )?loop|in a loop|looped|looping|on repeat|repeatedly)$", "", rest)
    rest = re.sub(r"^(?:me\s+)?(?:the\s+)?(?:proposals?|candidates?|options)$", "", rest) if name == "show" else rest
    rest = re.sub(r"\s+again$", "", rest)
    if re.fullmatch(_SHOW_WHOLE, rest):
        return Intent(name, args)
    c = candidate_ref(rest)
    if c is not None:
        return Intent(name, args | {"candidate": c})
    if name == "play":
        bars = bar_list(rest)
        if bars is not None:
            return Intent(name, args | {"bars": bars})
        m = re.fullmatch(rf"(?P<b>.+?)\s+(?:of|from|in)\s+(?P<c>.+)", rest)
        if m and bar_list(m.group("b")) is not None and candidate_ref(m.group("c")) is not None:
            return Intent(name, args | {"candidate": candidate_ref(m.group("c")), "bars": bar_list(m.group("b"))})
        m = re.fullmatch(rf"(?P<c>.+?)\s+(?:,\s*)?(?:only\s+)?(?P<b>(?:the\s+)?(?:{_BARWORD}|last|1st|opening)\b.*)", rest)
        if m and candidate_ref(m.group("c")) is not None and bar_list(m.group("b")) is not None:
            return Intent(name, args | {"candidate": candidate_ref(m.group("c")), "bars": bar_list(m.group("b"))})
        raise ParseError(f"play: did not understand {rest!r}", "play bars 1-4")
    raise ParseError(f"show: did not understand {rest!r}", "show 2")


def _accept(s: str) -> Intent | None:
    m = re.fullmatch(r"(?:accept|take|keep|choose|pick|select|use|go with|go for|i like|i'?ll take|"
                     r"i'?ll have|i will take|i choose|i pick|i prefer|i want|i love|we'?ll take|"
                     r"yes|yeah|yep|ok|okay|that'?s good|sounds good|love|like|approve|merge|commit|"
                     r"i'?ll go with|let'?s go with|let'?s use|let'?s take|the winner is|winner|"
                     r"i vote for|vote|best is|best one is)?(?:\s*,)?\s*(.+)", s)
    if m:
        c = candidate_ref(m.group(1))
        if c is not None:
            return Intent("accept", {"candidate": c})
    if re.fullmatch(r"(?:accept|take|keep|choose|pick|select|yes|yeah|yep|ok|okay|take it|keep it|"
                    r"accept it|i like it|use it|good|great|perfect|nice|sounds good|love it)", s):
        raise ParseError("accept which candidate? e.g. take 2", "take 1")
    return None


_RULES = [_fixed, _help, _tempo, _temperature, _candidates_count, _continue, _interpolate,
          _generate, _vary, _transpose, _play_or_show, _accept]


def _parse_line(line: _Line) -> Intent | None:
    intent = _verbatim_rules(line)
    if intent is not None:
        return intent
    s = line.text
    if any(re.fullmatch(r"@\d+", x) for x in line.words):
        return None   # a path in a command that takes none
    for rule in _RULES:
        intent = rule(s)
        if intent is not None:
            return intent
    return None


def looks_like_abc(text: str) -> bool:
    """True for pasted text that is an ABC tune (an X: or K: header line).

    >>> looks_like_abc("X:1\\nT:Hi\\nK:D\\nDEF|"), looks_like_abc("vary bar 3")
    (True, False)
    """
    return re.search(r"^\s*[XK]:", text, re.M) is not None and (
        "\n" in text.strip() or text.lstrip().startswith("X:"))


def parse(text: str) -> Intent:
    """Parse one command line; raises ParseError (with a suggestion) when it makes no sense."""
    if not text or not text.strip():
        raise ParseError("empty command")
    if text.strip().startswith("?"):
        text = "help " + text.strip()[1:]
    if looks_like_abc(text) and "\n" in text.strip():
        return Intent("primer", {"abc": text.strip() + "\n"})
    line = _tokenize(text.strip())
    if not line.words:
        raise ParseError("empty command")
    intent = _parse_line(line)
    if intent is not None:
        return intent
    raise ParseError(f"did not understand {text.strip()!r}", suggest(text))


def suggest(text: str) -> str | None:
    """A close, valid command for a misspelt one ("vry bar 3" -> "vary bar 3")."""
    try:
        line = _tokenize(text.strip())
    except ParseError:
        return None
    words, fixed = line.words, []
    for w in words:
        path = line.path(w)
        if path is not None:
            fixed.append(f'"{path}"' if " " in path else path)
        elif re.fullmatch(r"[-+]?\d[\d.\-]*(?:st|nd|rd|th)?", w) or w in _VOCAB:
            fixed.append(w)
        else:
            m = difflib.get_close_matches(w, _VOCAB, n=1, cutoff=0.7)
            fixed.append(m[0] if m else w)
    if fixed != words:
        cand = " ".join(fixed)
        try:
            if _parse_line(_tokenize(cand)) is not None:
                return cand
        except ParseError:
            pass
    m = difflib.get_close_matches(text.strip().lower(), EXAMPLES, n=1, cutoff=0.6)
    if m:
        return m[0]
    if words:
        m = difflib.get_close_matches(words[0], COMMAND_WORDS, n=1, cutoff=0.6)
        if m:
            for ex in EXAMPLES:
                if ex.split()[0] == m[0]:
                    return ex
    return None


# ----------------------------------------------------------------------------
# `st4rt parse "TEXT"`
# ----------------------------------------------------------------------------
def add_arguments(parser) -> None:
    """Arguments of `st4rt parse`."""
    parser.add_argument("text", nargs="+", help='a command in plain words, e.g. "vary bar 3"')


def run(args) -> int:
    """Print the intent of the text as one JSON object; exit 1 with one line when unparseable."""
    try:
        intent = parse(" ".join(args.text))
    except ParseError as e:
        print(f"st4rt parse: {e}", file=sys.stderr)
        return 1
    print(intent.to_json())
    return 0
