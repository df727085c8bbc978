"""`st4rt convert`: every direction between ABC, MIDI and MusicXML, with the summary line."""
import subprocess
import sys
from pathlib import Path

import pytest

from st4rt_repl.cli import main
from st4rt_repl.formats import abc2midi, load

REEL = """X:1
T:Drowsy Maggie
M:2/2
L:1/8
Q:1/4=200
K:Edor
E2BE dEBE|E2BE AFDF|E2BE dEBE|BABc dAFD:|
"""

MULTI = REEL + """
X:2
T:The Kesh
M:6/8
L:1/8
K:G
D|GAG GAB|ABA ABd|edd gdd|edB dBA|]
"""


@pytest.fixture
def reel(tmp_path):
    p = tmp_path / "maggie.abc"
    p.write_text(REEL)
    return p


@pytest.mark.skipif(not abc2midi.available(), reason="abc2midi (Debian package abcmidi) is not installed")
def test_abc_to_midi_to_musicxml_to_abc(tmp_path, reel, capsys):
    original = load(reel).tune
    chain = [reel, tmp_path / "m.mid", tmp_path / "m.musicxml", tmp_path / "m.mxl", tmp_path / "back.abc"]
    heard = original.performed().sounding()
    for k, (src, dst) in enumerate(zip(chain, chain[1:])):
        assert main(["convert", str(src), str(dst)]) == 0
        out = capsys.readouterr()
        assert out.err == ""
        line = out.out.strip()
        # the ABC has 4 written bars between repeat signs; MIDI has no written form: 8 bars
        bars = "4 bars (8 played)" if k == 0 else "8 bars"
        assert "\n" not in line and line.startswith(f"Drowsy Maggie: {bars}, E dorian, 2/2 -> ")
        assert load(dst).tune.performed().sounding() == heard
    back = load(chain[-1]).tune
    def plain(t):        # pitches and lengths (the spelling is the writer's business)
        return [[(n.pitch, n.duration, n.tie) for n in b.notes] for b in t.bars]
    assert plain(back) == plain(original.performed())
    assert back.key == original.key and back.tempo == 200
    assert abc2midi.check(chain[-1].read_text()) == []


def test_midi_input_summary_says_what_was_chosen(tmp_path, reel, capsys):
    mid = tmp_path / "m.midi"
    assert main(["convert", str(reel), str(mid)]) == 0
    capsys.readouterr()
    assert main(["convert", str(mid), str(tmp_path / "x.abc")]) == 0
    assert "[track 2 'Melody']" in capsys.readouterr().out


def test_tune_option_picks_from_multi_tune_file(tmp_path, capsys):
    src = tmp_path / "two.abc"
    src.write_text(MULTI)
    assert main(["convert", str(src), str(tmp_path / "k.abc"), "--tune", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The Kesh: 4 bars + pickup, G major, 6/8") and "tune 2 of 2" in out
    assert "T:The Kesh" in (tmp_path / "k.abc").read_text()
    assert main(["convert", str(src), str(tmp_path / "k.mid"), "--tune", "drowsy maggie"]) == 0
    assert capsys.readouterr().out.startswith("Drowsy Maggie")


def test_bar_numbers_option(tmp_path, reel, capsys):
    dst = tmp_path / "n.abc"
    assert main(["convert", str(reel), str(dst), "--bar-numbers"]) == 0
    assert [ln for ln in dst.read_text().splitlines() if ln.startswith("%")] == ["% bar 1"]  # 4 written
    assert main(["convert", str(reel), str(dst), "--bar-numbers", "--unfold", "--force"]) == 0
    assert [ln for ln in dst.read_text().splitlines() if ln.startswith("%")] == ["% bar 1", "% bar 5"]


def test_convert_as_a_real_process(tmp_path, reel):
    """The installed entry point: exit code, stdout summary, nothing on stderr."""
    dst = tmp_path / "p.mid"
    proc = subprocess.run([sys.executable, "-m", "st4rt_repl.cli", "convert", str(reel), str(dst)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("Drowsy Maggie: 4 bars (8 played)") and Path(dst).stat().st_size > 0
    bad = subprocess.run([sys.executable, "-m", "st4rt_repl.cli", "convert", str(tmp_path / "none.abc"),
                          str(dst)], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [f"st4rt convert: {tmp_path / 'none.abc'}: no such file"]


# ----- issue 13: nothing overwritten silently, one error style --------------------------------
def _err_line(capsys) -> str:
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and out.out == "", out
    return lines[0]


def test_an_existing_output_needs_force(tmp_path, reel, capsys):
    dst = tmp_path / "out.abc"
    dst.write_text("keep me")
    assert main(["convert", str(reel), str(dst)]) == 2
    assert _err_line(capsys) == f"st4rt convert: {dst}: already exists (add --force to replace it)"
    assert dst.read_text() == "keep me"
    assert main(["convert", str(reel), str(dst), "--force"]) == 0
    assert "T:Drowsy Maggie" in dst.read_text()


def test_the_input_is_never_overwritten_even_with_force(tmp_path, reel, capsys):
    before = reel.read_text()
    for extra in ([], ["--force"]):
        assert main(["convert", str(reel), str(reel)] + extra) == 2
        assert "is the input file; refusing to write over it" in _err_line(capsys)
    same = tmp_path / "." / "maggie.abc"           # another spelling of the same file
    assert main(["convert", str(reel), str(same), "--force", "--unfold"]) == 2
    capsys.readouterr()
    assert reel.read_text() == before


def test_a_folder_as_output_gets_the_tunes_name(tmp_path, reel, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["convert", str(reel), str(folder)]) == 2
    assert "is a folder; add --to" in _err_line(capsys)
    assert main(["convert", str(reel), str(folder), "--to", "midi"]) == 0
    assert (folder / "drowsy-maggie.mid").read_bytes()[:4] == b"MThd"
    assert str(folder / "drowsy-maggie.mid") in capsys.readouterr().out


def test_a_junk_mxl_is_not_a_zip_file(tmp_path, capsys):
    junk = tmp_path / "junk.mxl"
    junk.write_text("<?xml version='1.0'?><score-partwise>")
    assert main(["convert", str(junk), str(tmp_path / "x.abc")]) == 2
    line = _err_line(capsys)
    assert line.startswith(f"st4rt convert: {junk}: not a zip file")
    assert not (tmp_path / "x.abc").exists()


def test_fold_and_unfold_are_one_or_the_other(tmp_path, reel, capsys):
    with pytest.raises(SystemExit) as e:
        main(["convert", str(reel), str(tmp_path / "x.abc"), "--fold", "--unfold"])
    assert e.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    dst = tmp_path / "flat.abc"
    assert main(["convert", str(reel), str(dst), "--unfold"]) == 0
    flat = load(dst).tune
    assert flat.num_bars == 8 and not flat.has_form
    assert flat.sounding() == load(reel).tune.performed().sounding()


def test_fold_finds_the_repeat_a_midi_file_cannot_say(tmp_path, reel, capsys):
    mid, back = tmp_path / "m.mid", tmp_path / "folded.abc"
    assert main(["convert", str(reel), str(mid)]) == 0
    assert load(mid).tune.num_bars == 8                      # MIDI: the repeat played out
    assert main(["convert", str(mid), str(back), "--fold"]) == 0
    assert "4 bars (8 played)" in capsys.readouterr().out.splitlines()[-1]
    folded = load(back).tune
    assert folded.bar(1).repeat_start or folded.barline_after(4) == ":|"
    assert folded.performed().sounding() == load(reel).tune.performed().sounding()
