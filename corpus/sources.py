"""Where training tunes come from, and under what terms.

A *collection* is a folder of ABC files: one of music21's bundled folk
collections, or a user folder given with ``--user DIR``.  Each collection
carries the licence note we found for it, so every tune in the manifest can say
where it came from and whether it may be used commercially.

What we found (music21 10.5, ``music21/corpus``): the corpus-wide
``license.txt`` says some encodings carry restrictions and points to notes in
each folder.  Only ``essenFolksong/license.txt`` exists among the folk folders:
its permission covers *non-commercial* distribution and use, so Essen is left
out unless the build is run with ``--allow-noncommercial``.  The O'Neill, Ryan,
Aird and miscFolk files have no licence note; they are transcriptions of
19th-century (and 1782) printed books, whose music is in the public domain.

>>> COLLECTIONS["essenFolksong"].noncommercial, COLLECTIONS["oneills1850"].noncommercial
(True, False)
>>> default_collections(allow_noncommercial=False)
['oneills1850', 'ryansMammoth', 'airdsAirs', 'miscFolk']
"""
from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ABC_EXTENSIONS = (".abc",)
# Other formats a user folder may hold; each file is one tune (read by st4rt_repl.formats.load).
SINGLE_TUNE_EXTENSIONS = (".mid", ".midi", ".musicxml", ".xml", ".mxl")

_M21_NOTE = "music21 corpus/license.txt applies (encodings distributed with the encoders' permission)"


@dataclass(frozen=True)
class Collection:
    """A named folder of tunes and its licence note."""
    name: str
    licence: str
    noncommercial: bool = False
    description: str = ""
    folder: Path | None = None   # None: a music21 corpus folder of the same name


COLLECTIONS: dict[str, Collection] = {c.name: c for c in [
    Collection("oneills1850",
               "public domain source (O'Neill's Music of Ireland: 1850 melodies, 1903); no licence note "
               "in folder; transcriptions by Norbert Paap and others; " + _M21_NOTE,
               description="O'Neill's 1850 Irish tunes"),
    Collection("ryansMammoth",
               "public domain source (Ryan's Mammoth Collection, 1883); no licence note in folder; "
               + _M21_NOTE,
               description="Ryan's Mammoth Collection of fiddle tunes"),
    Collection("airdsAirs",
               "public domain source (Aird, Selection of Scotch, English, Irish and Foreign Airs, "
               "1782-1803); no licence note in folder; transcriptions by Jack Campin; " + _M21_NOTE,
               description="Aird's Airs, six books"),
    Collection("miscFolk",
               "public domain sources (American fife music; Northumbrian Minstrelsy, 1882); "
               "no licence note in folder; transcriptions by Jack Campin; " + _M21_NOTE,
               description="American fife tunes and Northumbrian Minstrelsy"),
    Collection("essenFolksong",
               "NON-COMMERCIAL use only: essenFolksong/license.txt (permission of E. Dahlig-Turek for "
               "non-commercial distribution and use; ABC by Seymour Schlien)",
               noncommercial=True,
               description="Essen folksong collection (mostly German and Chinese songs)"),
]}

DEFAULT_ORDER = ["oneills1850", "ryansMammoth", "airdsAirs", "miscFolk", "essenFolksong"]

USER_LICENCE = "user-supplied tunes: licence is the user's responsibility"


def default_collections(*, allow_noncommercial: bool = False) -> list[str]:
    """The bundled collections a default build uses (Essen only with the flag)."""
    return [n for n in DEFAULT_ORDER if allow_noncommercial or not COLLECTIONS[n].noncommercial]


@dataclass(frozen=True)
class SourceFile:
    """One file to parse: its collection, absolute path, and path shown to users."""
    collection: str
    path: Path
    rel: str          # collection-relative path, e.g. "oneills1850/0001-0050.abc"
    licence: str
    noncommercial: bool


def _music21_corpus_root() -> Path:
    import music21.corpus
    return Path(music21.corpus.__file__).parent


@lru_cache(maxsize=1)
def _music21_abc_paths() -> tuple[Path, ...]:
    from music21 import corpus
    return tuple(Path(p) for p in corpus.getPaths(fileExtensions=("abc",)))


def music21_files(name: str) -> list[Path]:
    """ABC files of one bundled music21 collection, sorted."""
    root = _music21_corpus_root() / name
    return sorted(p for p in _music21_abc_paths() if root in p.parents)


def user_files(folder: Path) -> list[Path]:
    """Tune files under a user folder (recursive), sorted."""
    folder = Path(folder)
    exts = ABC_EXTENSIONS + SINGLE_TUNE_EXTENSIONS
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in exts)


def split_spec(spec: str) -> tuple[str, str | None]:
    """'ryansMammoth/Ac*' -> ('ryansMammoth', 'Ac*'): a collection and an optional file pattern.

    >>> split_spec("oneills1850"), split_spec("ryansMammoth/Ac*.abc")
    (('oneills1850', None), ('ryansMammoth', 'Ac*.abc'))
    """
    name, _, pattern = spec.partition("/")
    return name, pattern or None


def source_files(collections: list[str], user_dirs: list[Path] = ()) -> list[SourceFile]:
    """Every file of the chosen collections and user folders, in a stable order.

    A collection may be narrowed to some files with a pattern: ``ryansMammoth/Ac*``.
    """
    out: list[SourceFile] = []
    for spec in collections:
        name, pattern = split_spec(spec)
        c = COLLECTIONS[name]
        root = c.folder or _music21_corpus_root() / name
        files = user_files(root) if c.folder else music21_files(name)
        for p in files:
            if pattern and not fnmatch.fnmatch(p.relative_to(root).as_posix(), pattern):
                continue
            out.append(SourceFile(name, p, f"{name}/{p.relative_to(root).as_posix()}",
                                  c.licence, c.noncommercial))
    for d in user_dirs:
        d = Path(d).resolve()
        name = f"user:{d.name}"
        for p in user_files(d):
            out.append(SourceFile(name, p, f"{name}/{p.relative_to(d).as_posix()}", USER_LICENCE, False))
    return out


def shard_of(rel: str, n: int) -> int:
    """Which of n shards a source file belongs to (stable across machines).

    >>> shard_of("oneills1850/0001-0050.abc", 1)
    0
    """
    return int(hashlib.sha1(rel.encode()).hexdigest(), 16) % n
