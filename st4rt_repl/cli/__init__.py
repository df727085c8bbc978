"""`st4rt` command line: a thin dispatcher; each group of subcommands is one module here.

Every subcommand module exposes ``add_NAME_arguments(parser)`` (or ``add_arguments``)
and ``run_NAME(args)`` (or ``run``) returning the exit status.  Modules are imported
only when their subcommand runs, so `st4rt parse` and the REPL prompt start
without importing torch or music21.

**One error style.**  Every failure is one line on stderr::

    st4rt CMD: FILE:LINE:COL: message      (where a file, line and column are known)
    st4rt CMD: message                     (otherwise)

**Exit codes.**  0 success; 2 a user error (bad input file, bad option, a file that
would be overwritten, an unwritable ST4RT_HOME, a model without its checkpoint;
argparse's own errors too); 70 an internal error (a bug: the traceback goes to
``data_dir()/errors.log``); 130 interrupted (Ctrl-C).  ``st4rt --script`` exits 2 when a command of the script failed.

**Files are never overwritten silently.**  An output that exists is refused unless
``--force``; an output that is one of the inputs is refused even with ``--force``;
an output that is a folder gets a file inside it named after the piece
(``the-kesh.abc``).  Files are written to a temporary name and renamed, so a
failed write leaves the old file intact.

>>> fail_line("convert", "convert: tune.abc:3:1: bad note")
'st4rt convert: tune.abc:3:1: bad note'
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Callable, Iterable

__all__ = ["main", "build_parser", "UserError", "EXIT_USER", "EXIT_INTERNAL", "SUBCOMMANDS",
           "fail_line", "output_path", "write_atomically"]

EXIT_USER = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

# subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("st4rt_repl.cli.convert", "convert between ABC, MIDI and MusicXML"),
    "render": ("st4rt_repl.cli.render", "render a tune to WAV (fluidsynth), SVG or PDF (abcm2ps)"),
    "ports": ("st4rt_repl.cli.render", "list MIDI output ports"),
    "corpus": ("st4rt_repl.corpus.cli", "build or describe the training corpus"),
    "train": ("st4rt_repl.cli.scripts", "train a model: st4rt train rnn|vae [options]"),
    "eval": ("st4rt_repl.cli.scripts", "evaluate: st4rt eval NAME [options] (rnn, vae, ...)"),
    "continue": ("st4rt_repl.cli.models", "continue a tune by N bars (attention-RNN)"),
    "vary": ("st4rt_repl.cli.models", "vary some bars of a tune (MusicVAE)"),
    "generate": ("st4rt_repl.cli.models", "generate a new tune (attention-RNN; with --profile, a phrase of yours opens it)"),
    "interpolate": ("st4rt_repl.cli.models", "interpolate between two bars' phrases"),
    "personalize": ("st4rt_repl.cli.models", "train a MidiMe profile on your own tunes"),
    "parse": ("st4rt_repl.commands", "print the intent of a plain-words command as JSON"),
}


class UserError(Exception):
    """A mistake the user can fix; the message is one line (without the `st4rt CMD:` prefix)."""


def fail_line(cmd: str, message: str) -> str:
    """The one error line: ``st4rt CMD: message``, first line only, no doubled prefix."""
    text = (str(message).strip().splitlines() or [""])[0].strip()
    for prefix in (f"st4rt {cmd}: ", f"{cmd}: "):
        while text.startswith(prefix):
            text = text[len(prefix):]
    return f"st4rt {cmd}: {text}"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def output_path(out: str | Path, *, title: str, ext: str, inputs: Iterable[str | Path] = (),
                force: bool = False) -> Path:
    """Where to write: a folder gets ``slug(title) + ext`` inside it; refuses to overwrite.

    An existing file needs `force`; one of `inputs` is refused even with `force`.
    """
    from st4rt_repl.paths import slug
    p = Path(out).expanduser()
    if p.is_dir():
        p = p / (slug(title) + ext)
    for src in inputs:
        if _same_file(p, Path(src)):
            raise UserError(f"{p}: is the input file; refusing to write over it "
                            "(choose another output)")
    if p.exists() and not force:
        if p.is_dir():
            raise UserError(f"{p}: is a folder")
        raise UserError(f"{p}: already exists (add --force to replace it)")
    return p


def write_atomically(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` with a temporary name beside `path`, then rename it to `path`.

    A failed write leaves any old file untouched and no temporary file behind.
    """
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.part{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise UserError(f"{path}: cannot write: {e.strerror or e}") from None
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass
    return path


def build_parser() -> argparse.ArgumentParser:
    """The parser of plain `st4rt` (the REPL and --script)."""
    listing = "\n".join(f"  st4rt {name:<12} {help_}" for name, (_, help_) in SUBCOMMANDS.items())
    p = argparse.ArgumentParser(
        prog="st4rt", description="ST4RT+ terminal co-composer. With no arguments: the REPL.",
        epilog="subcommands (st4rt NAME --help):\n" + listing
        + "\n\nexit status: 0 ok, 2 user error, 70 internal error, 130 interrupted",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", nargs="?", help="open the REPL with this tune loaded")
    p.add_argument("--script", metavar="FILE", help="run REPL commands from FILE")
    p.add_argument("--strict", action="store_true", help="stop at the first failing command")
    p.add_argument("--force", action="store_true",
                   help="in a script, let `export` replace existing files")
    p.add_argument("--new", action="store_true", help="start a new session, do not offer to resume")
    p.add_argument("--resume", action="store_true",
                   help="resume the last session without asking (scripts start new sessions otherwise)")
    p.add_argument("--seed", type=int, help="base random seed of the proposals (default: random)")
    return p


def run_subcommand(name: str, argv: list[str]) -> int:
    """Parse and run one subcommand; every failure is one line and an exit code."""
    from st4rt_repl import paths
    from st4rt_repl.errors import NotAvailable, TuneError   # NotAvailable: a model without its checkpoint
    module_name, help_ = SUBCOMMANDS[name]
    sub = argparse.ArgumentParser(prog=f"st4rt {name}", description=help_)
    module = importlib.import_module(module_name)
    adder = getattr(module, f"add_{name}_arguments", None) or module.add_arguments
    runner = getattr(module, f"run_{name}", None) or module.run
    adder(sub)
    args = sub.parse_args(argv)        # argparse: usage + one line, exit 2
    args.command = name
    try:
        return int(runner(args) or 0)
    except KeyboardInterrupt:
        print(f"st4rt {name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UserError, TuneError, NotAvailable) as e:   # InputError: "file:line:col: message"
        print(fail_line(name, str(e)), file=sys.stderr)
        return EXIT_USER
    except OSError as e:
        home = paths.home_problem(e)
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(fail_line(name, home or f"{where}{e.strerror or e}"), file=sys.stderr)
        return EXIT_USER
    except Exception as e:   # a bug: one line here, the traceback in the log
        log = paths.log_traceback(f"st4rt {name}")
        print(fail_line(name, f"internal error: {type(e).__name__}: {e}"
                        + (f" (details in {log})" if log else "")), file=sys.stderr)
        return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    """`st4rt [SUBCOMMAND] ...`; the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        return run_subcommand(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    from st4rt_repl.repl.app import run_repl
    return run_repl(args)
