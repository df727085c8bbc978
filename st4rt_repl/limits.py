"""The sizes a request may ask for, shared by the command line, the REPL and the parser.

One place, so ``st4rt continue --bars N`` and ``continue N bars`` in the REPL refuse
the same things with the same words.  Pure Python, no imports.

>>> check_count("bars", 8, MAX_BARS) is None
True
>>> check_count("bars", 100000, MAX_BARS)
'bars must be 1..256 (asked for 100000)'
>>> check_count("beam", 0, MAX_BEAM)
'beam must be 1..16 (asked for 0)'
"""
from __future__ import annotations

__all__ = ["MAX_BARS", "MAX_STEPS", "MAX_CANDIDATES", "MAX_BEAM", "check_count"]

MAX_BARS = 256        # new bars in one continue / generate (a long reel set is ~128 bars)
MAX_STEPS = 16        # interpolate phrases; each inserts 2 bars, so at most 32 new bars
MAX_CANDIDATES = 16   # proposals per turn (each is shown; more is unreadable)
MAX_BEAM = 16         # beam width of the continuation search


def check_count(what: str, n: int, most: int, least: int = 1) -> str | None:
    """None if least <= n <= most, else the one-line reason."""
    if least <= n <= most:
        return None
    return f"{what} must be {least}..{most} (asked for {n})"
