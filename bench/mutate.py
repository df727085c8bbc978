#!/usr/bin/env python3
"""Mutation-test ONE module with the tests suited to it (`make mutate MUTATE=<module>`).

mutmut reads its settings from ./pyproject.toml and keeps its state in ./mutants/, both in the
folder it runs in.  So each module gets its own folder, build/mutate/<module>/, holding links to
st4rt_repl/, tokenizers/, tests/ and bench/ and a pyproject.toml that is the project's own with
`only_mutate` narrowed to the module's files and the test selection narrowed to the tests below.
mutmut then generates only that module's mutants and measures (once) and runs only those tests.
The results stay in that folder: a rerun tests only the mutants without a result (new ones,
and those of functions changed since), `--survivors` reruns last run's survivors (after new
tests), and deleting the folder starts afresh.

    bench/mutate.py st4rt_repl.formats.abc_out              # generate and run all its mutants
    bench/mutate.py tokenizers --survivors                  # rerun only what survived last time
    cd build/mutate/tokenizers && ../../../.venv/bin/mutmut show NAME   # look at one
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module -> (files to mutate, test files, tests to leave out).  Left out: the corpus samples
# (300 real tunes through music21/abc2midi, 10-20 s of fixture per mutant); the quick tests
# before them already drive every branch those reach.
MODULES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "st4rt_repl.tune": (
        ["st4rt_repl/tune.py"],
        ["tests/test_doctests.py", "tests/test_tune.py", "tests/test_tune_exact.py",
         "tests/test_written_form.py", "tests/test_abc_in.py", "tests/test_reader_quirks.py",
         "tests/test_abc_out.py", "tests/test_abc_vs_abc2midi.py", "tests/test_properties.py",
         "tests/test_session.py", "tests/test_fault_injection.py"],
        []),
    "st4rt_repl.formats.abc_out": (
        ["st4rt_repl/formats/abc_out.py"],
        ["tests/test_doctests.py", "tests/test_abc_out.py", "tests/test_abc_out_exact.py",
         "tests/test_properties.py", "tests/test_written_form_io.py"],
        ["tests/test_abc_out.py::test_corpus_round_trip_through_abc2midi",
         "tests/test_abc_out.py::test_corpus_tokenizer_round_trip",
         "tests/test_written_form_io.py::test_300_real_tunes_keep_their_written_form_through_abc",
         "tests/test_written_form_io.py::test_real_tunes_keep_their_written_form_through_musicxml"]),
    "st4rt_repl.formats.abc_in": (
        ["st4rt_repl/formats/abc_in.py"],
        ["tests/test_doctests.py", "tests/test_abc_in.py", "tests/test_reader_quirks.py",
         "tests/test_abc_vs_abc2midi.py", "tests/test_written_form.py", "tests/test_bad_input.py",
         "tests/test_properties.py"],
        []),
    "st4rt_repl.session": (
        ["st4rt_repl/session.py"],
        ["tests/test_doctests.py", "tests/test_session.py", "tests/test_fault_injection.py"],
        []),
    "tokenizers": (
        ["tokenizers/*.py"],
        ["tests/test_doctests.py", "tests/test_tokenizer_v2.py", "tests/test_tokenizers_exact.py",
         "tests/test_properties.py"],
        ["tests/test_tokenizer_v2.py::test_every_built_corpus_tune_round_trips"]),
}
LINKS = ["st4rt_repl", "tokenizers", "tests", "bench"]


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{x}"' for x in items) + "]"


def prepare(module: str) -> Path:
    """build/mutate/<module>/ with the links and the narrowed pyproject.toml; returns it."""
    files, tests, deselect = MODULES[module]
    work = ROOT / "build" / "mutate" / module
    work.mkdir(parents=True, exist_ok=True)
    for name in LINKS:
        link = work / name
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(ROOT / name, work))
    project = (ROOT / "pyproject.toml").read_text()
    head = project.split("[tool.mutmut]")[0]
    args = ["-p", "no:cacheprovider", "-q"] + [a for t in deselect for a in ("--deselect", t)]
    section = (f"[tool.mutmut]\n"
               f'source_paths = ["st4rt_repl/", "tokenizers/"]\n'
               f"only_mutate = {toml_list(files)}\n"
               f'also_copy = ["bench/"]\n'
               f"timeout_multiplier = 5.0\n"     # a mutant stuck in a loop gives up after 10x its tests' time
               f"pytest_add_cli_args = {toml_list(args)}\n"
               f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n")
    target = work / "pyproject.toml"
    if not target.exists() or target.read_text() != head + section:
        target.write_text(head + section)
    # st4rt_repl.tokenizers is tokenizers/ (a package-dir mapping): the link makes the mutated
    # copy the one imported.
    mapped = work / "mutants" / "st4rt_repl" / "tokenizers"
    mapped.parent.mkdir(parents=True, exist_ok=True)
    if not mapped.is_symlink():
        mapped.symlink_to("../tokenizers")
    return work


def survivors(mutmut: str, work: Path, module: str) -> list[str]:
    out = subprocess.run([mutmut, "results"], cwd=work, capture_output=True, text=True).stdout
    return [m for m in re.findall(r"^\s*(\S+): survived", out, re.M) if m.startswith(module + ".")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("module", choices=sorted(MODULES))
    ap.add_argument("--max-children", type=int, default=1)
    ap.add_argument("--survivors", action="store_true", help="rerun only last run's survivors")
    opts = ap.parse_args()
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    work = prepare(opts.module)
    # No names: mutmut runs the mutants that have no result yet (new, or in a changed function).
    names = survivors(mutmut, work, opts.module) if opts.survivors else []
    if opts.survivors and not names:
        print("no survivors to rerun")
        return 0
    run = subprocess.run(["nice", "-n", "15", mutmut, "run", "--max-children", str(opts.max_children),
                          *names], cwd=work)
    subprocess.run([mutmut, "results"], cwd=work)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
