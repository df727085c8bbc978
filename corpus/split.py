"""Deterministic train/valid/test split by tune *family*.

Splitting by content alone leaks: variants of one tune (same title, or the same
first two bars) land on both sides and a model is scored on melodies it has
seen.  So tunes are first joined into families (union-find over shared
normalised titles and shared openings), then each family goes to one split
chosen by a hash of its smallest melody hash.  A tune's split therefore depends
only on its own notes and its family, never on unrelated tunes or file order.

>>> assign_split("0123456789abcdef") in SPLITS
True
>>> tunes = [{"melody": "a1", "title": "x", "opening": "o1"},
...          {"melody": "b2", "title": "y", "opening": "o1"},
...          {"melody": "c3", "title": "z", "opening": None}]
>>> fam = families(tunes)
>>> fam[0] == fam[1] != fam[2]
True
"""
from __future__ import annotations

import hashlib

SPLITS = ("train", "valid", "test")
FRACTIONS = (90, 5, 5)        # percent
MAX_TITLE_LINKS = 12          # a title shared by more tunes than this is generic, not a family


def assign_split(family_key: str) -> str:
    """The split of a family, from a hash of its key: 90/5/5 percent."""
    bucket = int(hashlib.sha1(("split:" + family_key).encode()).hexdigest(), 16) % 100
    acc = 0
    for name, pct in zip(SPLITS, FRACTIONS):
        acc += pct
        if bucket < acc:
            return name
    return SPLITS[-1]


class UnionFind:
    """Disjoint sets over 0..n-1 (path halving, union by size)."""

    def __init__(self, n: int):
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, i: int) -> int:
        p = self.parent
        while p[i] != i:
            p[i] = p[p[i]]
            i = p[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


def families(tunes: list[dict], *, generic=lambda title: False) -> list[str]:
    """Family key of each tune: the smallest melody hash among the tunes it is linked to.

    Each dict needs "melody" (hash), "title" (normalised) and "opening" (hash or None).
    Titles for which `generic(title)` is true, or shared by more than MAX_TITLE_LINKS
    tunes, link nothing.
    """
    uf = UnionFind(len(tunes))
    by_title: dict[str, list[int]] = {}
    by_opening: dict[str, int] = {}
    for i, t in enumerate(tunes):
        if t["title"] and not generic(t["title"]):
            by_title.setdefault(t["title"], []).append(i)
        if t["opening"]:
            j = by_opening.setdefault(t["opening"], i)
            uf.union(i, j)
    for idx in by_title.values():
        if len(idx) <= MAX_TITLE_LINKS:
            for j in idx[1:]:
                uf.union(idx[0], j)
    smallest: dict[int, str] = {}
    for i, t in enumerate(tunes):
        r = uf.find(i)
        if r not in smallest or t["melody"] < smallest[r]:
            smallest[r] = t["melody"]
    return [smallest[uf.find(i)] for i in range(len(tunes))]
