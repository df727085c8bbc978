"""`st4rt convert INPUT OUTPUT`: between ABC, MIDI and MusicXML, by extension.

On success it prints one line (title, written bars, played bars when they differ,
key, meter, and what was chosen from the input).  `--unfold` writes the repeats
out; `--fold` writes verbatim repeated sections as repeats.  An existing OUTPUT
needs `--force`; the input itself is never overwritten; a folder as OUTPUT needs
`--to FORMAT` and gets a file named after the tune.  Errors: one line, exit 2
(see `st4rt_repl.cli`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from st4rt_repl.cli import UserError, output_path, write_atomically

__all__ = ["add_arguments", "run", "convert"]

FORMAT_EXT = {"abc": ".abc", "midi": ".mid", "mid": ".mid", "musicxml": ".musicxml",
              "xml": ".musicxml", "mxl": ".mxl"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The convert subcommand's arguments."""
    parser.add_argument("input", help="tune file: .abc .mid .midi .musicxml .xml .mxl")
    parser.add_argument("output", help="file to write (the format follows the extension), "
                        "or a folder with --to")
    parser.add_argument("--tune", metavar="X", help="in a multi-tune ABC file: X: number or title")
    parser.add_argument("--part", metavar="P", help="MusicXML: the part to read, by number or name "
                        "(default: the melody)")
    parser.add_argument("--to", choices=sorted(FORMAT_EXT), help="format when OUTPUT is a folder")
    parser.add_argument("--bar-numbers", action="store_true",
                        help="ABC output: a '%% bar N' comment above each line")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--unfold", action="store_true", help="write the repeats out (flat)")
    form.add_argument("--fold", action="store_true",
                      help="write verbatim repeated 4- or 8-bar sections as repeats")
    parser.add_argument("--force", action="store_true", help="replace an existing OUTPUT")


def convert(src: str | Path, dst: str | Path, *, tune: str | None = None, part: str | None = None,
            bar_numbers: bool = False, unfold: bool = False, fold: bool = False,
            force: bool = False, to: str | None = None) -> str:
    """Convert one file; returns the summary line.  Raises InputError / UserError."""
    from st4rt_repl import engine
    from st4rt_repl.engine import load_tune
    from st4rt_repl.formats import format_of
    src, dst = Path(src), Path(dst).expanduser()
    if dst.is_dir():
        if to is None:
            raise UserError(f"{dst}: is a folder; add --to abc|midi|musicxml to write a file "
                            "named after the tune in it")
    else:
        format_of(dst)       # fail on a bad output name before any slow reading
    result = load_tune(src, tune=tune, part=part)
    t = result.tune
    if unfold:
        t = t.unfolded()
    elif fold:
        from st4rt_repl.fold import fold as fold_repeats
        t = fold_repeats(t)
    out = output_path(dst, title=t.title, ext=FORMAT_EXT.get(to or "", ""), inputs=[src],
                      force=force)
    if format_of(out) == "abc" and bar_numbers:
        from st4rt_repl.formats.abc_out import to_abc
        text = to_abc(t, bar_numbers=True)
        write_atomically(out, lambda p: p.write_text(text, encoding="utf-8"))
    else:
        write_atomically(out, lambda p: engine.save_tune(t, p))
    pickup = " + pickup" if t.pickup else ""
    played = t.num_played_bars
    also = f" ({played} played)" if played != t.num_bars else ""
    chosen = f" [{result.message}]" if result.message else ""
    return (f"{t.title}: {t.num_bars} bars{also}{pickup}, {t.key}, {t.meter[0]}/{t.meter[1]}"
            f" -> {out}{chosen}")


def run(args: argparse.Namespace) -> int:
    """Run `st4rt convert`; 0 on success (errors raise; `cli.main` prints them)."""
    print(convert(args.input, args.output, tune=args.tune, part=args.part, bar_numbers=args.bar_numbers,
                  unfold=args.unfold, fold=args.fold, force=args.force, to=args.to))
    return 0
