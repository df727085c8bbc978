"""The corpus build: real ABC files, real music21 parsing, real cache files.

Builds use tiny inputs (a user folder of one-tune files, a few Ryan's Mammoth
files, Essen's 8-tune test file) in temporary folders, so the whole file runs in
well under a minute.
"""
from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from st4rt_repl.corpus import build as B
from st4rt_repl.corpus import clean, split, sources, views
from st4rt_repl.tokenizers import VOCAB, decode

REEL = """X:1
T:Test Reel
M:4/4
L:1/8
K:D
|:DFAF dFAF|GBdB gBdB|AFAF dFAF|EFGA BAGF|
DFAF dFAF|GBdB gBdB|AFAd cdec|d2f2 d4:|
"""
# The same reel a fourth higher, in G: a transposed duplicate.
REEL_IN_G = """X:2
T:Reel of the Glen
M:4/4
L:1/8
K:G
|:GBdB gBdB|cege c'ege|dBdB gBdB|ABcd edcB|
GBdB gBdB|cege c'ege|dBdg fgaf|g2b2 g4:|
"""
# Note for note the reel, under another title: an exact duplicate.
REEL_AGAIN = REEL.replace("X:1", "X:3").replace("T:Test Reel", "T:Some Other Name")
AIR = """X:6
T:Hills of Home
M:3/4
L:1/4
K:G
G A B|c B A|G E D|G2 A|B c d|e d c|B A G|G3|]
"""
# Shares the air's first two bars, then goes its own way: same family, same split.
AIR_VARIANT = """X:7
T:Valley Road
M:3/4
L:1/4
K:G
G A B|c B A|D E F|G2 A|B G E|D2 D|E F G|A3|]
"""
SHORT = """X:4
T:Fragment
M:4/4
L:1/4
K:C
C D E F|G4|]
"""
TOO_LOW = """X:5
T:Deep Bass
M:4/4
L:1/4
K:C
C,,, D,,, E,,, F,,,|G,,,4|C,,, D,,, E,,, F,,,|G,,,4|]
"""
# In range as written (37..96), but no octave puts its D tonic on C within 36..96.
WIDE = """X:9
T:Wide Range
M:4/4
L:1/4
K:D
^C,, D,, E,, F,,|=c'' b' a' g'|^C,, D,, E,, F,,|=c'' b' a' g'|]
"""
BROKEN = "X:1\nT:No key field\nM:4/4\nL:1/8\nABcd efga|\n"


def write_tunes(folder: Path, tunes: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tunes.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def user_build(tmp_path_factory):
    """One build of a user folder holding every kind of tune the cleaner must handle."""
    root = tmp_path_factory.mktemp("corpus")
    d = write_tunes(root / "mytunes", {
        "a_reel.abc": REEL, "b_reel_in_g.abc": REEL_IN_G, "c_reel_again.abc": REEL_AGAIN,
        "d_short.abc": SHORT, "e_low.abc": TOO_LOW, "f_air.abc": AIR, "g_variant.abc": AIR_VARIANT,
        "h_broken.abc": BROKEN, "i_wide.abc": WIDE})
    out = root / "out"
    info = B.build([], user_dirs=[d], out=out, jobs=1)
    return out, info


def dropped_rows(out: Path) -> list[dict]:
    lines = (out / "dropped.tsv").read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, ln.split("\t"))) for ln in lines[1:]]


# ----- cleaning -----------------------------------------------------------------
def test_user_build_keeps_good_tunes_and_names_every_drop(user_build):
    out, info = user_build
    kept = {r["title"] for r in views.manifest(root=out)}
    assert kept == {"Test Reel", "Hills of Home", "Valley Road"}
    reasons = {r["file"].split("/")[-1]: r["reason"] for r in dropped_rows(out)}
    assert reasons["b_reel_in_g.abc"].startswith("transposed duplicate: of user:mytunes/a_reel.abc")
    assert reasons["c_reel_again.abc"].startswith("exact duplicate: of user:mytunes/a_reel.abc")
    assert reasons["d_short.abc"].startswith("too short: 2 bars")
    assert reasons["e_low.abc"].startswith("pitch out of range: 24..31")
    assert reasons["i_wide.abc"] == "pitch out of range: 37..96 cannot move to a C tonic within 36..96"
    # the broken file is named, with its line, and the rest was built
    assert reasons["h_broken.abc"].startswith("unparseable: user:mytunes/h_broken.abc:1:")
    assert info["dropped"] == {"exact duplicate": 1, "pitch out of range": 2, "too short": 1,
                               "transposed duplicate": 1, "unparseable": 1}
    assert info["tunes"] == 3 and info["files"] == {"total": 9, "cached": 0, "parsed": 9, "duplicate": 0}


def test_transposed_duplicate_hash():
    t = decode_reel()
    assert clean.melody_hash(t) == clean.melody_hash(t.transpose(-3))
    changed = t.replace_bars(2, 2, [t.bar(3)])
    assert clean.melody_hash(changed) != clean.melody_hash(t)


def decode_reel():
    from st4rt_repl.formats import parse_abc_text
    return parse_abc_text(REEL).tune


def test_title_normalisation_links_settings():
    n = clean.normalise_title
    assert n("The Boys of Ballisodare") == n("Boys of Ballisodare No. 2") == n("boys of ballisodare (2)")
    assert n("Miss McLeod's Reel") == "miss mcleod s reel"
    assert n("The Kid on the Mountain") != n("The Kid")


# ----- splits ----------------------------------------------------------------------
def test_variants_share_a_family_and_a_split(user_build):
    out, _ = user_build
    rows = {r["title"]: r for r in views.manifest(root=out)}
    assert rows["Hills of Home"]["family"] == rows["Valley Road"]["family"]
    assert rows["Hills of Home"]["split"] == rows["Valley Road"]["split"]
    assert rows["Test Reel"]["family"] != rows["Hills of Home"]["family"]


def test_split_is_deterministic_and_local():
    rng = np.random.default_rng(7)
    tunes = [{"melody": f"{rng.integers(1 << 60):016x}", "title": f"tune {i}", "opening": None}
             for i in range(400)]
    tunes[10]["title"] = tunes[11]["title"] = "shared name"
    fam = split.families(tunes)
    first = [split.assign_split(f) for f in fam]
    assert first == [split.assign_split(f) for f in split.families(tunes)]
    assert first[10] == first[11]
    # adding or removing unrelated tunes does not move anyone
    fewer = tunes[:5] + tunes[10:12] + tunes[300:]
    fam2 = split.families(fewer)
    again = dict(zip((t["melody"] for t in fewer), (split.assign_split(f) for f in fam2)))
    assert all(again[t["melody"]] == s for t, s in zip(tunes, first) if t["melody"] in again)
    counts = {s: first.count(s) for s in split.SPLITS}
    assert counts["train"] > 300 and counts["valid"] > 5 and counts["test"] > 5


def test_generic_titles_do_not_make_giant_families():
    tunes = [{"melody": f"{i:016x}", "title": "reel", "opening": None} for i in range(30)]
    assert len(set(split.families(tunes, generic=clean.is_generic_title))) == 30
    irish = [{"melody": f"{i:016x}", "title": clean.normalise_title(t), "opening": None}
             for i, t in enumerate(["Irish Air.", "An Irish Air", "Do.", "Do."])]
    assert len(set(split.families(irish, generic=clean.is_generic_title))) == 4
    many = [{"melody": f"{i:016x}", "title": "same", "opening": None} for i in range(30)]
    assert len(set(split.families(many))) == 30   # over MAX_TITLE_LINKS: treated as generic


# ----- views -----------------------------------------------------------------------
def test_views_tonic_none_augment(user_build):
    out, _ = user_build
    rows = views.manifest(root=out)
    for name in views.SPLITS:
        tunes = views.tunes(name, root=out)
        assert [t.title for t in tunes] == [r["title"] for r in rows if r["split"] == name]
        as_written = views.rnn_sequences(name, root=out, transpose="none")
        tonic = views.rnn_sequences(name, root=out, transpose="tonic")
        assert len(as_written) == len(tonic) == len(tunes)
        for t, w, c in zip(tunes, as_written, tonic):
            assert w.dtype == np.int16 and c.dtype == np.int16
            assert decode(w).bars == t.performed().bars       # round-1 tokens: the melody as played
            assert VOCAB.itos[c[2]] == "K:0" and c[3] == w[3]        # tonic C, mode kept
            shift = views.tonic_shift(t.key.tonic_pc, *clean.pitch_range(t))
            assert abs(shift) <= 6 and decode(c).bars == t.transpose(shift).performed().bars
    train = views.rnn_sequences("train", root=out, transpose="augment")
    n_train = len(views.tunes("train", root=out))
    assert len(train) == 12 * n_train          # these tunes fit 36..96 in every key
    assert {VOCAB.itos[s[2]] for s in train} == {f"K:{k}" for k in range(12)}
    for name in ("valid", "test"):
        assert len(views.rnn_sequences(name, root=out, transpose="augment")) == \
            len(views.tunes(name, root=out))


def test_vae_windows_are_two_full_bars(user_build):
    out, _ = user_build
    name = next(s for s in views.SPLITS if any(t.title == "Test Reel" for t in views.tunes(s, root=out)))
    wins = views.vae_windows(name, root=out, transpose="none")
    assert wins and len({w.tobytes() for w in wins}) == len(wins)
    for w in wins:
        toks = [VOCAB.itos[i] for i in w]
        assert toks[0] == "<s>" and toks[2].startswith("K:") and "pickup" not in toks
        assert toks.count("|") == 2 and toks[-1] == "|" and "</s>" not in toks
        t = decode(w)
        assert t.num_bars == 2 and all(b.is_full for b in t.bars)
    # the reel's first window: bars 1 and 2 as written in D
    reel = [VOCAB.itos[i] for i in wins[0]][:6]
    assert reel == ["<s>", "M:4/4", "K:2", "mode:major", "p62", "d12"]
    tonic = views.vae_windows(name, root=out)
    assert all(VOCAB.itos[w[2]] == "K:0" for w in tonic)


def test_missing_corpus_is_one_clear_error(tmp_path):
    with pytest.raises(views.CorpusMissing, match="st4rt corpus build"):
        views.tunes("train", root=tmp_path)
    with pytest.raises(ValueError, match="unknown split"):
        views.tunes("training", root=tmp_path)


# ----- licences ---------------------------------------------------------------------
def test_noncommercial_flag_is_honoured(tmp_path):
    assert "essenFolksong" not in sources.default_collections()
    assert "essenFolksong" in sources.default_collections(allow_noncommercial=True)
    with pytest.raises(B.BuildError, match="non-commercial"):
        B.build(["essenFolksong/teste.abc"], out=tmp_path, jobs=1)
    info = B.build(["essenFolksong/teste.abc"], out=tmp_path, jobs=1, allow_noncommercial=True)
    assert info["noncommercial"] is True and info["allow_noncommercial"] is True
    assert info["collections"]["essenFolksong"]["noncommercial"] is True
    assert "NON-COMMERCIAL" in info["licence_summary"]
    rows = views.manifest(root=tmp_path)
    assert rows and all(r["noncommercial"] and r["collection"] == "essenFolksong" for r in rows)
    saved = json.loads((tmp_path / "build_info.json").read_text())
    assert saved["noncommercial"] is True


# ----- cache and resume ------------------------------------------------------------------
def test_cache_resumes_and_rebuild_is_up_to_date(tmp_path):
    first = B.build(["ryansMammoth/Ac*"], out=tmp_path, jobs=2)
    assert first["files"] == {"total": 2, "cached": 0, "parsed": 2, "duplicate": 0}
    # a bigger build reuses the two cached files: what a resumed, interrupted build does
    second = B.build(["ryansMammoth/A[bc]*"], out=tmp_path, jobs=2)
    assert second["files"] == {"total": 3, "cached": 2, "parsed": 1, "duplicate": 0}
    assert second["collections"]["ryansMammoth"]["files"] == 3
    rows = views.manifest(root=tmp_path)
    assert {r["file"] for r in rows} == {"ryansMammoth/AbithaMugginsFavoriteReel.abc",
                                         "ryansMammoth/AcaciaReel.abc", "ryansMammoth/AcrobatsHornpipe.abc"}
    third = B.build(["ryansMammoth/A[bc]*"], out=tmp_path, jobs=2)
    assert third["up_to_date"] is True and third["files"]["parsed"] == 0
    assert views.manifest(root=tmp_path) == rows


def test_killed_build_leaves_whole_cache_and_resumes(tmp_path):
    # Each file holds one long tune (the air's 8 bars 200 times, ~0.1 s to parse) so that a file
    # takes far longer than the 20 ms polling below: the kill always lands mid-build.  With short
    # tunes the whole build could finish before the first poll saw the cache.
    def long_air(i: int, c: str) -> str:
        head, body = AIR.replace("T:Hills of Home", f"T:Air {i}").replace("B c d", f"B c {c}") \
                        .rstrip("\n").rsplit("\n", 1)
        return head + "\n" + (body.replace("|]", "|") + "\n") * 200
    tunes = {f"t{i:02d}.abc": long_air(i, c) for i, c in enumerate("defgabDEFGAB")}
    d = write_tunes(tmp_path / "many", tunes)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "st4rt_repl.cli", "corpus", "build", "--collections",
                             "--user", str(d), "--jobs", "1", "--out", str(out),
                             "--quiet"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cache = out / "cache"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if cache.exists() and list(cache.rglob("*.pkl")):
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.02)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "Traceback" not in err.decode()
    done = list(cache.rglob("*.pkl"))
    assert 1 <= len(done) < len(tunes)
    half = [p for p in cache.rglob("*") if p.is_file() and p.suffix != ".pkl" and p.name != "VERSIONS"]
    assert not half    # no half-written files
    for p in done:
        assert isinstance(pickle.loads(p.read_bytes()), list)
    info = B.build([], user_dirs=[d], out=out, jobs=1)
    assert info["files"]["cached"] == len(done)
    assert info["files"]["parsed"] == len(tunes) - len(done)
    assert info["tunes"] == len(tunes)


def test_shard_assigns_every_file_once():
    rels = [f"ryansMammoth/{i}.abc" for i in range(200)]
    owners = [sources.shard_of(r, 3) for r in rels]
    assert set(owners) == {0, 1, 2}
    assert B.parse_shard("1/3") == (1, 3)
    with pytest.raises(B.BuildError):
        B.parse_shard("3/3")


# ----- command line ------------------------------------------------------------------------
def test_cli_info_and_errors(user_build, capsys):
    from st4rt_repl.cli import main
    out, _ = user_build
    assert main(["corpus", "info", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "user:mytunes" in text and "licence" in text and "transposed duplicate" in text
    assert main(["corpus", "build", "--collections", "nosuch", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown collection 'nosuch'" in err


def test_new_reader_version_reparses_and_prunes_old_cache(tmp_path, monkeypatch):
    d = write_tunes(tmp_path / "mine", {"air.abc": AIR, "reel.abc": REEL})
    out = tmp_path / "out"
    B.build([], user_dirs=[d], out=out, jobs=1)
    old = list((out / "cache").iterdir())
    assert len(old) == 1 and len(list(old[0].glob("*.pkl"))) == 2
    monkeypatch.setattr(B, "parser_version", lambda: "a-better-reader")
    info = B.build([], user_dirs=[d], out=out, jobs=1)
    assert info["files"]["parsed"] == 2 and info["pruned"] == 2
    now = list((out / "cache").iterdir())
    assert len(now) == 1 and now[0] != old[0]
    assert "parser=a-better-reader" in (now[0] / "VERSIONS").read_text()


def test_shards_merge_by_copying_caches(tmp_path):
    import shutil
    tunes = {f"t{i}.abc": AIR.replace("B c d", f"B c {c}").replace("Hills of Home", f"Air {i}")
             for i, c in enumerate("defgab")}
    d = write_tunes(tmp_path / "mine", tunes)
    parts = [B.build([], user_dirs=[d], out=tmp_path / f"s{i}", jobs=1, shard=f"{i}/2") for i in (0, 1)]
    assert sum(p["files"]["parsed"] for p in parts) == len(tunes)
    assert not (tmp_path / "s0" / "manifest.json").exists()      # a shard only fills its cache
    for i in (0, 1):
        shutil.copytree(tmp_path / f"s{i}" / "cache", tmp_path / "all" / "cache", dirs_exist_ok=True)
    info = B.build([], user_dirs=[d], out=tmp_path / "all", jobs=1)
    assert info["files"] == {"total": 6, "cached": 6, "parsed": 0, "duplicate": 0}
    assert info["tunes"] == len(tunes)
