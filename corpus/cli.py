"""`st4rt corpus build|info`: build the training corpus, or describe the one built.

    st4rt corpus build                          # O'Neill, Ryan, Aird, miscFolk
    st4rt corpus build --allow-noncommercial    # + Essen (non-commercial use only)
    st4rt corpus build --user ~/tunes --jobs 2 --out /tmp/corpus
    st4rt corpus info
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from st4rt_repl import paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The build and info sub-actions."""
    sub = parser.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build", help="parse the collections, clean, split, write the views' files")
    b.add_argument("--collections", nargs="*", metavar="NAME",
                   help="bundled collections, optionally narrowed like ryansMammoth/A* (default: every "
                        "one without a non-commercial restriction; none given: only --user folders)")
    b.add_argument("--user", action="append", default=[], metavar="DIR",
                   help="also read your own .abc/.mid/.musicxml files from DIR (repeatable)")
    b.add_argument("--jobs", type=int, default=None, help="parallel processes (default: CPU count)")
    b.add_argument("--allow-noncommercial", action="store_true",
                   help="include collections licensed for non-commercial use only (Essen)")
    b.add_argument("--out", type=Path, default=None,
                   help=f"output folder (default {paths.corpus_dir()})")
    b.add_argument("--shard", metavar="I/N", help="parse only shard I of N into the cache (no merge)")
    b.add_argument("--cached-only", action="store_true",
                   help="merge only the files already cached (a partial corpus while a build runs)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    i = sub.add_parser("info", help="tunes, tokens, meters, modes and licences of the built corpus")
    i.add_argument("--out", type=Path, default=None, help="corpus folder (default: the build's default)")


def run(args) -> int:
    """Dispatch to build or info; errors are one line on stderr."""
    from st4rt_repl.corpus.build import BuildError
    from st4rt_repl.corpus.views import CorpusMissing
    try:
        if args.action == "build":
            return _run_build(args)
        return _run_info(args)
    except (BuildError, CorpusMissing) as e:
        print(f"st4rt corpus: {e}", file=sys.stderr)
        return 2


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _run_build(args) -> int:
    import signal
    from rich.console import Console
    from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)
    from st4rt_repl.corpus.build import build, parse_shard, resolve_collections

    # check the arguments before the progress bar takes the terminal
    resolve_collections(args.collections, allow_noncommercial=args.allow_noncommercial)
    parse_shard(args.shard)
    console = Console(stderr=True)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                        TextColumn("{task.fields[files]} files, {task.fields[tunes]} tunes"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        console=console, disable=args.quiet, transient=False)
    state = {"task": None, "files": 0, "tunes": 0}

    def on_start(n_files, total_bytes, n_cached):
        state["n"] = n_files
        state["task"] = progress.add_task("parsing", total=max(total_bytes, 1),
                                          files=f"0/{n_files}", tunes=0)

    def on_file(src, n_tunes, cached, nbytes):
        state["files"] += 1
        state["tunes"] += n_tunes or 0
        progress.update(state["task"], advance=nbytes, files=f"{state['files']}/{state['n']}",
                        tunes=state["tunes"] if n_tunes is not None else "cached")
        if not console.is_terminal and not args.quiet:
            _log_line(progress.tasks[0], state)

    # `kill` (and a background job, where SIGINT is ignored) must stop the workers too
    signal.signal(signal.SIGTERM, _interrupt)
    with progress:
        info = build(args.collections, user_dirs=args.user, out=args.out, jobs=args.jobs,
                     allow_noncommercial=args.allow_noncommercial, shard=args.shard,
                     cached_only=args.cached_only, on_start=on_start, on_file=on_file)
    f = info["files"]
    if "shard" in info:
        print(f"shard {info['shard']}: {f['total']} files ({f['cached']} cached, {f['parsed']} parsed) "
              f"into {info['out']}/cache in {info['seconds']} s; merge by running build on the pooled cache")
        return 0
    out = args.out or paths.corpus_dir()
    state_txt = "up to date" if info.get("up_to_date") else "built"
    print(f"corpus {state_txt} in {out}: {info['tunes']} tunes kept, {info['dropped_total']} dropped "
          f"(dropped.tsv); {f['total']} files, {f['cached']} from cache, {f['parsed']} parsed"
          f"{', %d duplicate files' % f['duplicate'] if f.get('duplicate') else ''}; "
          f"{info['seconds']} s")
    if info.get("pruned"):
        print(f"removed {info['pruned']} cache entries made by older code versions")
    if info.get("partial"):
        print(f"note: PARTIAL corpus, {f['missing']} files not parsed yet; run build again to complete it")
    if info["noncommercial"]:
        print("note: includes non-commercial-only data (Essen); see build_info.json")
    if not args.quiet:
        print_info(info, console=Console())
    return 0


def _log_line(task, state) -> None:
    """Progress for logs (nohup, CI): a line at every 5% step, since a live bar needs a terminal."""
    pct = int(100 * task.completed / max(task.total or 1, 1))
    if pct // 5 == state.get("logged", -1) and state["files"] < state["n"]:
        return
    state["logged"] = pct // 5
    eta = task.time_remaining
    print(f"[corpus] {pct:3d}%  {state['files']}/{state['n']} files  {state['tunes']} tunes  "
          f"elapsed {task.elapsed or 0:.0f} s  ETA {'?' if eta is None else f'{eta:.0f} s'}",
          file=sys.stderr, flush=True)


def _run_info(args) -> int:
    from rich.console import Console
    from st4rt_repl.corpus.views import build_info
    print_info(build_info(root=args.out), console=Console())
    return 0


def print_info(info: dict, *, console) -> None:
    """Rich tables: per collection, per split, meters, modes, drop reasons."""
    from rich.table import Table
    t = Table(title="ST4RT+ corpus: collections", caption="full licence notes: build_info.json")
    for c in ("collection", "files", "read", "kept", "dropped", "tokens", "licence"):
        t.add_column(c, justify="right" if c in ("files", "read", "kept", "dropped", "tokens") else "left",
                     overflow="fold")
    for name, c in info["collections"].items():
        short = c["licence"].split(";")[0]    # the full note is in build_info.json
        lic = "[bold red]NON-COMMERCIAL only[/]" if c["noncommercial"] else short
        t.add_row(name, str(c["files"]), str(c["tunes_read"]), str(c["kept"]), str(c["dropped"]),
                  f"{c['tokens']:,}", lic)
    console.print(t)
    s = Table(title="splits (by tune family)")
    for c in ("split", "tunes", "tokens", "2-bar windows"):
        s.add_column(c, justify="right")
    for name, d in info["splits"].items():
        s.add_row(name, str(d["tunes"]), f"{d['tokens']:,}", f"{d['windows']:,}")
    console.print(s)
    colls = list(info["collections"])
    for what in ("meters", "modes"):
        m = Table(title=what)
        m.add_column(what[:-1])
        for name in colls:
            m.add_column(name, justify="right")
        m.add_column("total", justify="right")
        for k, v in info[what].items():
            m.add_row(k, *[str(info["collections"][n][what].get(k, "")) for n in colls], str(v))
        console.print(m)
    d = Table(title=f"dropped ({info['dropped_total']}; every one listed in dropped.tsv)")
    d.add_column("reason")
    d.add_column("tunes", justify="right")
    for k, v in info["dropped"].items():
        d.add_row(k, str(v))
    console.print(d)
    console.print(f"licence: {info['licence_summary']}; {info['families']} families "
                  f"(largest {info['largest_family']} tunes); built {info['created']} with ABC reader "
                  f"{info['parser_version']}")
    if info.get("partial"):
        console.print(f"[bold yellow]PARTIAL corpus: {info['files'].get('missing')} files not parsed yet[/]")
