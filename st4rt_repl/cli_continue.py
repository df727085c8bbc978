"""`st4rt continue INPUT --bars N -o OUT.abc`: continue a tune with the attention-RNN.

Writes the candidates to one ABC file, one ``X:`` per candidate.  Bad input is
reported on one line (``file:line:col: message``) with exit status 2.
"""
from __future__ import annotations

import sys
from pathlib import Path


def add_arguments(parser) -> None:
    """Options of `st4rt continue`."""
    parser.add_argument("input", help="the primer: .abc, .mid or .musicxml")
    parser.add_argument("--bars", type=int, required=True, help="new bars to add")
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--beam", type=int, default=1, help="beam width (1 = sample)")
    parser.add_argument("--tune", help="which tune of an ABC file (X: number or title)")
    parser.add_argument("--profile", help="rank candidates by a MidiMe profile")
    parser.add_argument("--likeness", type=float, default=0.5, help="0 = RNN only, 1 = profile only")
    parser.add_argument("-o", "--output", required=True, help="output .abc file")


def _fail(msg: str) -> int:
    print(f"st4rt continue: {msg}" if ":" not in msg.split(" ")[0] else msg, file=sys.stderr)
    return 2


def run(args) -> int:
    """Load, continue, write; returns the exit status."""
    from st4rt_repl.engine import NotAvailable
    from st4rt_repl.formats import InputError, load
    from st4rt_repl.tune import TuneError
    if args.bars < 1:
        return _fail("--bars must be at least 1")
    if args.candidates < 1:
        return _fail("--candidates must be at least 1")
    if not 0.0 < args.top_p <= 1.0:
        return _fail("--top-p must be in (0, 1]")
    if args.temperature < 0:
        return _fail("--temperature must not be negative")
    if not 0.0 <= args.likeness <= 1.0:
        return _fail("--likeness must be in [0, 1]")
    out = Path(args.output)
    if out.suffix.lower() != ".abc":
        return _fail(f"{out}: the output must be an .abc file")
    try:
        primer = load(args.input, tune=args.tune).tune
    except InputError as e:
        return _fail(str(e))
    except TuneError as e:
        return _fail(f"{args.input}: {e}")
    try:
        from st4rt_repl.models.continuation import continue_tune
        tunes = continue_tune(primer, args.bars, candidates=args.candidates,
                              temperature=args.temperature, top_p=args.top_p, seed=args.seed,
                              beam=args.beam, profile=args.profile, likeness=args.likeness)
    except NotAvailable as e:
        return _fail(str(e))
    except TuneError as e:
        return _fail(f"{args.input}: {e}")
    from st4rt_repl.formats.abc_out import tunes_to_abc
    base = primer.title or "Untitled"
    titles = [f"{base} (continued {i + 1})" for i in range(len(tunes))]
    try:
        out.write_text(tunes_to_abc(tunes, titles=titles), encoding="utf-8")
    except OSError as e:
        return _fail(f"{out}: cannot write: {e.strerror or e}")
    print(f"wrote {len(tunes)} candidates of {primer.num_bars} + {args.bars} bars to {out}")
    return 0
