"""Build the training corpus: parse, clean, de-duplicate, split, and write the views' files.

Pipeline
--------
1. **Parse** every source file (music21's bundled ABC collections, ``--user``
   folders) in parallel processes, one task per file.  Each tune is read on its
   own (`abc_in.split_tunes` + `abc_in.read_abc_text`), so one bad tune costs
   only itself.  Per tune the worker also does all single-tune work: tokens,
   2-bar windows, melody/opening hashes, normalised title, reject reason.
2. **Cache** each file's result under ``<out>/cache/<code>/<key>.pkl``: ``<code>``
   names the versions of the code that made it (the ABC reader's
   ``PARSER_VERSION``, this module's ``FEATURES_VERSION``, the tokenizer
   vocabulary) and ``<key>`` hashes the file's bytes.  Entries are written
   atomically (temp file + ``os.replace``), so Ctrl-C or a killed process
   leaves only whole entries and the next build resumes where it stopped.  A
   complete build deletes the folders of other code versions, so a new ABC
   reader re-parses everything once and the cache does not grow without end.
   ``--cached-only`` merges what is cached so far (a partial corpus to start
   work on while a long build runs).
3. **Merge** (one process, seconds): drop exact and transposed duplicates,
   join tunes into families (shared normalised title or shared opening two
   bars), give each family a split by hash (`st4rt_repl.corpus.split`), and
   write ``train|valid|test.tunes.pkl`` + ``.npz``, ``manifest.json``,
   ``dropped.tsv`` and, last, ``build_info.json``.  When nothing changed
   (same file keys, same options) the merge is skipped.

Running on several machines
---------------------------
The parse is per file and content-addressed, so it shards freely::

    # machine i of n (same music21 version, same code):
    st4rt corpus build --shard i/n --out /shared/corpus-i     # parses only its files
    # afterwards, on one machine: pool the caches and merge
    mkdir -p corpus/cache && cp -r /shared/corpus-*/cache/. corpus/cache/
    st4rt corpus build --out corpus                            # every file cached: merge only

``--shard I/N`` assigns a source file by a hash of its collection-relative
path, so every machine agrees without talking.  Copying cache folders together
is also how to merge any two builds (a cache entry is valid wherever its key
matches).

Feeding multi-process training
------------------------------
The output is a handful of read-only files, so every ``torchrun`` rank can load
it itself (a split loads in well under a second; on a cluster, build once and
copy the output folder, or point ``ST4RT_CORPUS`` at a shared one)::

    torchrun --nproc_per_node 4 train.py   # inside: rank, world = dist.get_rank(), dist.get_world_size()
    seqs = views.written_sequences("train")[rank::world]    # a strided slice per rank

The order of a split is fixed by the build, so the slices are disjoint and
together cover the split; shuffle within the slice with a seed per epoch.
Validation can run on rank 0 alone or be strided the same way.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import signal
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from st4rt_repl import paths
from st4rt_repl.corpus import clean, split as splitting, views
from st4rt_repl.corpus.sources import (COLLECTIONS, SINGLE_TUNE_EXTENSIONS, SourceFile,
                                       default_collections, shard_of, source_files,
                                       split_spec)
from st4rt_repl.tune import Bar

FEATURES_VERSION = "1"   # bump when the per-file records below change
MERGE_VERSION = "1"      # bump when the merge's outputs change
OUTPUT_FILES = ["manifest.json", "dropped.tsv"] + [f"{s}.{e}" for s in views.SPLITS
                                                    for e in ("tunes.pkl", "npz")]

_X = re.compile(r"^X:\s*(\S*)", re.M)
_T = re.compile(r"^T:\s*(.*?)\s*$", re.M)


class BuildError(ValueError):
    """A build that cannot start (unknown collection, licence not allowed, bad shard)."""


# ----- keys ------------------------------------------------------------------------
def parser_version() -> str:
    from st4rt_repl.formats import abc_in
    return str(getattr(abc_in, "PARSER_VERSION", "0"))


def vocab_hash() -> str:
    from st4rt_repl.tokenizers import VOCAB
    return hashlib.sha1("\n".join(VOCAB.itos).encode()).hexdigest()[:12]


def file_key(data: bytes, suffix: str, salt: str) -> str:
    """Cache key of one source file: its bytes, its type, and the code versions in `salt`.

    >>> file_key(b"X:1", ".abc", "v") == file_key(b"X:1", ".abc", "v") != file_key(b"X:1", ".abc", "w")
    True
    """
    h = hashlib.sha256(data)
    h.update(f"\0{suffix.lower()}\0{salt}".encode())
    return h.hexdigest()[:32]


def _merge_code_hash() -> str:
    """Hash of the code the merge runs: editing it (licence notes, split rules) forces a re-merge."""
    here = Path(__file__).parent
    h = hashlib.sha1()
    for name in ("build.py", "clean.py", "split.py", "sources.py", "views.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:12]


def _salt() -> str:
    return f"parser={parser_version()};features={FEATURES_VERSION};vocab={vocab_hash()}"


# ----- per-file work (runs in worker processes) ----------------------------------
def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _intern_tune(t, notes: dict, bars: dict, fracs: dict):
    """The same tune built from shared Note/Bar/Fraction objects (one set per file).

    Pickle writes a shared object once, so a file's cache entry, and later a split's
    pickle, hold each distinct note and bar once: small files that load fast.
    """
    out = []
    for b in t.bars:
        nn = []
        for n in b.notes:
            d = fracs.setdefault(n.duration, n.duration)
            n2 = n if n.duration is d else replace(n, duration=d)
            nn.append(notes.setdefault(n2, n2))
        b2 = replace(b, notes=tuple(nn))
        out.append(bars.setdefault(b2, b2))
    return replace(t, bars=tuple(out))


class _Sharer:
    """Makes tunes from different cache files share equal Notes, so a split's pickle is small.

    Each cache file shares its notes and bars already (`_intern_tune`), so looking objects
    up by identity first makes this cheap: a value lookup once per distinct object.
    """

    def __init__(self):
        self.by_value: dict = {}   # Note -> the shared Note
        self.by_id: dict = {}      # id(object) -> (object, shared copy); the object kept alive

    def _note(self, n):
        hit = self.by_id.get(id(n))
        if hit is None:
            hit = self.by_id[id(n)] = (n, self.by_value.setdefault(n, n))
        return hit[1]

    def _bar(self, b):
        hit = self.by_id.get(id(b))
        if hit is None:
            hit = self.by_id[id(b)] = (b, replace(b, notes=tuple(self._note(n) for n in b.notes)))
        return hit[1]

    def tune(self, t):
        return replace(t, bars=tuple(self._bar(b) for b in t.bars))


def tune_record(tune) -> dict:
    """Everything the merge needs from one parsed tune (or the reason to drop it)."""
    from st4rt_repl.tokenizers import TokenizeError, encode
    rec = {"tune": tune, "title": tune.title, "meter": f"{tune.meter[0]}/{tune.meter[1]}",
           "key": tune.key.tonic, "mode": tune.key.mode, "bars": tune.num_bars}
    reason = clean.reject_reason(tune)
    if reason is None:
        try:
            heard = tune.performed()      # the round-1 tokens and windows are of the melody as played
            tokens = np.asarray(encode(heard), np.int16)
            wins = views.two_bar_windows(heard)
        except TokenizeError as e:
            reason = f"untokenizable: {e}"
    if reason is not None:
        rec["reason"] = reason
        return rec
    lo, hi = clean.pitch_range(tune)
    wlen = [len(w) for w in wins]
    rec.update(
        reason=None, tokens=tokens, lo=lo, hi=hi, tonic_pc=tune.key.tonic_pc,
        exact=hashlib.sha1(tokens.tobytes()).hexdigest()[:16],
        melody=clean.melody_hash(tune), opening=clean.opening_hash(tune),
        title_norm=clean.normalise_title(tune.title),
        win=np.asarray([i for w in wins for i in w], np.int16),
        win_off=np.concatenate([[0], np.cumsum(wlen)]).astype(np.int64))
    return rec


def parse_file(path: Path, rel: str) -> list[dict]:
    """Records of every tune in one file; never raises for bad content."""
    from st4rt_repl.formats import InputError, abc_in, load
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        return [{"line": None, "x": "", "title": "", "reason": f"unreadable: {rel}: {e.strerror}"}]
    if path.suffix.lower() in SINGLE_TUNE_EXTENSIONS:
        try:
            t = load(path).tune
        except Exception as e:   # a user's broken MIDI/MusicXML must not stop the build
            msg = str(e).replace(str(path), rel) if isinstance(e, InputError) else f"{rel}: {e}"
            return [{"line": None, "x": "", "title": path.stem, "reason": f"unparseable: {msg}"}]
        return [{"line": None, "x": "", **_safe_record(t, rel, {}, {}, {})}]
    text = _decode(data)
    out = []
    notes, bars, fracs = {}, {}, {}
    for line, chunk in abc_in.split_tunes(text):
        mx, mt = _X.search(chunk), _T.search(chunk)
        head = {"line": line, "x": mx.group(1) if mx else "", "title": mt.group(1) if mt else ""}
        try:
            t = abc_in.read_abc_text(chunk, source=rel).tune
        except InputError as e:
            where = f"{rel}:{line + (e.line or 1) - 1}"
            out.append({**head, "reason": f"unparseable: {where}: {e.message}"})
            continue
        except Exception as e:   # a reader bug on one tune must cost only that tune
            out.append({**head, "reason": f"unparseable: {rel}:{line}: {type(e).__name__}: {e}"})
            continue
        rec = _safe_record(t, f"{rel}:{line}", notes, bars, fracs)
        out.append({**head, **rec, "title": rec["title"] if rec["title"] != "Untitled" else head["title"]})
    return out


def _safe_record(t, where: str, notes: dict, bars: dict, fracs: dict) -> dict:
    try:
        return tune_record(_intern_tune(t, notes, bars, fracs))
    except Exception as e:   # a tune our cleaning code chokes on is dropped, not fatal
        return {"title": t.title, "reason": f"unusable: {where}: {type(e).__name__}: {e}"}


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:   # no fsync: os.replace is what makes a kill safe,
            fh.write(data)            # and 1,100 fsyncs cost more than the parsing
        os.replace(tmp, path)
    except BaseException:   # interrupted mid-write: leave no half file behind
        tmp.unlink(missing_ok=True)
        raise


def _work(path: str, rel: str, cache_file: str) -> list[dict]:
    """Worker task: parse one file and cache the result atomically."""
    try:
        recs = parse_file(Path(path), rel)
    except Exception as e:   # not cached: the next build tries this file again
        return [{"line": None, "x": "", "title": "", "reason": f"unparseable: {rel}: {type(e).__name__}: {e}"}]
    _atomic_write(Path(cache_file), pickle.dumps(recs, protocol=pickle.HIGHEST_PROTOCOL))
    return recs


def _worker_init() -> None:
    # Ctrl-C goes to the whole process group; only the parent decides what happens.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)   # the parent stops us with terminate()


def _load_cached(f: Path) -> list[dict] | None:
    try:
        with open(f, "rb") as fh:
            return pickle.load(fh)
    except Exception:   # a damaged entry is re-parsed, never trusted
        return None


# ----- the build -----------------------------------------------------------------------
def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """'2/4' -> (2, 4); shards are numbered 0..N-1.

    >>> parse_shard("0/2"), parse_shard(None)
    ((0, 2), None)
    """
    if not spec:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not m or not 0 <= int(m.group(1)) < int(m.group(2)):
        raise BuildError(f"bad --shard {spec!r}: use I/N with 0 <= I < N, e.g. 0/4")
    return int(m.group(1)), int(m.group(2))


def resolve_collections(names: list[str] | None, *, allow_noncommercial: bool) -> list[str]:
    """Check requested collections against the registry and the licence flag."""
    if names is None:
        return default_collections(allow_noncommercial=allow_noncommercial)
    out = []
    for spec in names:
        n = split_spec(spec)[0]
        if n not in COLLECTIONS:
            raise BuildError(f"unknown collection {n!r}; known: {', '.join(COLLECTIONS)}")
        if COLLECTIONS[n].noncommercial and not allow_noncommercial:
            raise BuildError(f"{n} is licensed for non-commercial use only; "
                             f"pass --allow-noncommercial to include it")
        out.append(spec)
    return out


def build(collections: list[str] | None = None, *, user_dirs=(), out=None, jobs: int | None = None,
          allow_noncommercial: bool = False, shard: str | None = None, cached_only: bool = False,
          on_start=None, on_file=None) -> dict:
    """Build (or update) the corpus in `out` and return its summary (also in build_info.json).

    cached_only: merge just the files already cached (a partial corpus while a build runs).

    on_start(n_files, total_bytes, n_cached) and on_file(source, n_tunes, cached, nbytes)
    report progress (the CLI draws a rich progress bar from them).
    """
    t0 = time.perf_counter()
    names = resolve_collections(collections, allow_noncommercial=allow_noncommercial)
    user_dirs = [Path(d) for d in user_dirs]
    for d in user_dirs:
        if not d.is_dir():
            raise BuildError(f"{d}: --user folder does not exist")
    out = Path(out) if out is not None else paths.corpus_dir()
    salt = _salt()
    cache = out / "cache" / hashlib.sha1(salt.encode()).hexdigest()[:12]
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "VERSIONS").write_text(salt + "\n")
    sh = parse_shard(shard)
    sources = source_files(names, user_dirs)
    if sh:
        sources = [s for s in sources if shard_of(s.rel, sh[1]) == sh[0]]

    keyed: list[tuple[SourceFile, str, int]] = []
    for s in sources:
        data = s.path.read_bytes()
        keyed.append((s, file_key(data, s.path.suffix, salt), len(data)))
    missing = 0
    if cached_only:
        have = [x for x in keyed if (cache / f"{x[1]}.pkl").exists()]
        missing, keyed = len(keyed) - len(have), have
    build_key = hashlib.sha256(json.dumps(
        [MERGE_VERSION, _merge_code_hash(), names, [str(d.resolve()) for d in user_dirs],
         allow_noncommercial, [(s.rel, k) for s, k, _ in keyed]]).encode()).hexdigest()[:32]

    cached = {k for _, k, _ in keyed if (cache / f"{k}.pkl").exists()}
    if on_start:
        on_start(len(keyed), sum(n for _, _, n in keyed), len(cached))

    info_file = out / "build_info.json"
    if not sh and all(k in cached for _, k, _ in keyed) and info_file.exists() and \
            all((out / f).exists() for f in OUTPUT_FILES):
        old = json.loads(info_file.read_text(encoding="utf-8"))
        if old.get("build_key") == build_key:
            if on_file:
                for s, _, n in keyed:
                    on_file(s, None, True, n)
            old["up_to_date"] = True
            old["files"] = {"total": len(keyed), "cached": len(keyed), "parsed": 0, "duplicate": 0}
            old["seconds"] = round(time.perf_counter() - t0, 2)
            return old

    results: dict[str, list[dict]] = {}
    todo, seen = [], set()
    for s, k, n in keyed:
        if k in seen:      # two files with the same bytes: parse once
            continue
        seen.add(k)
        recs = _load_cached(cache / f"{k}.pkl") if k in cached else None
        if recs is None:
            todo.append((s, k, n))
            cached.discard(k)
        else:
            results[k] = recs
            if on_file:
                on_file(s, len(recs), True, n)
    todo.sort(key=lambda x: -x[2])   # big files first: the pool finishes together
    _parse_all(todo, cache, results, jobs, on_file)

    n_cached = sum(k in cached for _, k, _ in keyed)
    # "duplicate": a file with the same bytes as another one in this build (parsed once)
    files = {"total": len(keyed), "cached": n_cached, "parsed": len(todo),
             "duplicate": len(keyed) - n_cached - len(todo)}
    if sh:
        return {"shard": f"{sh[0]}/{sh[1]}", "files": files, "out": str(out),
                "seconds": round(time.perf_counter() - t0, 2)}
    info = merge(keyed, results, out, names=names, user_dirs=user_dirs,
                 allow_noncommercial=allow_noncommercial)
    if cached_only:
        files["missing"] = missing
    info.update(build_key=build_key, files=files, up_to_date=False, partial=bool(missing),
                seconds=round(time.perf_counter() - t0, 2))
    _atomic_write(info_file, json.dumps(info, indent=1).encode())
    if not cached_only:
        info["pruned"] = _prune(cache)
    return info


def _prune(keep: Path) -> int:
    """Delete cache folders made by other code versions; returns how many entries went."""
    n = 0
    for f in keep.parent.glob("*.pkl"):   # entries of the first, flat cache layout
        f.unlink(missing_ok=True)
        n += 1
    for d in keep.parent.iterdir():
        if d.is_dir() and d != keep and (d / "VERSIONS").exists():
            n += sum(1 for f in d.iterdir() if f.suffix == ".pkl")
            shutil.rmtree(d, ignore_errors=True)
    return n


def _parse_all(todo, cache: Path, results: dict, jobs: int | None, on_file) -> None:
    if not todo:
        return
    jobs = max(1, jobs or os.cpu_count() or 1)
    if jobs == 1:   # in this process: no pool to start (tests, debugging, tiny user folders)
        for s, k, n in todo:
            results[k] = _work(str(s.path), s.rel, str(cache / f"{k}.pkl"))
            if on_file:
                on_file(s, len(results[k]), False, n)
        return
    ex = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), initializer=_worker_init)
    try:
        futs = {ex.submit(_work, str(s.path), s.rel, str(cache / f"{k}.pkl")): (s, k, n)
                for s, k, n in todo}
        for f in as_completed(futs):
            s, k, n = futs[f]
            results[k] = f.result()
            if on_file:
                on_file(s, len(results[k]), False, n)
    except BaseException:
        # Ctrl-C or a crash: stop now; every finished file is already cached whole.
        procs = list((getattr(ex, "_processes", None) or {}).values())
        ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.terminate()
        raise
    ex.shutdown()


# ----- merge -------------------------------------------------------------------------------
def merge(keyed, results: dict, out: Path, *, names, user_dirs, allow_noncommercial) -> dict:
    """Clean, de-duplicate, split and write the outputs; returns the summary dict."""
    kept: list[dict] = []
    dropped: list[dict] = []
    by_exact: dict[str, dict] = {}
    by_melody: dict[str, dict] = {}
    per_coll: dict[str, Counter] = {}
    for s, k, _ in keyed:
        c = per_coll.setdefault(s.collection, Counter())
        c["files"] += 1
        for r in results[k]:
            row = {"collection": s.collection, "file": s.rel, "line": r.get("line"),
                   "x": r.get("x", ""), "title": r.get("title", ""), "licence": s.licence,
                   "noncommercial": s.noncommercial}
            reason = r.get("reason")
            c["tunes_read"] += 1
            if reason is None and views.tonic_shift(r["tonic_pc"], r["lo"], r["hi"]) is None:
                # every view must hold every kept tune, so the tonic-C view needs a shift that fits
                reason = (f"pitch out of range: {r['lo']}..{r['hi']} cannot move to a C tonic "
                          f"within {views.PITCH_LO}..{views.PITCH_HI}")
            if reason is None:
                first = by_exact.get(r["exact"])
                if first is not None:
                    reason = f"exact duplicate: of {first['file']} X:{first['x']}"
                else:
                    first = by_melody.get(r["melody"])
                    if first is not None:
                        reason = f"transposed duplicate: of {first['file']} X:{first['x']}"
            if reason is not None:
                c["dropped"] += 1
                dropped.append({**row, "reason": reason})
                continue
            by_exact[r["exact"]] = row
            by_melody[r["melody"]] = row
            kept.append({**row, "rec": r})

    fam = splitting.families(
        [{"melody": t["rec"]["melody"], "title": t["rec"]["title_norm"], "opening": t["rec"]["opening"]}
         for t in kept], generic=clean.is_generic_title)
    sizes = Counter(fam)
    by_split: dict[str, list[dict]] = {s: [] for s in views.SPLITS}
    for t, f in zip(kept, fam):
        t["family"] = f
        t["split"] = splitting.assign_split(f)
        by_split[t["split"]].append(t)

    manifest, split_info = [], {}
    meters, modes = Counter(), Counter()
    share = _Sharer()
    for name in views.SPLITS:
        rows = by_split[name]
        tunes = [share.tune(t["rec"]["tune"]) for t in rows]
        _write_split(out, name, [t["rec"] for t in rows], tunes)
        ntok = sum(len(t["rec"]["tokens"]) for t in rows)
        nwin = sum(len(t["rec"]["win_off"]) - 1 for t in rows)
        split_info[name] = {"tunes": len(rows), "tokens": ntok, "windows": nwin}
        for i, t in enumerate(rows):
            r = t["rec"]
            c = per_coll[t["collection"]]
            c["kept"] += 1
            c["tokens"] += len(r["tokens"])
            c[f"meter {r['meter']}"] += 1
            c[f"mode {r['mode']}"] += 1
            meters[r["meter"]] += 1
            modes[r["mode"]] += 1
            manifest.append({"split": name, "index": i, "collection": t["collection"], "file": t["file"],
                             "line": t["line"], "x": t["x"], "title": t["title"], "meter": r["meter"],
                             "key": r["key"], "mode": r["mode"], "bars": r["bars"],
                             "tokens": int(len(r["tokens"])), "family": t["family"],
                             "family_size": sizes[t["family"]], "licence": t["licence"],
                             "noncommercial": t["noncommercial"]})
    _atomic_write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False).encode())
    lines = ["collection\tfile\tline\tx\ttitle\treason"]
    for d in dropped:
        lines.append("\t".join(str(d[k] if d[k] is not None else "").replace("\t", " ").replace("\n", " ")
                               for k in ("collection", "file", "line", "x", "title", "reason")))
    _atomic_write(out / "dropped.tsv", ("\n".join(lines) + "\n").encode())

    colls = {}
    for name, c in per_coll.items():
        lic = COLLECTIONS[name] if name in COLLECTIONS else None
        colls[name] = {
            "files": c["files"], "tunes_read": c["tunes_read"], "kept": c["kept"], "dropped": c["dropped"],
            "tokens": c["tokens"],
            "meters": {k[6:]: v for k, v in sorted(c.items()) if k.startswith("meter ")},
            "modes": {k[5:]: v for k, v in sorted(c.items()) if k.startswith("mode ")},
            "licence": lic.licence if lic else "user-supplied tunes: licence is the user's responsibility",
            "noncommercial": bool(lic and lic.noncommercial)}
    reasons = Counter(clean.reason_kind(d["reason"]) for d in dropped)
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "collections": colls,
        "requested": names,
        "user_dirs": [str(d) for d in user_dirs],
        "allow_noncommercial": allow_noncommercial,
        "noncommercial": any(c["noncommercial"] and c["kept"] for c in colls.values()),
        "licence_summary": ("includes NON-COMMERCIAL-only data (Essen): models trained on it may "
                            "be used non-commercially only")
        if any(c["noncommercial"] and c["kept"] for c in colls.values())
        else "no non-commercial-only collections included",
        "parser_version": parser_version(), "features_version": FEATURES_VERSION,
        "merge_version": MERGE_VERSION, "vocab": vocab_hash(),
        "tunes": len(kept), "dropped": dict(sorted(reasons.items())), "dropped_total": len(dropped),
        "splits": split_info, "families": len(sizes), "largest_family": max(sizes.values(), default=0),
        "meters": dict(meters.most_common()), "modes": dict(modes.most_common()),
    }


def _write_split(out: Path, name: str, recs: list[dict], tunes: list) -> None:
    def flat(arrays, dtype):
        lens = [len(a) for a in arrays]
        off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        data = np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)
        return data, off

    tokens, tok_off = flat([r["tokens"] for r in recs], np.int16)
    wins, owners = [], []
    for i, r in enumerate(recs):
        w, wo = r["win"], r["win_off"]
        for a, b in zip(wo[:-1], wo[1:]):
            wins.append(w[a:b])
            owners.append(i)
    win, win_off = flat(wins, np.int16)
    arrays = {"tokens": tokens, "tok_off": tok_off,
              "tonic": np.array([r["tonic_pc"] for r in recs], np.int8),
              "lo": np.array([r["lo"] for r in recs], np.int16),
              "hi": np.array([r["hi"] for r in recs], np.int16),
              "win": win, "win_off": win_off, "win_tune": np.array(owners, np.int32)}
    tmp = out / f".{name}.npz.{os.getpid()}.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, out / f"{name}.npz")
    _atomic_write(out / f"{name}.tunes.pkl", pickle.dumps(tunes, protocol=pickle.HIGHEST_PROTOCOL))
