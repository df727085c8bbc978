#!/usr/bin/env python3
"""Mutation-test ONE module with the tests suited to it (`make mutate MUTATE=<module>`).

mutmut reads its settings from ./pyproject.toml and keeps its state in ./mutants/, both in the
folder it runs in.  So each module gets its own folder, build/mutate/<module>/, holding links to
the package (see `prepare`), tests/ and bench/ and a pyproject.toml that is the project's own with
`only_mutate` narrowed to the module's files and the test selection narrowed to the tests below.
mutmut then generates only that module's mutants and measures (once) and runs only those tests.
The results stay in that folder: a rerun tests only the mutants without a result (new ones,
and those of functions changed since), `--survivors` reruns last run's survivors (after new
tests), and deleting the folder starts afresh.

    bench/mutate.py st4rt_repl.formats.abc_out              # generate and run all its mutants
    bench/mutate.py tokenizers --survivors                  # ... then rerun what survived
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

# module -> (files to mutate, test files, more pytest arguments: the tests left out).  Left out:
# the corpus samples (300 real tunes through music21/abc2midi, 10-20 s of fixture per mutant);
# the quick tests before them already drive every branch those reach.
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
        ["--deselect", "tests/test_abc_out.py::test_corpus_round_trip_through_abc2midi",
         "--deselect", "tests/test_abc_out.py::test_corpus_tokenizer_round_trip",
         "--deselect", "tests/test_written_form_io.py::test_300_real_tunes_keep_their_written_form_through_abc",
         "--deselect", "tests/test_written_form_io.py::test_real_tunes_keep_their_written_form_through_musicxml"]),
    # abc_in and session: the selections of the 2026-11-29 runs (bench/RESULTS.md)
    "st4rt_repl.formats.abc_in": (
        ["st4rt_repl/formats/abc_in.py"],
        ["tests/test_doctests.py::test_doctests[st4rt_repl.formats.abc_in]", "tests/test_abc_in.py",
         "tests/test_reader_quirks.py", "tests/test_written_form.py", "tests/test_tune_exact.py",
         "tests/test_bad_input.py", "tests/test_abc_vs_abc2midi.py", "tests/test_abc_in_exact.py"],
        # five slow tests (~9 s a mutant) whose cases the exact tables cover
        ["-k", "not seeded_sample and not runaway and not mangled and not real_tune_book and not ten_megabyte"]),
    "st4rt_repl.session": (
        ["st4rt_repl/session.py"],
        ["tests/test_doctests.py::test_doctests[st4rt_repl.session]", "tests/test_session.py",
         "tests/test_fault_injection.py", "tests/test_session_turns.py"],
        []),
    "tokenizers": (
        ["st4rt_repl/tokenizers/*.py"],
        ["tests/test_doctests.py", "tests/test_tokenizer_v2.py", "tests/test_tokenizers_exact.py",
         "tests/test_properties.py"],
        # and the models' doctests: torch hangs in mutmut's forked children (a "timeout" each)
        ["--deselect", "tests/test_tokenizer_v2.py::test_every_built_corpus_tune_round_trips",
         "-k", "not models"]),
}
MAPPED = ("models", "corpus", "tokenizers")   # st4rt_repl.<name> is the top-level <name>/ (package-dir)


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{x}"' for x in items) + "]"


def link(path: Path, target: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    path.symlink_to(target)


def prepare(module: str) -> Path:
    """build/mutate/<module>/ with the links and the narrowed pyproject.toml; returns it.

    Its st4rt_repl/ is a folder of links to the package's files and sub-packages, with
    tokenizers/ linked in at st4rt_repl/tokenizers/ (where it is imported from), so that
    mutmut names each mutant by the module path the tests import.  mutmut copies what it
    walks into mutants/; models/ and corpus/ (never mutated, checkpoints inside) are linked.
    """
    files, tests, more = MODULES[module]
    work = ROOT / "build" / "mutate" / module
    pkg = work / "st4rt_repl"
    if pkg.is_symlink():
        pkg.unlink()
    pkg.mkdir(parents=True, exist_ok=True)
    for old in pkg.iterdir():
        old.unlink()
    for entry in (ROOT / "st4rt_repl").iterdir():
        if entry.name != "__pycache__" and entry.name not in MAPPED:
            link(pkg / entry.name, entry)
    link(pkg / "tokenizers", ROOT / "tokenizers")
    for name in ("tests", "bench"):
        link(work / name, ROOT / name)
    subpackages = sorted(p.name for p in pkg.iterdir() if (p / "__init__.py").exists())
    sources = ["st4rt_repl/"] + [f"st4rt_repl/{d}/" for d in subpackages]
    project = (ROOT / "pyproject.toml").read_text()
    head = project.split("[tool.mutmut]")[0]
    args = ["-p", "no:cacheprovider", "-q"] + more
    section = (f"[tool.mutmut]\n"
               f"source_paths = {toml_list(sources)}\n"
               f"only_mutate = {toml_list(files)}\n"
               f'also_copy = ["bench/"]\n'
               f"timeout_multiplier = 5.0\n"     # a mutant stuck in a loop gives up after 10x its tests' time
               f"pytest_add_cli_args = {toml_list(args)}\n"
               f"pytest_add_cli_args_test_selection = {toml_list(tests)}\n")
    target = work / "pyproject.toml"
    if not target.exists() or target.read_text() != head + section:
        target.write_text(head + section)
    copy = work / "mutants" / "st4rt_repl"
    copy.mkdir(parents=True, exist_ok=True)
    for name in ("models", "corpus"):
        if not (copy / name).exists():
            link(copy / name, ROOT / name)
    return work


def survivors(mutmut: str, work: Path) -> list[str]:
    out = subprocess.run([mutmut, "results"], cwd=work, capture_output=True, text=True).stdout
    return re.findall(r"^\s*(\S+): survived", out, re.M)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("module", choices=sorted(MODULES))
    ap.add_argument("--max-children", type=int, default=1)
    ap.add_argument("--survivors", action="store_true", help="then rerun the survivors (after new tests)")
    opts = ap.parse_args()
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    work = prepare(opts.module)

    def run(*names: str) -> int:
        cmd = ["nice", "-n", "15", mutmut, "run", "--max-children", str(opts.max_children), *names]
        return subprocess.run(cmd, cwd=work).returncode

    # No names: mutmut runs the mutants that have no result yet (new, or in a changed function).
    code = run()
    if code == 0 and opts.survivors:
        names = survivors(mutmut, work)
        code = run(*names) if names else 0
    subprocess.run([mutmut, "results"], cwd=work)
    return code


if __name__ == "__main__":
    sys.exit(main())
