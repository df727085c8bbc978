"""`st4rt` command line: a thin dispatcher; each subcommand lives in its own module.

Every subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only when their subcommand runs, so `st4rt parse` and the
REPL prompt start without importing torch or music21.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("st4rt_repl.formats.convert", "convert between ABC, MIDI and MusicXML"),
    "render": ("st4rt_repl.playback", "render a tune to WAV (fluidsynth) or SVG (abcm2ps)"),
    "ports": ("st4rt_repl.playback", "list MIDI output ports"),
    "corpus": ("st4rt_repl.corpus.cli", "build or describe the training corpus"),
    "train": ("st4rt_repl.cli_models", "train a model: st4rt train rnn|vae [options]"),
    "eval": ("st4rt_repl.cli_models", "evaluate: st4rt eval rnn|vae|personalize [options]"),
    "continue": ("st4rt_repl.cli_continue", "continue a tune by N bars (attention-RNN)"),
    "vary": ("st4rt_repl.cli_vae", "vary some bars of a tune (MusicVAE)"),
    "generate": ("st4rt_repl.cli_vae", "generate a new tune from the VAE prior"),
    "interpolate": ("st4rt_repl.cli_vae", "interpolate between two bars' phrases"),
    "personalize": ("st4rt_repl.cli_vae", "train a MidiMe profile on your own tunes"),
    "parse": ("st4rt_repl.commands", "print the intent of a plain-words command as JSON"),
}


def build_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  st4rt {name:<12} {help_}" for name, (_, help_) in SUBCOMMANDS.items())
    p = argparse.ArgumentParser(
        prog="st4rt", description="ST4RT+ terminal co-composer. With no arguments: the REPL.",
        epilog="subcommands (st4rt NAME --help):\n" + listing,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?", help="open the REPL with this tune loaded")
    p.add_argument("--script", metavar="FILE", help="run REPL commands from FILE")
    p.add_argument("--strict", action="store_true", help="stop at the first failing command")
    p.add_argument("--new", action="store_true", help="start a new session, do not offer to resume")
    p.add_argument("--resume", action="store_true",
                   help="resume the last session without asking (scripts start new sessions otherwise)")
    p.add_argument("--seed", type=int, help="base random seed of the proposals (default: random)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        name = argv[0]
        module_name, help_ = SUBCOMMANDS[name]
        sub = argparse.ArgumentParser(prog=f"st4rt {name}", description=help_)
        module = importlib.import_module(module_name)
        adder = getattr(module, f"add_{name}_arguments", None) or module.add_arguments
        runner = getattr(module, f"run_{name}", None) or module.run
        adder(sub)
        args = sub.parse_args(argv[1:])
        args.command = name
        try:
            return int(runner(args) or 0)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
    args = build_parser().parse_args(argv)
    from st4rt_repl.repl.app import run_repl
    return run_repl(args)


if __name__ == "__main__":
    sys.exit(main())
