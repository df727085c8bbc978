"""`st4rt render INPUT -o OUT.wav|.svg|.pdf` and `st4rt ports`.

Errors are one line, exit 2 (see `st4rt_repl.cli`); an existing OUT needs `--force`.
"""
from __future__ import annotations

import wave
from dataclasses import replace
from pathlib import Path

from st4rt_repl.cli import UserError, output_path, write_atomically

RENDERERS = {".wav": "WAV", ".svg": "SVG", ".pdf": "PDF"}


def add_render_arguments(parser) -> None:
    """Options of `st4rt render`."""
    parser.add_argument("input", help="tune file (.abc, .mid, .musicxml ...)")
    parser.add_argument("-o", "--output", required=True, help="OUT.wav, OUT.svg or OUT.pdf")
    parser.add_argument("--tune", help="which tune of a multi-tune ABC file (X: number or title)")
    parser.add_argument("--bars", help="only these written bars, e.g. 5 or 1-8")
    parser.add_argument("--tempo", type=int, help="quarter notes a minute (default: the tune's)")
    parser.add_argument("--instrument", help="General MIDI program 0-127 or a name (fiddle, flute ...)")
    parser.add_argument("--soundfont", help="a .sf2/.sf3 soundfont (default: config, then search)")
    parser.add_argument("--no-chords", action="store_true", help="leave out the chord accompaniment")
    parser.add_argument("--force", action="store_true", help="replace an existing output file")


def _overrides(cfg, args):
    """The config with the command line's --tempo, --instrument and --soundfont applied."""
    from st4rt_repl.config import instrument_program
    changes: dict = {}
    if args.tempo is not None:
        if not 1 <= args.tempo <= 1000:
            raise UserError("--tempo must be between 1 and 1000 quarter notes a minute")
        changes["tempo"] = args.tempo
    if args.instrument is not None:
        program = instrument_program(args.instrument)
        if program is None:
            raise UserError(f"unknown instrument {args.instrument!r}: give a General MIDI "
                            "program 0-127 or a name such as piano, fiddle, flute")
        changes["program"] = program
    if args.soundfont:
        changes.update(soundfont=args.soundfont, source="--soundfont")
    if args.no_chords:
        changes["chords"] = False
    return replace(cfg, **changes)


def run_render(args) -> int:
    """`st4rt render INPUT -o OUT`: one line on success."""
    from st4rt_repl import playback
    from st4rt_repl.config import load_config
    from st4rt_repl.engine import load_tune
    out = Path(args.output)
    kind = RENDERERS.get(out.suffix.lower())
    if kind is None:
        raise UserError(f"{out}: cannot render to {out.suffix or 'a file without extension'}; "
                        "use .wav, .svg or .pdf (st4rt convert writes .abc/.mid/.musicxml)")
    tune = load_tune(args.input, tune=args.tune).tune
    out = output_path(out, title=tune.title, ext=out.suffix, inputs=[args.input], force=args.force)
    bars = playback.parse_bars(args.bars)
    try:
        if kind == "WAV":
            cfg = _overrides(load_config(), args)
            write_atomically(out, lambda p: playback.render_wav(tune, p, config=cfg, bars=bars))
            with wave.open(str(out)) as w:
                secs = w.getnframes() / w.getframerate()
            print(f"wrote {out} ({secs:.1f} s)")
        else:
            render = playback.render_svg if kind == "SVG" else playback.render_pdf
            write_atomically(out, lambda p: render(tune, p, bars=bars))
            print(f"wrote {out}")
    except playback.PlaybackError as e:
        raise UserError(str(e)) from None
    return 0


def add_ports_arguments(parser) -> None:
    """`st4rt ports` takes no options."""


def run_ports(args) -> int:
    """`st4rt ports`: the MIDI output ports, one a line."""
    from st4rt_repl import playback
    try:
        names = playback.list_ports()
    except playback.PlaybackError as e:
        raise UserError(str(e)) from None
    if not names:
        print("no MIDI output ports found")
    for name in names:
        print(name)
    return 0
