"""Nothing lost: a save or an export interrupted at any step leaves the previous file
intact and readable.

The faults are real where the machine allows (a process killed with SIGKILL in the
middle of writing a large session; a read-only folder when not running as root) and
injected by patching where it does not (a full disk is `OSError(ENOSPC)` from the
file's ``write`` after half the text; a failing ``fsync``; a failing ``rename``).

Matrix (session save, `st4rt_repl.session.atomic_write` + `Session.save`):

====================================  ==============================================
fault                                  expected
====================================  ==============================================
cannot create the temp file (EACCES)   CommandError, one line; old file intact
read-only file system (EROFS)          same
full disk half-way through the write   same
fsync fails (EIO) after the write      same
rename fails                           same
Ctrl-C (KeyboardInterrupt) mid-write   KeyboardInterrupt; old file intact
the `last` pointer cannot be written   CommandError; the session file is the NEW one
fsync of the folder fails after rename saved (the new file), no error
kill -9 while writing (subprocess)     the file is the old or the new version, loads
====================================  ==============================================

Exports (`export abc|midi` in a session, ``st4rt convert --force``) failing half-way
through (full disk, Ctrl-C) keep the previous file and leave no ``.NAME.PID.part``
file; the corpus cache keeps its old entry and no temp file, and a half-written
entry is re-parsed, never trusted.
"""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from st4rt_repl import session as session_mod
from st4rt_repl.formats import parse_abc_text
from st4rt_repl.session import CommandError, Session, sessions_dir
from st4rt_repl.tune import Tune

from tunes import KESH  # noqa: E402  (tests/ is on sys.path)


pytestmark = pytest.mark.usefixtures("home")     # tests/conftest.py


@pytest.fixture(scope="module")
def kesh() -> Tune:
    return parse_abc_text(KESH).tune


def saved(kesh) -> tuple[Session, bytes]:
    """A session saved once with the Kesh as its piece; its file's bytes."""
    s = Session("fi", seed=1)
    s.set_piece(kesh, "load")
    return s, s.path.read_bytes()


def assert_previous_intact(path: Path, before: bytes, piece: Tune):
    assert path.read_bytes() == before
    assert Session.open("fi").piece == piece
    assert (sessions_dir() / "last").read_text().strip() == "fi"


def temp_files() -> list[str]:
    return sorted(p.name for p in sessions_dir().iterdir() if p.name.endswith(".tmp"))


class _HalfWriter:
    """A text file whose write stores half the text, then fails as a full disk does."""

    def __init__(self, f, exc: BaseException):
        self.f, self.exc = f, exc

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.f.close()

    def write(self, text):
        self.f.write(text[:len(text) // 2])
        self.f.flush()
        raise self.exc

    def __getattr__(self, name):
        return getattr(self.f, name)


def _fail_open(exc):
    def fake(path, mode="r", *a, **k):
        if "w" in mode:
            raise exc
        return open(path, mode, *a, **k)
    return fake


def _half_open(exc):
    def fake(path, mode="r", *a, **k):
        f = open(path, mode, *a, **k)
        return _HalfWriter(f, exc) if "w" in mode else f
    return fake


def _raise(exc):
    def fake(*a, **k):
        raise exc
    return fake


def _inject(m: pytest.MonkeyPatch, what: str, fake) -> None:
    """Patch the builtin ``open`` as session.py sees it, or one ``os`` function."""
    if what == "open":
        m.setattr(session_mod, "open", fake, raising=False)
    else:
        m.setattr(session_mod.os, what, fake)


# fault name -> (what to patch: "open" in session's module or an os function, replacement)
OS_FAULTS = {
    "temp file cannot be created (EACCES)": ("open", _fail_open(PermissionError(errno.EACCES, "Permission denied"))),
    "read-only file system (EROFS)": ("open", _fail_open(OSError(errno.EROFS, "Read-only file system"))),
    "full disk half-way (ENOSPC)": ("open", _half_open(OSError(errno.ENOSPC, "No space left on device"))),
    "fsync fails after the write (EIO)": ("fsync", _raise(OSError(errno.EIO, "Input/output error"))),
    "rename fails": ("replace", _raise(OSError(errno.EXDEV, "Invalid cross-device link"))),
}


@pytest.mark.parametrize("fault", list(OS_FAULTS))
def test_a_failed_save_keeps_the_previous_session(kesh, monkeypatch, fault):
    s, before = saved(kesh)
    s.history[-1] = s.history[-1].__class__(kesh.transpose(2), (), None, "changed")
    with monkeypatch.context() as m, pytest.raises(CommandError) as e:
        _inject(m, *OS_FAULTS[fault])
        s.save()
    msg = str(e.value)
    assert "\n" not in msg and "cannot save the session" in msg or "ST4RT_HOME" in msg, msg
    assert_previous_intact(s.path, before, kesh)


def test_ctrl_c_during_the_write_keeps_the_previous_session(kesh, monkeypatch):
    s, before = saved(kesh)
    s.history[-1] = s.history[-1].__class__(kesh.transpose(2), (), None, "changed")
    with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
        _inject(m, "open", _half_open(KeyboardInterrupt()))
        s.save()
    assert_previous_intact(s.path, before, kesh)


def test_a_failed_last_pointer_leaves_a_whole_new_session(kesh, monkeypatch):
    """The session file is renamed into place before `last` is written: new and whole."""
    s, _ = saved(kesh)
    s.set_piece(kesh.transpose(2), "changed")
    real = session_mod.atomic_write

    def fake(path, text):
        if Path(path).name == "last":
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, text)
    s.history[-1] = s.history[-1].__class__(kesh.transpose(4), (), None, "again")
    with monkeypatch.context() as m, pytest.raises(CommandError):
        m.setattr(session_mod, "atomic_write", fake)
        s.save()
    assert Session.open("fi").piece == kesh.transpose(4)
    assert (sessions_dir() / "last").read_text().strip() == "fi"


def test_a_failing_folder_fsync_after_the_rename_still_saves(kesh, monkeypatch):
    s, _ = saved(kesh)
    real_fsync = os.fsync

    def fsync(fd):
        if os.path.isdir(f"/proc/self/fd/{fd}"):      # the folder's fsync, after the rename
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)
    with monkeypatch.context() as m:
        _inject(m, "fsync", fsync)
        s.set_piece(kesh.transpose(2), "changed")
    assert Session.open("fi").piece == kesh.transpose(2)


@pytest.mark.parametrize("fault", ["full disk half-way (ENOSPC)", "fsync fails after the write (EIO)",
                                   "rename fails"])
def test_a_failed_save_leaves_no_temp_file(kesh, monkeypatch, fault):
    """A failed save cleans up after itself: no `.fi.json.PID.tmp` piles up in the folder."""
    s, _ = saved(kesh)
    with monkeypatch.context() as m, pytest.raises(CommandError):
        _inject(m, *OS_FAULTS[fault])
        s.save()
    assert temp_files() == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into a read-only folder anyway (the EROFS case above covers it)")
def test_a_read_only_sessions_folder(kesh):
    s, before = saved(kesh)
    folder = sessions_dir()
    folder.chmod(0o500)
    try:
        s.history[-1] = s.history[-1].__class__(kesh.transpose(2), (), None, "changed")
        with pytest.raises(CommandError) as e:
            s.save()
        assert "\n" not in str(e.value)
    finally:
        folder.chmod(0o700)
    assert_previous_intact(s.path, before, kesh)


# ----- kill -9 in the middle of a write ----------------------------------------------------

# The child saves the Kesh under a 40-million-character title, over and over (transposed by
# k % 5 semitones each time): serialising is quick, but writing and fsyncing 40 MB is not,
# so most of each save is spent with the temp file open: the kill lands mid-write.
TITLE_CHARS = 40_000_000
CHILD = textwrap.dedent("""
    import sys
    from st4rt_repl.formats import parse_abc_text
    from st4rt_repl.session import Session
    sys.path.insert(0, {tests!r})
    from tunes import KESH
    kesh = parse_abc_text(KESH).tune
    title = "x" * {chars}
    s = Session("fi", seed=1)
    s.set_piece(kesh.transpose(0).__class__(kesh.bars, kesh.meter, kesh.key, title, kesh.tempo, kesh.pickup),
                "load")
    print("first", flush=True)
    k = 0
    while True:
        k += 1
        t = kesh.transpose(k % 5)
        s.set_piece(t.__class__(t.bars, t.meter, t.key, title, t.tempo, t.pickup), f"turn {{k}}")
""")


def test_kill_9_during_a_write_keeps_a_whole_session(kesh):
    """SIGKILL lands while the temp file is being written (it exists, the rename has not
    happened): the session file is a whole earlier save, and it opens."""
    src = str(Path(session_mod.__file__).parents[1])       # this checkout, also from a copy
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    script = CHILD.format(tests=str(Path(__file__).parent), chars=TITLE_CHARS)
    folder = sessions_dir()
    for attempt in range(5):
        # cwd: the source root (under mutmut, mutants/, whose pyproject the mutated code reads)
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, cwd=src)
        try:
            assert proc.stdout.readline().strip() == b"first"
            full = (folder / "fi.json").stat().st_size
            truncated = False
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                # mid-write: a temp file exists, or (a writer working in place) the file is short
                if any(p.name.startswith(".fi.json.") for p in folder.iterdir()):
                    proc.send_signal(signal.SIGKILL)
                    break
                try:
                    truncated = (folder / "fi.json").stat().st_size < full
                except FileNotFoundError:
                    truncated = True
                if truncated:
                    proc.send_signal(signal.SIGKILL)
                    break
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL
        leftovers = [p for p in folder.iterdir() if p.name.startswith(".fi.json.")]
        s = Session.open("fi")                       # whole JSON, a whole tune
        assert s.piece.title == "x" * TITLE_CHARS
        assert any(s.piece.sounding() == kesh.transpose(k).sounding() for k in range(5))
        if leftovers or truncated:                   # the kill landed during a write
            return
        for p in folder.iterdir():
            p.unlink()
    pytest.fail("the kill never landed during a write in 5 tries")


# ----- exports: the session's `export` and `st4rt convert` ---------------------------------

def _half_save(exc):
    """engine.save_tune that writes half of the real file to the temp name, then fails."""
    from st4rt_repl import engine
    real = engine.save_tune

    def fake(t, path):
        real(t, path)
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[:len(data) // 2])
        raise exc
    return fake


def _export_litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
                         ids=["full disk", "ctrl-c"])
@pytest.mark.parametrize("fmt,ext", [("abc", ".abc"), ("midi", ".mid")])
def test_a_failed_export_keeps_the_previous_file(kesh, home, monkeypatch, exc, fmt, ext):
    from st4rt_repl import engine
    from st4rt_repl.commands import Intent
    from st4rt_repl.formats import load
    s, _ = saved(kesh)
    out = home / f"kesh{ext}"
    s.apply(Intent("export", {"format": fmt, "path": str(out)}))
    before = out.read_bytes()
    s.set_piece(kesh.transpose(3), "changed")
    with monkeypatch.context() as m:
        m.setattr(engine, "save_tune", _half_save(exc))
        with pytest.raises(CommandError if isinstance(exc, OSError) else KeyboardInterrupt) as e:
            s.apply(Intent("export", {"format": fmt, "path": str(out), "overwrite": True}))
    if isinstance(exc, OSError):
        assert "\n" not in str(e.value) and "No space left" in str(e.value)
    assert out.read_bytes() == before
    assert load(out).tune.sounding()[0][2] == kesh.performed().sounding()[0][2]
    assert _export_litter(home) == []


def test_a_failed_convert_keeps_the_previous_output(kesh, home, monkeypatch, capsys):
    from st4rt_repl import engine
    from st4rt_repl.cli import EXIT_USER, main
    src, dst = home / "kesh.abc", home / "out.mid"
    src.write_text(KESH)
    assert main(["convert", str(src), str(dst)]) == 0
    before = dst.read_bytes()
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(engine, "save_tune", _half_save(OSError(errno.ENOSPC, "No space left on device")))
        assert main(["convert", str(src), str(dst), "--force"]) == EXIT_USER
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left" in err, err
    assert dst.read_bytes() == before
    assert _export_litter(home) == []


# ----- the corpus cache -------------------------------------------------------------------

@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
                         ids=["full disk", "ctrl-c"])
def test_a_failed_cache_write_keeps_the_old_entry_and_no_temp_file(tmp_path, monkeypatch, exc):
    import pickle

    from st4rt_repl.corpus import build
    entry = tmp_path / "abc.pkl"
    build._atomic_write(entry, pickle.dumps([{"title": "old"}]))
    with monkeypatch.context() as m, pytest.raises(type(exc)):
        m.setattr(build, "open", _half_open(exc), raising=False)
        build._atomic_write(entry, pickle.dumps([{"title": "new" * 1000}]))
    assert build._load_cached(entry) == [{"title": "old"}]
    assert [p.name for p in tmp_path.iterdir()] == ["abc.pkl"]


def test_a_damaged_cache_entry_is_parsed_again_not_trusted(tmp_path):
    import pickle

    from st4rt_repl.corpus import build
    entry = tmp_path / "abc.pkl"
    data = pickle.dumps([{"title": "whole"}] * 50)
    entry.write_bytes(data[:len(data) // 2])          # as if written in place and killed
    assert build._load_cached(entry) is None
