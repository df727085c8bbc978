"""`st4rt continue | vary | generate | interpolate | personalize`: the models on the command line.

Each writes its candidates to one ABC file (one ``X:`` per candidate) or, for
personalize, prints a one-line summary.  Sizes are checked against
`st4rt_repl.limits` (the REPL's limits too); errors are one line, exit status 2
(see `st4rt_repl.cli`).
"""
from __future__ import annotations

from pathlib import Path

from st4rt_repl.cli import UserError, output_path, write_atomically
from st4rt_repl.limits import MAX_BARS, MAX_BEAM, MAX_CANDIDATES, MAX_STEPS, check_count


def _bars(text: str) -> list[int]:
    """'3' -> [3]; '3-4' -> [3, 4]; '1,5,7-8' -> [1, 5, 7, 8].

    >>> _bars('1,5,7-8')
    [1, 5, 7, 8]
    """
    out = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part[1:]:
            a, b = part.split("-", 1) if not part.startswith("-") else (part, part)
            out += list(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


def _count(option: str, n: int, most: int) -> None:
    why = check_count(option, n, most)
    if why:
        raise UserError(why)


def _common(p, *, seed=True, output=True) -> None:
    p.add_argument("--candidates", type=int, default=4, help=f"1..{MAX_CANDIDATES}")
    if seed:
        p.add_argument("--seed", type=int)
    if output:
        p.add_argument("-o", "--output", required=True,
                       help="output .abc file, or a folder (the file is named after the tune)")
        p.add_argument("--force", action="store_true", help="replace an existing output file")


def _profile_args(p) -> None:
    p.add_argument("--profile", help="a MidiMe profile made with `st4rt personalize`")
    p.add_argument("--likeness", type=float, default=0.5, help="0 = ignore the profile, 1 = profile only")


def _check_common(args) -> None:
    _count("--candidates", args.candidates, MAX_CANDIDATES)
    if hasattr(args, "likeness") and not 0.0 <= args.likeness <= 1.0:
        raise UserError("--likeness must be in [0, 1]")
    out = Path(args.output)
    if not out.is_dir() and out.suffix.lower() != ".abc":
        raise UserError(f"{out}: the output must be an .abc file (or a folder)")


def _load(args):
    from st4rt_repl.engine import load_tune
    return load_tune(args.input, tune=args.tune).tune


def _target(args, title: str) -> Path:
    """The output file, checked before any model runs (exists? the input? a folder?)."""
    inputs = [args.input] if getattr(args, "input", None) else []
    return output_path(args.output, title=title, ext=".abc", inputs=inputs, force=args.force)


def _write(out: Path, tunes, titles, what: str = "candidates") -> int:
    from st4rt_repl.formats.abc_out import tunes_to_abc
    text = tunes_to_abc(tunes, titles=titles)
    write_atomically(out, lambda p: p.write_text(text, encoding="utf-8"))
    print(f"wrote {len(tunes)} {what} to {out}")
    return 0


# ----- continue
def add_continue_arguments(parser) -> None:
    """Options of `st4rt continue`."""
    parser.add_argument("input", help="the primer: .abc, .mid or .musicxml")
    parser.add_argument("--bars", type=int, required=True, help=f"new bars to add (1..{MAX_BARS})")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--beam", type=int, default=1, help=f"beam width (1 = sample; up to {MAX_BEAM})")
    parser.add_argument("--tune", help="which tune of an ABC file (X: number or title)")
    _profile_args(parser)
    _common(parser)


def run_continue(args) -> int:
    """Load, continue, write; returns the exit status."""
    _count("--bars", args.bars, MAX_BARS)
    _count("--beam", args.beam, MAX_BEAM)
    _check_common(args)
    if not 0.0 < args.top_p <= 1.0:
        raise UserError("--top-p must be in (0, 1]")
    if args.temperature < 0:
        raise UserError("--temperature must not be negative")
    primer = _load(args)
    out = _target(args, primer.title or "Untitled")
    from st4rt_repl import engine
    props = engine.continue_tune(primer, args.bars, candidates=args.candidates,
                                 temperature=args.temperature, top_p=args.top_p, seed=args.seed,
                                 beam=args.beam, profile=args.profile, likeness=args.likeness)
    base = primer.title or "Untitled"
    titles = [f"{base} (continued {i + 1})" for i in range(len(props))]
    _write(out, [p.tune for p in props], titles, f"candidates of {primer.num_bars} + {args.bars} bars")
    if len(props) < args.candidates:
        print(f"only {len(props)} distinct candidates")
    return 0


# ----- vary
def add_vary_arguments(p) -> None:
    """Options of `st4rt vary`."""
    p.add_argument("input", help="the tune: .abc, .mid or .musicxml")
    p.add_argument("--bars", required=True, help="written bars to vary: 3, 3-4 or 1,5")
    p.add_argument("--amount", type=float, default=0.5, help="0 = keep, 1 = free")
    p.add_argument("--tune", help="which tune of an ABC file (X: number or title)")
    _profile_args(p)
    _common(p)


def run_vary(args) -> int:
    """Vary the chosen bars and write the candidates."""
    _check_common(args)
    try:
        bars = _bars(args.bars)
    except ValueError:
        raise UserError(f"--bars {args.bars!r}: expected e.g. 3, 3-4 or 1,5") from None
    _count("--bars (how many)", len(bars), MAX_BARS)
    if not 0.0 <= args.amount <= 1.0:
        raise UserError("--amount must be in [0, 1]")
    tune = _load(args)
    out = _target(args, tune.title)
    from st4rt_repl import engine
    props = engine.vary(tune, bars, candidates=args.candidates, amount=args.amount,
                        seed=args.seed, profile=args.profile, likeness=args.likeness)
    return _write(out, [p.tune for p in props],
                  [f"{tune.title} (bars {args.bars} varied {i + 1})" for i in range(len(props))])


# ----- generate
def add_generate_arguments(p) -> None:
    """Options of `st4rt generate`."""
    p.add_argument("--bars", type=int, default=8, help=f"1..{MAX_BARS}")
    p.add_argument("--meter", default="4/4", help="e.g. 6/8, 3/4, C (= 4/4), C| (= 2/2)")
    p.add_argument("--key", default="D", help="e.g. D, Bb, Em, F#m, 'E minor', Ador, Dmix")
    p.add_argument("--mode", help="major, minor, dorian, mixolydian ... (or put it in --key)")
    p.add_argument("--title", default="Generated")
    _profile_args(p)
    _common(p)


def run_generate(args) -> int:
    """Sample new tunes and write them."""
    from st4rt_repl import engine
    _count("--bars", args.bars, MAX_BARS)
    _check_common(args)
    meter = engine.parse_meter(args.meter)
    key = engine.parse_key(args.key, args.mode)
    engine.check_meter(meter)
    out = _target(args, args.title)
    props = engine.generate(args.bars, meter=meter, key=key, candidates=args.candidates,
                            seed=args.seed, profile=args.profile, likeness=args.likeness,
                            title=args.title)
    return _write(out, [p.tune for p in props], [f"{args.title} {i + 1}" for i in range(len(props))])


# ----- interpolate
def add_interpolate_arguments(p) -> None:
    """Options of `st4rt interpolate`."""
    p.add_argument("input", help="the tune: .abc, .mid or .musicxml")
    p.add_argument("--from", dest="from_bar", type=int, required=True, help="first phrase's bar")
    p.add_argument("--to", dest="to_bar", type=int, required=True, help="second phrase's bar")
    p.add_argument("--steps", type=int, default=3, help=f"2-bar phrases to insert (1..{MAX_STEPS})")
    p.add_argument("--tune", help="which tune of an ABC file (X: number or title)")
    _common(p)


def run_interpolate(args) -> int:
    """Insert bridging phrases and write the candidates."""
    _count("--steps", args.steps, MAX_STEPS)
    _check_common(args)
    tune = _load(args)
    from st4rt_repl import engine
    for opt, k in (("--from", args.from_bar), ("--to", args.to_bar)):
        if not 1 <= k <= tune.num_bars:
            raise UserError(f"{opt} {k}: no such bar; {args.input} has bars 1..{tune.num_bars}"
                            " (each starts a 2-bar phrase)")
    props = engine.interpolate(tune, args.from_bar, args.to_bar, steps=args.steps,
                               candidates=args.candidates, seed=args.seed)
    titles = [f"{tune.title} (bridge {i + 1}: bars {p.changed[0]}-{p.changed[-1]} new)"
              for i, p in enumerate(props)]
    return _write(out, [p.tune for p in props], titles)


# ----- personalize
def add_personalize_arguments(p) -> None:
    """Options of `st4rt personalize`."""
    p.add_argument("files", nargs="+", help="your tunes: files or folders")
    p.add_argument("--name", default="me", help="profile name (default: me)")


def run_personalize(args) -> int:
    """Train a MidiMe profile and print its summary."""
    from st4rt_repl import engine
    print(engine.personalize(args.files, args.name))
    return 0
