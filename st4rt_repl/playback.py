"""Hearing and seeing tunes: fluidsynth renders and live play, MIDI ports, abcm2ps sheets.

Everything goes through standard tools: the tune is written as MIDI (formats.midi)
and played by fluidsynth with a General MIDI soundfont, or written as ABC
(formats.abc_out) and engraved by abcm2ps.  `play` never blocks: sound comes from a
background fluidsynth process, or a background thread feeding a MIDI port, and
`stop()` silences either.  Where there is no audio device (servers, CI) `play`
writes the WAV and MIDI it would have played and says where, in one line.

Playback follows the performed order (`Tune.performed`: repeats, endings and the
P: order unfolded) and, when the tune has chord symbols and the config's
``chords`` is on, the MIDI writer adds them as a quiet accompaniment.  Files that
`play` writes go to data_dir()/renders, a bounded cache (config keys
``renders_max_files`` and ``renders_max_mb``; the oldest go first).
`show_config` says what the config's "auto" settings resolve to here.  The
`st4rt render` and `st4rt ports` subcommands are in `st4rt_repl.cli.render`.

>>> parse_bars("3-5"), parse_bars("4"), parse_bars(None)
((3, 5), (4, 4), None)
"""
from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any, Callable

from st4rt_repl import paths
from st4rt_repl.config import Config, GM_INSTRUMENTS, load_config
from st4rt_repl.tune import Tune, TuneError

__all__ = ["PlaybackError", "render_wav", "render_svg", "render_pdf", "play", "stop",
           "is_playing", "status", "list_ports", "find_soundfont", "detect_audio_driver", "parse_bars",
           "show_config", "prune_renders",
           "SAMPLE_RATE", "TAIL_SECONDS", "PEAK_LIMIT"]

SAMPLE_RATE = 44100
TAIL_SECONDS = 1.5      # kept after the last beat for the release and reverb (then faded)
FADE_SECONDS = 0.5      # the end of that tail fades to silence, so a cut never clicks
PEAK_LIMIT = 0.95       # a render louder than this is scaled down, never clipped
PROBE_SECONDS = 1.0     # a live audio driver that cannot open fails within ~0.2 s (measured idle)

# Where distributions put a General MIDI soundfont (first found wins).
SOUNDFONT_PLACES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",          # Debian/Ubuntu fluid-soundfont-gm
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3",
    "/usr/share/soundfonts/default.sf2",              # Fedora, Arch
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM2-2.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",    # macOS Homebrew
    "/usr/local/share/fluidsynth/default.sf2",
)


class PlaybackError(RuntimeError):
    """Playback or rendering cannot be done; the message is one line for the user."""


# ----- tools and settings -------------------------------------------------------

def _tool(name: str, install: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise PlaybackError(f"{name} is not installed (Debian/Ubuntu: apt install {install})")
    return exe


def _one_line(text: str) -> str:
    """The most telling line of a tool's output (its first error, else its last line)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in lines:
        if "error" in ln.lower() and not ln.startswith("ALSA lib"):
            return ln
    return lines[-1] if lines else "no output"


def _is_soundfont(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return head[:4] == b"RIFF" and head[8:12] == b"sfbk"


def find_soundfont(config: Config | None = None) -> Path:
    """The soundfont to use: the config's, else the first standard place that has one."""
    cfg = config if config is not None else load_config()
    if cfg.soundfont:
        sf = Path(cfg.soundfont).expanduser()
        where = f" (soundfont in {cfg.source})" if cfg.source else ""
        if not sf.is_file():
            raise PlaybackError(f"soundfont not found: {sf}{where}")
        if not _is_soundfont(sf):
            raise PlaybackError(f"not a SoundFont (.sf2/.sf3) file: {sf}{where}")
        return sf
    for place in SOUNDFONT_PLACES:
        if _is_soundfont(Path(place)):
            return Path(place)
    user_dir = paths.data_dir() / "soundfonts"
    for sf in sorted(user_dir.glob("*.sf[23]")) if user_dir.is_dir() else []:
        if _is_soundfont(sf):
            return sf
    raise PlaybackError("no General MIDI soundfont found (Debian/Ubuntu: apt install "
                        "fluid-soundfont-gm, or set soundfont in "
                        f"{cfg.source or paths.config_file()})")


def detect_audio_driver(config: Config | None = None) -> str | None:
    """fluidsynth's audio driver for this machine, or None when there is no audio device.

    Looks only at files and the environment, so it is instant; `play` then tries the
    driver and falls back to writing files if it fails to open.
    """
    cfg = config if config is not None else load_config()
    if cfg.audio_driver == "none":
        return None
    if cfg.audio_driver != "auto":
        return cfg.audio_driver
    if sys.platform == "darwin":
        return "coreaudio"
    if sys.platform == "win32":
        return "dsound"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    if os.environ.get("PULSE_SERVER") or Path(runtime, "pulse", "native").exists():
        return "pulseaudio"          # also PipeWire, through its PulseAudio socket
    snd = Path("/dev/snd")
    if snd.is_dir() and any(snd.glob("pcmC*D*p")):
        return "alsa"
    return None


def _no_device_reason(cfg: Config) -> str:
    if cfg.audio_driver == "none":
        return f'audio is off (audio_driver = "none" in {cfg.source or "the config"})'
    return "no audio device found (no sound card in /dev/snd, no PulseAudio/PipeWire server)"


def parse_bars(text: str | None) -> tuple[int, int] | None:
    """A bar range from the command line: "5" -> (5, 5), "3-5" -> (3, 5), None -> None."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*(?:[-.:]+\s*(\d+)\s*)?", str(text))
    if not m:
        raise TuneError(f"bad bar range {text!r}; write e.g. 5 or 3-8")
    a = int(m.group(1))
    return a, int(m.group(2) or a)


def _bar_range(bars) -> tuple[int, int] | None:
    if bars is None:
        return None
    if isinstance(bars, int):
        return bars, bars
    if isinstance(bars, str):
        return parse_bars(bars)
    bars = list(bars)
    return min(bars), max(bars)


def _prepare(tune: Tune, bars, cfg: Config) -> tuple[Tune, int]:
    """The written bars to sound (a range of written bar numbers) and the tempo."""
    rng = _bar_range(bars)
    if rng is not None:
        tune = tune.slice_bars(*rng)
    return tune, cfg.tempo or tune.tempo


def _seconds(tune: Tune, bpm: int) -> float:
    """How long `tune` sounds as performed (repeats played)."""
    return float(tune.performed().duration) * 60.0 / bpm


def _write_midi(tune: Tune, path: Path, cfg: Config, bpm: int) -> Path:
    """The MIDI writer plays the written tune as performed, chords (if wanted) under it."""
    from st4rt_repl.formats.midi import write_midi
    return write_midi(tune, path, program=cfg.program, tempo=bpm, chords=cfg.chords)


# ----- WAV rendering -------------------------------------------------------------

def _fluidsynth_render(midi: Path, cfg: Config, workdir: Path):
    """fluidsynth's fast render of `midi` as float samples, shape (frames, 2)."""
    import numpy as np
    fluidsynth = _tool("fluidsynth", "fluidsynth")
    sf = find_soundfont(cfg)
    raw = workdir / "render.f32"
    # Raw float output: fluidsynth itself would clip loud notes when writing 16-bit.
    cmd = [fluidsynth, "-ni", "-q", "-F", str(raw), "-T", "raw", "-O", "float", "-E", "little",
           "-r", str(SAMPLE_RATE), "-g", f"{cfg.gain:g}", str(sf), str(midi)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL, timeout=600)
    except subprocess.TimeoutExpired:
        raise PlaybackError("fluidsynth took more than 10 minutes to render; gave up") from None
    if proc.returncode != 0 or not raw.exists() or raw.stat().st_size == 0:
        raise PlaybackError(f"fluidsynth could not render: {_one_line(proc.stderr + proc.stdout)}")
    return np.fromfile(raw, dtype="<f4").reshape(-1, 2)


def _finish(samples, seconds: float):
    """Cut the render to the music plus its release tail, fade the tail, limit the peak."""
    import numpy as np
    keep = int(round((seconds + TAIL_SECONDS) * SAMPLE_RATE))
    samples = samples[:keep].astype(np.float64)
    fade = int(FADE_SECONDS * SAMPLE_RATE)
    if len(samples) == keep and keep > fade:
        samples[-fade:] *= np.linspace(1.0, 0.0, fade)[:, None]
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    if peak > PEAK_LIMIT:
        samples *= PEAK_LIMIT / peak
    return samples


def _write_wav(samples, path: Path) -> None:
    import numpy as np
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    part = path.with_name(path.name + ".part")   # a half-written file never has the real name
    with wave.open(str(part), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())
    os.replace(part, path)


def render_wav(tune: Tune, path: str | Path, *, config: Config | None = None,
               bars=None) -> Path:
    """Render `tune` (or bars (i, j) of it) to a 44.1 kHz 16-bit stereo WAV with fluidsynth.

    The file lasts the tune (quarters * 60 / tempo) plus a faded 1.5 s tail; the tempo
    and instrument come from `config` (default: the user's config file).
    """
    cfg = config if config is not None else load_config()
    tune, bpm = _prepare(tune, bars, cfg)
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="st4rt-render-") as d:
        midi = _write_midi(tune, Path(d) / "tune.mid", cfg, bpm)
        samples = _fluidsynth_render(midi, cfg, Path(d))
    _write_wav(_finish(samples, _seconds(tune, bpm)), path)
    return path


# ----- live play ----------------------------------------------------------------

class _Playing:
    """One playback in progress: a background thread and how to silence it."""

    def __init__(self, what: str):
        self.what = what
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.proc: subprocess.Popen | None = None
        self.error: str = ""

    def stop(self) -> None:
        self.stop_event.set()
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout=3)


_current: _Playing | None = None
_lock = threading.Lock()
_atexit_registered = False


def _start(playing: _Playing, target: Callable[[], None]) -> None:
    global _current, _atexit_registered
    with _lock:
        _current = playing
        if not _atexit_registered:
            atexit.register(stop)
            _atexit_registered = True
    playing.thread = threading.Thread(target=target, name="st4rt-playback", daemon=True)
    playing.thread.start()


def stop() -> bool:
    """Silence whatever is playing; True if something was playing."""
    global _current
    with _lock:
        playing, _current = _current, None
    if playing is None:
        return False
    was_playing = playing.thread is not None and playing.thread.is_alive()
    playing.stop()
    return was_playing


def is_playing() -> bool:
    """True while a `play` is still sounding."""
    playing = _current
    return bool(playing and playing.thread and playing.thread.is_alive())


def status() -> str:
    """One line: what is playing, or how the last play ended."""
    playing = _current
    if playing is None:
        return "nothing is playing"
    if is_playing():
        return f"playing {playing.what}"
    if playing.error:
        return f"playback of {playing.what} failed: {playing.error}"
    return f"finished playing {playing.what}"


def prune_renders(cfg: Config, keep: tuple[Path, ...] = ()) -> list[Path]:
    """Delete the oldest files in data_dir()/renders beyond the config's limits; the deleted.

    At most `cfg.renders_max_files` files and `cfg.renders_max_mb` megabytes stay;
    the files in `keep` (the ones just written) always stay.
    """
    folder = paths.data_dir() / "renders"
    try:
        files = [(p.stat().st_mtime, p.stat().st_size, p) for p in folder.iterdir() if p.is_file()]
    except OSError:
        return []
    files.sort(key=lambda f: -f[0])            # newest first
    keep_set = {Path(k) for k in keep}
    count, size, gone = 0, 0, []
    limit = cfg.renders_max_mb * 1_000_000
    for _, n, p in files:
        if p in keep_set or (count < cfg.renders_max_files and size + n <= limit):
            count, size = count + 1, size + n
            continue
        try:
            p.unlink()
            gone.append(p)
        except OSError:
            pass
    return gone


def _renders_name(tune: Tune, cfg: Config, bpm: int) -> Path:
    """data_dir()/renders/<title>-<hash>: the same tune and settings reuse one name."""
    from st4rt_repl.formats.midi import midi_bytes
    digest = hashlib.sha1(midi_bytes(tune, program=cfg.program, tempo=bpm, chords=cfg.chords)
                          + f"{cfg.gain}|{cfg.soundfont}".encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", tune.title.lower()).strip("-")[:40] or "tune"
    folder = paths.data_dir() / "renders"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{slug}-{digest}"


def _write_instead(tune: Tune, cfg: Config, bpm: int, reason: str) -> str:
    base = _renders_name(tune, cfg, bpm)
    midi = _write_midi(tune, base.with_suffix(".mid"), cfg, bpm)
    wav = base.with_suffix(".wav")
    if wav.exists():    # the name is a hash of the notes and settings: already rendered
        os.utime(wav)   # recently used: the cache keeps it longer
        return f"{reason}: wrote {wav} and {midi}"
    with tempfile.TemporaryDirectory(prefix="st4rt-render-") as d:
        samples = _fluidsynth_render(midi, cfg, Path(d))
    _write_wav(_finish(samples, _seconds(tune, bpm)), wav)
    prune_renders(cfg, keep=(wav, midi))
    return f"{reason}: wrote {wav} and {midi}"


def _describe(tune: Tune, bpm: int, cfg: Config, loop: bool, span: tuple[int, int] | None = None) -> str:
    """What is playing; `span` = the written bar numbers asked for (the cut-out tune counts from 1)."""
    names = [n for n, p in GM_INSTRUMENTS.items() if p == cfg.program]
    instrument = names[0] if names else f"program {cfg.program}"
    if span is None:
        numbers = tune.bar_numbers() or [0]
        span = (numbers[0], numbers[-1])
    return (f"{tune.title!r} bars {span[0]}-{span[1]} at {bpm} bpm on {instrument}"
            + (", looping" if loop else ""))


def _play_audio(tune: Tune, cfg: Config, bpm: int, loop: bool, driver: str, span=None) -> str:
    fluidsynth = _tool("fluidsynth", "fluidsynth")
    sf = find_soundfont(cfg)
    base = _renders_name(tune, cfg, bpm)
    midi = _write_midi(tune, base.with_suffix(".mid"), cfg, bpm)
    seconds = max(_seconds(tune, bpm), 0.1)
    # A loop is a playlist of the same file (seamless); the thread restarts it if it ends.
    repeats = min(500, max(1, int(1800 / seconds))) if loop else 1
    cmd = [fluidsynth, "-a", driver, "-ni", "-q", "-g", f"{cfg.gain:g}", str(sf)] + [str(midi)] * repeats
    prune_renders(cfg, keep=(midi,))
    playing = _Playing(_describe(tune, bpm, cfg, loop, span))
    errors = tempfile.TemporaryFile()

    def spawn() -> subprocess.Popen:
        errors.seek(0)
        errors.truncate()
        # In renders/ so that fluidsynth's "file" driver (real time into fluidsynth.wav,
        # a sound card stand-in for tests) writes nowhere else.
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=errors, cwd=base.parent)

    playing.proc = spawn()
    deadline = time.monotonic() + PROBE_SECONDS
    try:
        while time.monotonic() < deadline and playing.proc.poll() is None:
            time.sleep(0.02)
    except BaseException:          # Ctrl-C while probing: leave no sound behind
        playing.stop()
        errors.close()
        raise
    if playing.proc.poll() not in (None, 0):
        errors.seek(0)
        why = _one_line(errors.read().decode("utf-8", "replace"))
        errors.close()
        return _write_instead(tune, cfg, bpm, f"cannot play through {driver} ({why})")

    def run() -> None:
        try:
            while True:
                rc = playing.proc.wait()
                if rc != 0 and not playing.stop_event.is_set():
                    errors.seek(0)
                    playing.error = _one_line(errors.read().decode("utf-8", "replace"))
                    return
                if not loop or playing.stop_event.is_set():
                    return
                playing.proc = spawn()
                if playing.stop_event.is_set():   # stop() raced the respawn
                    playing.proc.terminate()
        except Exception as e:     # never a traceback from the background
            playing.error = _one_line(str(e)) or type(e).__name__
        finally:
            errors.close()

    _start(playing, run)
    return f"playing {playing.what} through {driver}; stop (or Ctrl-C) stops it"


def list_ports() -> list[str]:
    """Names of the MIDI output ports (mido with the python-rtmidi backend)."""
    if sys.platform.startswith("linux") and not Path("/dev/snd/seq").exists():
        raise PlaybackError("no MIDI system here: the ALSA sequencer (/dev/snd/seq) is absent")
    import mido
    try:
        return list(mido.get_output_names())
    except Exception as e:   # rtmidi raises its own SystemError subclasses
        raise PlaybackError(f"MIDI output is not available: {_one_line(str(e))}") from None


def _open_port(name: str):
    """Open the MIDI output port called `name` (exactly, or the one port containing it)."""
    import mido
    names = list_ports()
    if name not in names:
        matches = [n for n in names if name.lower() in n.lower()]
        if len(matches) != 1:
            known = ", ".join(repr(n) for n in names) or "none"
            raise PlaybackError(f"no MIDI output port {name!r} (ports: {known})")
        name = matches[0]
    try:
        return mido.open_output(name)
    except Exception as e:
        raise PlaybackError(f"cannot open MIDI port {name!r}: {_one_line(str(e))}") from None


def _port_events(tune: Tune, bpm: int, program: int,
                 chords: bool = True) -> list[tuple[float, Any]]:
    """(seconds from the start, message) for every note as performed, and the chord symbols
    as block chords on their own channel; note-offs before note-ons at a time."""
    import mido
    from st4rt_repl.formats import midi
    spq = 60.0 / bpm
    events = [(0.0, 0, mido.Message("program_change", program=program, channel=0))]
    for onset, dur, pitch in tune.performed().sounding():
        events.append((float(onset) * spq, 1, mido.Message("note_on", note=pitch, velocity=midi.VELOCITY)))
        events.append((float(onset + dur) * spq, 0, mido.Message("note_off", note=pitch, velocity=0)))
    played = [(o, d, midi.chord_pitches(c)) for o, d, c in tune.performed_chords()] if chords else []
    if any(p for _, _, p in played):
        ch = midi.CHORD_CHANNEL
        events.append((0.0, 0, mido.Message("program_change", program=midi.CHORD_PROGRAM, channel=ch)))
        for onset, dur, pitches in played:
            for p in pitches:
                events.append((float(onset) * spq, 1, mido.Message(
                    "note_on", note=p, velocity=midi.CHORD_VELOCITY, channel=ch)))
                events.append((float(onset + dur) * spq, 0, mido.Message(
                    "note_off", note=p, velocity=0, channel=ch)))
    events.sort(key=lambda e: (e[0], e[1]))
    return [(t, msg) for t, _, msg in events]


def _play_port(tune: Tune, cfg: Config, bpm: int, loop: bool, port_name: str,
               open_port: Callable[[str], Any], span=None) -> str:
    import mido
    port = open_port(port_name)
    events = _port_events(tune, bpm, cfg.program, cfg.chords)
    channels = sorted({m.channel for _, m in events}, reverse=True)   # channel 0 last
    seconds = _seconds(tune, bpm)
    playing = _Playing(_describe(tune, bpm, cfg, loop, span))

    def run() -> None:
        sounding: set[tuple[int, int]] = set()      # (channel, note)
        try:
            while True:
                start = time.monotonic()
                for t, msg in events:
                    if playing.stop_event.wait(max(0.0, start + t - time.monotonic())):
                        return
                    port.send(msg)
                    if msg.type == "note_on":
                        sounding.add((msg.channel, msg.note))
                    elif msg.type == "note_off":
                        sounding.discard((msg.channel, msg.note))
                if playing.stop_event.wait(max(0.0, start + seconds - time.monotonic())):
                    return
                if not loop or seconds <= 0:
                    return
        except Exception as e:     # e.g. the device was unplugged: report, never a traceback
            playing.error = _one_line(str(e)) or type(e).__name__
        finally:
            try:
                for channel, note in sorted(sounding):
                    port.send(mido.Message("note_off", note=note, velocity=0, channel=channel))
                for channel in channels:       # all notes off
                    port.send(mido.Message("control_change", control=123, value=0, channel=channel))
                port.close()
            except Exception as e:
                playing.error = playing.error or _one_line(str(e)) or type(e).__name__

    _start(playing, run)
    return f"playing {playing.what} to MIDI port {port_name!r}; stop (or Ctrl-C) stops it"


def play(tune: Tune, *, port: str | None = None, loop: bool = False, bars=None,
         config: Config | None = None, open_port: Callable[[str], Any] | None = None) -> str:
    """Start playing `tune` (or bars (i, j)) in the background and say so in one line.

    Through `port` (a MIDI output; default the config's midi_port) when given, else
    through the audio device with fluidsynth.  With no audio device it writes the WAV
    and MIDI it would have played under data_dir()/renders and names them instead.
    Anything already playing stops first.  `open_port(name)` opens a MIDI output
    (default: mido's); tests pass in-memory ports.
    """
    stop()
    cfg = config if config is not None else load_config()
    tune, bpm = _prepare(tune, bars, cfg)
    port = port if port is not None else (cfg.midi_port or None)
    if port:
        return _play_port(tune, cfg, bpm, loop, port, open_port or _open_port, _bar_range(bars))
    driver = detect_audio_driver(cfg)
    if driver is None:
        return _write_instead(tune, cfg, bpm, _no_device_reason(cfg))
    return _play_audio(tune, cfg, bpm, loop, driver, _bar_range(bars))


# ----- sheet music ----------------------------------------------------------------

def _abc_for(tune: Tune, bars) -> str:
    from st4rt_repl.formats.abc_out import to_abc
    rng = _bar_range(bars)
    return to_abc(tune.slice_bars(*rng) if rng else tune)


def _engrave(abc: str, workdir: Path, args: list[str], out: Path) -> str:
    """Run abcm2ps on `abc`; its output text (warnings included)."""
    abcm2ps = _tool("abcm2ps", "abcm2ps")
    src = workdir / "tune.abc"
    src.write_text(abc, encoding="utf-8")
    proc = subprocess.run([abcm2ps, *args, "-O", str(out), str(src)], capture_output=True,
                          text=True, errors="replace", cwd=workdir, timeout=120)
    return proc.stdout + proc.stderr


def render_svg(tune: Tune, path: str | Path, *, bars=None, bar_numbers: bool = True) -> Path:
    """Engrave `tune` as one SVG page with abcm2ps (bar numbers over every bar by default)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="st4rt-svg-") as d:
        work = Path(d)
        args = ["-g"] + (["-j1"] if bar_numbers else [])
        log = _engrave(_abc_for(tune, bars), work, args, work / "out.svg")
        # -g writes one file per tune, named out001.svg, out002.svg ...
        pages = sorted(work.glob("out*.svg"))
        if not pages:
            raise PlaybackError(f"abcm2ps wrote no SVG: {_one_line(log)}")
        svg = pages[0].read_text(encoding="utf-8")
    title = tune.title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    svg = re.sub(r"<title>.*?</title>", f"<title>{title}</title>", svg, count=1)
    path.write_text(svg, encoding="utf-8")
    return path


def render_pdf(tune: Tune, path: str | Path, *, bars=None, bar_numbers: bool = True) -> Path:
    """Engrave `tune` as PDF: abcm2ps PostScript through ps2pdf, else SVG through rsvg-convert."""
    path = Path(path)
    ps2pdf, rsvg = shutil.which("ps2pdf"), shutil.which("rsvg-convert")
    if not (ps2pdf or rsvg):
        raise PlaybackError("PDF needs ps2pdf (Ghostscript) or rsvg-convert and neither is "
                            "installed (Debian/Ubuntu: apt install ghostscript); .svg works now")
    with tempfile.TemporaryDirectory(prefix="st4rt-pdf-") as d:
        work = Path(d)
        if ps2pdf:
            ps = work / "out.ps"
            log = _engrave(_abc_for(tune, bars), work, ["-j1"] if bar_numbers else [], ps)
            if not ps.exists():
                raise PlaybackError(f"abcm2ps wrote no PostScript: {_one_line(log)}")
            cmd = [ps2pdf, str(ps), str(path)]
        else:
            svg = render_svg(tune, work / "out.svg", bars=bars, bar_numbers=bar_numbers)
            cmd = [rsvg, "-f", "pdf", "-o", str(path), str(svg)]
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=120)
    if proc.returncode != 0 or not path.exists():
        raise PlaybackError(f"{Path(cmd[0]).name} failed: {_one_line(proc.stderr + proc.stdout)}")
    return path


# ----- what the config resolves to here ----------------------------------------------

def show_config(config: Config | None = None) -> str:
    """The settings in force, one per line, with what "auto" resolves to here."""
    cfg = config if config is not None else load_config()
    try:
        sf = str(find_soundfont(cfg))
    except PlaybackError as e:
        sf = f"(none: {e})"
    if not cfg.soundfont:
        sf = f'"" -> {sf}'
    driver = cfg.audio_driver
    if driver == "auto":
        driver = f'auto -> {detect_audio_driver(cfg) or "none (no audio device found)"}'
    tempo = str(cfg.tempo) if cfg.tempo else "0 (the tune's own)"
    names = sorted(n for n, p in GM_INSTRUMENTS.items() if p == cfg.program)
    lines = [
        f"config file  {cfg.source or '(defaults)'}",
        f"soundfont    {sf}",
        f"audio_driver {driver}",
        f"midi_port    {cfg.midi_port or '(none: play through the audio device)'}",
        f"instrument   {cfg.program}" + (f" ({'/'.join(names)})" if names else ""),
        f"tempo        {tempo}",
        f"gain         {cfg.gain:g}",
        f"chords       {'true' if cfg.chords else 'false'}",
        f"renders      newest {cfg.renders_max_files} files, at most {cfg.renders_max_mb} MB "
        f"({paths.data_dir() / 'renders'})",
    ]
    return "\n".join(lines)
