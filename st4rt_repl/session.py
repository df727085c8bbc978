"""The turn engine of the co-composer: the piece, the proposals, undo/redo, autosave.

A session is a history of immutable `State`s (the accepted piece, the numbered
proposals on the table and the request that made them).  Every turn that
changes something pushes a new state and saves the whole session atomically
(temp file in the same folder, fsync, os.replace), so a kill -9 at any moment
loses at most the turn in flight.  Nothing here prints: `apply` returns an
`Outcome` and the REPL decides how to show it.

>>> import os, tempfile; os.environ["ST4RT_HOME"] = tempfile.mkdtemp()
>>> from st4rt_repl.commands import parse
>>> from st4rt_repl.tune import Key, Tune
>>> s = Session(seed=1)
>>> t = Tune.from_bars([[(62, 2), (64, 2)], [(66, 4)]], key=Key("D", "major"), title="Two")
>>> s.set_piece(t, "test")
>>> s.apply(parse("transpose up 2")).message
'transposed up 2 semitones: now E major'
>>> [n.pitch for n in s.piece.bar(1).notes]
[64, 66]
>>> _ = s.apply(parse("undo")); [n.pitch for n in s.piece.bar(1).notes]
[62, 64]
>>> Session.open(s.name).piece == s.piece     # the autosave has it
True
>>> del os.environ["ST4RT_HOME"]
"""
from __future__ import annotations

import json
import os
import random
import re
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from st4rt_repl import engine, paths
from st4rt_repl.commands import Intent
from st4rt_repl.engine import NotAvailable, Proposal
from st4rt_repl.limits import MAX_BARS, check_count
from st4rt_repl.tune import Key, Tune, TuneError

__all__ = ["Session", "State", "Settings", "Outcome", "CommandError", "Confirm",
           "sessions_dir", "list_sessions", "atomic_write", "find_last"]

FORMAT = "st4rt-session"
VERSION = 2                # 2: tunes keep their written form (round-1 files are version 1)
MAX_HISTORY = 200          # states kept for undo (older ones are dropped)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
GENERATIVE = ("continue", "vary", "generate", "interpolate")


class CommandError(Exception):
    """A command that cannot be carried out; the message is one line for the user."""


class Confirm(CommandError):
    """A command that needs a yes first (e.g. export onto an existing file).

    `question` is asked in the REPL ("... [y/N]"); on yes the REPL runs `then`.  In
    a script it is an error whose message says how to say yes on the line.
    """

    def __init__(self, message: str, question: str, then: Intent):
        super().__init__(message)
        self.question, self.then = question, then


@dataclass(frozen=True)
class State:
    """One point in the history: the piece, the proposals on the table, what made them."""
    piece: Tune | None = None
    proposals: tuple[Proposal, ...] = ()
    request: Intent | None = None      # the generative request behind `proposals` (for again)
    label: str = "start"               # the turn that produced this state


@dataclass
class Settings:
    """Knobs that are not part of the music (not undone by undo)."""
    temperature: float = 1.0
    candidates: int = 4
    profile: str | None = None
    likeness: float = 0.5
    seed: int = 0              # base seed; the n-th generative call uses seed + n
    rolls: int = 0
    port: str | None = None


@dataclass
class Outcome:
    """What a turn did, for the REPL to show.

    kind: "info" (just the message), "proposals", "piece", "candidate", "text"
    (preformatted `text`), "help", "paste" (the REPL should read a pasted tune),
    "quit".
    """
    message: str = ""
    kind: str = "info"
    candidate: int | None = None       # for kind == "candidate" (1-based)
    text: str = ""
    topic: str | None = None
    changed: bool = False              # the session state changed (and was saved)


# ----------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------
def sessions_dir() -> Path:
    """data_dir()/sessions: one NAME.json per session, and `last` naming the latest."""
    return paths.data_dir() / "sessions"


def atomic_write(path: Path, text: str) -> None:
    """Write `text` so that `path` holds either the old or the new content, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:          # ENOSPC, EIO, a failed rename, Ctrl-C: no temp file left
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    try:    # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name or "") or name == "last":
        raise CommandError(f"bad session name {name!r}: use letters, digits, '-', '_' or '.'")
    return name


def list_sessions() -> list[dict]:
    """Saved sessions, newest first: name, title, bars, saved (time), turns."""
    out = []
    folder = sessions_dir()
    if not folder.is_dir():
        return out
    for p in folder.glob("*.json"):
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
            st = d["history"][d["index"]]
            piece = d["tunes"][st["piece"]] if st["piece"] is not None else None
            out.append({"name": p.stem, "title": piece["title"] if piece else "(empty)",
                        "bars": sum(1 for _ in piece["bars"]) - (1 if piece and piece["pickup"] else 0)
                        if piece else 0, "saved": d.get("saved", ""), "turns": d["index"],
                        "mtime": p.stat().st_mtime})
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue
    return sorted(out, key=lambda r: -r["mtime"])


def length_text(t: Tune) -> str:
    """'16 bars, 32 played' (written and performed), '8 bars + pickup', '1 bar'.

    >>> length_text(Tune.from_bars([[(60, 4)], [(62, 4)]]).with_repeat(1, 2))
    '2 bars, 4 played'
    """
    n = t.num_bars
    text = f"{n} bar{'s' if n != 1 else ''}"
    played = t.num_played_bars
    if played != n:
        text += f", {played} played"
    return text + (" + pickup" if t.pickup else "")


def _one_line(name: str, e: Exception) -> str:
    """The user's line for an exception raised by a turn."""
    from st4rt_repl.errors import TuneError as _TE
    if isinstance(e, (NotAvailable, _TE)):     # InputError: "file:line:col: message"
        text = str(e)
    elif isinstance(e, ImportError):
        text = f"{name} is not available ({e.name or e} is missing)"
    elif isinstance(e, OSError):
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        text = paths.home_problem(e) or f"{where}{e.strerror or e}"
    elif isinstance(e, TypeError):            # wrong argument names from a hand-made Intent
        text = f"{name}: bad arguments ({e})"
    elif isinstance(e, RuntimeError):         # PlaybackError and friends
        text = str(e) or type(e).__name__
    else:
        raise e
    return " ".join(text.split())


def _count(what: str, n) -> int:
    """A bar count from a request, checked against the shared limit."""
    why = check_count("bars", int(n), MAX_BARS)
    if why:
        raise CommandError(f"{what.replace('_', ' ')}: {why}")
    return int(n)


def _first_part_length(t: Tune) -> int:
    """Written bars of the first part: from the first full bar to its section end (``:|``,
    ``||``, ``|]``) or to the next part label or repeat start (all, if none).  The next
    part's pickup, written after the section end, is not the first part's.

    >>> t = Tune.from_bars([[(60, 4)]] * 12).with_repeat(1, 8).with_repeat(9, 12)
    >>> _first_part_length(t), _first_part_length(Tune.from_bars([[(60, 4)]] * 6))
    (8, 6)
    >>> from st4rt_repl.formats import parse_abc_text
    >>> _first_part_length(parse_abc_text("X:1\\nM:2/4\\nL:1/8\\nK:D\\n|:d|AFAF|DFA:|e|:fafa|gfe:|").tune)
    2
    """
    first = 1 if t.pickup else 0
    n = 0
    for i in range(first, len(t.bars)):
        bar = t.bars[i]
        if i > first and (bar.part or bar.repeat_start):
            break
        n += 1
        if bar.barline != "|":
            break
    return n


def _profile_of(value, active: str | None) -> str | None:
    """A request's profile: True = the active one ("in my style"), False = none, a name, or unsaid."""
    if value is None:
        return active
    if value is True:
        if not active:
            raise CommandError("no profile yet: 'personalize FOLDER' makes one from your tunes")
        return active
    if value is False:
        return None
    return str(value)


def _given(args: dict) -> dict:
    """The optional arguments that were given (None means 'not said')."""
    return {k: v for k, v in args.items() if v is not None}


def _meter_key(a: dict) -> tuple:
    """(meter or None, Key or None) from a request's `meter` ("6/8", [6, 8]) and `key` ("E minor")."""
    meter = key = None
    m = a.get("meter")
    if m is not None:
        meter = tuple(int(x) for x in m) if isinstance(m, (list, tuple)) else engine.parse_meter(m)
    k = a.get("key")
    if k is not None:
        key = Key(*k) if isinstance(k, (list, tuple)) else engine.parse_key(k)
    return meter, key


def _in_key(p: Proposal, piece: Tune, key: Key) -> Proposal:
    """The proposal's new bars moved into `key` (same mode only), each marked in that key.

    A bar's `key` is the key in force there (as the reader sets it): a new bar left
    without one would be written back in the piece's own key (a `[K:]` after one bar).
    """
    old = piece.key_at(piece.bar_numbers()[-1])
    if key.mode != old.mode:
        raise CommandError(f"continuing in {key} from {old} is not possible yet (the mode "
                           "changes); 'transpose to ...' moves the whole piece")
    shift = (key.tonic_pc - old.tonic_pc + 6) % 12 - 6      # the nearest way
    first = len(piece.bars)
    t = p.tune
    moved = t.slice_bars(t.bar_numbers()[first], t.bar_numbers()[-1]).transpose(shift)
    bars = tuple(replace(b, key=key) for b in moved.bars)
    return Proposal(replace(t, bars=t.bars[:first] + bars), p.changed)


def _resolve_bar(t: Tune, b: int) -> int:
    """A bar number as the user sees it (negative -> from the end), checked to exist."""
    try:
        return t.bar_numbers()[t._index(b)]
    except TuneError as e:
        raise CommandError(str(e)) from None


def _ref(x) -> int:
    """An index from a session file: a real int (not a bool, not a float)."""
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"expected a whole number, found {x!r}")
    return x


def _settings(d) -> "Settings":
    """Settings from a session file, each value checked (wrong types -> ValueError)."""
    if not isinstance(d, dict):
        raise TypeError("settings are not a table")
    out = Settings()
    for name, kind in (("temperature", (int, float)), ("candidates", int), ("likeness", (int, float)),
                       ("seed", int), ("rolls", int), ("profile", (str, type(None))),
                       ("port", (str, type(None)))):
        if name in d:
            v = d[name]
            if isinstance(v, bool) or not isinstance(v, kind):
                raise ValueError(f"setting {name} = {v!r}")
            setattr(out, name, v)
    if not (0.05 <= out.temperature <= 3.0 and 1 <= out.candidates <= 16 and 0 <= out.likeness <= 1):
        raise ValueError("settings out of range")
    return out


def find_last() -> tuple[str | None, str | None]:
    """(name of the last session or None, a one-line warning when `last` or its file is damaged).

    Never raises: a damaged pointer or session file means "start a new session".
    """
    path = sessions_dir() / "last"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as e:
        return None, f"cannot read {path} ({e.strerror or e}); starting a new session"
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None, f"{path} is damaged (not text); starting a new session"
    if not name:
        return None, None
    if not _NAME.fullmatch(name) or name == "last":
        return None, f"{path} is damaged (names {name[:40]!r}); starting a new session"
    if not (sessions_dir() / f"{name}.json").is_file():
        return None, f"{path} names session {name!r}, which is gone; starting a new session"
    return name, None


# ----------------------------------------------------------------------------
# The session
# ----------------------------------------------------------------------------
class Session:
    """A co-composing session: history of states, settings, and its file on disk."""

    def __init__(self, name: str | None = None, *, seed: int | None = None,
                 autosave: bool = True):
        self.name = _check_name(name) if name else self._fresh_name()
        self.settings = Settings(seed=random.randrange(2**31) if seed is None else seed)
        self.history: list[State] = [State()]
        self.index = 0
        self.autosave_enabled = autosave

    # ----- views --------------------------------------------------------------
    @property
    def state(self) -> State:
        return self.history[self.index]

    @property
    def piece(self) -> Tune | None:
        return self.state.piece

    @property
    def proposals(self) -> tuple[Proposal, ...]:
        return self.state.proposals

    @property
    def path(self) -> Path:
        return sessions_dir() / f"{self.name}.json"

    def can_undo(self) -> bool:
        return self.index > 0

    def can_redo(self) -> bool:
        return self.index < len(self.history) - 1

    # ----- history --------------------------------------------------------------
    def push(self, state: State) -> None:
        """Make `state` current; drops the redo branch, keeps at most MAX_HISTORY states."""
        del self.history[self.index + 1:]
        self.history.append(state)
        if len(self.history) > MAX_HISTORY:
            del self.history[:len(self.history) - MAX_HISTORY]
        self.index = len(self.history) - 1

    def set_piece(self, tune: Tune, label: str) -> None:
        """Make `tune` the piece (a new, undoable turn) and save."""
        self.push(State(tune, (), None, label))
        self.save()

    def push_proposals(self, proposals, request: Intent | None, label: str) -> None:
        """Put numbered proposals on the table (a new, undoable turn) and save."""
        self.push(State(self.piece, tuple(proposals), request, label))
        self.save()

    # ----- persistence -------------------------------------------------------------
    @staticmethod
    def _fresh_name() -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name, k = stamp, 2
        while (sessions_dir() / f"{name}.json").exists():
            name, k = f"{stamp}-{k}", k + 1
        return name

    def to_json(self) -> dict:
        """The session as a versioned JSON document (tunes stored once, states refer to them)."""
        table: dict[Tune, int] = {}
        tunes: list[dict] = []

        def ref(t: Tune | None) -> int | None:
            if t is None:
                return None
            if t not in table:
                table[t] = len(tunes)
                tunes.append(t.to_json())
            return table[t]

        history = [{"piece": ref(s.piece),
                    "proposals": [{"tune": ref(p.tune), "changed": list(p.changed)}
                                  for p in s.proposals],
                    "request": {"intent": s.request.name, "args": s.request.args}
                    if s.request else None,
                    "label": s.label} for s in self.history]
        st = self.settings
        return {"format": FORMAT, "version": VERSION, "name": self.name,
                "saved": time.strftime("%Y-%m-%d %H:%M:%S"),
                "settings": {"temperature": st.temperature, "candidates": st.candidates,
                             "profile": st.profile, "likeness": st.likeness, "seed": st.seed,
                             "rolls": st.rolls, "port": st.port},
                "index": self.index, "history": history, "tunes": tunes}

    @classmethod
    def from_json(cls, d: dict, *, source: str = "<session>") -> "Session":
        """Rebuild a session from `to_json` output (version 1 or 2); CommandError on a bad file."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise CommandError(f"{source}: not an ST4RT+ session file")
        version = d.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise CommandError(f"{source}: damaged session file (version {version!r})")
        if version > VERSION:
            raise CommandError(f"{source}: session format {version} is newer than "
                               f"this ST4RT+ understands ({VERSION})")
        try:
            tunes = [Tune.from_json(t) for t in d["tunes"]]
            s = cls.__new__(cls)
            s.name = str(d["name"])
            s.settings = _settings(d["settings"])
            s.history = [State(tunes[_ref(h["piece"])] if h["piece"] is not None else None,
                               tuple(Proposal(tunes[_ref(p["tune"])],
                                              tuple(int(k) for k in p["changed"]))
                                     for p in h["proposals"]),
                               Intent(str(h["request"]["intent"]), dict(h["request"]["args"]))
                               if h["request"] else None, str(h["label"]))
                         for h in d["history"]]
            s.index = _ref(d["index"])
            if not 0 <= s.index < len(s.history):
                raise ValueError(f"index {s.index} outside the history")
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, TuneError) as e:
            raise CommandError(f"{source}: damaged session file ({e})") from None
        s.autosave_enabled = True
        return s

    def save(self, *, force: bool = False) -> None:
        """Write the session file and the `last` pointer atomically.

        An unwritable data folder is one CommandError naming it and ST4RT_HOME.
        """
        if not (self.autosave_enabled or force):
            return
        try:
            atomic_write(self.path, json.dumps(self.to_json(), separators=(",", ":")))
            atomic_write(sessions_dir() / "last", self.name + "\n")
        except OSError as e:
            raise CommandError(paths.home_problem(e) or
                               f"{e.filename or self.path}: cannot save the session: "
                               f"{e.strerror or e}") from None

    @classmethod
    def open(cls, name: str) -> "Session":
        """The saved session NAME."""
        path = sessions_dir() / f"{_check_name(name)}.json"
        if not path.exists():
            known = ", ".join(r["name"] for r in list_sessions()[:5])
            raise CommandError(f"no saved session {name!r}" + (f" (saved: {known})" if known else ""))
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:        # UnicodeDecodeError is a ValueError
            raise CommandError(f"{path}: cannot read session file "
                               f"({' '.join(str(e).split())[:120]})") from None
        s = cls.from_json(d, source=str(path))
        s.name = name
        return s

    @staticmethod
    def last_name() -> str | None:
        """Name of the most recently saved session, if `last` is sound and its file exists."""
        return find_last()[0]

    def describe(self) -> str:
        """One line: name, piece (written and played bars), turns."""
        p = self.piece
        what = f"{p.title}, {length_text(p)}" if p else "no piece yet"
        props = f", {len(self.proposals)} proposals" if self.proposals else ""
        return f"session {self.name} ({what}{props}, turn {self.index})"

    # ----- turns ------------------------------------------------------------------
    def apply(self, intent: Intent) -> Outcome:
        """Carry out one command.  On any error the state is unchanged and CommandError says why."""
        handler = getattr(self, f"_do_{intent.name}", None)
        if handler is None:
            raise CommandError(f"'{intent.name}' is not something a session can do")
        before = (self.index, len(self.history), id(self.state), self.name)
        snapshot = (list(self.history), self.index, self.name, replace(self.settings))
        try:
            out = handler(**intent.args)
        except BaseException as e:       # Ctrl-C or an error: put everything back
            moved = (self.index, len(self.history), id(self.state), self.name) != before
            self.history, self.index, self.name, self.settings = snapshot
            if moved and not isinstance(e, CommandError):   # the file too, if it was saved
                try:
                    self.save()
                except CommandError:
                    pass
            if isinstance(e, (KeyboardInterrupt, CommandError)) or not isinstance(e, Exception):
                raise
            raise CommandError(_one_line(intent.name, e)) from None
        if (self.index, len(self.history), id(self.state), self.name) != before:
            out.changed = True
        return out

    # generative turns -------------------------------------------------------------
    def _need_piece(self, what: str) -> Tune:
        if self.piece is None:
            raise CommandError(f"nothing to {what} yet: paste or load a tune first "
                               "(or 'generate 8 bars')")
        return self.piece

    def _seed(self) -> int:
        return self.settings.seed + self.settings.rolls

    def _propose(self, request: Intent) -> Outcome:
        st, a = self.settings, request.args
        seed = self._seed()
        count = int(a.get("candidates") or st.candidates)
        if not 1 <= count <= 16:
            raise CommandError("candidates: use 1..16")
        kw = dict(candidates=count, seed=seed)
        profile = _profile_of(a.get("profile"), st.profile)
        temp = float(a["temperature"]) if a.get("temperature") is not None else st.temperature
        if a.get("temperature_scale") is not None:
            temp = round(min(3.0, max(0.05, temp * float(a["temperature_scale"]))), 3)
        if not 0.05 <= temp <= 3.0:
            raise CommandError(f"temperature {temp} is out of range: use 0.05..3")
        if request.name in ("continue", "new_part"):
            piece = self._need_piece(request.name.replace("_", " "))
            n = _count(request.name, a.get("bars", 8))
            meter, key = _meter_key(a)
            if meter is not None and meter != piece.bars[-1].meter:
                raise CommandError(f"{request.name.replace('_', ' ')} keeps the piece's meter "
                                   f"{piece.bars[-1].meter[0]}/{piece.bars[-1].meter[1]}; "
                                   "for a tune in another meter: 'generate 8 bars in "
                                   f"{meter[0]}/{meter[1]}'")
            if request.name == "continue":
                props = engine.continue_tune(piece, n, temperature=temp, profile=profile,
                                             likeness=st.likeness, **kw)
                label = f"continue {n} bars"
            else:
                props = engine.new_part(piece, n, like=a.get("like"), temperature=temp,
                                        profile=profile, likeness=st.likeness, **kw)
                label = f"new part of {n} bars" + (f" ({a['like']})" if a.get("like") else "")
            if key is not None and key != piece.key_at(piece.bar_numbers()[-1]):
                props = [_in_key(p, piece, key) for p in props]
                label += f" in {key}"
        elif request.name == "vary":
            piece = self._need_piece("vary")
            bars = sorted({_resolve_bar(piece, b) for b in a["bars"]})
            amount = a.get("amount")
            amount = min(1.0, max(0.05, 0.5 * temp)) if amount is None else float(amount)
            if not 0.0 <= amount <= 1.0:
                raise CommandError(f"amount {amount} is out of range: use 0..1")
            props = engine.vary(piece, bars, amount=amount, profile=profile,
                                likeness=st.likeness, **kw)
            label = "vary " + _bars_text(bars)
        elif request.name == "generate":
            n = _count("generate", a["bars"])
            p = self.piece
            meter, key = _meter_key(a)
            meter = meter or (p.meter if p else (4, 4))
            key = key or (p.key if p else Key("D", "major"))
            props = engine.generate(n, meter=meter, key=key, profile=profile,
                                    likeness=st.likeness, temperature=temp, **kw)
            label = f"generate {n} bars in {meter[0]}/{meter[1]}, {key}"
        else:
            piece = self._need_piece("interpolate")
            a_bar, b_bar = _resolve_bar(piece, a["from"]), _resolve_bar(piece, a["to"])
            if a_bar == b_bar:
                raise CommandError("interpolate needs two different bars")
            steps = a.get("steps", 3)
            props = engine.interpolate(piece, a_bar, b_bar, steps=int(steps), **kw)
            label = f"interpolate bar {a_bar} to bar {b_bar}"
        if not props:
            raise CommandError(f"{request.name}: the model returned no candidates")
        st.rolls += 1
        self.push_proposals(props, request, label)
        few = (f"; only {len(props)} distinct (the model found no more)"
               if len(props) < count else "")
        return Outcome(f"{len(props)} candidates ({label}, seed {seed}){few}: "
                       "'take N' to accept, 'again' for new ones", "proposals")

    def _do_continue(self, bars: int = 8, **more) -> Outcome:
        return self._propose(Intent("continue", {"bars": bars} | _given(more)))

    def _do_new_part(self, bars: int | None = None, **more) -> Outcome:
        piece = self._need_piece("add a part to")
        if bars is None:     # as long as the piece's first part (4..16 bars)
            bars = min(16, max(4, _first_part_length(piece)))
        return self._propose(Intent("new_part", {"bars": bars} | _given(more)))

    def _do_generate(self, bars: int = 8, **more) -> Outcome:
        return self._propose(Intent("generate", {"bars": bars} | _given(more)))

    def _do_vary(self, bars: list[int], **more) -> Outcome:
        return self._propose(Intent("vary", {"bars": list(bars)} | _given(more)))

    def _do_interpolate(self, **args) -> Outcome:
        return self._propose(Intent("interpolate", {"from": args["from"], "to": args["to"]}
                                    | _given(args)))

    def _do_again(self) -> Outcome:
        req = self.state.request
        if req is None:
            raise CommandError("nothing to roll again: ask for continue, vary, generate or "
                               "interpolate first")
        return self._propose(req)

    # choosing -------------------------------------------------------------------
    def _candidate(self, k: int) -> tuple[int, Proposal]:
        props = self.proposals
        if not props:
            raise CommandError("no candidates on the table: try 'continue 8 bars' or 'vary bar 3'")
        i = k - 1 if k > 0 else len(props) + k
        if not 0 <= i < len(props):
            raise CommandError(f"there is no candidate {k}: choose 1 to {len(props)}")
        return i + 1, props[i]

    def _do_accept(self, candidate: int | None = None) -> Outcome:
        if candidate is None:        # "yes", "keep it": the only (or first) candidate shown
            if not self.proposals:
                raise CommandError("no candidates on the table to keep: try 'continue 8 bars'")
            candidate = 1
        k, prop = self._candidate(candidate)
        self.set_piece(prop.tune, f"accept {k}")
        return Outcome(f"accepted candidate {k}: the piece now has {length_text(prop.tune)}",
                       "piece")

    def _do_reject(self) -> Outcome:
        if not self.proposals:
            raise CommandError("no candidates to reject")
        n = len(self.proposals)
        self.push(State(self.piece, (), self.state.request, "reject"))
        self.save()
        return Outcome(f"rejected {n} candidates ('again' rolls new ones)")

    def _do_undo(self, count: int = 1) -> Outcome:
        if not self.can_undo():
            raise CommandError("nothing to undo")
        count = max(1, int(count))
        steps = min(count, self.index)
        undone = [self.history[self.index - i].label for i in range(steps)]
        self.index -= steps
        self.save()
        more = f" (only {steps} turns to undo)" if steps < count else ""
        what = ", ".join(f"'{u}'" for u in undone)
        return Outcome(f"undid {what}{more}", "proposals" if self.proposals else "piece")

    def _do_redo(self, count: int = 1) -> Outcome:
        if not self.can_redo():
            raise CommandError("nothing to redo")
        count = max(1, int(count))
        steps = min(count, len(self.history) - 1 - self.index)
        self.index += steps
        self.save()
        redone = ", ".join(f"'{self.history[self.index - i].label}'" for i in reversed(range(steps)))
        more = f" (only {steps} turns to redo)" if steps < count else ""
        return Outcome(f"redid {redone}{more}", "proposals" if self.proposals else "piece")

    # the written form ----------------------------------------------------------------
    def _do_repeat(self, bars: list[int]) -> Outcome:
        piece = self._need_piece("repeat")
        nums = sorted({_resolve_bar(piece, b) for b in bars})
        i, j = nums[0], nums[-1]
        self._edit(lambda t: t.with_repeat(i, j), f"repeat {_bars_text(list(range(i, j + 1)))}")
        return Outcome(f"bars {i}-{j} are now between repeat signs: {length_text(self.piece)}",
                       "piece")

    def _do_unfold(self) -> Outcome:
        piece = self._need_piece("unfold")
        if not piece.has_form:
            return Outcome("nothing to unfold: the piece has no repeats or parts")
        self.set_piece(piece.unfolded(), "unfold")      # bar numbers change: proposals go
        return Outcome(f"unfolded: the repeats are written out ({length_text(self.piece)})",
                       "piece")

    def _do_fold(self) -> Outcome:
        piece = self._need_piece("fold")
        try:
            from st4rt_repl.fold import fold
        except ImportError:
            raise CommandError("fold is not available in this version") from None
        folded = fold(piece)
        if folded == piece:
            return Outcome("nothing to fold: no section is repeated note for note")
        self.set_piece(folded, "fold")
        return Outcome(f"folded: repeated sections are written as repeats "
                       f"({length_text(self.piece)})", "piece")

    # editing the piece ------------------------------------------------------------
    def _edit(self, fn, label: str) -> None:
        """Apply `fn` to the piece and every proposal (a new, undoable turn).

        Every caller has checked that there is a piece (with its own words)."""
        piece = self.piece
        props = tuple(Proposal(fn(p.tune), p.changed) for p in self.proposals)
        self.push(State(fn(piece), props, self.state.request, label))
        self.save()

    def _do_transpose(self, semitones: int | None = None, key: str | None = None) -> Outcome:
        piece = self._need_piece("transpose")
        if semitones is None:             # "transpose to D": the nearest way to that tonic
            if key is None:
                raise CommandError("transpose: say by how much ('up 2') or to which key ('to D')")
            # the tonic moves; the mode is the piece's (transposing never changes it)
            target = engine.parse_key(str(key).split()[0])
            semitones = (target.tonic_pc - piece.key.tonic_pc + 6) % 12 - 6
        if semitones == 0:
            return Outcome("transposed by 0: nothing changed")
        pitches = [n.pitch for _, n in piece.notes() if n.pitch is not None] + [
            n.pitch for p in self.proposals for _, n in p.tune.notes() if n.pitch is not None]
        if pitches and not (0 <= min(pitches) + semitones and max(pitches) + semitones <= 127):
            raise CommandError(f"transposing by {semitones} would leave the MIDI range 0..127")
        self._edit(lambda t: t.transpose(semitones), f"transpose {semitones:+d}")
        word = "up" if semitones > 0 else "down"
        return Outcome(f"transposed {word} {abs(semitones)} semitone"
                       f"{'s' if abs(semitones) != 1 else ''}: now {self.piece.key}")

    def _do_meter(self, meter) -> Outcome:
        """Re-bar the piece in another meter (the notes stay, the barlines move)."""
        from st4rt_repl.form import rebar
        piece = self._need_piece("change the meter of")
        m = tuple(int(x) for x in meter) if isinstance(meter, (list, tuple)) else engine.parse_meter(meter)
        if m == piece.meter and all(b.meter == m for b in piece.bars):
            return Outcome(f"the piece is already in {m[0]}/{m[1]}")
        if piece.has_form:
            raise CommandError("the piece has repeats or parts: 'unfold' it first, then change "
                               "the meter")
        head = [(m, list(piece.bars[0].notes))] if piece.pickup else []
        rest = [n for b in piece.bars[1 if piece.pickup else 0:] for n in b.notes]
        bars, pickup = rebar(head + [(m, rest)])
        new = piece.with_(bars=tuple(bars), meter=m, pickup=pickup)
        self.set_piece(new, f"meter {m[0]}/{m[1]}")
        return Outcome(f"re-barred in {m[0]}/{m[1]}: {length_text(new)}", "piece")

    def _do_tempo(self, bpm: int) -> Outcome:
        self._need_piece("set the tempo of")
        if not 20 <= bpm <= 400:
            raise CommandError(f"tempo {bpm} is out of range: use 20..400 bpm")
        self._edit(lambda t: t.with_(tempo=int(bpm)), f"tempo {bpm}")
        return Outcome(f"tempo is now {bpm} bpm")

    def _do_tempo_step(self, direction: str) -> Outcome:
        piece = self._need_piece("change the tempo of")
        # 10 % a step: never a no-op, since a tempo of 5 or less (where 10 % rounds to
        # nothing) is raised to the 20 bpm floor anyway
        bpm = round(piece.tempo * (1.1 if direction == "up" else 1 / 1.1))
        return self._do_tempo(max(20, min(400, bpm)))

    def _do_title(self, text: str) -> Outcome:
        self._need_piece("name")
        text = " ".join(text.split())
        self._edit(lambda t: t.with_(title=text), "title")
        return Outcome(f"title is now {text!r}")

    def _do_load(self, path: str) -> Outcome:
        result = engine.load_tune(os.path.expanduser(path))
        self.set_piece(result.tune, f"load {Path(path).name}")
        return Outcome(f"loaded {result.tune}" + (f"; {result.message}" if result.message else ""),
                       "piece")

    def _do_primer(self, abc: str) -> Outcome:
        from st4rt_repl import formats
        result = formats.parse_abc_text(abc)
        self.set_piece(result.tune, f"paste {result.tune.title}")
        return Outcome(f"primer: {result.tune}" + (f"; {result.message}" if result.message else ""),
                       "piece")

    # settings ---------------------------------------------------------------------
    def _do_temperature(self, value: float | None = None, direction: str | None = None) -> Outcome:
        st = self.settings
        if value is not None:
            if not 0.05 <= value <= 3.0:
                raise CommandError(f"temperature {value} is out of range: use 0.05..3")
            st.temperature = round(float(value), 3)
        elif direction is not None:
            factor = 1.25 if direction == "up" else 1 / 1.25
            st.temperature = round(min(3.0, max(0.05, st.temperature * factor)), 2)
        else:
            return Outcome(f"temperature is {st.temperature} (higher = more adventurous)")
        self.save()
        return Outcome(f"temperature is now {st.temperature}", changed=True)

    def _do_candidates(self, count: int | None = None) -> Outcome:
        if count is None:
            return Outcome(f"{self.settings.candidates} candidates per turn")
        if not 1 <= count <= 16:
            raise CommandError("candidates: use 1..16")
        self.settings.candidates = int(count)
        self.save()
        return Outcome(f"{count} candidates per turn from now on", changed=True)

    def _do_profile(self, name: str | None = "", **_) -> Outcome:
        if name == "":
            return Outcome(f"profile: {self.settings.profile or 'none'}")
        self.settings.profile = name
        self.save()
        return Outcome(f"profile is now {name or 'none'}", changed=True)

    def _do_port(self, name: str) -> Outcome:
        self.settings.port = None if name.lower() in ("none", "off", "default") else name
        self.save()
        return Outcome(f"MIDI port: {self.settings.port or 'none (audio)'}", changed=True)

    def _do_personalize(self, path: str) -> Outcome:
        from st4rt_repl.formats import EXTENSIONS
        p = Path(os.path.expanduser(path))
        if p.is_dir():
            files = sorted(str(f) for f in p.rglob("*") if f.suffix.lower() in EXTENSIONS)
            if not files:
                raise CommandError(f"{path}: no .abc, .mid or .musicxml files in this folder")
        elif p.exists():
            files = [str(p)]
        else:
            raise CommandError(f"{path}: no such file or folder")
        summary = engine.personalize(files, name="me")
        self.settings.profile = "me"
        self.save()
        return Outcome(f"{summary}; profile 'me' is now on", changed=True)

    # files ------------------------------------------------------------------------
    def _do_export(self, format: str, path: str = "", overwrite: bool = False,
                   force: bool = False) -> Outcome:
        """Write the piece; an existing file needs a yes (`Confirm`), a folder gets a named file."""
        from st4rt_repl.commands import EXPORT_FORMATS
        piece = self._need_piece("export")
        if format not in EXPORT_FORMATS:
            raise CommandError(f"unknown export format {format!r}")
        ext = EXPORT_FORMATS[format]
        name = paths.slug(piece.title) + ext
        target = Path(os.path.expanduser(path or name))
        if target.name == ext:            # "export abc out/" read as out/.abc: a folder
            target = target.parent
        if target.is_dir():
            target = target / name
        elif not target.suffix:           # "export midi song" -> song.mid
            target = target.with_suffix(ext)
        if target.is_dir():
            raise CommandError(f"{target}: is a folder")
        if target.exists() and not (overwrite or force):
            again = Intent("export", {"format": format, "path": str(target), "overwrite": True})
            raise Confirm(f"{target} already exists: say 'export {format} {target} overwrite' "
                          "to replace it (or run the script with --force)",
                          f"{target} already exists. Replace it? [y/N] ", again)
        tmp = target.with_name(f".{target.stem}.{os.getpid()}.part{target.suffix}")
        try:
            if format in ("wav", "svg"):
                from st4rt_repl import playback
                (playback.render_wav if format == "wav" else playback.render_svg)(piece, tmp)
            else:
                engine.save_tune(piece, tmp)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
        return Outcome(f"wrote {target} ({format}, {length_text(piece)})")

    def _do_play(self, candidate: int | None = None, bars: list[int] | None = None,
                 loop: bool = False, tempo: int | None = None,
                 **more) -> Outcome:
        from st4rt_repl import playback
        tune = self._candidate(candidate)[1].tune if candidate is not None else \
            self._need_piece("play")
        start = more.get("from") if more.get("from") is not None else more.get("from_bar")
        rng = None
        if bars:
            nums = [_resolve_bar(tune, b) for b in bars]
            rng = (min(nums), max(nums))
        elif start is not None:
            rng = (_resolve_bar(tune, start), tune.bar_numbers()[-1])
        if tempo is not None:
            if not 20 <= int(tempo) <= 400:
                raise CommandError(f"tempo {tempo} is out of range: use 20..400 bpm")
            # the config's tempo overrides the tune's own (playback._prepare)
            cfg = replace(playback.load_config(), tempo=int(tempo))
            return Outcome(playback.play(tune, port=self.settings.port, loop=loop, bars=rng,
                                         config=cfg))
        return Outcome(playback.play(tune, port=self.settings.port, loop=loop, bars=rng))

    def _do_stop(self) -> Outcome:
        try:
            from st4rt_repl import playback
        except ImportError:
            return Outcome("nothing is playing")
        return Outcome("stopped" if playback.stop() else "nothing is playing")

    # sessions -----------------------------------------------------------------------
    def _do_save(self, name: str | None = None) -> Outcome:
        if name:
            self.name = _check_name(name)
        self.save(force=True)
        return Outcome(f"saved session {self.name} ({self.path})")

    def _do_open(self, name: str) -> Outcome:
        other = Session.open(name)
        self.save()
        self._become(other)
        self.save()
        return Outcome(f"opened {self.describe()}", "proposals" if self.proposals else "piece")

    def _do_new(self) -> Outcome:
        self.save()
        old = self.name
        self._become(Session(seed=self.settings.seed + self.settings.rolls + 1))
        self.save()
        return Outcome(f"new session {self.name} (the old one is saved as {old})")

    def _become(self, other: "Session") -> None:
        self.name, self.settings = other.name, other.settings
        self.history, self.index = other.history, other.index

    def _do_sessions(self) -> Outcome:
        rows = list_sessions()
        if not rows:
            return Outcome("no saved sessions yet")
        lines = [f"{'*' if r['name'] == self.name else ' '} {r['name']:<24} {r['title'][:30]:<30} "
                 f"{r['bars']:>3} bars  {r['saved']}" for r in rows[:30]]
        return Outcome(f"{len(rows)} saved sessions ('open NAME' to switch)", "text",
                       text="\n".join(lines))

    # information --------------------------------------------------------------------
    def _do_show(self, candidate: int | None = None) -> Outcome:
        if candidate is not None:
            k, _ = self._candidate(candidate)
            return Outcome("", "candidate", candidate=k)
        if self.piece is None and not self.proposals:
            return Outcome("nothing yet: paste an ABC tune, 'load FILE' or 'generate 8 bars'")
        return Outcome("", "proposals" if self.proposals else "piece")

    def _do_status(self) -> Outcome:
        st = self.settings
        p = self.piece
        lines = [self.describe()]
        if p is not None:
            lines.append(f"piece: {p.title}, {length_text(p)}, {p.key}, "
                         f"{p.meter[0]}/{p.meter[1]}, {p.tempo} bpm"
                         + (f", parts {p.parts}" if p.parts else ""))
        lines += [f"file: {self.path}",
                 f"history: turn {self.index} of {len(self.history) - 1}"
                 f" (undo {'yes' if self.can_undo() else 'no'}, redo {'yes' if self.can_redo() else 'no'})",
                 f"temperature {st.temperature}, {st.candidates} candidates, profile "
                 f"{st.profile or 'none'}, seed {st.seed}+{st.rolls}, port {st.port or 'audio'}"]
        return Outcome("", "text", text="\n".join(lines))

    def _do_ports(self) -> Outcome:
        from st4rt_repl import playback
        ports = playback.list_ports()
        return Outcome("MIDI output ports: " + (", ".join(ports) if ports else "none found"))

    def _do_config(self) -> Outcome:
        from st4rt_repl import playback
        return Outcome("", "text", text=playback.show_config())

    def _do_help(self, topic: str | None = None) -> Outcome:
        return Outcome("", "help", topic=topic)

    def _do_paste(self) -> Outcome:
        return Outcome("", "paste")

    def _do_quit(self) -> Outcome:
        return Outcome("bye", "quit")


def _bars_text(bars: list[int]) -> str:
    """'bar 3', 'bars 3-5', 'bars 1, 4'."""
    if len(bars) == 1:
        return f"bar {bars[0]}"
    if bars == list(range(bars[0], bars[-1] + 1)):
        return f"bars {bars[0]}-{bars[-1]}"
    return "bars " + ", ".join(map(str, bars))
