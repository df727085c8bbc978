"""Interpolated Kneser-Ney n-gram baseline over the written-form tokens (numpy, no loops per token).

Contexts are hashed to 64-bit ints (a rolling hash of the last n-1 tokens), so
counting an order is one `np.unique` over the corpus.  Every order below the top
one uses continuation counts (how many distinct tokens precede the n-gram), the
top one raw counts; each order has an absolute discount ``D = n1 / (n1 + 2 n2)``
(Ney's estimate) times a multiplier.  Order and multiplier are tuned on the valid
split.  Evaluation builds the full next-token distribution at every position
(positions x vocab, order by order), so NLL and top-1 accuracy are both exact.

Fitting the counts takes seconds, tuning a few passes of that; `tuned()` caches
the chosen order and multiplier (not the tables) in a JSON file beside the corpus.

>>> V = written.VOCAB
>>> ids = ['<s>', 'M:2/4', 'K:0', 'mode:major', 'p60:24', 'p62:24', '|', 'p60:24', 'p62:24', '|', '</s>']
>>> seqs = [np.array([V.stoi[t] for t in ids])] * 3
>>> m = KneserNey(seqs, order=3)
>>> r = m.evaluate(seqs)
>>> round(r["accuracy"], 2), r["nll_per_token"] < 1.0   # "p62:24 |" is followed by p60:24, then by </s>
(0.86, True)
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from st4rt_repl.tokenizers import written

_MUL = np.uint64(0x9E3779B97F4A7C15)


def _mix(h: np.ndarray, v: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = (h ^ (v.astype(np.uint64) + np.uint64(0x632BE59BD9B4E019))) * _MUL
        return h ^ (h >> np.uint64(29))


def _flatten(seqs, pad: int):
    """All tunes in one array, each preceded by `pad` zeros; returns (flat, target positions, first non-prefix index per target)."""
    parts, pos, scored = [], [], []
    at = 0
    for s in seqs:
        s = np.asarray(s, dtype=np.int64)
        parts.append(np.zeros(pad, dtype=np.int64))
        parts.append(s)
        base = at + pad
        n0 = written.prefix_length(list(s[:64]))
        idx = np.arange(base + 1, base + len(s))
        pos.append(idx)
        scored.append(idx >= base + n0)
        at += pad + len(s)
    return np.concatenate(parts), np.concatenate(pos), np.concatenate(scored)


class _Table:
    """(context, token) counts of one order, sorted by context then token."""

    def __init__(self, ctx: np.ndarray, tok: np.ndarray, count: np.ndarray):
        order = np.lexsort((tok, ctx))
        self.ctx, self.tok, self.count = ctx[order], tok[order], count[order].astype(np.float64)
        self.uctx, self.start, self.n1 = np.unique(self.ctx, return_index=True, return_counts=True)
        self.total = np.add.reduceat(self.count, self.start) if len(self.count) else np.zeros(0)
        c = self.count
        n1, n2 = float((c == 1).sum()), float((c == 2).sum())
        self.discount = n1 / (n1 + 2 * n2) if n1 + n2 > 0 else 0.5


class KneserNey:
    """An interpolated Kneser-Ney model of the given order, fitted on token sequences."""

    def __init__(self, seqs, order: int = 8, mult: float = 1.0, vocab: int | None = None):
        self.order, self.mult, self.V = order, mult, vocab or len(written.VOCAB)
        flat, pos, _ = _flatten(seqs, order)
        self.raw: list[_Table] = []
        self.kn: list[_Table] = []
        w = flat[pos]
        h = np.zeros(len(pos), dtype=np.uint64)
        hashes = [h]
        for L in range(1, order):
            h = _mix(h, flat[pos - L])
            hashes.append(h)
        for L in range(order):
            key = _mix(hashes[L], w)
            u, first, cnt = np.unique(key, return_index=True, return_counts=True)
            self.raw.append(_Table(hashes[L][first], w[first], cnt))
            if L + 1 < order:
                # continuation counts: distinct left neighbours of (context, token)
                ext = _mix(hashes[L + 1], w)
                _, efirst = np.unique(ext, return_index=True)
                k2 = key[efirst]
                u2, f2, c2 = np.unique(k2, return_index=True, return_counts=True)
                self.kn.append(_Table(hashes[L][efirst][f2], w[efirst][f2], c2))

    def distributions(self, seqs, top: int | None = None, skip_prefix: bool = True):
        """Yield (order, probabilities (N, V), targets (N,)) for orders 1..top (top: raw counts)."""
        top = top or self.order
        flat, pos, scored = _flatten(seqs, self.order)
        if skip_prefix:
            pos = pos[scored]
        target = flat[pos]
        n = len(pos)
        p = np.full((n, self.V), 1.0 / self.V)
        h = np.zeros(n, dtype=np.uint64)
        rows = np.arange(n)
        for L in range(top):
            if L:
                h = _mix(h, flat[pos - L])
            out = []
            for tab in ([self.raw[L]] + ([self.kn[L]] if L < len(self.kn) and L + 1 < top else [])):
                out.append(self._interp(tab, h, p, rows))
            yield L + 1, out[0], target
            if len(out) > 1:
                p = out[1]

    def _interp(self, tab: _Table, h, lower, rows):
        D = min(0.999, tab.discount * self.mult)
        i = np.searchsorted(tab.uctx, h)
        i = np.minimum(i, max(len(tab.uctx) - 1, 0))
        found = (tab.uctx[i] == h) if len(tab.uctx) else np.zeros(len(h), bool)
        total = np.where(found, tab.total[i] if len(tab.total) else 0.0, 1.0)
        gamma = np.where(found, D * (tab.n1[i] if len(tab.n1) else 0) / total, 1.0)
        p = lower * gamma[:, None]
        fr = rows[found]
        starts, lens = tab.start[i[found]], tab.n1[i[found]]
        if len(fr):
            r = np.repeat(fr, lens)
            offs = np.repeat(starts - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(lens.sum())
            # (row, token) pairs are unique within one table, so plain fancy += is exact
            p[r, tab.tok[offs]] += np.maximum(tab.count[offs] - D, 0) / total[r]
        return p

    def evaluate(self, seqs, skip: int | None = None) -> dict:
        """Bits per note (notes and rests) and per token, top-1 accuracy, over non-prefix tokens."""
        parts = []
        for chunk in _chunks(seqs):
            for L, p, tgt in self.distributions(chunk):
                if L == self.order:
                    parts.append(_metrics(p, tgt))
        return _merge(parts)

    def next_probs(self, contexts) -> np.ndarray:
        """(B, V) next-token probabilities after each context (lists of ids), for sampling."""
        B = len(contexts)
        p = np.full((B, self.V), 1.0 / self.V)
        h = np.zeros(B, dtype=np.uint64)
        rows = np.arange(B)
        for L in range(self.order):
            if L:
                h = _mix(h, np.array([c[-L] if len(c) >= L else 0 for c in contexts], np.int64))
            tab = self.raw[L] if L + 1 == self.order else self.kn[L]
            p = self._interp(tab, h, p, rows)
        return p


def _chunks(seqs, tokens: int = 6000):
    """Groups of whole sequences of about `tokens` tokens (keeps the (N, V) tables small)."""
    cur, n = [], 0
    for s in seqs:
        cur.append(s)
        n += len(s)
        if n >= tokens:
            yield cur
            cur, n = [], 0
    if cur:
        yield cur


def _metrics(p: np.ndarray, tgt: np.ndarray) -> dict:
    lp = np.log2(np.maximum(p[np.arange(len(tgt)), tgt], 1e-300))
    notes = int((tgt >= written.VOCAB.first_note).sum())
    return {"nll_per_note": float(-lp.sum() / max(notes, 1)), "nll_per_token": float(-lp.mean()),
            "accuracy": float((p.argmax(1) == tgt).mean()), "tokens": int(len(tgt)), "notes": notes,
            "_bits": float(-lp.sum()), "_correct": float((p.argmax(1) == tgt).sum())}


def _merge(parts: list[dict]) -> dict:
    """One metrics dict from the metrics of several chunks."""
    bits = sum(p["_bits"] for p in parts)
    toks = sum(p["tokens"] for p in parts)
    notes = sum(p["notes"] for p in parts)
    return {"nll_per_note": bits / max(notes, 1), "nll_per_token": bits / max(toks, 1),
            "accuracy": sum(p["_correct"] for p in parts) / max(toks, 1), "tokens": toks, "notes": notes}


def tune(train, valid, orders=range(2, 13), mults=(0.85, 1.0, 1.15, 1.3), log=None) -> dict:
    """Choose order and discount multiplier by valid bits/note; returns the best settings."""
    best = {"nll_per_note": math.inf}
    top = max(orders)
    for mult in mults:
        m = KneserNey(train, order=top, mult=mult)
        # one pass yields every order's distribution with raw counts on top
        per_order: dict[int, list] = {}
        for chunk in _chunks(valid):
            for L, p, tgt in m.distributions(chunk, top=top):
                if L in orders:
                    per_order.setdefault(L, []).append(_metrics(p, tgt))
        for L, parts in sorted(per_order.items()):
            r = _merge(parts)
            if log:
                log(f"ngram order {L} mult {mult}: {r['nll_per_note']:.4f} bits/note")
            if r["nll_per_note"] < best["nll_per_note"]:
                best = dict(r, order=L, mult=mult)
    return best


def tuned(train, valid, cache: Path | None, stamp: str = "", log=None) -> tuple[KneserNey, dict]:
    """The tuned model: settings from `cache` (JSON) when its stamp matches, else tune and save."""
    info = None
    if cache is not None and Path(cache).exists():
        info = json.loads(Path(cache).read_text())
        if info.get("stamp") != stamp:
            info = None
    if info is None:
        info = tune(train, valid, log=log)
        info["stamp"] = stamp
        if cache is not None:
            Path(cache).parent.mkdir(parents=True, exist_ok=True)
            Path(cache).write_text(json.dumps(info))
    return KneserNey(train, order=info["order"], mult=info["mult"]), info
