"""How tunes look in the terminal: an ABC panel with bar numbers and a piano roll.

Changed bars (new or varied ones in a proposal) are highlighted in both, and
marked with ``*`` so they still stand out without colour (scripts, pipes).
Rendering only: nothing here changes a tune or prints by itself.

>>> from st4rt_repl.tune import Key, Tune
>>> t = Tune.from_bars([[(62, 1), (64, 1), (66, 2)], [(67, 4)]], key=Key('D', 'major'))
>>> print(text_of(piano_roll(t, changed=(2,))))  # doctest: +NORMALIZE_WHITESPACE
     1      2*
G4 │        │●━━━━━━━│
F#4│    ●━━━│        │
E4 │  ●━    │        │
D4 │●━      │        │
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from st4rt_repl.engine import Proposal
from st4rt_repl.tune import Bar, Tune

__all__ = ["AbcBar", "split_abc_bars", "abc_bars", "abc_panel", "changed_bars", "piano_roll", "render_piece", "render_proposal",
           "render_proposals", "note_name", "text_of", "window"]

CHANGED = "bold magenta"
CHANGED_BG = "on grey15"
KEPT = "cyan"
GUTTER = "dim"
MARK = "bold yellow"          # repeat signs, endings, part labels
_SHARP_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_FLAT_NAMES = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]


def note_name(pitch: int, flats: bool = False) -> str:
    """MIDI number -> name with octave (60 -> C4).

    >>> note_name(66), note_name(70, flats=True)
    ('F#4', 'Bb4')
    """
    names = _FLAT_NAMES if flats else _SHARP_NAMES
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


def _row_names(t: Tune, chosen, rows: list[int]) -> dict[int, str]:
    """Piano-roll row labels: each pitch named as the bars shown spell it (a leading-note
    F sharp stays F#4); a pitch nobody plays here is named from the key."""
    from st4rt_repl.spelling import pitch_name, spell_notes, spell_pitch
    names: dict[int, str] = {}
    for _, b in chosen:
        for note, sp in zip(b.notes, spell_notes(b.notes, b.key or t.key)):
            if sp is not None:
                names.setdefault(note.pitch, pitch_name(note.pitch, *sp))
    return {p: names.get(p) or pitch_name(p, *spell_pitch(p, t.key)) for p in rows}


def _uses_flats(t: Tune) -> bool:
    from st4rt_repl.keys import key_signature
    return key_signature(t.key) < 0


def text_of(renderable: RenderableType, width: int = 100) -> str:
    """Plain text of a renderable (for tests and non-terminal output)."""
    console = Console(width=width, color_system=None, force_terminal=False, highlight=False)
    with console.capture() as cap:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in cap.get().splitlines())


# ----------------------------------------------------------------------------
# ABC
# ----------------------------------------------------------------------------
def _plain_bar(bar: Bar, flats: bool) -> str:
    """A readable bar without the ABC writer: names and lengths in quarters."""
    out = []
    for n in bar.notes:
        name = "z" if n.is_rest else note_name(n.pitch, flats)
        out.append(name + ("" if n.duration == 1 else str(n.duration)) + ("-" if n.tie else ""))
    return " ".join(out)


_BARLINE = re.compile(r":\|\]|::|:\|+|\|:+|\|\||\|\]|\[\||\|")


@dataclass(frozen=True)
class AbcBar:
    """One written bar as the ABC writer wrote it: what goes before it, its text, its barline."""
    lead: str          # "|:" before the bar, "" otherwise
    ending: str        # "1", "2", "1,3" when a volta bracket starts here
    part: str          # "B" when a part label is written before the bar
    text: str          # the notes, chord symbols, decorations, inline fields
    barline: str       # after the bar: "|", "||", "|]", ":|"


def split_abc_bars(body: str) -> list[AbcBar]:
    r"""The written bars of an ABC tune body (the lines after K:), with their form marks.

    >>> [(b.lead, b.ending, b.part, b.text, b.barline) for b in split_abc_bars(
    ...     'P:A\n|:"D"DEFG ABcd|1 A4:|2 d4||\nP:B\n[K:G]gfed cBAG::GABc|]')]  # doctest: +NORMALIZE_WHITESPACE
    [('|:', '', 'A', '"D"DEFG ABcd', '|'), ('', '1', '', 'A4', ':|'), ('', '2', '', 'd4', '||'),
     ('', '', 'B', '[K:G]gfed cBAG', ':|'), ('|:', '', '', 'GABc', '|]')]
    """
    bars: list[AbcBar] = []
    lead = ending = part = ""
    text: list[str] = []

    def close(barline: str) -> None:
        nonlocal lead, ending, part, text
        body = "".join(text).strip()
        if body:
            bars.append(AbcBar(lead, ending, part, body, barline))
            lead = ending = part = ""
        elif barline != "|" and bars and not lead:     # e.g. ":|" written after a line break
            bars[-1] = AbcBar(bars[-1].lead, bars[-1].ending, bars[-1].part, bars[-1].text, barline)
        text = []

    for raw in body.splitlines():
        line = raw.split("%", 1)[0].rstrip().rstrip("\\")
        field = re.fullmatch(r"\s*([A-Za-z]):\s*(.*)", line)
        if field:
            if field.group(1) == "P":
                part = field.group(2).strip()
            elif field.group(1) in "KMLQ":
                text.append(f"[{field.group(1)}:{field.group(2).strip()}]")
            continue
        i = 0
        while i < len(line):
            c = line[i]
            if c in '"!+':                           # chord symbol, decoration: copied whole
                j = line.find(c, i + 1)
                j = len(line) - 1 if j < 0 else j
                text.append(line[i:j + 1])
                i = j + 1
                continue
            if c == "[" and re.match(r"\[[A-Za-z]:", line[i:]):     # inline field
                j = line.find("]", i)
                j = len(line) - 1 if j < 0 else j
                text.append(line[i:j + 1])
                i = j + 1
                continue
            m = re.match(r"\[(\d[\d,\-]*)", line[i:])             # [1 ending
            if m:
                close("|") if "".join(text).strip() else None
                ending = m.group(1)
                i += m.end()
                continue
            m = _BARLINE.match(line, i)
            if m:
                tok = m.group(0)
                i = m.end()
                start = tok.endswith(":") and tok.startswith("|") or tok == "::"
                end = ":|" if tok.startswith(":") else ("|]" if tok in ("|]", ":|]") else
                                                        "||" if tok == "||" else "|")
                close(end)
                if start:
                    lead = "|:"
                e = re.match(r"\s*(\d[\d,\-]*)", line[i:]) if tok in ("|", ":|", "||") else None
                if e and not line[i:].startswith(" ") or (e and tok != "|"):
                    ending = e.group(1)
                    i += e.end()
                continue
            text.append(c)
            i += 1
        text.append(" ")
    close("|")
    return bars


def abc_bars(t: Tune) -> tuple[list[str], list[AbcBar]]:
    """(ABC header lines, one `AbcBar` per written bar), via formats.abc_out.

    Falls back to note names per bar if the writer's bars ever do not line up with
    the tune's (a bug, but the piece must still show).
    """
    def plain() -> list[AbcBar]:
        flats = _uses_flats(t)
        return [AbcBar("|:" if b.repeat_start else "", b.ending, b.part, _plain_bar(b, flats),
                       b.barline) for b in t.bars]
    from st4rt_repl.formats.abc_out import to_abc
    text = to_abc(t)
    lines = text.splitlines()
    k = next((i for i, ln in enumerate(lines) if ln.startswith("K:")), -1)
    header = lines[:k + 1]
    bars = split_abc_bars("\n".join(lines[k + 1:]))
    if len(bars) != len(t.bars):
        return header, plain()
    return header, bars


def window(t: Tune, changed: Sequence[int], context: int = 1) -> list[int]:
    """Bar numbers to show for a change: the changed bars plus `context` bars around them.

    >>> from st4rt_repl.tune import Tune
    >>> window(Tune.from_bars([[(60, 4)]] * 8), (4, 5))
    [3, 4, 5, 6]
    """
    numbers = t.bar_numbers()
    if not changed:
        return numbers
    lo, hi = min(changed) - context, max(changed) + context
    return [n for n in numbers if lo <= n <= hi]


def _between(barline: str, lead: str) -> str:
    """The barline shown between two bars: ':|' then '|:' is '::'."""
    if lead == "|:":
        return "::" if barline == ":|" else "|:"
    return barline


def abc_panel(t: Tune, changed: Iterable[int] = (), *, bars: Sequence[int] | None = None,
              title: str = "", per_line: int = 4, width: int = 100) -> Panel:
    """The tune's ABC as written (repeat signs, endings, part labels, chord symbols), up to
    four bars a line (fewer if they would not fit `width`), each line led by its first bar
    number; a part label starts a new line."""
    changed = set(changed)
    header, texts = abc_bars(t)
    numbers = t.bar_numbers()
    show = set(bars) if bars is not None else set(numbers)
    body = Text()
    if header:
        body.append("  ".join(header) + "\n", style=GUTTER)
    rows = [(n, ab) for n, ab in zip(numbers, texts) if n in show]
    lines, used = [[]], 0
    room = width - 4 - 7          # panel borders and padding, the bar-number gutter
    for n, ab in rows:
        w = len(ab.text) + 4 + (3 if ab.ending else 0)
        if lines[-1] and (len(lines[-1]) == per_line or used + w > room or ab.part):
            lines.append([])
            used = 0
        lines[-1].append((n, ab))
        used += w
    for chunk in lines:
        if not chunk:
            continue
        if chunk[0][1].part:
            body.append(f"     P:{chunk[0][1].part}\n", style="bold")
        body.append(f"{chunk[0][0]:>4} ", style=GUTTER)
        first = chunk[0][1]
        body.append((first.lead or "|") + " ", style=MARK if first.lead else GUTTER)
        for k, (n, ab) in enumerate(chunk):
            if ab.ending:
                body.append(f"[{ab.ending} ", style=MARK)
            if n in changed:
                body.append(ab.text, style=f"{CHANGED} {CHANGED_BG}")
                body.append("*", style=CHANGED)
            else:
                body.append(ab.text)
            nxt = chunk[k + 1][1].lead if k + 1 < len(chunk) else ""
            sep = _between(ab.barline, nxt)
            body.append(f" {sep} ", style=GUTTER if sep == "|" else MARK)
        body.rstrip()
        body.append("\n")
    body.rstrip()
    return Panel(body, title=title or t.title, title_align="left", expand=False)


# ----------------------------------------------------------------------------
# Piano roll
# ----------------------------------------------------------------------------
def _steps_per_quarter(bars: Sequence[Bar]) -> tuple[int, bool]:
    """The coarsest grid (steps per quarter) that holds every onset and length; exact?"""
    values = [x for b in bars for x in list(b.onsets()) + [n.duration for n in b.notes]]
    for spq in (1, 2, 3, 4, 6):
        if all((x * spq).denominator == 1 for x in values):
            return spq, True
    return 4, False


def _form_row(system, label_w: int, bar_cols) -> Text:
    """The marker row over a system of bars: part letters, |: and [1 at a bar's start, :| || |]
    at its end (over the barline)."""
    row = Text(" " * (label_w + 1))
    for n, b in system:
        w = bar_cols(b) + 1
        left = (f"{b.part} " if b.part else "") + ("|:" if b.repeat_start else "") + \
            (f"[{b.ending}" if b.ending else "")
        right = b.barline if b.barline in (":|", "||", "|]") else ""
        cell = left.ljust(w)[:w]
        if right:
            cell = cell[:w - len(right)].ljust(w - len(right)) + right
        row.append(cell, style=MARK)
    return row


def piano_roll(t: Tune, changed: Iterable[int] = (), *, bars: Sequence[int] | None = None,
               width: int = 100) -> Group:
    r"""Rows are pitches (high at the top), columns are time; ● starts a note, ━ holds it.

    Bars wrap into systems that fit `width` columns.  A tune with written form gets a
    marker row on top: part letters, ``|:`` and ``[1`` where a bar starts, ``:|``,
    ``||`` and ``|]`` over the barline where it ends.

    >>> t = Tune.from_bars([[(60, 4)], [(62, 4)], [(64, 4)]]).with_repeat(1, 2).with_bar(3, part="B")
    >>> print("\n".join(text_of(piano_roll(t)).splitlines()[:2]))
       |:              :|B
       1        2        3
    """
    changed = set(changed)
    numbers = t.bar_numbers()
    wanted = set(bars) if bars is not None else set(numbers)
    chosen = [(n, b) for n, b in zip(numbers, t.bars) if n in wanted]
    pitches = [x.pitch for _, b in chosen for x in b.notes if x.pitch is not None]
    if not pitches:
        return Group(Text("(only rests)", style=GUTTER))
    spq, _ = _steps_per_quarter([b for _, b in chosen])
    cell = 2 if spq <= 2 else 1
    lo, hi = min(pitches), max(pitches)
    # Rows: the key's scale plus any note actually played (chromatic rows stay out of the way).
    scale = {(t.key.relative_major_pc + i) % 12 for i in (0, 2, 4, 5, 7, 9, 11)}
    rows = [p for p in range(hi, lo - 1, -1) if p % 12 in scale or p in set(pitches)]
    names = _row_names(t, chosen, rows)
    label_w = max(len(names[p]) for p in rows)

    def bar_cols(b: Bar) -> int:
        return max(1, round(b.duration * spq)) * cell

    systems, current, used = [], [], label_w + 1
    for n, b in chosen:
        w = bar_cols(b) + 1
        if current and used + w > width:
            systems.append(current)
            current, used = [], label_w + 1
        current.append((n, b))
        used += w
    if current:
        systems.append(current)

    out: list[RenderableType] = []
    # a final |] alone is not worth a row; repeats, endings, parts and || are
    marked = any(b.repeat_start or b.ending or b.part or b.barline in (":|", "||")
                 for _, b in chosen)
    for system in systems:
        if marked:
            out.append(_form_row(system, label_w, bar_cols))
        head = Text(" " * (label_w + 1))
        for n, b in system:
            mark = f"{n}{'*' if n in changed else ''}"
            head.append(mark.ljust(bar_cols(b) + 1)[:bar_cols(b) + 1],
                        style=CHANGED if n in changed else GUTTER)
        out.append(head)
        grids = []
        for n, b in system:
            cols = bar_cols(b) // cell
            grid: dict[int, list[str]] = {p: [" "] * (cols * cell) for p in rows}
            for onset, note in zip(b.onsets(), b.notes):
                if note.pitch is None:
                    continue
                s = min(cols - 1, round(onset * spq))
                e = max(s + 1, min(cols, round((onset + note.duration) * spq)))
                row = grid[note.pitch]
                row[s * cell] = "●"
                for c in range(s * cell + 1, e * cell):
                    row[c] = "━"
            grids.append((n, grid))
        for p in rows:
            line = Text(names[p].ljust(label_w), style=GUTTER)
            line.append("│", style=GUTTER)
            for n, grid in grids:
                style = f"{CHANGED} {CHANGED_BG}" if n in changed else KEPT
                line.append("".join(grid[p]), style=style)
                line.append("│", style=GUTTER)
            out.append(line)
    return Group(*out)


# ----------------------------------------------------------------------------
# Whole views
# ----------------------------------------------------------------------------
def _changed_text(changed: Sequence[int]) -> str:
    if not changed:
        return "no bars changed"
    c = sorted(changed)
    if c == list(range(c[0], c[-1] + 1)) and len(c) > 1:
        return f"bars {c[0]}-{c[-1]} changed"
    return ("bar " if len(c) == 1 else "bars ") + ", ".join(map(str, c)) + " changed"


def render_piece(t: Tune, *, heading: str = "Piece", width: int = 100) -> Group:
    """The accepted piece: a one-line summary, its ABC and its piano roll."""
    summary = Text(f"{heading}: {t}, {t.tempo} bpm", style="bold")
    return Group(summary, abc_panel(t, title=t.title, width=width), piano_roll(t, width=width))


def changed_bars(piece: Tune | None, p: Proposal) -> tuple[int, ...]:
    """The bars a proposal changes: the model's list, plus any earlier bar that differs
    from the piece (a continuation fills up a short last bar before its new bars).

    >>> from st4rt_repl.tune import Tune
    >>> a = Tune.from_bars([[(60, 4)], [(62, 2)]])
    >>> b = Tune.from_bars([[(60, 4)], [(62, 2), (64, 2)], [(65, 4)]])
    >>> changed_bars(a, Proposal(b, (3,)))
    (2, 3)
    """
    if piece is None or not p.changed:
        return tuple(p.changed)
    first = min(p.changed)
    extra = []
    for n in p.tune.bar_numbers():
        if n >= first:
            break
        try:
            if piece.bar(n) != p.tune.bar(n):
                extra.append(n)
        except Exception:      # a bar the piece does not have: new
            extra.append(n)
    return tuple(sorted(set(extra) | set(p.changed)))


def render_proposal(k: int, p: Proposal, *, piece: Tune | None = None, full: bool = False,
                    width: int = 100) -> Group:
    """Candidate k: the changed bars with one bar of context (all bars when `full`)."""
    t = p.tune
    changed = changed_bars(piece, p)
    bars = None if full else window(t, changed)
    head = Text(f"Candidate {k}", style="bold")
    head.append(f"  {_changed_text(changed)}, {t.num_bars} bars in all", style=GUTTER)
    return Group(head, abc_panel(t, changed, bars=bars, title=f"{k}: {t.title}", width=width),
                 piano_roll(t, changed, bars=bars, width=width))


def render_proposals(proposals: Sequence[Proposal], *, piece: Tune | None = None,
                     width: int = 100) -> Group:
    """Every candidate, numbered from 1."""
    return Group(*[render_proposal(k, p, piece=piece, width=width)
                   for k, p in enumerate(proposals, 1)])
