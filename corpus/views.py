"""What the models read: the built corpus as Tunes, token sequences, or 2-bar windows.

`st4rt corpus build` writes, per split, ``<split>.tunes.pkl`` (the Tunes) and
``<split>.npz`` (their token ids, as written, and their 2-bar windows).  The
views here load those files (fast: no parsing) and transpose in token space,
which is exact and cheap: a pitch token moves by the shift, the ``K:`` token by
the shift mod 12, everything else stays.

Key handling (``transpose=``):

* ``"tonic"``: every tune moved so its tonic is C, by the octave shift nearest
  the original that keeps every pitch in 36..96; the mode token is kept as
  conditioning.
* ``"none"``: as written.
* ``"augment"``: the train split in all 12 keys (each that fits 36..96, at the
  shift nearest the original); valid and test as written.

>>> from st4rt_repl.tokenizers import VOCAB
>>> ids = np.array([VOCAB.bos, VOCAB.stoi['M:2/4'], VOCAB.stoi['K:2'], VOCAB.stoi['mode:major'],
...                 VOCAB.stoi['p62'], VOCAB.stoi['d24'], VOCAB.rest, VOCAB.stoi['d24'], VOCAB.bar], np.int16)
>>> [VOCAB.itos[i] for i in transpose_ids(ids, -2)]
['<s>', 'M:2/4', 'K:0', 'mode:major', 'p60', 'd24', 'r', 'd24', '|']
>>> tonic_shift(tonic_pc=2, lo=62, hi=74), tonic_shift(tonic_pc=7, lo=40, hi=90)
(-2, 5)
"""
from __future__ import annotations

import json
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np

from st4rt_repl import paths
from st4rt_repl.tokenizers import VOCAB, encode
from st4rt_repl.tune import Tune

SPLITS = ("train", "valid", "test")
TRANSPOSE = ("tonic", "none", "augment")
PITCH_LO, PITCH_HI = 36, 96
_FIRST_PITCH = VOCAB.stoi[f"p{PITCH_LO}"]
_LAST_PITCH = VOCAB.stoi[f"p{PITCH_HI}"]
_FIRST_KEY = VOCAB.stoi["K:0"]


class CorpusMissing(FileNotFoundError):
    """The corpus has not been built (or not at this root)."""


def _root(root) -> Path:
    return Path(root) if root is not None else paths.corpus_dir()


def _check(split: str, transpose: str | None = None) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if transpose is not None and transpose not in TRANSPOSE:
        raise ValueError(f"unknown transpose {transpose!r}; use one of {', '.join(TRANSPOSE)}")


def _file(root: Path, name: str) -> Path:
    f = root / name
    if not f.exists():
        raise CorpusMissing(f"{root}: no built corpus ({name} missing); run `st4rt corpus build`")
    return f


@lru_cache(maxsize=16)
def _arrays(root: Path, split: str, stamp: float) -> dict[str, np.ndarray]:
    with np.load(root / f"{split}.npz") as z:
        return {k: z[k] for k in z.files}


def _load(root, split: str) -> dict[str, np.ndarray]:
    root = _root(root)
    f = _file(root, f"{split}.npz")
    return _arrays(root, split, f.stat().st_mtime)


# ----- transposition in token space ------------------------------------------
def shift_candidates(tonic_pc: int, target_pc: int) -> list[int]:
    """Shifts moving tonic_pc to target_pc, nearest zero first (ties: downwards).

    >>> shift_candidates(2, 0)[:3]
    [-2, 10, -14]
    """
    base = (target_pc - tonic_pc) % 12
    cands = [base + 12 * k for k in range(-4, 5)]
    return sorted(cands, key=lambda s: (abs(s), s))


def shift_to(tonic_pc: int, target_pc: int, lo: int, hi: int) -> int | None:
    """The shift nearest the original that puts the tonic on target_pc and keeps lo..hi in range."""
    for s in shift_candidates(tonic_pc, target_pc):
        if lo + s >= PITCH_LO and hi + s <= PITCH_HI:
            return s
    return None


def tonic_shift(tonic_pc: int, lo: int, hi: int) -> int | None:
    """Shift that moves the tonic to C (pitch class 0) within 36..96, or None if none fits."""
    return shift_to(tonic_pc, 0, lo, hi)


def transpose_ids(ids: np.ndarray, shift: int) -> np.ndarray:
    """Token ids moved by `shift` semitones (pitches and the K: token; rests untouched)."""
    out = ids.astype(np.int16, copy=True)
    if shift:
        p = (out >= _FIRST_PITCH) & (out <= _LAST_PITCH)
        out[p] += shift
        k = (out >= _FIRST_KEY) & (out < _FIRST_KEY + 12)
        out[k] = _FIRST_KEY + (out[k] - _FIRST_KEY + shift) % 12
    return out


def _transpose_flat(flat: np.ndarray, offsets: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Transpose a flat concatenation of sequences, one shift per sequence (vectorised)."""
    per_token = np.repeat(shifts.astype(np.int16), np.diff(offsets))
    out = flat.astype(np.int16, copy=True)
    p = (out >= _FIRST_PITCH) & (out <= _LAST_PITCH)
    out[p] += per_token[p]
    k = (out >= _FIRST_KEY) & (out < _FIRST_KEY + 12)
    out[k] = _FIRST_KEY + (out[k] - _FIRST_KEY + per_token[k]) % 12
    return out


def _shift_plan(a: dict, split: str, transpose: str) -> list[np.ndarray]:
    """One array of per-tune shifts per output copy (-999 = leave this tune out of that copy)."""
    tonic, lo, hi = a["tonic"], a["lo"], a["hi"]
    n = len(tonic)
    if transpose == "none" or (transpose == "augment" and split != "train"):
        return [np.zeros(n, np.int16)]
    if transpose == "tonic":
        s = [tonic_shift(int(t), int(l), int(h)) for t, l, h in zip(tonic, lo, hi)]
        return [np.array([-999 if x is None else x for x in s], np.int16)]
    plans = []
    for target in range(12):
        s = [shift_to(int(t), target, int(l), int(h)) for t, l, h in zip(tonic, lo, hi)]
        plans.append(np.array([-999 if x is None else x for x in s], np.int16))
    return plans


def _pieces(flat: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    return np.split(flat, offsets[1:-1]) if len(offsets) > 1 else []


# ----- public views ------------------------------------------------------------
def tunes(split: str, *, root=None) -> list[Tune]:
    """The Tunes of one split, in manifest order (as written, not transposed)."""
    _check(split)
    f = _file(_root(root), f"{split}.tunes.pkl")
    with open(f, "rb") as fh:
        return pickle.load(fh)


def rnn_sequences(split: str, *, root=None, transpose: str = "tonic") -> list[np.ndarray]:
    """Round 1's token ids (int16, tokenizer v1: the melody as played) of whole tunes, `<s>`
    prefix to `</s>`, in the chosen key handling.  The RNN reads `written_sequences` now;
    these stay for the corpus's own checks (`bench/bench_corpus.py`'s leakage measure).

    With "tonic" and "none" the i-th sequence is the i-th tune of `tunes(split)` (the build
    drops tunes that cannot reach a C tonic within 36..96).  With "augment" (train) a tune's
    transpositions follow each other, in key order C, C#, ... (keys that do not fit are left out).
    """
    _check(split, transpose)
    a = _load(root, split)
    return _transposed(a["tokens"], a["tok_off"], _shift_plan(a, split, transpose), _transpose_flat)


def _transposed(flat, off, plans, transpose) -> list[np.ndarray]:
    """Each tune once per plan (a shift per tune; -999: left out), a tune's copies together."""
    copies = [_pieces(transpose(flat, off, np.where(p != -999, p, 0)), off) for p in plans]
    return [c[i] for i in range(len(off) - 1) for p, c in zip(plans, copies) if p[i] != -999]


def written_sequences(split: str, *, root=None, transpose: str = "tonic") -> list[np.ndarray]:
    """Tokenizer-v2 ids (int16) of the WRITTEN tunes of a split, `<s>` to `</s>`.

    Encoded from ``<split>.tunes.pkl`` once and cached beside it (``<split>.v2.npz``,
    rebuilt when the pickle changes).  Key handling as `rnn_sequences`: "tonic" and
    "none" keep tune order (tonic: tunes that cannot reach C within 36..96 are left
    out); "augment" gives train tunes in every key that fits, in key order.
    """
    _check(split, transpose)
    a = _written_arrays(_root(root), split)
    return _transposed(a["tokens"], a["tok_off"], _shift_plan(a, split, transpose), _transpose_written)


def _written_arrays(root: Path, split: str) -> dict[str, np.ndarray]:
    from st4rt_repl.tokenizers import written
    src = _file(root, f"{split}.tunes.pkl")
    cache = root / f"{split}.v{written.TOKENIZER_VERSION}.npz"
    stamp = np.array([src.stat().st_mtime_ns, src.stat().st_size, len(written.VOCAB),
                      written.LAYOUT_REVISION], np.int64)
    if cache.exists():
        with np.load(cache) as z:
            if np.array_equal(z["stamp"], stamp):
                return {k: z[k] for k in z.files}
    seqs, tonic, lo, hi = [], [], [], []
    for t in tunes(split, root=root):
        try:
            ids = written.encode(t)
        except written.TokenizeError:
            ids = None
        pitches = [n.pitch for b in t.bars for n in b.notes if n.pitch is not None] or [60]
        if ids is None:        # kept in order, never used: 'tonic' drops it via lo/hi
            ids, pitches = [written.VOCAB.bos], [0, 999]
        seqs.append(np.asarray(ids, np.int16))
        tonic.append(t.key.tonic_pc)
        lo.append(min(pitches))
        hi.append(max(pitches))
    off = np.concatenate([[0], np.cumsum([len(s) for s in seqs])]).astype(np.int64)
    out = {"tokens": np.concatenate(seqs) if seqs else np.zeros(0, np.int16), "tok_off": off,
           "tonic": np.array(tonic, np.int16), "lo": np.array(lo, np.int16), "hi": np.array(hi, np.int16),
           "stamp": stamp}
    tmp = cache.with_name(cache.name + ".tmp.npz")
    np.savez(tmp, **out)
    tmp.replace(cache)
    return out


def _transpose_written(flat: np.ndarray, offsets: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Tokenizer-v2 ids moved, one shift per sequence: pitched notes by shift x durations, keys mod 12."""
    from st4rt_repl.tokenizers.written import VOCAB as V2
    per_token = np.repeat(shifts.astype(np.int32), np.diff(offsets))
    out = flat.astype(np.int32)
    p = out >= V2.first_note + V2.n_dur          # pitched joint notes (rests come first)
    out[p] += per_token[p] * V2.n_dur
    k = (out >= V2.first_key) & (out < V2.first_key + 12)
    out[k] = V2.first_key + (out[k] - V2.first_key + per_token[k]) % 12
    return out.astype(np.int16)


def vae_windows(split: str, *, root=None, transpose: str = "tonic") -> list[np.ndarray]:
    """2-bar windows (hop one bar), each `<s> M K mode` + two bars, de-duplicated by content.

    Only full bars, never the pickup; windows across a meter change are skipped.
    """
    _check(split, transpose)
    a = _load(root, split)
    flat, off, owner = a["win"], a["win_off"], a["win_tune"]
    out: list[np.ndarray] = []
    seen: set[bytes] = set()
    for plan in _shift_plan(a, split, transpose):
        per_win = plan[owner] if len(owner) else np.zeros(0, np.int16)
        keep = per_win != -999
        moved = _pieces(_transpose_flat(flat, off, np.where(keep, per_win, 0)), off)
        for w, k in zip(moved, keep):
            if not k:
                continue
            b = w.tobytes()
            if b not in seen:
                seen.add(b)
                out.append(w)
    return out


def manifest(*, root=None) -> list[dict]:
    """One dict per kept tune: split, index in that split, collection, file, X, title, key, licence..."""
    with open(_file(_root(root), "manifest.json"), encoding="utf-8") as fh:
        return json.load(fh)


def build_info(*, root=None) -> dict:
    """The summary of the last build (collections, counts, licences, non-commercial flag)."""
    with open(_file(_root(root), "build_info.json"), encoding="utf-8") as fh:
        return json.load(fh)


# ----- used by the build ---------------------------------------------------------
def two_bar_windows(tune: Tune) -> list[list[int]]:
    """Token ids of each 2-bar window of full bars (hop one bar, duplicates within the tune dropped).

    >>> from st4rt_repl.tune import Tune
    >>> t = Tune.from_bars([[(62, 1)], [(64, 2)], [(66, 2)], [(64, 2)], [(62, 1)]],
    ...                    meter=(2, 4), pickup=True)
    >>> [[VOCAB.itos[i] for i in w] for w in two_bar_windows(t)][0]
    ['<s>', 'M:2/4', 'K:0', 'mode:major', 'p64', 'd48', '|', 'p66', 'd48', '|']
    >>> len(two_bar_windows(t))   # bars 1-2, 2-3; bar 3-4 has a short last bar
    2
    """
    bars = tune.bars[1:] if tune.pickup else tune.bars
    out, seen = [], set()
    for b1, b2 in zip(bars, bars[1:]):
        if not (b1.is_full and b2.is_full) or b1.meter != b2.meter:
            continue
        ids = encode(Tune((b1, b2), b1.meter, tune.key, pickup=False), eos=False)
        key = tuple(ids)
        if key not in seen:
            seen.add(key)
            out.append(ids)
    return out
