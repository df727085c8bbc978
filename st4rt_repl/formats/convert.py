"""`st4rt convert INPUT OUTPUT [--tune X]`: between ABC, MIDI and MusicXML, by extension.

On success it prints one line (title, bars, key, meter, and what was chosen from
the input); on bad input it prints exactly one line ``file:line:col: message`` to
stderr and exits with status 1.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "run", "convert"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The convert subcommand's arguments."""
    parser.add_argument("input", help="tune file: .abc .mid .midi .musicxml .xml .mxl")
    parser.add_argument("output", help="file to write; the format follows the extension")
    parser.add_argument("--tune", metavar="X", help="in a multi-tune ABC file: X: number or title")
    parser.add_argument("--bar-numbers", action="store_true",
                        help="ABC output: a '%% bar N' comment above each line")


def convert(src: str | Path, dst: str | Path, *, tune: str | None = None,
            bar_numbers: bool = False) -> str:
    """Convert one file; returns the summary line.  Raises InputError on bad input."""
    from st4rt_repl.formats import InputError, format_of, load, save
    src, dst = Path(src), Path(dst)
    out_fmt = format_of(dst)           # fail on a bad output name before any slow reading
    result = load(src, tune=tune)
    t = result.tune
    try:
        if out_fmt == "abc" and bar_numbers:
            from st4rt_repl.formats.abc_out import to_abc
            dst.write_text(to_abc(t, bar_numbers=True), encoding="utf-8")
        else:
            save(t, dst)
    except OSError as e:
        raise InputError(str(dst), f"cannot write: {e.strerror or e}") from None
    pickup = " + pickup" if t.pickup else ""
    chosen = f" [{result.message}]" if result.message else ""
    return (f"{t.title}: {t.num_bars} bars{pickup}, {t.key}, {t.meter[0]}/{t.meter[1]}"
            f" -> {dst}{chosen}")


def run(args: argparse.Namespace) -> int:
    """Run `st4rt convert`; 0 on success, 1 on bad input (one line on stderr)."""
    from st4rt_repl.tune import TuneError
    try:
        print(convert(args.input, args.output, tune=args.tune,
                      bar_numbers=getattr(args, "bar_numbers", False)))
    except TuneError as e:          # InputError included: already `file:line:col: message`
        print(str(e).splitlines()[0] if str(e) else args.input, file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{e.filename or args.input}: {e.strerror or e}", file=sys.stderr)
        return 1
    except Exception as e:  # last resort: a bug must still not show a traceback to users
        first = (str(e).splitlines() or [""])[0]
        print(f"{args.input}: cannot convert ({type(e).__name__}: {first})", file=sys.stderr)
        return 1
    return 0
