"""Where ST4RT+ keeps things on the user's machine (XDG conventions).

``ST4RT_HOME`` overrides all three roots (tests point it at a temporary folder).

>>> import os; os.environ["ST4RT_HOME"] = "/tmp/st4rt-doc"
>>> str(data_dir()), str(config_file()), str(corpus_dir())
('/tmp/st4rt-doc/data', '/tmp/st4rt-doc/config/config.toml', '/tmp/st4rt-doc/cache/corpus')
>>> del os.environ["ST4RT_HOME"]
"""
from __future__ import annotations

import os
from pathlib import Path


def _root(kind: str, xdg_var: str, default: str) -> Path:
    home = os.environ.get("ST4RT_HOME")
    if home:
        return Path(home) / kind
    base = os.environ.get(xdg_var) or str(Path.home() / default)
    return Path(base) / "st4rt"


def data_dir() -> Path:
    """Sessions, profiles and history: ~/.local/share/st4rt."""
    return _root("data", "XDG_DATA_HOME", ".local/share")


def config_dir() -> Path:
    return _root("config", "XDG_CONFIG_HOME", ".config")


def config_file() -> Path:
    """The TOML config: ~/.config/st4rt/config.toml."""
    return config_dir() / "config.toml"


def cache_dir() -> Path:
    return _root("cache", "XDG_CACHE_HOME", ".cache")


def corpus_dir() -> Path:
    """Default output of `st4rt corpus build` (override with ST4RT_CORPUS)."""
    env = os.environ.get("ST4RT_CORPUS")
    return Path(env) if env else cache_dir() / "corpus"
