"""`st4rt vary | generate | interpolate | personalize`: the MusicVAE and MidiMe on the command line.

Each writes its candidates to one ABC file (one ``X:`` per candidate) or, for
personalize, prints a one-line summary.  Bad input is one line on stderr
(``file:line:col: message`` where known) and exit status 2.
"""
from __future__ import annotations

import sys
from pathlib import Path


def _fail(cmd: str, msg: str) -> int:
    first = msg.split(" ")[0]
    print(msg if first.endswith(":") and ":" in first[:-1] else f"st4rt {cmd}: {msg}", file=sys.stderr)
    return 2


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


def _common(p, *, seed=True, output=True) -> None:
    p.add_argument("--candidates", type=int, default=4)
    if seed:
        p.add_argument("--seed", type=int)
    if output:
        p.add_argument("-o", "--output", required=True, help="output .abc file")


def _profile_args(p) -> None:
    p.add_argument("--profile", help="a MidiMe profile made with `st4rt personalize`")
    p.add_argument("--likeness", type=float, default=0.5, help="0 = prior, 1 = profile only")


def _check(cmd, args) -> str | None:
    if args.candidates < 1:
        return "--candidates must be at least 1"
    if hasattr(args, "likeness") and not 0.0 <= args.likeness <= 1.0:
        return "--likeness must be in [0, 1]"
    if Path(args.output).suffix.lower() != ".abc":
        return f"{args.output}: the output must be an .abc file"
    return None


def _load(cmd, args):
    from st4rt_repl.formats import InputError, load
    from st4rt_repl.tune import TuneError
    try:
        return load(args.input, tune=args.tune).tune, None
    except InputError as e:
        return None, _fail(cmd, str(e))
    except TuneError as e:
        return None, _fail(cmd, f"{args.input}: {e}")


def _write(cmd, args, tunes, titles) -> int:
    from st4rt_repl.formats.abc_out import tunes_to_abc
    out = Path(args.output)
    try:
        out.write_text(tunes_to_abc(tunes, titles=titles), encoding="utf-8")
    except OSError as e:
        return _fail(cmd, f"{out}: cannot write: {e.strerror or e}")
    print(f"wrote {len(tunes)} candidates to {out}")
    return 0


def _call(cmd, fn):
    """Run a model call; a user error becomes (None, exit status)."""
    from st4rt_repl.engine import NotAvailable
    from st4rt_repl.tune import TuneError
    try:
        return fn(), None
    except (NotAvailable, TuneError) as e:
        return None, _fail(cmd, str(e))


# ----- vary
def add_vary_arguments(p) -> None:
    """Options of `st4rt vary`."""
    p.add_argument("input", help="the tune: .abc, .mid or .musicxml")
    p.add_argument("--bars", required=True, help="bars to vary: 3, 3-4 or 1,5")
    p.add_argument("--amount", type=float, default=0.5, help="0 = keep, 1 = free")
    p.add_argument("--tune", help="which tune of an ABC file (X: number or title)")
    _profile_args(p)
    _common(p)


def run_vary(args) -> int:
    """Vary the chosen bars and write the candidates."""
    err = _check("vary", args)
    if err:
        return _fail("vary", err)
    try:
        bars = _bars(args.bars)
    except ValueError:
        return _fail("vary", f"--bars {args.bars!r}: expected e.g. 3, 3-4 or 1,5")
    if not 0.0 <= args.amount <= 1.0:
        return _fail("vary", "--amount must be in [0, 1]")
    tune, status = _load("vary", args)
    if tune is None:
        return status
    from st4rt_repl import engine
    props, status = _call("vary", lambda: engine.vary(
        tune, bars, candidates=args.candidates, amount=args.amount, seed=args.seed,
        profile=args.profile, likeness=args.likeness))
    if props is None:
        return status
    return _write("vary", args, [p.tune for p in props],
                  [f"{tune.title} (bars {args.bars} varied {i + 1})" for i in range(len(props))])


# ----- generate
def add_generate_arguments(p) -> None:
    """Options of `st4rt generate`."""
    p.add_argument("--bars", type=int, default=8)
    p.add_argument("--meter", default="4/4", help="e.g. 6/8")
    p.add_argument("--key", default="D", help="tonic, e.g. D, Bb, F#")
    p.add_argument("--mode", default="major")
    p.add_argument("--title", default="Generated")
    _profile_args(p)
    _common(p)


def run_generate(args) -> int:
    """Sample new tunes and write them."""
    err = _check("generate", args)
    if err:
        return _fail("generate", err)
    from st4rt_repl.tune import Key, TuneError
    try:
        num, den = (int(x) for x in args.meter.split("/"))
        key = Key(args.key, args.mode)
    except (ValueError, TuneError) as e:
        return _fail("generate", f"bad --meter/--key/--mode: {e}")
    if args.bars < 1:
        return _fail("generate", "--bars must be at least 1")
    from st4rt_repl import engine
    props, status = _call("generate", lambda: engine.generate(
        args.bars, meter=(num, den), key=key, candidates=args.candidates, seed=args.seed,
        profile=args.profile, likeness=args.likeness, title=args.title))
    if props is None:
        return status
    return _write("generate", args, [p.tune for p in props],
                  [f"{args.title} {i + 1}" for i in range(len(props))])


# ----- interpolate
def add_interpolate_arguments(p) -> None:
    """Options of `st4rt interpolate`."""
    p.add_argument("input", help="the tune: .abc, .mid or .musicxml")
    p.add_argument("--from", dest="from_bar", type=int, required=True, help="first phrase's bar")
    p.add_argument("--to", dest="to_bar", type=int, required=True, help="second phrase's bar")
    p.add_argument("--steps", type=int, default=3, help="2-bar phrases to insert")
    p.add_argument("--tune", help="which tune of an ABC file (X: number or title)")
    _common(p)


def run_interpolate(args) -> int:
    """Insert bridging phrases and write the candidates."""
    err = _check("interpolate", args)
    if err:
        return _fail("interpolate", err)
    if args.steps < 1:
        return _fail("interpolate", "--steps must be at least 1")
    tune, status = _load("interpolate", args)
    if tune is None:
        return status
    from st4rt_repl import engine
    props, status = _call("interpolate", lambda: engine.interpolate(
        tune, args.from_bar, args.to_bar, steps=args.steps, candidates=args.candidates,
        seed=args.seed))
    if props is None:
        return status
    titles = [f"{tune.title} (bridge {i + 1}: bars {p.changed[0]}-{p.changed[-1]} new)"
              for i, p in enumerate(props)]
    return _write("interpolate", args, [p.tune for p in props], titles)


# ----- personalize
def add_personalize_arguments(p) -> None:
    """Options of `st4rt personalize`."""
    p.add_argument("files", nargs="+", help="your tunes: files or folders")
    p.add_argument("--name", default="me", help="profile name (default: me)")


def run_personalize(args) -> int:
    """Train a MidiMe profile and print its summary."""
    from st4rt_repl import engine
    summary, status = _call("personalize", lambda: engine.personalize(args.files, args.name))
    if summary is None:
        return status
    print(summary)
    return 0
