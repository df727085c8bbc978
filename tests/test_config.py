"""The TOML config: defaults, first-use file, every setting, one-line errors."""
import pytest

from st4rt_repl import paths
from st4rt_repl.config import (DEFAULT_CONFIG_TEXT, DEFAULT_GAIN, Config, ConfigError,
                               instrument_program, load_config, parse_config)
from st4rt_repl.playback import show_config


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ST4RT_HOME", str(tmp_path))
    return tmp_path


def test_first_use_writes_a_commented_file_that_means_the_defaults():
    path = paths.config_file()
    assert not path.exists()
    cfg = load_config()
    assert path.exists()
    text = path.read_text()
    assert text.count("#") >= 10          # every setting is explained
    for key in ("soundfont", "audio_driver", "midi_port", "instrument", "tempo", "gain"):
        assert f"\n{key} = " in text
    assert cfg == Config(source=str(path))
    assert (cfg.soundfont, cfg.audio_driver, cfg.midi_port, cfg.program, cfg.tempo) == ("", "auto", "", 0, 0)
    assert cfg.gain == DEFAULT_GAIN


def test_an_existing_file_is_read_and_never_overwritten():
    path = paths.config_file()
    path.parent.mkdir(parents=True)
    path.write_text('instrument = "Fiddle"\ntempo = 96\ngain = 1\naudio_driver = "None"\n'
                    'midi_port = "FLUID"\nsoundfont = "~/my.sf2"\n')
    cfg = load_config()
    assert (cfg.program, cfg.tempo, cfg.gain, cfg.audio_driver) == (40, 96, 1.0, "none")
    assert (cfg.midi_port, cfg.soundfont, cfg.source) == ("FLUID", "~/my.sf2", str(path))
    assert path.read_text().startswith('instrument = "Fiddle"')


def test_load_without_create_leaves_no_file(tmp_path):
    cfg = load_config(tmp_path / "elsewhere.toml", create=False)
    assert cfg == Config() and not (tmp_path / "elsewhere.toml").exists()


def test_default_text_parses_to_the_defaults():
    assert parse_config(DEFAULT_CONFIG_TEXT, source="x") == Config(source="x")


@pytest.mark.parametrize("value, program", [
    (0, 0), (127, 127), ('"73"', 73), ('"flute"', 73), ('"Pan  Flute"', 75), ('"whistle"', 78),
    ('"accordion"', 21), ('"bagpipe"', 109),
])
def test_instrument_by_number_or_name(value, program):
    assert parse_config(f"instrument = {value}\n").program == program


def test_instrument_program_rejects_unknowns():
    assert [instrument_program(v) for v in (-1, 128, "kazoo", True, 1.5)] == [None] * 5


@pytest.mark.parametrize("text, where, words", [
    ("tempo = 96\ninstrument = 200\n", "cfg.toml:2:1:", "General MIDI program 0-127"),
    ('tempo = "fast"\n', "cfg.toml:1:1:", "tempo must be a whole number"),
    ("tempo = -5\n", "cfg.toml:1:1:", "between 1 and 1000"),
    ("gain = 0\n", "cfg.toml:1:1:", "gain must be a number above 0"),
    ("gain = 11\n", "cfg.toml:1:1:", "at most 10"),
    ('\n\naudio_driver = "speakers"\n', "cfg.toml:3:1:", "audio_driver must be one of"),
    ("soundfont = 3\n", "cfg.toml:1:1:", "soundfont must be a quoted string"),
    ("tempo = 90\nvolume = 3\n", "cfg.toml:2:1:", "unknown setting 'volume'"),
    ("tempo = 90\ngain 3\n", "cfg.toml:2:6:", "Expected '='"),
    ('chords = "yes"\n', "cfg.toml:1:1:", "chords must be true or false"),
    ("renders_max_files = 0\n", "cfg.toml:1:1:", "renders_max_files must be a whole number 1..100000"),
    ("\nrenders_max_mb = 1.5\n", "cfg.toml:2:1:", "renders_max_mb must be a whole number"),
])
def test_mistakes_are_one_line_with_file_line_column(text, where, words):
    with pytest.raises(ConfigError) as e:
        parse_config(text, source="cfg.toml")
    msg = str(e.value)
    assert msg.startswith(where) and words in msg and "\n" not in msg


def test_bad_file_reports_its_path():
    path = paths.config_file()
    path.parent.mkdir(parents=True)
    path.write_text("tempo = [\n")
    with pytest.raises(ConfigError) as e:
        load_config()
    assert str(e.value).startswith(f"{path}:")


def test_show_config_resolves_auto_settings():
    text = show_config(Config(program=40, tempo=0, gain=2.5, audio_driver="none", source="c.toml"))
    lines = text.splitlines()
    assert lines[0] == "config file  c.toml"
    assert "instrument   40 (fiddle/violin)" in lines
    assert "tempo        0 (the tune's own)" in lines
    assert "gain         2.5" in lines
    assert "audio_driver none" in lines
    sf_line = next(ln for ln in lines if ln.startswith("soundfont"))
    assert sf_line.startswith('soundfont    "" -> ')     # found, or why not


def test_show_config_says_when_the_soundfont_is_missing(tmp_path):
    text = show_config(Config(soundfont=str(tmp_path / "gone.sf2"), source="c.toml"))
    assert f"soundfont    (none: soundfont not found: {tmp_path / 'gone.sf2'}" in text


def test_show_config_reads_the_user_file_by_default():
    assert show_config().splitlines()[0] == f"config file  {paths.config_file()}"


def test_the_render_cache_and_chords_settings():
    c = parse_config("chords = false\nrenders_max_files = 5\nrenders_max_mb = 50\n")
    assert (c.chords, c.renders_max_files, c.renders_max_mb) == (False, 5, 50)
    d = parse_config("")
    assert d.chords and d.renders_max_files == 20 and d.renders_max_mb == 200
    text = show_config(c)
    assert "chords       false" in text and "renders      newest 5 files, at most 50 MB" in text
