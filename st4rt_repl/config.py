"""The user's settings for hearing tunes: a small TOML file at `paths.config_file()`.

The file is written, fully commented, the first time it is needed, so users can
find every setting in one place.  An empty setting means "work it out" (find a
soundfont, detect the audio system, use the tune's own tempo).  What "work it
out" resolves to on this machine is `playback.show_config` (playback imports
this module, never the other way round).

>>> c = parse_config('instrument = "fiddle"\\ntempo = 96\\n')
>>> c.program, c.tempo, c.audio_driver
(40, 96, 'auto')
>>> try:
...     parse_config('tempo = "fast"\\n', source="cfg.toml")
... except ConfigError as e:
...     print(e)
cfg.toml:1:1: tempo must be a whole number (0 = the tune's own tempo)
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from st4rt_repl import paths
from st4rt_repl.formats import InputError

__all__ = ["Config", "ConfigError", "load_config", "parse_config", "instrument_program",
           "DEFAULT_RENDERS_FILES", "DEFAULT_RENDERS_MB",
           "DEFAULT_CONFIG_TEXT", "GM_INSTRUMENTS", "AUDIO_DRIVERS", "DEFAULT_GAIN"]

# fluidsynth's master gain for renders and live play.  Measured with FluidR3_GM on an
# 8-bar reel at our MIDI writer's velocity (90): fluidsynth's default 0.2 peaks near
# 0.05, gain 1.0 peaks at 0.19-0.32 across piano, accordion, fiddle, flute, whistle,
# bagpipe, so 2.5 puts them at 0.5-0.8.  A louder render is scaled down, never clipped.
DEFAULT_GAIN = 2.5

# The render cache: a 30 s reel is ~5 MB of WAV, a long set ~15 MB.
DEFAULT_RENDERS_FILES = 20
DEFAULT_RENDERS_MB = 200

# General MIDI programs (0-based) for instruments folk tunes are played on.
GM_INSTRUMENTS = {
    "piano": 0, "harpsichord": 6, "dulcimer": 15, "organ": 19, "accordion": 21,
    "harmonica": 22, "guitar": 24, "steel guitar": 25, "violin": 40, "fiddle": 40,
    "viola": 41, "cello": 42, "harp": 46, "strings": 48, "trumpet": 56, "oboe": 68,
    "bassoon": 70, "clarinet": 71, "piccolo": 72, "flute": 73, "recorder": 74,
    "pan flute": 75, "whistle": 78, "ocarina": 79, "sitar": 104, "banjo": 105,
    "shamisen": 106, "koto": 107, "bagpipe": 109, "shanai": 111,
}

# fluidsynth's audio drivers, plus "auto" (detect) and "none" (never play aloud).
AUDIO_DRIVERS = ("auto", "none", "alsa", "pulseaudio", "pipewire", "jack", "oss", "sdl2",
                 "portaudio", "coreaudio", "dsound", "wasapi", "waveout", "opensles", "oboe")

DEFAULT_CONFIG_TEXT = f"""\
# ST4RT+ settings.  Delete a line (or this file) to get the default back.

# General MIDI soundfont (.sf2/.sf3).  Empty: search the usual places
# (/usr/share/sounds/sf2/FluidR3_GM.sf2 from Debian's fluid-soundfont-gm, ...).
soundfont = ""

# fluidsynth audio driver for live play: auto, none (only write WAV/MIDI files),
# {", ".join(AUDIO_DRIVERS[2:])}.
audio_driver = "auto"

# MIDI output port to play through instead of the soundfont (see `st4rt ports`).
# Empty: play through the audio device.
midi_port = ""

# Instrument: a General MIDI program number 0-127, or one of these names:
# {", ".join(sorted(GM_INSTRUMENTS))}.
instrument = 0

# Playback tempo in quarter notes per minute; 0 = the tune's own tempo (Q:, else 120).
tempo = 0

# fluidsynth master gain (0 < gain <= 10); {DEFAULT_GAIN} gives peaks around 0.5-0.8.
gain = {DEFAULT_GAIN}

# Play the tune's chord symbols as a quiet accompaniment (MIDI, WAV and play).
chords = true

# `play` keeps its WAV and MIDI files in data/renders; the oldest go once there are
# more than renders_max_files files or more than renders_max_mb megabytes.
renders_max_files = {DEFAULT_RENDERS_FILES}
renders_max_mb = {DEFAULT_RENDERS_MB}
"""


class ConfigError(InputError):
    """A bad config file, reported as one line ``file:line:col: message``."""


@dataclass(frozen=True)
class Config:
    """Playback settings; the defaults are what an absent or empty file means."""
    soundfont: str = ""          # "" = search the standard places
    audio_driver: str = "auto"
    midi_port: str = ""          # "" = play through the audio device
    program: int = 0             # General MIDI program, 0-based (0 = piano)
    tempo: int = 0               # 0 = the tune's own tempo
    gain: float = DEFAULT_GAIN
    chords: bool = True          # chord symbols as an accompaniment track
    renders_max_files: int = DEFAULT_RENDERS_FILES
    renders_max_mb: int = DEFAULT_RENDERS_MB
    source: str = ""             # the file these came from ("" = defaults)


def _line_of(text: str, key: str) -> int | None:
    m = re.search(rf"^[ \t]*{re.escape(key)}[ \t]*=", text, re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else None


def instrument_program(value) -> int | None:
    """General MIDI program (0-based) for a number or an instrument name; None if unknown.

    >>> instrument_program("Tin  Whistle"), instrument_program("73"), instrument_program(128)
    (None, 73, None)
    >>> instrument_program("Pan Flute")
    75
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 127 else None
    if isinstance(value, str):
        name = " ".join(value.lower().split())
        if name.isdigit():
            return instrument_program(int(name))
        return GM_INSTRUMENTS.get(name)
    return None


def parse_config(text: str, *, source: str = "<config>") -> Config:
    """Read settings from TOML text; any mistake is a one-line `ConfigError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = re.search(r"\s*\(at line (\d+), column (\d+)\)$", msg)
        if m:
            raise ConfigError(source, msg[:m.start()], int(m.group(1)), int(m.group(2))) from None
        raise ConfigError(source, msg) from None

    def fail(key: str, message: str):
        line = _line_of(text, key)
        raise ConfigError(source, message, line, 1 if line else None)

    known = {"soundfont", "audio_driver", "midi_port", "instrument", "tempo", "gain", "chords",
             "renders_max_files", "renders_max_mb"}
    for key in data:
        if key not in known:
            fail(key, f"unknown setting {key!r}; known: {', '.join(sorted(known))}")
    values: dict = {}
    for key in ("soundfont", "midi_port"):
        if key in data:
            if not isinstance(data[key], str):
                fail(key, f"{key} must be a quoted string")
            values[key] = data[key]
    if "audio_driver" in data:
        drv = data["audio_driver"]
        if not isinstance(drv, str) or drv.lower() not in AUDIO_DRIVERS:
            fail("audio_driver", f"audio_driver must be one of: {', '.join(AUDIO_DRIVERS)}")
        values["audio_driver"] = drv.lower()
    if "instrument" in data:
        program = instrument_program(data["instrument"])
        if program is None:
            fail("instrument", "instrument must be a General MIDI program 0-127 or a name "
                 "such as piano, fiddle, flute, accordion, whistle")
        values["program"] = program
    if "tempo" in data:
        tempo = data["tempo"]
        if isinstance(tempo, bool) or not isinstance(tempo, int):
            fail("tempo", "tempo must be a whole number (0 = the tune's own tempo)")
        if not 0 <= tempo <= 1000:
            fail("tempo", "tempo must be between 1 and 1000 quarter notes a minute (or 0)")
        values["tempo"] = tempo
    if "gain" in data:
        gain = data["gain"]
        if isinstance(gain, bool) or not isinstance(gain, (int, float)) or not 0 < gain <= 10:
            fail("gain", "gain must be a number above 0 and at most 10")
        values["gain"] = float(gain)
    if "chords" in data:
        if not isinstance(data["chords"], bool):
            fail("chords", "chords must be true or false")
        values["chords"] = data["chords"]
    for key in ("renders_max_files", "renders_max_mb"):
        if key in data:
            v = data[key]
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 100000:
                fail(key, f"{key} must be a whole number 1..100000")
            values[key] = v
    return Config(source=source, **values)


def load_config(path: str | Path | None = None, *, create: bool = True) -> Config:
    """The settings in `path` (default `paths.config_file()`), written commented if absent."""
    path = Path(path) if path is not None else paths.config_file()
    if not path.exists():
        if not create:
            return Config()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(DEFAULT_CONFIG_TEXT, encoding="utf-8")
        except OSError:
            return Config()   # a read-only home still gets the defaults
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(str(path), f"cannot read: {e}") from None
    return parse_config(text, source=str(path))
