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

from typing import Iterable, Sequence

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from st4rt_repl.engine import Proposal
from st4rt_repl.tune import Bar, Tune

__all__ = ["abc_bars", "abc_panel", "changed_bars", "piano_roll", "render_piece", "render_proposal",
           "render_proposals", "note_name", "text_of", "window"]

CHANGED = "bold magenta"
CHANGED_BG = "on grey15"
KEPT = "cyan"
GUTTER = "dim"
_SHARP_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
_FLAT_NAMES = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]


def note_name(pitch: int, flats: bool = False) -> str:
    """MIDI number -> name with octave (60 -> C4).

    >>> note_name(66), note_name(70, flats=True)
    ('F#4', 'Bb4')
    """
    names = _FLAT_NAMES if flats else _SHARP_NAMES
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


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
    """A readable bar when the ABC writer is unavailable: names and lengths in quarters."""
    out = []
    for n in bar.notes:
        name = "z" if n.is_rest else note_name(n.pitch, flats)
        out.append(name + ("" if n.duration == 1 else str(n.duration)) + ("-" if n.tie else ""))
    return " ".join(out)


def abc_bars(t: Tune) -> tuple[list[str], list[str]]:
    """(ABC header lines, one ABC string per stored bar), via formats.abc_out.

    Falls back to note names per bar when the ABC writer cannot be imported or its
    bars do not line up with the tune's.
    """
    try:
        from st4rt_repl.formats.abc_out import to_abc
        text = to_abc(t)
    except ImportError:
        return [], [_plain_bar(b, _uses_flats(t)) for b in t.bars]
    lines = text.splitlines()
    k = next((i for i, ln in enumerate(lines) if ln.startswith("K:")), -1)
    header, body = lines[:k + 1], [ln for ln in lines[k + 1:] if not ln.startswith("%")]
    joined = "".join(body).rstrip()
    if joined.endswith("|]"):
        joined = joined[:-2]
    bars = [b.strip() for b in joined.rstrip("|").split("|")]
    if len(bars) != len(t.bars):
        return header, [_plain_bar(b, _uses_flats(t)) for b in t.bars]
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


def abc_panel(t: Tune, changed: Iterable[int] = (), *, bars: Sequence[int] | None = None,
              title: str = "", per_line: int = 4, width: int = 100) -> Panel:
    """The tune's ABC, up to four bars a line (fewer if they would not fit `width`),
    each line led by its first bar number."""
    changed = set(changed)
    header, texts = abc_bars(t)
    numbers = t.bar_numbers()
    show = set(bars) if bars is not None else set(numbers)
    body = Text()
    if header:
        body.append("  ".join(header) + "\n", style=GUTTER)
    rows = [(n, s) for n, s in zip(numbers, texts) if n in show]
    lines, used = [[]], 0
    room = width - 4 - 7          # panel borders and padding, the bar-number gutter
    for n, s in rows:
        w = len(s) + 4
        if lines[-1] and (len(lines[-1]) == per_line or used + w > room):
            lines.append([])
            used = 0
        lines[-1].append((n, s))
        used += w
    for chunk in lines:
        if not chunk:
            continue
        body.append(f"{chunk[0][0]:>4} ", style=GUTTER)
        body.append("| ", style=GUTTER)
        for n, s in chunk:
            if n in changed:
                body.append(s, style=f"{CHANGED} {CHANGED_BG}")
                body.append("*", style=CHANGED)
            else:
                body.append(s)
            body.append(" | ", style=GUTTER)
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


def piano_roll(t: Tune, changed: Iterable[int] = (), *, bars: Sequence[int] | None = None,
               width: int = 100) -> Group:
    """Rows are pitches (high at the top), columns are time; ● starts a note, ━ holds it.

    Bars wrap into systems that fit `width` columns.
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
    flats = _uses_flats(t)
    lo, hi = min(pitches), max(pitches)
    # Rows: the key's scale plus any note actually played (chromatic rows stay out of the way).
    scale = {(t.key.relative_major_pc + i) % 12 for i in (0, 2, 4, 5, 7, 9, 11)}
    rows = [p for p in range(hi, lo - 1, -1) if p % 12 in scale or p in set(pitches)]
    label_w = max(len(note_name(p, flats)) for p in rows)

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
    for system in systems:
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
            line = Text(note_name(p, flats).ljust(label_w), style=GUTTER)
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
