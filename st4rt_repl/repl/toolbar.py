"""The bottom toolbar: title, key, meter, tempo, bars, proposals, temperature, profile.

Bars are written bars; when repeats make the tune longer as played, both show
("16 bars, 32 played").

>>> from st4rt_repl.tune import Tune
>>> class S: piece = Tune.from_bars([[(60, 4)]], title="Hi"); proposals = ()
>>> class T: temperature = 1.0; profile = None
>>> S.settings = T; S.name = "x"
>>> "".join(t for _, t in toolbar_fragments(S))
' Hi │ C major │ 4/4 │ ♩=120 │ 1 bar │ temp 1.0 │ profile none │ session x '
>>> S.piece = Tune.from_bars([[(60, 4)], [(62, 4)]], title="Hi").with_repeat(1, 2)
>>> "".join(t for _, t in toolbar_fragments(S)).split(" │ ")[4]
'2 bars, 4 played'
"""
from __future__ import annotations

__all__ = ["toolbar_fragments"]


def toolbar_fragments(session) -> list[tuple[str, str]]:
    """Formatted-text fragments for prompt_toolkit's bottom_toolbar."""
    sep = ("class:bottom-toolbar.dim", " │ ")
    p = session.piece
    out: list[tuple[str, str]] = []
    if p is None:
        out.append(("class:bottom-toolbar.title", " ST4RT+ "))
        out += [sep, ("class:bottom-toolbar.dim", "no piece: paste ABC, load FILE or generate 8 bars")]
    else:
        bars, played = p.num_bars, p.num_played_bars
        out += [("class:bottom-toolbar.title", f" {p.title[:32]}"), sep,
                ("class:bottom-toolbar.key", str(p.key)), sep,
                ("class:bottom-toolbar.key", f"{p.meter[0]}/{p.meter[1]}"), sep,
                ("class:bottom-toolbar.key", f"♩={p.tempo}"), sep,
                ("class:bottom-toolbar.key", f"{bars} bar{'s' if bars != 1 else ''}"
                 + (f", {played} played" if played != bars else "")
                 + (" + pickup" if p.pickup else ""))]
    if session.proposals:
        out += [sep, ("class:bottom-toolbar.title", f"{len(session.proposals)} candidates")]
    st = session.settings
    out += [sep, ("class:bottom-toolbar.key", f"temp {st.temperature}"), sep,
            ("class:bottom-toolbar.key", f"profile {st.profile or 'none'}"), sep,
            ("class:bottom-toolbar.dim", f"session {session.name} ")]
    return out
