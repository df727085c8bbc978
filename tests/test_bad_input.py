"""Bad input: each case gets one clear line `file[:line[:col]]: message`, through the API
(InputError) and through `st4rt convert` (exit status 2, one line on stderr
`st4rt convert: file[:line[:col]]: message`, no traceback)."""
import subprocess
import sys

import mido
import pytest

from st4rt_repl.cli import EXIT_USER, main
from st4rt_repl.formats import InputError, load, parse_abc_text

GOOD_ABC = "X:1\nT:Scale\nM:4/4\nL:1/8\nK:G\nGABc defg|g8|]\n"


def _midi_bytes(channel: int | None) -> bytes:
    """A small MIDI file; channel None writes no notes at all."""
    import io
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    tr = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0)])
    if channel is not None:
        for k in range(4):
            tr.append(mido.Message("note_on", note=36 + k, velocity=90, channel=channel, time=0))
            tr.append(mido.Message("note_off", note=36 + k, velocity=0, channel=channel, time=240))
    mid.tracks.append(tr)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def _junk(n=4000, seed=5):
    import random
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


# name, file contents, a fragment the message must hold
CASES = [
    ("empty.mid", b"", "empty file"),
    ("empty.abc", b"", ""),
    ("empty.musicxml", b"", "empty file"),
    ("junk.mid", _junk(), "not a MIDI file"),
    ("junk.musicxml", _junk(), "MusicXML"),
    ("truncated.mid", _midi_bytes(0)[:30], "truncated MIDI file"),
    ("drums.mid", _midi_bytes(9), "only drum notes"),
    ("silent.mid", _midi_bytes(None), "no notes"),
    ("nokey.abc", b"X:1\nT:No key\nM:4/4\nL:1/8\nGABc defg|\n", "K:"),
    ("hkey.abc", b"X:1\nT:Bad key\nM:4/4\nL:1/8\nK:Hmaj\nGABc defg|\n", "Hmaj"),
    ("notes.txt", GOOD_ABC.encode(), "unknown file type .txt"),
]


PREFIX = "st4rt convert: "


def _one_line_for(path, err: str, fragment: str, prefix: str = ""):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix + str(path)) and "Traceback" not in err
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("name,data,fragment", CASES, ids=[c[0] for c in CASES])
def test_api_raises_one_line_input_error(tmp_path, name, data, fragment):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        load(path)
    _one_line_for(path, str(info.value), fragment)
    assert info.value.file == str(path)


@pytest.mark.parametrize("name,data,fragment", CASES, ids=[c[0] for c in CASES])
def test_convert_prints_one_line_and_fails(tmp_path, capsys, name, data, fragment):
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["convert", str(path), str(tmp_path / "out.abc")]) == EXIT_USER
    out = capsys.readouterr()
    assert out.out == ""
    _one_line_for(path, out.err, fragment, PREFIX)
    assert not (tmp_path / "out.abc").exists()


def test_abc_errors_carry_line_numbers(tmp_path):
    path = tmp_path / "two.abc"
    path.write_text(GOOD_ABC + "\nX:2\nT:Second\nM:4/4\nL:1/8\nK:Hmaj\nGABc|\n")
    with pytest.raises(InputError) as info:
        load(path, tune=2)
    assert info.value.line is not None and info.value.line >= 9


def test_bad_output_name_fails_before_reading(tmp_path, capsys):
    src = tmp_path / "ok.abc"
    src.write_text(GOOD_ABC)
    assert main(["convert", str(src), str(tmp_path / "out.pdf")]) == EXIT_USER
    assert capsys.readouterr().err.strip() == f"{PREFIX}{tmp_path / 'out.pdf'}: unknown file type .pdf; " \
        "use one of .abc .mid .midi .musicxml .mxl .xml"


def test_latin1_abc_with_accented_title(tmp_path, capsys):
    path = tmp_path / "latin.abc"
    path.write_bytes("X:1\nT:Éamonn an Chnoic\nT:Sé\nM:3/4\nL:1/8\nK:Ador\nA2 B2 c2|e6|]\n".encode("latin-1"))
    t = load(path).tune
    assert t.title == "Éamonn an Chnoic" and t.num_bars == 2
    dst = tmp_path / "latin.musicxml"
    assert main(["convert", str(path), str(dst)]) == 0
    assert capsys.readouterr().out.startswith("Éamonn an Chnoic: 2 bars")
    assert load(dst).tune.title == "Éamonn an Chnoic"


def _big_many_tunes() -> str:
    tunes, k, size = [], 0, 0
    while size < 10_000_000:
        k += 1
        tunes.append(GOOD_ABC.replace("X:1", f"X:{k}").replace("T:Scale", f"T:Scale {k}") + "\n")
        size += len(tunes[-1])
    return "".join(tunes)


def _big_one_tune() -> str:
    bar = "GABc defg|"
    return "X:1\nT:Huge\nM:4/4\nL:1/8\nK:G\n" + (bar * 8 + "\n") * (10_000_000 // (8 * len(bar)))


@pytest.mark.parametrize("make", [_big_many_tunes, _big_one_tune], ids=["many-tunes", "one-tune"])
def test_ten_megabyte_paste_is_a_quick_success_or_a_clear_error(make):
    text = make()
    assert len(text) >= 10_000_000
    try:
        r = parse_abc_text(text)
    except InputError as e:
        assert "\n" not in str(e) and str(e).startswith("<paste>")
    else:
        assert r.tune.num_bars >= 1 and r.tune.title.startswith("Scale")


@pytest.mark.parametrize("make", [_big_many_tunes, _big_one_tune], ids=["many-tunes", "one-tune"])
def test_ten_megabyte_file_through_convert(tmp_path, make):
    path = tmp_path / "big.abc"
    path.write_text(make())
    # The timeout only guards against a hang; it is not a speed test.
    proc = subprocess.run([sys.executable, "-m", "st4rt_repl.cli", "convert", str(path),
                           str(tmp_path / "big.mid")], capture_output=True, text=True, timeout=300)
    if proc.returncode == 0:
        assert proc.stdout.startswith("Scale 1:") and proc.stderr == ""
    else:
        assert proc.returncode == EXIT_USER
        _one_line_for(path, proc.stderr, "", PREFIX)
