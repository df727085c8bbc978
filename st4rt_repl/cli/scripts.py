"""`st4rt train NAME ...` and `st4rt eval NAME ...`: hand the rest of the line to a script.

`st4rt eval NAME` runs ``st4rt_repl.models.eval_NAME.main(argv) -> int`` and
`st4rt train NAME` runs ``st4rt_repl.models.train_NAME.main(argv)``: training and
evaluation are scripts you can read top to bottom (nanoGPT style), and a new one
needs no entry here.

>>> "rnn" in available("eval") and "vae" in available("train")
True
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil

from st4rt_repl.cli import UserError


def available(kind: str) -> list[str]:
    """Names NAME with a module models/KIND_NAME.py, sorted."""
    from st4rt_repl import models
    prefix = f"{kind}_"
    return sorted(m.name[len(prefix):] for m in pkgutil.iter_modules(models.__path__)
                  if m.name.startswith(prefix))


def _add(parser: argparse.ArgumentParser, kind: str) -> None:
    parser.add_argument("what", metavar="NAME", help="one of: " + ", ".join(available(kind)))
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options of that script (see --help)")


def _run(kind: str, args) -> int:
    names = available(kind)
    if args.what not in names:
        raise UserError(f"no {kind} script {args.what!r}; available: {', '.join(names)}")
    return int(importlib.import_module(f"st4rt_repl.models.{kind}_{args.what}").main(args.rest) or 0)


def add_train_arguments(parser):
    _add(parser, "train")


def add_eval_arguments(parser):
    _add(parser, "eval")


def run_train(args) -> int:
    return _run("train", args)


def run_eval(args) -> int:
    return _run("eval", args)
