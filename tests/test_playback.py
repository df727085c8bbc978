"""Hearing and seeing tunes with the real tools: fluidsynth, abcm2ps, mido ports."""
import re
import shutil
import time
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

from st4rt_repl import playback
from st4rt_repl.cli import main
from st4rt_repl.config import Config
from st4rt_repl.playback import PlaybackError
from st4rt_repl.tune import Key, Tune, TuneError


def _has_soundfont() -> bool:
    try:
        playback.find_soundfont(Config())
        return True
    except PlaybackError:
        return False


needs_fluidsynth = pytest.mark.skipif(shutil.which("fluidsynth") is None or not _has_soundfont(),
                                      reason="needs fluidsynth and a General MIDI soundfont")
needs_abcm2ps = pytest.mark.skipif(shutil.which("abcm2ps") is None, reason="needs abcm2ps")

QUIET = Config(audio_driver="none")   # never make a sound from the tests

SCALE_ABC = """X:1
T:Test Scale
M:4/4
L:1/8
Q:1/4=120
K:D
DEFG ABcd|e2d2 c2B2|A2F2 D4|d8|]
"""


@pytest.fixture(autouse=True)
def home(home):
    """tests/conftest.py's home, and no sound left playing after the test."""
    yield home
    playback.stop()


def reel(tempo: int = 120) -> Tune:
    """Four 4/4 bars (16 quarters: 8 s at 120), a tie over the barline, a rest."""
    bar = [(62, '1/2'), (66, '1/2'), (69, '1/2'), (66, '1/2'), (74, 1), (69, 1)]
    return Tune.from_bars([bar, [(71, 1), (69, 1), (67, 1), (66, 1, True)],
                           [(66, 1), (64, 1), (None, 1), (62, 1)], [(62, 4)]],
                          key=Key("D", "major"), title="Test Reel", tempo=tempo)


def read_wav(path):
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 44100)
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return data.astype(np.float64) / 32768.0


# ----- WAV ---------------------------------------------------------------------------

@needs_fluidsynth
def test_render_is_audible_not_clipped_and_lasts_the_tune(tmp_path):
    out = playback.render_wav(reel(), tmp_path / "reel.wav", config=QUIET)
    audio = read_wav(out)
    seconds = 16 * 60 / 120
    assert seconds + 1.0 <= len(audio) / 44100 <= seconds + 2.5
    music = audio[: int(seconds * 44100)]
    peak, rms = np.abs(audio).max(), np.sqrt((music ** 2).mean())
    assert 0.3 <= peak <= playback.PEAK_LIMIT + 1e-3, peak
    assert rms > 0.03, rms
    # The rest in bar 3 (quarters 10-11 = 5.0-5.5 s, after the release) is quieter than the notes.
    assert np.abs(audio[int(5.4 * 44100):int(5.5 * 44100)]).max() < 0.5 * peak
    # The tail fades to silence: no click at the cut.
    assert np.abs(audio[-441:]).max() < 0.01


@needs_fluidsynth
def test_render_plays_the_right_pitch(tmp_path):
    a4 = Tune.from_bars([[(69, 4)]], title="A", tempo=120)
    audio = read_wav(playback.render_wav(a4, tmp_path / "a.wav",
                                         config=Config(program=73)))[: 2 * 44100, 0]
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    freqs = np.fft.rfftfreq(len(audio), 1 / 44100)
    assert abs(freqs[np.argmax(spectrum)] - 440.0) < 5.0


@needs_fluidsynth
def test_tempo_is_honoured(tmp_path):
    def music_seconds(path):
        return len(read_wav(path)) / 44100 - playback.TAIL_SECONDS
    slow = music_seconds(playback.render_wav(reel(120), tmp_path / "slow.wav", config=QUIET))
    fast = music_seconds(playback.render_wav(reel(240), tmp_path / "fast.wav", config=QUIET))
    forced = music_seconds(playback.render_wav(reel(120), tmp_path / "cfg.wav",
                                               config=Config(tempo=60)))
    assert slow == pytest.approx(8.0, abs=0.05)
    assert fast == pytest.approx(slow / 2, abs=0.05)
    assert forced == pytest.approx(16.0, abs=0.05)     # the config's tempo wins over the tune's


@needs_fluidsynth
def test_render_some_bars(tmp_path):
    audio = read_wav(playback.render_wav(reel(), tmp_path / "b.wav", config=QUIET, bars=(2, 3)))
    assert len(audio) / 44100 == pytest.approx(4.0 + playback.TAIL_SECONDS, abs=0.05)
    with pytest.raises(TuneError, match="bar 7 does not exist"):
        playback.render_wav(reel(), tmp_path / "c.wav", config=QUIET, bars=(2, 7))


@needs_fluidsynth
def test_a_loud_render_is_scaled_down_not_clipped(tmp_path):
    audio = read_wav(playback.render_wav(reel(), tmp_path / "loud.wav", config=Config(gain=10)))
    assert 0.9 <= np.abs(audio).max() <= playback.PEAK_LIMIT + 1e-3


def test_missing_soundfont_is_one_clear_line(tmp_path):
    cfg = Config(soundfont=str(tmp_path / "nowhere.sf2"), source="my.toml")
    with pytest.raises(PlaybackError) as e:
        playback.render_wav(reel(), tmp_path / "x.wav", config=cfg)
    assert str(e.value) == f"soundfont not found: {tmp_path / 'nowhere.sf2'} (soundfont in my.toml)"
    assert not (tmp_path / "x.wav").exists()


def test_a_file_that_is_not_a_soundfont_is_refused(tmp_path):
    fake = tmp_path / "fake.sf2"
    fake.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    with pytest.raises(PlaybackError, match=r"^not a SoundFont \(.sf2/.sf3\) file: "):
        playback.render_wav(reel(), tmp_path / "x.wav", config=Config(soundfont=str(fake)))


def test_missing_fluidsynth_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PlaybackError) as e:
        playback.render_wav(reel(), tmp_path / "x.wav", config=QUIET)
    assert str(e.value) == "fluidsynth is not installed (Debian/Ubuntu: apt install fluidsynth)"


# ----- play without an audio device ----------------------------------------------------

def _paths_in(message: str) -> tuple[Path, Path]:
    m = re.search(r": wrote (\S+\.wav) and (\S+\.mid)$", message)
    assert m, message
    return Path(m.group(1)), Path(m.group(2))


@needs_fluidsynth
def test_play_without_audio_writes_wav_and_midi_and_says_so(home):
    cfg = Config(audio_driver="none", program=40, source="c.toml")
    message = playback.play(reel(), config=cfg)
    assert "\n" not in message
    assert message.startswith('audio is off (audio_driver = "none" in c.toml): wrote ')
    wav, mid = _paths_in(message)
    assert wav.parent == mid.parent == home / "home" / "data" / "renders"
    assert np.abs(read_wav(wav)).max() > 0.3
    messages = list(mido.MidiFile(mid))
    assert [m.program for m in messages if m.type == "program_change"] == [40]
    assert [m.note for m in messages if m.type == "note_on" and m.velocity] == \
        [p for _, _, p in reel().sounding()]
    assert not playback.is_playing()
    # The same tune and settings reuse the same files rather than piling up new ones
    # (not rendered again: a new render would be a new file, os.replace'd in).
    inode = wav.stat().st_ino
    assert playback.play(reel(), config=cfg) == message
    assert len(list(wav.parent.iterdir())) == 2 and wav.stat().st_ino == inode
    # Other settings are other files.
    other = playback.play(reel(), config=Config(audio_driver="none", program=73))
    assert _paths_in(other)[0] != wav


@needs_fluidsynth
def test_play_follows_the_repeats_and_plays_the_chords(home):
    from st4rt_repl.formats import parse_abc_text
    t = parse_abc_text('X:1\nT:Form\nM:4/4\nL:1/8\nK:D\n|:"D"DEFG ABcd|1 "A7"A8:|2 "D"d8|]\n').tune
    assert t.num_bars == 3 and t.num_played_bars == 4
    for chords in (True, False):
        cfg = Config(audio_driver="none", chords=chords, source="c.toml")
        wav, mid = _paths_in(playback.play(t, config=cfg))
        tracks = mido.MidiFile(mid).tracks
        melody = [m.note for m in tracks[1] if m.type == "note_on" and m.velocity]
        assert melody == [p for _, _, p in t.performed().sounding()]      # 4 bars as played
        chord_notes = [m.note for tr in tracks[2:] for m in tr if m.type == "note_on" and m.velocity]
        assert bool(chord_notes) == chords
        if chords:             # D, A7, D, D (bar 1 again), under the melody
            assert {n % 12 for n in chord_notes} >= {2, 6, 9, 1, 7}
        seconds = len(read_wav(wav)) / 44100
        assert seconds == pytest.approx(16 * 60 / 120 + playback.TAIL_SECONDS, abs=0.05)


@needs_fluidsynth
def test_renders_are_a_bounded_cache(home):
    """Every `play` without a sound card writes a WAV; only the newest N files (or M MB) stay."""
    import os
    import time
    cfg = Config(audio_driver="none", renders_max_files=4, source="c.toml")
    folder = home / "home" / "data" / "renders"
    made = []
    for k in range(4):      # four different tunes: 8 files written, 4 kept
        t = reel().transpose(k).with_(title=f"Tune {k}")
        made.append(_paths_in(playback.play(t, config=cfg)))
        for p in made[-1]:  # distinct ages, whatever the file system's clock resolution
            os.utime(p, (time.time() - 100 + k, time.time() - 100 + k))
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == sorted(p.name for p in made[-1] + made[-2])
    # and a megabyte budget: one WAV of this reel is ~1.7 MB, so 1 MB keeps only the newest pair
    small = Config(audio_driver="none", renders_max_files=100, renders_max_mb=1, source="c.toml")
    newest = _paths_in(playback.play(reel().with_(title="Last"), config=small))
    assert sorted(folder.iterdir()) == sorted(newest)


@needs_fluidsynth
def test_play_some_bars_writes_only_those(home):
    wav, mid = _paths_in(playback.play(reel(), config=QUIET, bars=(4, 4)))
    assert [m.note for m in mido.MidiFile(mid) if m.type == "note_on"] == [62]
    assert len(read_wav(wav)) / 44100 == pytest.approx(2.0 + playback.TAIL_SECONDS, abs=0.05)


@needs_fluidsynth
def test_auto_detection_finds_no_device_here():
    if playback.detect_audio_driver(Config()) is not None:
        pytest.skip("this machine has an audio device")
    message = playback.play(reel(), config=Config())
    assert message.startswith("no audio device found (no sound card in /dev/snd, "
                              "no PulseAudio/PipeWire server): wrote ")
    _paths_in(message)


@needs_fluidsynth
@pytest.mark.skipif(Path("/dev/snd").exists(), reason="this machine has an ALSA sound card")
def test_a_driver_that_fails_to_open_falls_back_to_files(monkeypatch):
    monkeypatch.setattr(playback, "PROBE_SECONDS", 30.0)   # it returns as soon as fluidsynth exits
    message = playback.play(reel(), config=Config(audio_driver="alsa"))
    assert message.startswith("cannot play through alsa (")
    assert "error" in message.split(": wrote ")[0].lower() and "\n" not in message
    wav, mid = _paths_in(message)
    assert wav.exists() and mid.exists() and not playback.is_playing()


@needs_fluidsynth
def test_live_play_runs_in_the_background_until_stopped(home):
    # fluidsynth's "file" driver plays in real time into renders/fluidsynth.wav: a real
    # driver that needs no sound card.
    message = playback.play(reel(tempo=120), config=Config(audio_driver="file"))
    assert message == ("playing 'Test Reel' bars 1-4 at 120 bpm on piano through file; "
                       "stop (or Ctrl-C) stops it")
    assert playback.is_playing()                  # play() returned while the music goes on
    live = home / "home" / "data" / "renders" / "fluidsynth.wav"
    deadline = time.monotonic() + 20
    while not (live.exists() and live.stat().st_size > 44100) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.stat().st_size > 44100            # sound is coming out
    proc = playback._current.proc
    assert playback.stop() is True
    assert proc.poll() is not None and not playback.is_playing()
    assert playback.status() == "nothing is playing"


@needs_fluidsynth
def test_live_play_ends_by_itself(home):
    playback.play(reel(tempo=960), config=Config(audio_driver="file"))   # 1 s of music
    _wait_until_done()
    assert playback.status() == "finished playing 'Test Reel' bars 1-4 at 960 bpm on piano"
    assert playback.stop() is False


@needs_fluidsynth
def test_live_loop_keeps_playing_past_the_end(home):
    playback.play(reel(tempo=960), loop=True, config=Config(audio_driver="file"))
    time.sleep(2.5)                               # more than twice the tune's 1 s
    assert playback.is_playing()
    assert playback.status().endswith(", looping")
    assert playback.stop() is True and not playback.is_playing()


def test_detect_audio_driver_follows_the_config():
    assert playback.detect_audio_driver(Config(audio_driver="none")) is None
    assert playback.detect_audio_driver(Config(audio_driver="jack")) == "jack"


# ----- MIDI ports ------------------------------------------------------------------

class RecordingPort(mido.ports.BaseOutput):
    """An in-memory mido output port that keeps what it is sent, with arrival times."""

    def __init__(self, name="recorder"):
        self.received: list[tuple[float, mido.Message]] = []
        super().__init__(name)

    def _send(self, msg):
        self.received.append((time.monotonic(), msg.copy()))


def _wait_until_done(timeout=20.0):
    deadline = time.monotonic() + timeout
    while playback.is_playing() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not playback.is_playing()


def test_playing_some_bars_names_their_written_numbers():
    """`play bars 2-3` says bars 2-3 (the cut-out tune counts its own bars from 1) and sounds bar 2 first."""
    port = RecordingPort()
    tune = reel(tempo=960)
    message = playback.play(tune, port="rec", bars=(2, 3), config=QUIET, open_port=lambda name: port)
    assert message.startswith("playing 'Test Reel' bars 2-3 at 960 bpm")
    _wait_until_done()
    ons = [m.note for _, m in port.received if m.type == "note_on"]
    assert ons == [p for _, _, p in tune.slice_bars(2, 3).sounding()]
    assert ons[0] == tune.bar(2).notes[0].pitch


def test_play_to_a_port_sends_the_notes_in_time():
    port = RecordingPort()
    tune = reel(tempo=480)                       # 0.125 s a quarter: 2 s in all
    t0 = time.monotonic()
    message = playback.play(tune, port="rec", config=Config(program=73), open_port=lambda name: port)
    assert message == ("playing 'Test Reel' bars 1-4 at 480 bpm on flute to MIDI port 'rec'; "
                       "stop (or Ctrl-C) stops it")
    _wait_until_done()
    msgs = [m for _, m in port.received]
    assert msgs[0].type == "program_change" and msgs[0].program == 73
    ons = [(t, m) for t, m in port.received if m.type == "note_on"]
    expected = tune.sounding()
    assert [m.note for _, m in ons] == [p for _, _, p in expected]
    assert sum(m.type == "note_off" for m in msgs) == len(expected)
    for (t, _), (onset, _, _) in zip(ons, expected):
        due = t0 + float(onset) * 0.125
        assert due - 0.02 <= t <= due + 0.3      # never early; late only by scheduling jitter
    assert msgs[-1].type == "control_change" and msgs[-1].control == 123
    assert port.closed
    assert playback.status() == "finished playing 'Test Reel' bars 1-4 at 480 bpm on flute"


def test_stop_silences_a_port_at_once():
    port = RecordingPort()
    long_tune = Tune.from_bars([[(60 + i % 12, 1)] * 4 for i in range(30)], tempo=120)  # 60 s
    playback.play(long_tune, port="rec", config=QUIET, open_port=lambda name: port)
    time.sleep(0.7)
    assert playback.is_playing()
    assert playback.stop() is True
    assert not playback.is_playing() and port.closed
    notes = [m for _, m in port.received if m.type in ("note_on", "note_off")]
    assert 1 <= sum(m.type == "note_on" for m in notes) < 10
    # Every note that started was ended: nothing hangs on the synth.
    held = set()
    for m in notes:
        (held.add if m.type == "note_on" else held.discard)(m.note)
    assert held == set()
    assert playback.stop() is False              # nothing left to stop


def test_loop_repeats_until_stopped():
    port = RecordingPort()
    tiny = Tune.from_bars([[(60, 1), (64, 1), (67, 2)]], tempo=600)   # 0.4 s a pass
    playback.play(tiny, port="rec", loop=True, config=QUIET, open_port=lambda name: port)
    deadline = time.monotonic() + 20
    while sum(m.type == "note_on" for _, m in port.received) < 9 and time.monotonic() < deadline:
        time.sleep(0.02)
    playback.stop()
    pitches = [m.note for _, m in port.received if m.type == "note_on"]
    assert len(pitches) >= 9 and pitches[:9] == [60, 64, 67] * 3


def test_a_new_play_stops_the_old_one():
    first, second = RecordingPort("a"), RecordingPort("b")
    long_tune = Tune.from_bars([[(60, 4)]] * 20, tempo=120)
    playback.play(long_tune, port="a", config=QUIET, open_port=lambda name: first)
    playback.play(reel(tempo=960), port="b", config=QUIET, open_port=lambda name: second)
    assert first.closed
    _wait_until_done()
    assert second.closed and sum(m.type == "note_on" for _, m in second.received) == 13


def test_the_config_port_is_the_default():
    port = RecordingPort()
    opened = []
    playback.play(reel(tempo=960), config=Config(midi_port="Synth"),
                  open_port=lambda name: opened.append(name) or port)
    _wait_until_done()
    assert opened == ["Synth"] and port.closed


def test_a_port_that_fails_mid_tune_is_reported_not_raised():
    class Unplugged(RecordingPort):
        def _send(self, msg):
            if msg.type == "note_on" and msg.note == 69:
                raise OSError("device unplugged")
            super()._send(msg)
    port = Unplugged()
    playback.play(reel(tempo=960), port="u", config=QUIET, open_port=lambda name: port)
    _wait_until_done()
    assert playback.status() == ("playback of 'Test Reel' bars 1-4 at 960 bpm on piano "
                                 "failed: device unplugged")
    assert [m.note for _, m in port.received if m.type == "note_on"] == [62, 66]
    assert port.closed


def test_a_missing_port_is_one_line():
    with pytest.raises(PlaybackError) as e:
        playback.play(reel(), port="st4rt-no-such-port", config=QUIET)
    msg = str(e.value)
    assert "\n" not in msg
    assert (msg.startswith("no MIDI output port 'st4rt-no-such-port' (ports: ")
            or msg.startswith("no MIDI system here") or msg.startswith("MIDI output is not available"))
    assert not playback.is_playing()


def _virtual_input():
    try:
        return mido.open_input("st4rt-test-in", virtual=True)
    except Exception as e:   # rtmidi needs the ALSA sequencer (/dev/snd/seq) on Linux
        pytest.skip(f"no virtual MIDI ports here: {str(e).splitlines()[0]}")


@pytest.mark.skipif(not Path("/dev/snd/seq").exists() and not Path("/System").exists(),
                    reason="virtual MIDI ports need the ALSA sequencer (/dev/snd/seq), absent here")
def test_play_to_a_real_virtual_port():
    inport = _virtual_input()
    try:
        assert any("st4rt-test-in" in n for n in playback.list_ports())
        playback.play(reel(tempo=960), port="st4rt-test-in", config=QUIET)
        _wait_until_done()
        time.sleep(0.2)
        got = [m.note for m in inport.iter_pending() if m.type == "note_on" and m.velocity]
        assert got == [p for _, _, p in reel().sounding()]
    finally:
        inport.close()


# ----- sheet music ------------------------------------------------------------------

def _barlines(svg: str) -> int:
    # abcm2ps draws a plain barline as a 1-unit stroke the height of the staff (24).
    return len(re.findall(r'stroke-width="1"\s*d="M[\d.]+ [\d.]+v-24\.00"', svg))


def _bar_numbers(svg: str) -> list[int]:
    return [int(n) for n in re.findall(r'<text x="[\d.]+" y="[\d.]+">(\d+)</text>', svg)]


@needs_abcm2ps
def test_svg_has_title_and_every_bar(tmp_path):
    out = playback.render_svg(reel(), tmp_path / "reel.svg")
    assert out == tmp_path / "reel.svg" and not list(tmp_path.glob("reel0*.svg"))
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "<title>Test Reel</title>" in svg and ">Test Reel</text>" in svg
    assert _barlines(svg) == 4
    assert _bar_numbers(svg) == [2, 3, 4]            # abcm2ps numbers bars from the second


@needs_abcm2ps
def test_svg_counts_a_pickup_as_bar_zero(tmp_path):
    t = Tune.from_bars([[(62, 1)], [(67, 1), (71, 1), (74, 1)], [(72, 1), (69, 1), (66, 1)],
                        [(67, 3)]], meter=(3, 4), pickup=True, key=Key("G"), title="Waltz & Co")
    svg = playback.render_svg(t, tmp_path / "w.svg").read_text()
    assert "<title>Waltz &amp; Co</title>" in svg
    assert _barlines(svg) == 4 and max(_bar_numbers(svg)) == t.num_bars == 3


@needs_abcm2ps
def test_svg_of_some_bars_without_numbers(tmp_path):
    svg = playback.render_svg(reel(), tmp_path / "b.svg", bars=(2, 3), bar_numbers=False).read_text()
    assert _barlines(svg) == 2 and _bar_numbers(svg) == []


def test_missing_abcm2ps_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PlaybackError) as e:
        playback.render_svg(reel(), tmp_path / "x.svg")
    assert str(e.value) == "abcm2ps is not installed (Debian/Ubuntu: apt install abcm2ps)"


def test_pdf_without_a_converter_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PlaybackError) as e:
        playback.render_pdf(reel(), tmp_path / "x.pdf")
    assert str(e.value).startswith("PDF needs ps2pdf (Ghostscript) or rsvg-convert")
    assert not (tmp_path / "x.pdf").exists()


@needs_abcm2ps
@pytest.mark.skipif(not (shutil.which("ps2pdf") or shutil.which("rsvg-convert")),
                    reason="needs ps2pdf or rsvg-convert for PDF")
def test_pdf(tmp_path):
    out = playback.render_pdf(reel(), tmp_path / "reel.pdf")
    assert out.read_bytes()[:5] == b"%PDF-"


# ----- CLI --------------------------------------------------------------------------

@pytest.fixture
def scale_file(tmp_path):
    path = tmp_path / "scale.abc"
    path.write_text(SCALE_ABC)
    return path


@needs_fluidsynth
def test_cli_render_wav(scale_file, tmp_path, capsys):
    out = tmp_path / "s.wav"
    assert main(["render", str(scale_file), "-o", str(out), "--tempo", "60", "--bars", "3-4"]) == 0
    seconds = 8 * 60 / 60
    assert capsys.readouterr().out == f"wrote {out} ({seconds + playback.TAIL_SECONDS:.1f} s)\n"
    assert len(read_wav(out)) / 44100 == pytest.approx(seconds + playback.TAIL_SECONDS, abs=0.05)


@needs_abcm2ps
def test_cli_render_svg(scale_file, tmp_path, capsys):
    out = tmp_path / "s.svg"
    assert main(["render", str(scale_file), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    svg = out.read_text()
    assert ">Test Scale</text>" in svg and _barlines(svg) == 4


@pytest.mark.parametrize("args, code, err", [
    (["-o", "{tmp}/x.mp3"], 2, "st4rt render: {tmp}/x.mp3: cannot render to .mp3; use .wav, .svg or .pdf"),
    (["-o", "{tmp}/x.wav", "--bars", "2-9"], 2, "st4rt render: bar 9 does not exist: the tune has 4 bars"),
    (["-o", "{tmp}/x.wav", "--bars", "two"], 2, "st4rt render: bad bar range 'two'"),
    (["-o", "{tmp}/x.wav", "--instrument", "kazoo"], 2, "st4rt render: unknown instrument 'kazoo'"),
    (["-o", "{tmp}/x.wav", "--soundfont", "{tmp}/no.sf2"], 2, "st4rt render: soundfont not found: {tmp}/no.sf2"),
])
def test_cli_render_errors_are_one_line(scale_file, tmp_path, capsys, args, code, err):
    argv = ["render", str(scale_file)] + [a.format(tmp=tmp_path) for a in args]
    assert main(argv) == code
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(err.format(tmp=tmp_path))
    assert not list(tmp_path.glob("x.*"))


def test_cli_render_missing_input(tmp_path, capsys):
    assert main(["render", str(tmp_path / "none.abc"), "-o", str(tmp_path / "x.wav")]) == 2
    assert capsys.readouterr().err == f"st4rt render: {tmp_path / 'none.abc'}: no such file\n"


def test_cli_ports(capsys):
    code = main(["ports"])
    out, err = capsys.readouterr()
    if code == 0:
        assert out.strip() and not err          # port names, or "no MIDI output ports found"
    else:
        assert code == 2 and not out and len(err.splitlines()) == 1 and err.startswith("st4rt ports: ")


def test_parse_bars():
    assert [playback.parse_bars(s) for s in ("7", "2-5", " 3 - 4 ", "1..8", None)] == \
        [(7, 7), (2, 5), (3, 4), (1, 8), None]
    with pytest.raises(TuneError, match="bad bar range 'x-2'"):
        playback.parse_bars("x-2")


def test_a_port_hears_the_repeats_and_the_chords():
    from st4rt_repl.formats import midi, parse_abc_text
    t = parse_abc_text('X:1\nT:Form\nM:4/4\nL:1/8\nQ:1/4=960\nK:D\n|:"D"DEFG ABcd:|"G"g8|]\n').tune
    port = RecordingPort()
    playback.play(t, port="rec", config=Config(), open_port=lambda name: port)
    _wait_until_done()
    melody = [m.note for _, m in port.received if m.type == "note_on" and m.channel == 0]
    assert melody == [p for _, _, p in t.performed().sounding()]          # bar 1 twice, then bar 2
    chords = [m.note for _, m in port.received if m.type == "note_on" and m.channel == midi.CHORD_CHANNEL]
    assert chords == list(midi.chord_pitches("D")) * 2 + list(midi.chord_pitches("G"))
    ons = sum(m.type == "note_on" for _, m in port.received)
    assert sum(m.type == "note_off" for _, m in port.received) == ons      # nothing left hanging
    assert [m.channel for _, m in port.received if m.type == "control_change"] == [midi.CHORD_CHANNEL, 0]
    port2 = RecordingPort()
    playback.play(t, port="rec", config=Config(chords=False), open_port=lambda name: port2)
    _wait_until_done()
    assert all(m.channel == 0 for _, m in port2.received)
