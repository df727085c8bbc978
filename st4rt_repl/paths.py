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


def slug(text: str) -> str:
    """A file name from a title: lower case, dashes, at most 40 characters.

    >>> slug("The Kesh (Jig)"), slug("???")
    ('the-kesh-jig', 'tune')
    """
    import re
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "tune"


def _roots() -> list[tuple[Path, str]]:
    """(folder, the environment variable that moves it)."""
    if os.environ.get("ST4RT_HOME"):
        return [(Path(os.environ["ST4RT_HOME"]), "ST4RT_HOME")]
    return [(data_dir(), "XDG_DATA_HOME or ST4RT_HOME"), (config_dir(), "XDG_CONFIG_HOME or ST4RT_HOME"),
            (cache_dir(), "XDG_CACHE_HOME or ST4RT_HOME")]


def home_problem(error: OSError) -> str | None:
    """One line naming the folder and the variable to set, when `error` is about our own folders.

    >>> os.environ["ST4RT_HOME"] = "/proc/st4rt"
    >>> home_problem(PermissionError(13, "Permission denied", "/proc/st4rt/data/sessions"))
    'cannot write to /proc/st4rt (Permission denied): set ST4RT_HOME to a folder you can write'
    >>> del os.environ["ST4RT_HOME"]
    """
    name = getattr(error, "filename", None)
    if not name:
        return None
    target = Path(str(name)).absolute()
    for root, var in _roots():
        root = root.absolute()
        if target == root or root in target.parents:
            return (f"cannot write to {root} ({error.strerror or error}): "
                    f"set {var} to a folder you can write")
    return None


def check_writable(folder: Path) -> str | None:
    """None if `folder` exists or can be made, and takes a file; else the one-line reason."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return None
    except OSError as e:
        if not getattr(e, "filename", None):
            e.filename = str(folder)
        return home_problem(e) or f"cannot write to {folder}: {e.strerror or e}"


def log_traceback(label: str) -> str:
    """Append the traceback being handled to data_dir()/errors.log under `label`; the
    log's path, or '' if it cannot be written (an internal error is still one line)."""
    import time
    import traceback
    log = data_dir() / "errors.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {label}\n")
            f.write(traceback.format_exc())
        return str(log)
    except OSError:
        return ""
