"""ABC text -> Tune as written, read the way abc2midi (the reference implementation) plays it.

music21 is tolerant and silently wrong on folk ABC (a ``:|`` with no ``|:``,
``P:`` part orders, ``::``, multi-pass endings, bar-scoped accidentals, ``&``
overlays), so this module reads ABC itself, in three plain steps:

1. *lex* the tune's body, in written order, into features (`st4rt_repl.form`):
   notes with their pitch and exact duration already decided (key signature; an
   accidental holds to the end of its bar, for that letter in every octave as
   abc2midi does; ``L:``; broken rhythm; tuplets; a chord becomes its top note;
   ties), rests, bar lines, endings, part labels, chord symbols, meter and key
   changes.  Grace notes, decorations, annotations, lyrics, voices other than the
   first and ``&`` overlays are dropped;
2. *repair* the repeats the way abc2midi does before it plays (a ``:|`` with no
   ``|:`` repeats from the previous ``:|`` or ``||``, else from the start), so the
   written form states every repeat it implies;
3. *bar* the features as written (`written_bars`): one `Bar` per written bar with
   its barline, repeat sign, ending, part label and chord symbols.

`Tune.performed` then unfolds repeats, endings and the ``P:`` order exactly as
abc2midi plays them.  On all 12,945 playable tunes of music21's bundled folk
collections the performed melody equals abc2midi's on all but one (see
bench/compare_abc2midi.py), at a few ms a tune (music21's parse alone: ~50-100 ms).

>>> r = read_abc_text("X:1\\nT:Scale\\nM:2/4\\nL:1/8\\nK:F\\nA|:B_EE c:|\\n")
>>> [n.pitch for _, n in r.tune.notes()], r.tune.num_bars, r.tune.barline_after(1)
([69, 70, 63, 63, 72], 1, ':|')
>>> [n.pitch for _, n in r.tune.performed().notes()]
[69, 70, 63, 63, 72, 70, 63, 63, 72]
"""
from __future__ import annotations

import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from st4rt_repl.form import (BAR, BAR_REP, CHORD, DOUBLE, DOUBLE_REP, ENDING, KEY, MAX_PLAYED_NOTES,
                             METER, NOTE, PART, REP_BAR, REST, SINGLE, Feature as _Feature,
                             repair_repeats)
from st4rt_repl.formats import InputError, LoadResult, ReaderBug
from st4rt_repl.tune import Bar, Key, Meter, Note, Tune, TuneError, meter_for_length

__all__ = ["PARSER_VERSION", "read_abc_text", "read_abc_file", "split_tunes", "decode_abc",
           "parse_tune", "parse_key", "abc_text", "MAX_TEXT_CHARS", "MAX_TUNE_CHARS"]

PARSER_VERSION = "abc-2"   # bump whenever the reader's output could change (corpus cache key)

MAX_TEXT_CHARS = 20_000_000   # a whole pasted/opened file; more is refused at once
MAX_TUNE_CHARS = 200_000      # one tune (the longest real folk tunes are ~10 k characters)

_X = re.compile(r"^X:[ \t]*(\S*)", re.M)


# ----- files, tunes ---------------------------------------------------------------

def decode_abc(data: bytes) -> str:
    """ABC file bytes -> text: UTF-8, else latin-1 (old tune books are latin-1).

    >>> decode_abc("T:Éamonn".encode("latin-1")), decode_abc("T:Éamonn".encode("utf-8"))
    ('T:Éamonn', 'T:Éamonn')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def split_tunes(text: str) -> list[tuple[int, str]]:
    """(line number of the X: field, text) of every tune in an ABC file.

    >>> [(line, t.split()[0]) for line, t in split_tunes("%abc\\nX:1\\nK:C\\nC\\n\\nX:2\\nK:D\\nD\\n")]
    [(2, 'X:1'), (6, 'X:2')]
    """
    starts = [m.start() for m in _X.finditer(text)]
    if not starts:
        return [(1, text)]
    lines, last, out = 1, 0, []
    for s, e in zip(starts, starts[1:] + [len(text)]):
        lines += text.count("\n", last, s)
        last = s
        out.append((lines, text[s:e]))
    return out


def _choose(tunes: list[tuple[int, str]], which, source: str) -> int:
    if which is None:
        return 0
    key = str(which).strip()
    for i, (_, t) in enumerate(tunes):
        m = _X.search(t)
        if m and m.group(1) == key:
            return i
    for i, (_, t) in enumerate(tunes):
        titles = re.findall(r"^T:[ \t]*(.*?)\s*$", t, re.M)
        if any(abc_text(title).lower() == key.lower() for title in titles):
            return i
    raise InputError(source, f"no tune with X:{key} or title {key!r} ({len(tunes)} tunes in the file)")


def read_abc_text(text: str, *, tune=None, source: str = "<paste>") -> LoadResult:
    """Read one tune (X: number or title `tune`; default the first) from ABC text."""
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(source, f"too large for ABC ({len(text) / 1e6:.0f} MB of text; "
                                 f"the limit is {MAX_TEXT_CHARS // 1_000_000} MB)")
    if "\x00" in text[:100_000]:
        raise InputError(source, "binary data, not ABC text")
    if not text.strip():
        raise InputError(source, "empty: no ABC tune here")
    tunes = split_tunes(text)
    index = _choose(tunes, tune, source)
    line, chosen = tunes[index]
    if len(chosen) > MAX_TUNE_CHARS:
        raise InputError(source, f"the tune is too large ({len(chosen):,} characters; "
                                 f"the limit is {MAX_TUNE_CHARS:,})", line)
    try:
        t, notes = parse_tune(chosen, source=source, first_line=line)
    except InputError:
        raise
    except TuneError as e:
        raise InputError(source, str(e), line) from e
    except Exception as e:  # noqa: BLE001 - a reader bug must not crash a corpus build
        raise ReaderBug(source, e, line) from e
    msg = [f"tune {index + 1} of {len(tunes)}: {t.title}"] if len(tunes) > 1 else []
    return LoadResult(t, "; ".join(msg + notes))


def read_abc_file(path: Path, *, tune=None) -> LoadResult:
    """Read one tune from an ABC file (UTF-8 or latin-1)."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_TEXT_CHARS:
        raise InputError(str(path), f"too large for ABC ({size / 1e6:.0f} MB; "
                                    f"the limit is {MAX_TEXT_CHARS // 1_000_000} MB)")
    return read_abc_text(decode_abc(path.read_bytes()), tune=tune, source=str(path))


# ----- header fields --------------------------------------------------------------

_MODE_NAMES = {"maj": "major", "ion": "major", "min": "minor", "aeo": "minor", "m": "minor",
               "mix": "mixolydian", "dor": "dorian", "phr": "phrygian", "lyd": "lydian",
               "loc": "locrian"}
_TONIC = re.compile(r"([A-Ga-g])([#b]?)")
_KEY_ACCIDENTAL = re.compile(r"(\^\^|\^|__|_|=)([A-Ga-g])$")


def _mode_of(word: str) -> str | None:
    w = word.lower()
    if w == "m":
        return "minor"
    return _MODE_NAMES.get(w[:3]) if len(w) >= 3 else None


def parse_key(value: str) -> tuple[Key, dict[str, int], list[str]]:
    """A K: field -> (Key, {letter: alteration} signature, notes for the user).

    Raises ValueError(message, column offset in `value`) for a key that is not a key.

    >>> k, sig, _ = parse_key("Ador"); k, sig
    (Key(tonic='A', mode='dorian'), {'F': 1})
    >>> parse_key("E Minor")[0], parse_key("Bb mix")[0].tonic, parse_key("D exp ^c")[1]
    (Key(tonic='E', mode='minor'), 'Bb', {'C': 1})
    >>> parse_key("Hmaj")
    Traceback (most recent call last):
    ValueError: ("unknown key 'Hmaj' (a key is a note A-G, then # or b, then a mode: K:D, K:Ador, K:F#m)", 0)
    """
    from st4rt_repl.keys import altered_letters
    text = value.split("%", 1)[0].strip()
    lead = len(value) - len(value.lstrip())
    notes: list[str] = []
    if not text or text.lower().startswith("none"):
        key, rest = Key("C", "major"), text[4:] if text else ""
    elif text[0] == "H" and text[1:2] in ("P", "p"):
        key, rest = Key("A", "mixolydian"), text[2:]    # bagpipe keys: abc2midi gives F# C#
    else:
        m = _TONIC.match(text)
        if not m or m.group(1).islower():
            raise ValueError(f"unknown key {text.split()[0]!r} (a key is a note A-G, then # or b, "
                             f"then a mode: K:D, K:Ador, K:F#m)", lead)
        tonic = m.group(1) + m.group(2)
        rest = text[m.end():]
        glued = re.match(r"[A-Za-z]+", rest)
        mode = "major"
        if glued:                       # Dmix, Am, EMin ...
            mode = _mode_of(glued.group(0)) or "major"
            if _mode_of(glued.group(0)) is None:
                notes.append(f"unknown mode {glued.group(0)!r} in K:{text}, read as major")
            rest = rest[glued.end():]
        else:
            words = rest.split()
            if words and _mode_of(words[0]):    # "E Minor", "A min bass"
                mode = _mode_of(words[0])
                rest = rest.split(None, 1)[1] if len(words) > 1 else ""
        key = Key(tonic, mode)
    signature = altered_letters(key)
    for word in rest.split():
        if word == "exp":
            signature = {}
            continue
        acc = _KEY_ACCIDENTAL.match(word)
        if acc:
            alter = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}[acc.group(1)]
            signature[acc.group(2).upper()] = alter
    return key, {k: v for k, v in signature.items() if v}, notes


def _parse_meter(value: str) -> Meter | None:
    """M: -> (num, den); None for free meter (M:none)."""
    v = value.split("%", 1)[0].strip()
    if v.startswith("C|"):
        return (2, 2)
    if v.startswith("C"):
        return (4, 4)
    m = re.search(r"(\d+(?:\s*\+\s*\d+)*)\s*/\s*(\d+)", v)
    if not m:
        return None
    num = sum(int(x) for x in m.group(1).split("+"))
    den = int(m.group(2))
    return (num, den) if num > 0 and den > 0 else None


def _parse_unit(value: str) -> Fraction | None:
    m = re.match(r"\s*(\d+)\s*/\s*(\d+)", value)
    if not m or int(m.group(1)) == 0 or int(m.group(2)) == 0:
        return None
    return Fraction(int(m.group(1)), int(m.group(2)))


def _parse_tempo(value: str, unit: Fraction) -> int | None:
    """Q: -> quarter notes per minute."""
    v = re.sub(r'"[^"]*"', " ", value.split("%", 1)[0])
    m = re.search(r"((?:\d+/\d+\s*)+)=\s*(\d+)", v)
    if m:
        beats = [b.split("/") for b in m.group(1).split()]
        if any(int(d) == 0 for _, d in beats):
            return None
        beat = sum((Fraction(int(n), int(d)) for n, d in beats), Fraction(0))
        bpm = int(m.group(2)) * beat * 4
    else:
        m = re.fullmatch(r"\s*(\d+)\s*", v)
        if not m:
            return None
        bpm = int(m.group(1)) * unit * 4
    return max(20, min(400, round(bpm))) if bpm > 0 else None


def _expand_parts(spec: str) -> str:
    """P:A(AB)3(CD)2 -> 'AABABABCDCD' (abc2midi's reading of a part order).

    >>> _expand_parts("A(AB)3(CD)2"), _expand_parts("AABB"), _expand_parts("A2B.C")
    ('AABABABCDCD', 'AABB', 'AABC')
    """
    out: list[str] = []
    stack: list[int] = []
    i = 0
    last_group = ""
    while i < len(spec):
        c = spec[i]
        if "A" <= c <= "Z":
            out.append(c)
            last_group = c
        elif c == "(":
            stack.append(len(out))
        elif c == ")" and stack:
            last_group = "".join(out[stack.pop():])
        elif c.isdigit():
            j = i
            while j < len(spec) and spec[j].isdigit():
                j += 1
            n = min(int(spec[i:j]), 50)
            if last_group:
                out.append(last_group * (n - 1))
            last_group = ""
            i = j
            continue
        i += 1
    return "".join(out)[:1000]


# ----- lexing the body -------------------------------------------------------------

# One token of a music line, tried at each position in this order.  The bar lines
# follow abc2midi's reader exactly: "||:" is "||" then a dotted bar (no repeat),
# ":|:" is ":|" then a dotted bar, "[|]" is "[|" then a stray "]".
_TOKEN = re.compile(r"""
   (?P<skip>[^"!+{\[\]|:(A-Ga-g^_=zxZX\-<>&]+)
 | (?P<string>"[^"]*"?)
 | (?P<deco>![^!]*!|\+[^+]*\+)
 | (?P<grace>\{[^}]*\}?)
 | (?P<field>\[[A-Za-z]:[^\]]*\]?)
 | (?P<bar>\|:|\|\||\|\]|\|(?P<bar1>\d+(?:[,-]\d+)*)?|::|:\|(?P<bar2>\d+(?:[,-]\d+)*)?\]?|:|\[\|(?P<thickrep>:)?)
 | (?P<ending>\[(?P<endlist>\d+(?:[,-]\d+)*))
 | (?P<tuplet>\((?P<tp>\d+)(?::(?P<tq>\d*))?(?::(?P<tr>\d*))?)
 | (?P<note>(?:(?P<acc>\^\^|\^|__|_|=)(?:\d+(?:/\d*)?|/\d*)?)?(?P<letter>[A-Ga-g])(?P<oct>[,']*)(?P<num>\d*)(?P<slashes>(?:/\d*)*))
 | (?P<rest>[zx](?P<rnum>\d*)(?P<rslashes>(?:/\d*)*))
 | (?P<mrest>[ZX](?P<mnum>\d*))
 | (?P<chordon>\[)
 | (?P<chordoff>\](?P<cnum>\d*)(?P<cslashes>(?:/\d*)*))
 | (?P<tie>-)
 | (?P<broken>[<>]+)
 | (?P<overlay>&)
""", re.X)
# A chord symbol: a root A-G (or "N.C."), optionally in parentheses (an alternative chord).
_CHORD_SYMBOL = re.compile(r"^(?:N\.?C\.?|\(?[A-G][#b]?(?:maj|min|dim|aug|sus|add|m|M|\+|-|o|°|ø|\d|#|b|\(|\))*"
                           r"(?:/[A-Ga-g][#b]?)?\)?)$")
_BARS = {"|:": BAR_REP, "||": DOUBLE, "|]": DOUBLE, "::": DOUBLE_REP, ":": DOUBLE}

_STEP = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACC = {"^": 1, "^^": 2, "_": -1, "__": -2, "=": 0}


def _length(num: str, slashes: str) -> Fraction:
    n = int(num) if num else 1
    d = 1
    if slashes:
        for part in slashes.split("/")[1:]:
            d *= (int(part) or 1) if part else 2
    return Fraction(n, d)


def _tuplet_q(p: int, meter: Meter | None) -> int:
    if p in (2, 4, 8):
        return 3
    if p in (3, 6):
        return 2
    # abc2midi: 3 when the meter's numerator is a multiple of 3 (3/4 included), else 2;
    # it asks the header's M:, whatever M: fields follow in the body
    return 3 if meter is not None and meter[0] % 3 == 0 else 2


class _Lexer:
    """Turns the body of one tune into features, in written order."""

    def __init__(self, source: str, key_sig: dict[str, int], unit: Fraction, meter: Meter | None):
        self.source = source
        self.features: list[_Feature] = []
        self.key_sig = key_sig
        self.bar_acc: dict = {}                   # accidentals written in this bar
        self.propagate = "pitch"                  # %%propagate-accidentals not|octave|pitch
        self.unit = unit
        self.meter = meter
        self.header_meter = meter                 # decides (5 and (7 (abc2midi's rule)
        self.notes: list[str] = []
        # rhythm state
        self.tuplet_left = 0
        self.tuplet_factor = Fraction(1)
        self.broken: tuple | None = None         # (note before '>', its factor, next's factor)
        self.last_note: _Feature | None = None   # the note/rest a '>' lengthens
        self.chord: list | None = None            # [top pitch, first length, its line, tied]
        self.in_overlay = False
        self.active = True                        # False while reading a voice we drop
        self.speculative: _Feature | None = None  # part label implied by a one-letter header P:

    # -- helpers
    def _pitch(self, acc: str | None, letter: str, octs: str) -> tuple[int, int]:
        up = letter.upper()
        octave = (5 if letter > "Z" else 4) + octs.count("'") - octs.count(",")
        line = octave * 7 + "CDEFGAB".index(up)
        # an accidental holds to the end of the bar: for the same letter in every
        # octave (abc2midi's default and %%propagate-accidentals pitch), or only
        # in its own octave (%%propagate-accidentals octave)
        slot = (up, octave) if self.propagate == "octave" else up
        if acc is not None:
            alter = _ACC[acc]
            if self.propagate != "not":
                self.bar_acc[slot] = alter
        else:
            alter = self.bar_acc.get(slot)
            if alter is None:
                alter = self.key_sig.get(up, 0)
        return 12 * (octave + 1) + _STEP[up] + alter, line

    def _timed(self, dur: Fraction) -> Fraction:
        if self.tuplet_left > 0:
            dur *= self.tuplet_factor
            self.tuplet_left -= 1
        return dur

    def _add_timed(self, f: _Feature):
        if self.broken is not None:
            # abc2midi applies '>' only between notes of equal length (or chords)
            prev, first, second = self.broken
            self.broken = None
            if prev.duration == f.duration or prev.chord or f.chord:
                prev.duration *= first
                f.duration *= second
        self.features.append(f)
        self.last_note = f

    # -- fields that change the reading
    def set_key(self, value: str, line: int, col: int):
        try:
            key, sig, notes = parse_key(value)
        except ValueError as e:
            raise InputError(self.source, e.args[0], line, col + e.args[1]) from None
        change = _Feature(KEY)
        change.key = key
        self.features.append(change)
        self.key_sig = sig
        self.notes += notes
        self.bar_acc.clear()

    def set_meter(self, value: str):
        meter = _parse_meter(value)
        self.meter = meter
        self.features.append(_Feature(METER, meter=meter))

    def set_unit(self, value: str):
        unit = _parse_unit(value)
        if unit:
            self.unit = unit

    # -- one line of music
    def music(self, text: str, line_no: int, voices: "_Voices"):
        pos, end = 0, len(text)
        match = _TOKEN.match
        while pos < end:
            m = match(text, pos)
            if m is None:          # a stray '!', '+', '(' ...: abc2midi ignores it too
                pos += 1
                continue
            pos = m.end()
            kind = m.lastgroup
            if kind == "string":
                if self.active and not self.in_overlay and self.chord is None:
                    self.chord_symbol(m.group(0))
                continue
            if kind == "skip" or kind == "deco" or kind == "grace":
                continue
            if kind == "field":
                self.inline_field(m.group(0), line_no, m.start() + 1, voices)
                continue
            if not self.active:
                continue
            if kind == "bar":
                self.bar(m)
            elif kind == "chordoff" and self.chord is None:
                if text.startswith("|", m.start() + 1):      # "]|" is a thick-thin bar
                    self.add_bar(DOUBLE)
                    pos = m.start() + 2
            elif self.in_overlay:
                continue
            elif kind == "note":
                self.note(m)
            elif kind == "rest":
                if self.chord is None:
                    dur = _length(m.group("rnum"), m.group("rslashes")) * self.unit * 4
                    self._add_timed(_Feature(REST, duration=self._timed(dur)))
            elif kind == "mrest":
                bars = int(m.group("mnum") or 1)
                meter = self.meter or (4, 4)
                self._add_timed(_Feature(REST, duration=Fraction(4 * meter[0], meter[1]) * bars))
            elif kind == "chordon":
                self.chord = [None, None, 0, False, ""]   # top pitch, first length, line, tied, letter
            elif kind == "chordoff":
                self.chord_off(m)
            elif kind == "tie":
                if self.chord is not None:
                    self.chord[3] = True
                elif self.last_note is not None and self.last_note.kind == NOTE:
                    self.last_note.tie = True
            elif kind == "broken":
                if len(m.group(0)) <= 3 and self.chord is None:   # abc2midi: not in a chord
                    self.broken_rhythm(m.group(0))
            elif kind == "tuplet":
                p = int(m.group("tp"))
                if p < 1 or (not 2 <= p <= 9 and not m.group("tq")):
                    continue
                q = int(m.group("tq") or 0) or _tuplet_q(p, self.header_meter)
                r = int(m.group("tr")) if m.group("tr") else p
                self.tuplet_factor, self.tuplet_left = Fraction(q, p), r
            elif kind == "ending":
                self.features.append(_Feature(ENDING, text=m.group("endlist")))
            elif kind == "overlay":
                self.in_overlay = True

    def note(self, m):
        pitch, line = self._pitch(m.group("acc"), m.group("letter"), m.group("oct"))
        length = _length(m.group("num"), m.group("slashes")) * self.unit * 4
        letter = m.group("letter").upper()
        if self.chord is not None:
            if self.chord[1] is None:
                self.chord[1] = length
            if self.chord[0] is None or pitch > self.chord[0]:
                self.chord[0], self.chord[2], self.chord[4] = pitch, line, letter
            return
        f = _Feature(NOTE, pitch, self._timed(length), line=line)
        f.letter = letter
        self._add_timed(f)

    def chord_symbol(self, text: str):
        """A quoted string: a chord symbol ("G", "D7", "Am/C", "(Em)") is kept, annotations
        ("^text", "_text", "<text", ">text", "@text") are not."""
        inner = text.strip('"').strip()
        if _CHORD_SYMBOL.match(inner):
            self.features.append(_Feature(CHORD, text=inner))

    def chord_off(self, m):
        chord, self.chord = self.chord, None       # music() calls this only inside a chord
        if chord[0] is None:                       # "[]" or a chord of rests
            return
        given = _length(m.group("cnum"), m.group("cslashes"))
        # "[CE]2" lasts 2 units whatever its notes say; "[C2E2]" lasts its first note
        dur = chord[1] if given == 1 else given * self.unit * 4
        f = _Feature(NOTE, chord[0], self._timed(dur), chord[3], line=chord[2], chord=True)
        f.letter = chord[4]
        self._add_timed(f)

    def broken_rhythm(self, arrows: str):
        if self.last_note is None:
            return
        short = Fraction(1, 2 ** len(arrows))     # 1 to 3 arrows (music() skips more)
        long = 2 - short
        first, second = (long, short) if arrows[0] == ">" else (short, long)
        self.broken = (self.last_note, first, second)

    def bar(self, m):
        token = m.group(0)
        if token.startswith("[|"):
            self.add_bar(DOUBLE)
            if m.group("thickrep"):
                self.add_bar(BAR_REP)
        elif token.startswith(":|"):
            self.add_bar(REP_BAR, m.group("bar2"))
        elif token in _BARS:
            self.add_bar(_BARS[token], written=token)
        else:                                   # "|" or "|2"
            self.add_bar(SINGLE, m.group("bar1"))

    def add_bar(self, kind: str, ending: str | None = None, written: str = ""):
        self.in_overlay = False
        self.bar_acc.clear()
        f = _Feature(BAR, text=kind)
        f.letter = "|]" if written == "|]" else ""    # a final bar is drawn as one
        self.features.append(f)
        if ending:
            self.features.append(_Feature(ENDING, text=ending))

    def inline_field(self, token: str, line_no: int, col: int, voices: "_Voices"):
        self.field(token[1], token[3:].rstrip("]"), line_no, col + 3, voices)

    def field(self, name: str, value: str, line_no: int, col: int, voices: "_Voices"):
        """A V:, P:, K:, M: or L: field met in the body, inline or on its own line;
        `col` is the column of its value (for error messages)."""
        if name == "V":
            voices.switch(value, self)
        elif name == "P":
            self.part_label(value, voices)
        elif not self.active:
            return
        elif name == "K":
            self.set_key(value, line_no, col)
        elif name == "M":
            self.set_meter(value)
        elif name == "L":
            self.set_unit(value)

    def part_label(self, value: str, voices: "_Voices"):
        """P:A in the body; it also returns to the first voice (as in abc2midi)."""
        voices.back_to_main(self)
        label = value.strip()[:1]
        if "A" <= label <= "Z":
            if self.speculative is not None and label == self.speculative.text:
                self.features.remove(self.speculative)     # the header P: was this label
                self.speculative = None
            self.features.append(_Feature(PART, text=label))


# ----- ties, in written order ------------------------------------------------------

def _resolve_ties(features: list[_Feature]) -> None:
    """Keep a tie only when the next note continues it (abc2midi's rule).

    The next note must have the same pitch; after a barline, the same letter and
    octave is enough (the tie carries the accidental across the bar).
    """
    n = len(features)
    for i, f in enumerate(features):
        if f.kind != NOTE or not f.tie:
            continue
        newbar = False
        f.tie = False
        for j in range(i + 1, n):
            g = features[j]
            if g.kind == BAR:
                newbar = True
            elif g.kind == REST:
                break
            elif g.kind == NOTE:
                if g.pitch == f.pitch or (newbar and g.line == f.line):
                    g.pitch = f.pitch
                    f.tie = True
                break


class _Voices:
    """Which voice the lexer is reading; only the first voice is kept (abc2midi's track 1)."""

    def __init__(self, main: str | None):
        self.main = main                  # None until a V: names one
        self.seen: set[str] = {main} if main is not None else set()

    def switch(self, value: str, lexer: _Lexer) -> None:
        vid = value.split()[0] if value.split() else ""
        if self.main is None:
            self.main = vid
        self.seen.add(vid)
        lexer.active = vid == self.main
        lexer.in_overlay = False

    def back_to_main(self, lexer: _Lexer) -> None:
        lexer.active = True
        lexer.in_overlay = False


_ESCAPE = re.compile(r"\\([`'^\"~=o,])([A-Za-z])|\\(ss|ae|AE|oe|OE|aa|AA|o/|O/)")
_MARKS = {"`": "\u0300", "'": "\u0301", "^": "\u0302", "~": "\u0303", "=": "\u0304",
          '"': "\u0308", "o": "\u030a", ",": "\u0327"}
_LIGATURES = {"ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "aa": "å", "AA": "Å",
              "o/": "ø", "O/": "Ø"}


def abc_text(s: str) -> str:
    """An ABC text field with its accent mnemonics and HTML entities decoded.

    >>> abc_text("La Nov\\\\'ell\\\\'e Hol\\\\'endoise"), abc_text("Caf&eacute; \\\\ss")
    ('La Novéllé Holéndoise', 'Café ß')
    """
    import html
    import unicodedata
    if "\\" in s:
        def one(m):
            if m.group(3):
                return _LIGATURES[m.group(3)]
            return unicodedata.normalize("NFC", m.group(2) + _MARKS[m.group(1)])
        s = _ESCAPE.sub(one, s)
    if "&" in s:
        s = html.unescape(s)
    return s


# ----- the whole tune -----------------------------------------------------------------

# A field line, as abc2midi tells one from music: "A:|" is music, not an A: field.
_FIELD_LINE = re.compile(r"^\s*([A-IK-XZdsw+])\s*:(?![:|])(.*)$")
_PROPAGATE = re.compile(r"^\s*%%propagate-accidentals\s+(not|octave|pitch)")


def parse_tune(text: str, *, source: str = "<paste>", first_line: int = 1) -> tuple[Tune, list[str]]:
    """One tune's ABC text -> (Tune, notes for the user)."""
    lines = text.splitlines()
    title = None
    meter: Meter | None = (4, 4)
    unit: Fraction | None = None
    tempo_field = None
    part_spec = None
    key_line = None
    voices_in_header: list[str] = []
    propagate = "pitch"
    for i, raw in enumerate(lines):
        m = _FIELD_LINE.match(raw)
        if not m:
            d = _PROPAGATE.match(raw)
            if d:
                propagate = d.group(1)
            continue
        name, value = m.group(1), m.group(2)
        if name != "T":
            value = value.split("%", 1)[0]
        if name == "T" and title is None:
            title = abc_text(value.split("%", 1)[0].strip()) or None
        elif name == "M":
            meter = _parse_meter(value)
        elif name == "L":
            unit = _parse_unit(value) or unit
        elif name == "Q":
            tempo_field = value
        elif name == "P":
            part_spec = value
        elif name == "V":
            voices_in_header.append(value.split()[0] if value.split() else "")
        elif name == "K":
            key_line, key_value, key_col = i, m.group(2), m.start(2) + 1
            break
    if key_line is None:
        raise InputError(source, "no K: (key) field: an ABC tune's header ends with K:", first_line)
    try:
        key, signature, notes = parse_key(key_value)
    except ValueError as e:
        raise InputError(source, e.args[0], first_line + key_line, key_col + e.args[1]) from None
    if unit is None:
        m_ = meter or (4, 4)
        unit = Fraction(1, 16) if Fraction(m_[0], m_[1]) < Fraction(3, 4) else Fraction(1, 8)
    lexer = _Lexer(source, signature, unit, meter)
    lexer.notes = notes
    lexer.propagate = propagate

    voices = _Voices(voices_in_header[0] if voices_in_header else None)
    order = _expand_parts(part_spec) if part_spec is not None else None
    if order == "":
        order = None
    if order is not None and len(order) == 1:
        lexer.speculative = _Feature(PART, text=order)   # header P:A may just label part A
        lexer.features.append(lexer.speculative)

    for i in range(key_line + 1, len(lines)):
        raw = lines[i]
        head = raw.lstrip()[:1]
        if not head:
            break                                     # a blank line ends the tune
        if head == "%" or head == "\\":
            d = _PROPAGATE.match(raw)
            if d:
                lexer.propagate = d.group(1)
            continue
        line_no = first_line + i
        m = _FIELD_LINE.match(raw)
        if m:
            lexer.field(m.group(1), m.group(2).split("%", 1)[0], line_no, m.start(2) + 1, voices)
            continue
        music = raw.split("%", 1)[0] if "%" in raw else raw
        lexer.music(music, line_no, voices)

    features = lexer.features
    if not any(f.kind == NOTE for f in features):
        raise InputError(source, "the tune has no notes", first_line)
    _resolve_ties(features)
    single_voice = len(voices.seen) <= 1
    features = repair_repeats(features, order is not None, single_voice)
    bars, pickup = written_bars(features, meter, key)
    for b in bars:
        for x in b.notes:
            if x.pitch is not None and not 0 <= x.pitch <= 127:
                raise InputError(source, f"a note is outside the MIDI range (MIDI {x.pitch})", first_line)
    tempo = 120
    if tempo_field is not None:
        tempo = _parse_tempo(tempo_field, unit) or 120
    head_meter = bars[1].meter if pickup and len(bars) > 1 else bars[0].meter
    tune = Tune(tuple(bars), head_meter, key, title=title or "Untitled", tempo=tempo, pickup=pickup,
                parts=order or "")
    tune.performed()        # refuses a tune whose repeats unfold past MAX_PLAYED_NOTES
    return tune, lexer.notes


# ----- written bars ---------------------------------------------------------------------

_BARLINE = {SINGLE: "|", DOUBLE: "||", REP_BAR: ":|", DOUBLE_REP: ":|", BAR_REP: "|"}
_STRENGTH = {"|": 0, "||": 1, "|]": 2, ":|": 3}


def written_bars(features: list[_Feature], meter: Meter | None, key: Key) -> tuple[list[Bar], bool]:
    """The bars as written, from the features in written order; returns (bars, has_pickup).

    A bar is what lies between two written barlines.  A part label, ending or key
    change opens a new bar.  A bar longer than its meter (a missing barline, a
    multi-bar rest ``Z4``) is cut into full bars with ties; shorter bars stay as
    written (pickups; a part's last bar).  Under ``M:none`` each bar keeps its own
    length and takes a meter that fits it.

    >>> t = parse_tune('X:1\\nM:2/4\\nL:1/8\\nK:G\\nD2|:"G"G2B2|[1A4:|[2A2B2|]\\n')[0]
    >>> [(b.repeat_start, b.ending, b.barline, b.chords) for b in t.bars]
    [(False, '', '|', ()), (True, '', '|', ((Fraction(0, 1), 'G'),)), (False, '1', ':|', ()), (False, '2', '|]', ())]
    >>> t.played_order()
    [0, 1, 2, 1, 3]
    """
    bars: list[Bar] = []
    notes: list[Note] = []
    chords: list[tuple[Fraction, str]] = []
    form = {"repeat_start": False, "ending": "", "part": ""}   # what opens the next bar
    cur_meter, cur_key = meter, key
    bar_meter = bar_key = None
    pos = Fraction(0)

    def close(barline: str):
        nonlocal notes, chords, pos, form
        if not notes:
            return
        m = bar_meter or (4, 4)
        k = bar_key if bar_key != key else None
        made = _cut(notes, chords, m if meter is not None else None, k)
        made[0] = replace(made[0], **form)
        made[-1] = replace(made[-1], barline=barline)
        bars.extend(made)
        notes, chords, pos = [], [], Fraction(0)
        form = {"repeat_start": False, "ending": "", "part": ""}

    for f in features:
        k = f.kind
        if k == NOTE or k == REST:
            if not notes:
                bar_meter, bar_key = cur_meter, cur_key
            notes.append(Note(f.pitch, f.duration, f.tie, f.letter if k == NOTE else ""))
            pos += f.duration
        elif k == BAR:
            kind = f.text
            if notes:
                close("|]" if f.letter == "|]" else _BARLINE[kind])
            elif bars and kind != BAR_REP:
                # a barline with no notes since the last: the stronger one stands
                written = "|]" if f.letter == "|]" else _BARLINE[kind]
                if _STRENGTH[written] > _STRENGTH[bars[-1].barline]:
                    bars[-1] = replace(bars[-1], barline=written)
            if kind in (BAR_REP, DOUBLE_REP):
                form["repeat_start"] = True
        elif k == ENDING:
            close("|")
            form["ending"] = f.text
        elif k == PART:
            close("|")
            form["part"] = f.text
        elif k == CHORD:
            chords.append((pos, f.text))
        elif k == METER:
            cur_meter = f.meter
        elif k == KEY:
            if notes and f.key != cur_key:
                close("|")
            cur_key = f.key
    close("|")
    if meter is None:       # M:none: every bar in a meter of its own length
        bars = [replace(b, meter=meter_for_length(b.duration, 8) or (4, 4)) for b in bars]
    pickup = len(bars) > 1 and bars[0].duration < bars[0].expected
    return bars, pickup


def _cut(notes: list[Note], chords: list[tuple[Fraction, str]], meter: Meter | None,
         key: Key | None) -> list[Bar]:
    """One written bar, cut into full bars if it is longer than its meter."""
    if meter is None:
        return [Bar(tuple(notes), (4, 4), key, chords=tuple(chords))]
    full = Fraction(4 * meter[0], meter[1])
    out: list[Bar] = []
    cur: list[Note] = []
    start, t = Fraction(0), Fraction(0)
    for n in notes:
        while t + n.duration > start + full and t < start + full:
            first = start + full - t
            cur.append(Note(n.pitch, first, not n.is_rest, n.letter))
            out.append(cur)
            cur, start = [], start + full
            n = Note(n.pitch, n.duration - first, n.tie, n.letter)
            t += first
        cur.append(n)
        t += n.duration
        if t == start + full:
            out.append(cur)
            cur, start = [], start + full
    if cur:
        out.append(cur)
    bars = []
    for i, ns in enumerate(out):
        lo, hi = i * full, (i + 1) * full
        bar_chords = tuple((o - lo, c) for o, c in chords if lo <= o < hi or (i == len(out) - 1 and o >= hi))
        bars.append(Bar(tuple(ns), meter, key, chords=bar_chords))
    return bars
