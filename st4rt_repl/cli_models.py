"""`st4rt train MODEL ...` and `st4rt eval WHAT ...`: hand the rest of the line to the script.

Training and evaluation are scripts you can read top to bottom (nanoGPT style);
each exposes ``main(argv) -> int``.
"""
from __future__ import annotations

import argparse
import importlib

TRAIN = {"rnn": "st4rt_repl.models.train_rnn", "vae": "st4rt_repl.models.train_vae"}
EVAL = {"rnn": "st4rt_repl.models.eval_rnn", "vae": "st4rt_repl.models.eval_vae",
        "personalize": "st4rt_repl.models.eval_personalize"}


def _add(parser: argparse.ArgumentParser, table: dict) -> None:
    parser.add_argument("what", choices=sorted(table))
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options of that script (see --help)")


def add_train_arguments(parser):
    _add(parser, TRAIN)


def add_eval_arguments(parser):
    _add(parser, EVAL)


def run_train(args) -> int:
    return importlib.import_module(TRAIN[args.what]).main(args.rest)


def run_eval(args) -> int:
    return importlib.import_module(EVAL[args.what]).main(args.rest)
