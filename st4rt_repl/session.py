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
from st4rt_repl.tune import Bar, Key, Note, Tune, TuneError

__all__ = ["Session", "State", "Settings", "Outcome", "CommandError", "tune_to_json",
           "tune_from_json", "sessions_dir", "list_sessions", "atomic_write"]

FORMAT = "st4rt-session"
VERSION = 1
MAX_HISTORY = 200          # states kept for undo (older ones are dropped)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
GENERATIVE = ("continue", "vary", "generate", "interpolate")


class CommandError(Exception):
    """A command that cannot be carried out; the message is one line for the user."""


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
# Tunes <-> JSON (fractions as strings, e.g. "1/3")
# ----------------------------------------------------------------------------
def tune_to_json(t: Tune) -> dict:
    """A JSON-ready dict; `tune_from_json` inverts it exactly.

    >>> t = Tune.from_bars([[(60, '1/3'), (None, '2/3', False), (62, 3, True)]], title="A")
    >>> tune_from_json(json.loads(json.dumps(tune_to_json(t)))) == t
    True
    """
    bars = []
    for b in t.bars:
        notes = [[n.pitch, str(n.duration)] + ([1] if n.tie else []) for n in b.notes]
        bars.append({"notes": notes} | ({"meter": list(b.meter)} if b.meter != t.meter else {}))
    return {"title": t.title, "meter": list(t.meter), "key": [t.key.tonic, t.key.mode],
            "tempo": t.tempo, "pickup": t.pickup, "bars": bars}


def tune_from_json(d: dict) -> Tune:
    """The Tune of a `tune_to_json` dict (raises TuneError on a malformed one)."""
    try:
        meter = tuple(d["meter"])
        bars = tuple(Bar(tuple(Note(n[0], Fraction(n[1]), bool(n[2]) if len(n) > 2 else False)
                               for n in b["notes"]), tuple(b.get("meter", meter)))
                     for b in d["bars"])
        return Tune(bars, meter, Key(*d["key"]), title=d["title"], tempo=int(d["tempo"]),
                    pickup=bool(d["pickup"]))
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise TuneError(f"malformed tune in session file: {e}") from e


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
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "tune"


def _resolve_bar(t: Tune, b: int) -> int:
    """A bar number as the user sees it (negative -> from the end), checked to exist."""
    try:
        return t.bar_numbers()[t._index(b)]
    except TuneError as e:
        raise CommandError(str(e)) from None


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
                tunes.append(tune_to_json(t))
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
        """Rebuild a session from `to_json` output; CommandError on a bad or newer file."""
        if d.get("format") != FORMAT:
            raise CommandError(f"{source}: not an ST4RT+ session file")
        if d.get("version", 0) > VERSION:
            raise CommandError(f"{source}: session format {d.get('version')} is newer than "
                               f"this ST4RT+ understands ({VERSION})")
        try:
            tunes = [tune_from_json(t) for t in d["tunes"]]
            s = cls.__new__(cls)
            s.name = d["name"]
            s.settings = Settings(**{k: v for k, v in d["settings"].items()
                                     if k in Settings.__dataclass_fields__})
            s.history = [State(tunes[h["piece"]] if h["piece"] is not None else None,
                               tuple(Proposal(tunes[p["tune"]], tuple(p["changed"]))
                                     for p in h["proposals"]),
                               Intent(h["request"]["intent"], h["request"]["args"])
                               if h["request"] else None, h["label"])
                         for h in d["history"]]
            s.index = int(d["index"])
            if not 0 <= s.index < len(s.history):
                raise ValueError(f"index {s.index} outside the history")
        except (KeyError, TypeError, ValueError, IndexError, TuneError) as e:
            raise CommandError(f"{source}: damaged session file ({e})") from None
        s.autosave_enabled = True
        return s

    def save(self, *, force: bool = False) -> None:
        """Write the session file and the `last` pointer atomically."""
        if not (self.autosave_enabled or force):
            return
        atomic_write(self.path, json.dumps(self.to_json(), separators=(",", ":")))
        atomic_write(sessions_dir() / "last", self.name + "\n")

    @classmethod
    def open(cls, name: str) -> "Session":
        """The saved session NAME."""
        path = sessions_dir() / f"{_check_name(name)}.json"
        if not path.exists():
            known = ", ".join(r["name"] for r in list_sessions()[:5])
            raise CommandError(f"no saved session {name!r}" + (f" (saved: {known})" if known else ""))
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise CommandError(f"{path}: cannot read session file ({e})") from None
        s = cls.from_json(d, source=str(path))
        s.name = name
        return s

    @staticmethod
    def last_name() -> str | None:
        """Name of the most recently saved session, if its file still exists."""
        try:
            name = (sessions_dir() / "last").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return name if name and (sessions_dir() / f"{name}.json").exists() else None

    def describe(self) -> str:
        """One line: name, piece, turns."""
        p = self.piece
        what = f"{p.title}, {p.num_bars} bars" if p else "no piece yet"
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
        except KeyboardInterrupt:        # Ctrl-C cancels the turn: put everything back
            self.history, self.index, self.name, self.settings = snapshot
            raise
        except CommandError:
            raise
        except NotAvailable as e:
            raise CommandError(str(e)) from None
        except TuneError as e:           # includes InputError: "file:line:col: message"
            raise CommandError(str(e)) from None
        except ImportError as e:
            raise CommandError(f"{intent.name} is not available yet ({e.name or e} is missing)") from None
        except OSError as e:
            where = f"{e.filename}: " if getattr(e, "filename", None) else ""
            raise CommandError(f"{where}{e.strerror or e}") from None
        except RuntimeError as e:        # PlaybackError and friends: one line
            raise CommandError(" ".join(str(e).split()) or type(e).__name__) from None
        except TypeError as e:           # wrong argument names from a hand-made Intent
            raise CommandError(f"{intent.name}: bad arguments ({e})") from None
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
        kw = dict(candidates=st.candidates, seed=seed)
        if request.name == "continue":
            piece = self._need_piece("continue")
            n = int(a["bars"])
            if not 1 <= n <= 256:
                raise CommandError("continue: bars must be 1..256")
            temp = float(a.get("temperature", st.temperature))
            props = engine.continue_tune(piece, n, temperature=temp, profile=st.profile,
                                         likeness=st.likeness, **kw)
            label = f"continue {n} bars"
        elif request.name == "vary":
            piece = self._need_piece("vary")
            bars = sorted({_resolve_bar(piece, b) for b in a["bars"]})
            amount = min(1.0, max(0.05, 0.5 * st.temperature))
            props = engine.vary(piece, bars, amount=amount, profile=st.profile,
                                likeness=st.likeness, **kw)
            label = "vary " + _bars_text(bars)
        elif request.name == "generate":
            n = int(a["bars"])
            if not 1 <= n <= 256:
                raise CommandError("generate: bars must be 1..256")
            p = self.piece
            props = engine.generate(n, meter=p.meter if p else (4, 4),
                                    key=p.key if p else Key("D", "major"),
                                    profile=st.profile, likeness=st.likeness, **kw)
            label = f"generate {n} bars"
        else:
            piece = self._need_piece("interpolate")
            a_bar, b_bar = _resolve_bar(piece, a["from"]), _resolve_bar(piece, a["to"])
            if a_bar == b_bar:
                raise CommandError("interpolate needs two different bars")
            props = engine.interpolate(piece, a_bar, b_bar, **kw)
            label = f"interpolate bar {a_bar} to bar {b_bar}"
        if not props:
            raise CommandError(f"{request.name}: the model returned no candidates")
        st.rolls += 1
        self.push_proposals(props, request, label)
        return Outcome(f"{len(props)} candidates ({label}, seed {seed}): "
                       "'take N' to accept, 'again' for new ones", "proposals")

    def _do_continue(self, bars: int, temperature: float | None = None) -> Outcome:
        args = {"bars": bars} | ({"temperature": temperature} if temperature is not None else {})
        return self._propose(Intent("continue", args))

    def _do_generate(self, bars: int) -> Outcome:
        return self._propose(Intent("generate", {"bars": bars}))

    def _do_vary(self, bars: list[int]) -> Outcome:
        return self._propose(Intent("vary", {"bars": list(bars)}))

    def _do_interpolate(self, **args) -> Outcome:
        return self._propose(Intent("interpolate", {"from": args["from"], "to": args["to"]}))

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

    def _do_accept(self, candidate: int) -> Outcome:
        k, prop = self._candidate(candidate)
        self.set_piece(prop.tune, f"accept {k}")
        return Outcome(f"accepted candidate {k}: the piece now has {prop.tune.num_bars} bars",
                       "piece")

    def _do_reject(self) -> Outcome:
        if not self.proposals:
            raise CommandError("no candidates to reject")
        n = len(self.proposals)
        self.push(State(self.piece, (), self.state.request, "reject"))
        self.save()
        return Outcome(f"rejected {n} candidates ('again' rolls new ones)")

    def _do_undo(self) -> Outcome:
        if not self.can_undo():
            raise CommandError("nothing to undo")
        undone = self.state.label
        self.index -= 1
        self.save()
        return Outcome(f"undid '{undone}'", "proposals" if self.proposals else "piece")

    def _do_redo(self) -> Outcome:
        if not self.can_redo():
            raise CommandError("nothing to redo")
        self.index += 1
        self.save()
        return Outcome(f"redid '{self.state.label}'", "proposals" if self.proposals else "piece")

    # editing the piece ------------------------------------------------------------
    def _edit(self, fn, label: str) -> None:
        """Apply `fn` to the piece and every proposal (a new, undoable turn)."""
        piece = self._need_piece(label.split()[0])
        props = tuple(Proposal(fn(p.tune), p.changed) for p in self.proposals)
        self.push(State(fn(piece), props, self.state.request, label))
        self.save()

    def _do_transpose(self, semitones: int) -> Outcome:
        piece = self._need_piece("transpose")
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

    def _do_tempo(self, bpm: int) -> Outcome:
        self._need_piece("set the tempo of")
        if not 20 <= bpm <= 400:
            raise CommandError(f"tempo {bpm} is out of range: use 20..400 bpm")
        self._edit(lambda t: t.with_(tempo=int(bpm)), f"tempo {bpm}")
        return Outcome(f"tempo is now {bpm} bpm")

    def _do_tempo_step(self, direction: str) -> Outcome:
        piece = self._need_piece("change the tempo of")
        bpm = round(piece.tempo * (1.1 if direction == "up" else 1 / 1.1))
        if bpm == piece.tempo:
            bpm += 1 if direction == "up" else -1
        return self._do_tempo(max(20, min(400, bpm)))

    def _do_title(self, text: str) -> Outcome:
        self._need_piece("name")
        text = " ".join(text.split())
        self._edit(lambda t: t.with_(title=text), "title")
        return Outcome(f"title is now {text!r}")

    def _do_load(self, path: str) -> Outcome:
        from st4rt_repl import formats
        result = formats.load(os.path.expanduser(path))
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
    def _do_export(self, format: str, path: str = "") -> Outcome:
        from st4rt_repl.commands import EXPORT_FORMATS
        piece = self._need_piece("export")
        if format not in EXPORT_FORMATS:
            raise CommandError(f"unknown export format {format!r}")
        target = Path(os.path.expanduser(path or _slug(piece.title) + EXPORT_FORMATS[format]))
        if target.is_dir():
            target = target / (_slug(piece.title) + EXPORT_FORMATS[format])
        if format in ("wav", "svg"):
            from st4rt_repl import playback
            (playback.render_wav if format == "wav" else playback.render_svg)(piece, target)
        else:
            from st4rt_repl import formats
            formats.save(piece, target)
        return Outcome(f"wrote {target} ({format}, {piece.num_bars} bars)")

    def _do_play(self, candidate: int | None = None, bars: list[int] | None = None,
                 loop: bool = False) -> Outcome:
        from st4rt_repl import playback
        tune = self._candidate(candidate)[1].tune if candidate is not None else \
            self._need_piece("play")
        rng = None
        if bars:
            nums = [_resolve_bar(tune, b) for b in bars]
            rng = (min(nums), max(nums))
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
        lines = [self.describe(),
                 f"file: {self.path}",
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
        from st4rt_repl import config
        return Outcome("", "text", text=config.show_config())

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
