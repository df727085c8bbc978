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


def test_abc_to_midi_to_musicxml_to_abc(tmp_path, reel, capsys):
    original = load(reel).tune
    chain = [reel, tmp_path / "m.mid", tmp_path / "m.musicxml", tmp_path / "m.mxl", tmp_path / "back.abc"]
    for src, dst in zip(chain, chain[1:]):
        assert main(["convert", str(src), str(dst)]) == 0
        out = capsys.readouterr()
        assert out.err == ""
        line = out.out.strip()
        assert "\n" not in line and line.startswith("Drowsy Maggie: 8 bars, E dorian, 2/2 -> ")
        assert load(dst).tune.sounding() == original.sounding()
    back = load(chain[-1]).tune
    assert back.bars == original.bars and back.key == original.key and back.tempo == 200
    if abc2midi.available():
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
    assert [ln for ln in dst.read_text().splitlines() if ln.startswith("%")] == ["% bar 1", "% bar 5"]


def test_convert_as_a_real_process(tmp_path, reel):
    """The installed entry point: exit code, stdout summary, nothing on stderr."""
    dst = tmp_path / "p.mid"
    proc = subprocess.run([sys.executable, "-m", "st4rt_repl.cli", "convert", str(reel), str(dst)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("Drowsy Maggie: 8 bars") and Path(dst).stat().st_size > 0
    bad = subprocess.run([sys.executable, "-m", "st4rt_repl.cli", "convert", str(tmp_path / "none.abc"),
                          str(dst)], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [f"{tmp_path / 'none.abc'}: no such file"]
