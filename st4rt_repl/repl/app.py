"""The `st4rt` REPL: a prompt_toolkit prompt in front of a `Session`.

``st4rt`` opens the prompt (offering to resume the last session), ``st4rt FILE``
opens it with that tune loaded, and ``st4rt --script FILE`` (or commands piped
on stdin) runs the same commands with the same output, for tests and pipelines.

Start-up stays light: only prompt_toolkit is imported before the prompt shows;
rich, music21, torch and the model are warmed up in a background thread once it
is on screen, and model turns wait for that warm-up (bench/bench_startup.py
measures both).
"""
from __future__ import annotations

import re
import sys
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TextIO

from st4rt_repl import paths
from st4rt_repl.commands import Intent, ParseError, Unclear, looks_like_abc, parse
from st4rt_repl.session import CommandError, Confirm, Outcome, Session, find_last
from st4rt_repl.repl import help as help_texts

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["run_repl", "Repl", "run_script", "run_interactive", "script_blocks"]

PROMPT = "st4rt> "
_MODEL_TURNS = {"continue", "generate", "vary", "interpolate", "again", "personalize", "new_part"}
_ABC_START = re.compile(r"^X:\s*\d*\s*$")


def _text(message: str, style: str = ""):
    from rich.text import Text
    return Text(message, style=style)


def _console(**kw) -> "Console":
    from rich.console import Console
    return Console(highlight=False, **kw)


# ----------------------------------------------------------------------------
# Warm-up: import music21 and torch, load the models, off the start path
# ----------------------------------------------------------------------------
class WarmUp:
    """Imports rich, music21, torch and the continuation model in a background thread.

    Imports need no waiting: Python's import lock makes the main thread wait for a
    module the warm-up is halfway through.  Model turns call `wait()` so the model
    is not loaded twice.
    """

    def __init__(self):
        self.thread: threading.Thread | None = None
        self.seconds: float | None = None

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="st4rt-warmup", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            import rich.console  # noqa: F401
            from st4rt_repl import display  # noqa: F401
            from st4rt_repl.formats import parse_abc_text
            primer = parse_abc_text("X:1\nT:warm\nM:4/4\nL:1/8\nK:D\nDEFG ABcd|\n").tune
            import torch  # noqa: F401  (the import is the slow part)
            from st4rt_repl import engine
            engine.continue_tune(primer, 1, candidates=1, seed=0)
        except Exception:   # a missing model or tool shows up when the user asks for it
            pass
        self.seconds = time.perf_counter() - t0

    def busy(self) -> bool:
        """True while the warm-up is still running."""
        return self.thread is not None and self.thread.is_alive()

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()


# ----------------------------------------------------------------------------
# The REPL core, shared by the interactive prompt and scripts
# ----------------------------------------------------------------------------
class Repl:
    """Runs command lines against a session and shows the outcome on a rich console."""

    def __init__(self, session: Session, console: "Console | None" = None, *,
                 err: "Console | None" = None, read_paste: Callable[[], str | None] | None = None,
                 warmup: WarmUp | None = None, ask: Callable[[str], bool] | None = None,
                 force: bool = False, answer: Callable[[str], str | None] | None = None):
        self.session = session
        self.ask = ask              # None in scripts: questions become errors
        self.force = force          # --force: export may replace files
        self.answer = answer        # reads the reply to a clarifying question (None in scripts)
        self._console = console
        self._err = err
        self.read_paste = read_paste
        self.warmup = warmup
        self.quit = False
        self.failures = 0

    # ----- output -----------------------------------------------------------------
    @property
    def console(self) -> "Console":
        if self._console is None:      # rich is imported on first output, not at start
            self._console = _console()
        return self._console

    @property
    def err(self) -> "Console":
        return self._err or self.console

    @property
    def width(self) -> int:
        return max(40, min(self.console.width, 160))

    def error(self, message: str, where: str | None = None) -> None:
        self.failures += 1
        line = f"st4rt: {where}: {message}" if where else f"error: {message}"
        self.err.print(_text(" ".join(line.split()), "bold red"), soft_wrap=True)

    def warn(self, message: str, where: str | None = None) -> None:
        line = f"st4rt: {where}: warning: {message}" if where else f"warning: {message}"
        self.err.print(_text(" ".join(line.split()), "yellow"), soft_wrap=True)

    def info(self, message: str) -> None:
        if message:
            self.console.print(_text(message, "green"), soft_wrap=True)

    def show(self, out: Outcome) -> None:
        from st4rt_repl import display
        s = self.session
        if out.kind == "proposals" and s.proposals:
            self.console.print(display.render_proposals(s.proposals, piece=s.piece,
                                                        width=self.width))
        elif out.kind in ("piece", "proposals") and s.piece is not None:
            self.console.print(display.render_piece(s.piece, width=self.width))
        elif out.kind == "candidate" and out.candidate is not None:
            self.console.print(display.render_proposal(out.candidate, s.proposals[out.candidate - 1],
                                                       piece=s.piece, full=True, width=self.width))
        elif out.kind == "text":
            self.console.print(_text(out.text), soft_wrap=True)
        elif out.kind == "help":
            try:
                text = help_texts.topic_help(out.topic) if out.topic else help_texts.overview()
            except KeyError as e:
                self.error(e.args[0])
                return
            self.console.print(_text(text), soft_wrap=True)
        self.info(out.message)

    # ----- commands ---------------------------------------------------------------
    def execute(self, text: str, *, where: str | None = None) -> bool:
        """Run one command line (or a pasted ABC tune); False when it failed."""
        if not text.strip():
            return True
        try:
            intent = parse(text)
        except Unclear as e:
            if self.answer is None:          # a script: an error with its line, never the guess
                self.error(e.message, where)
                return False
            reply = self.answer(str(e) + " ")
            if reply is None:
                self.info("not done")
                return True
            if reply.strip().lower() in ("", "y", "yes"):
                return self.run_intent(e.guess, where=where)
            if reply.strip().lower() in ("n", "no"):
                self.info("not done")
                return True
            return self.execute(reply, where=where)     # the answer is a new command
        except ParseError as e:
            self.error(str(e), where)
            return False
        return self.run_intent(intent, where=where)

    def run_intent(self, intent: Intent, *, where: str | None = None) -> bool:
        done = False        # the turn has happened (Ctrl-C after this only cuts the display)
        try:
            if intent.name in _MODEL_TURNS and self.warmup is not None:
                if self.warmup.busy():
                    # The first start after installing imports torch cold (measured: 19 s on a
                    # busy 2-core machine without compiled .pyc files, 1.5 s after): say so.
                    self.info("loading the models (the first start after installing is slow)...")
                self.warmup.wait()
            if self.force and intent.name == "export":
                intent = Intent("export", dict(intent.args) | {"force": True})
            try:
                out = self.session.apply(intent)
            except Confirm as c:
                if self.ask is None:               # a script: say how to say yes on the line
                    raise CommandError(str(c)) from None
                if not self.ask(c.question):
                    self.info("not done: the file is as it was")
                    return True
                out = self.session.apply(c.then)
            done = True
            if out.kind == "paste":
                text = self.read_paste() if self.read_paste else None
                if not text or not text.strip():
                    self.info("nothing pasted")
                    return True
                if not looks_like_abc(text):
                    self.error("that does not look like an ABC tune (no X: or K: line)", where)
                    return False
                done = False
                out = self.session.apply(Intent("primer", {"abc": text}))
                done = True
            self.show(out)
        except CommandError as e:
            self.error(str(e), where)
            return False
        except KeyboardInterrupt:
            self.err.print(_text("display cut short ('show' shows it again)" if done
                                 else "cancelled (nothing changed)", "yellow"))
            raise
        except Exception as e:   # a bug: one line here, the traceback in the log
            log = paths.log_traceback(intent.to_json())
            self.error(f"internal error in {intent.name}: {type(e).__name__}: {e} "
                       f"(details in {log})", where)
            return False
        if out.kind == "quit":
            self.quit = True
        return True


# ----------------------------------------------------------------------------
# Sessions at start
# ----------------------------------------------------------------------------
def _start_session(args, ask: Callable[[str], bool] | None,
                   say: Callable[[str, str], None]) -> Session:
    """A fresh session, or the last one: --resume resumes, --new never asks, else ask (if we may).

    A damaged `last` pointer or session file never stops the start: one warning
    line, then a new session.  An unwritable data folder: one warning, no autosave.
    """
    seed = getattr(args, "seed", None)
    problem = paths.check_writable(paths.data_dir() / "sessions")
    if problem:
        say(f"warning: {problem}; this session will not be saved", "yellow")
        s = Session(seed=seed, autosave=False)
        return s
    last, warning = find_last()
    if warning:
        say(f"warning: {warning}", "yellow")
    resume = False
    if last and not getattr(args, "new", False):
        if getattr(args, "resume", False):
            resume = True
        elif ask is not None and not getattr(args, "file", None):
            try:
                s = Session.open(last)
            except CommandError as e:
                say(f"warning: {e}; starting a new session", "yellow")
                s = None
            if s is not None and s.index > 0:
                resume = ask(f"Resume {s.describe()}? [Y/n] ")
    if resume and last:
        try:
            s = Session.open(last)
            if seed is not None:
                s.settings.seed = seed
            say(f"resumed {s.describe()}", "green")
            return s
        except CommandError as e:
            say(f"warning: {e}; starting a new session", "yellow")
    elif getattr(args, "resume", False) and not warning:
        say("no session to resume; starting a new one", "yellow")
    return Session(seed=seed)


# ----------------------------------------------------------------------------
# Scripts
# ----------------------------------------------------------------------------
_ABC_FIELD = re.compile(r"^[A-Za-z+]:")
# Lower-case letters that ABC note lines use: notes, rests, spacers, bow marks.
_ABC_LOWER = set("abcdefgxyzuv")


def _command_line(line: str) -> bool:
    """True for a line inside an ABC tune that is really a command ('take 2', 'export midi x.mid').

    ABC note lines only use the letters of notes (plus z, x, y, u, v) outside chord
    symbols, decorations and inline fields; a line with other lower-case letters
    that the command parser understands is a command.

    >>> _command_line("take 2"), _command_line("GABc dedB|dBAG FGAB|"), _command_line('"Am"A2 !trill!B')
    (True, False, False)
    """
    s = line.strip()
    if not s or _ABC_FIELD.match(s) or s.startswith("%"):
        return False
    bare = re.sub(r'"[^"]*"|![^!]*!|\+[^+]*\+|\[[A-Za-z]:[^\]]*\]', "", s)
    if not any(c.islower() and c not in _ABC_LOWER for c in bare):
        return False
    try:
        return parse(s).name != "primer"
    except ParseError:
        return False


def script_blocks(lines: Iterable[str], warn: Callable[[int, str], None] | None = None
                  ) -> Iterator[tuple[int, str]]:
    """(line number, command) for each command of a script.

    An ABC tune runs from an ``X:`` line to the next blank line (or the end), and
    ``paste`` ... ``end`` holds one too; lines starting with ``# `` are comments.
    A line inside an ``X:`` tune that is a command (no blank line after the tune)
    ends the tune there, and `warn(line number, message)` is told.

    >>> list(script_blocks(["# hi", "X:1", "K:D", "DEF|", "", "take 2", "paste", "K:G", "G|", "end"]))
    [(2, 'X:1\\nK:D\\nDEF|\\n'), (6, 'take 2'), (7, 'K:G\\nG|\\n')]
    >>> list(script_blocks(["X:1", "K:D", "DEF|", "continue 4 bars"], lambda n, m: print(n, m)))
    4 'continue 4 bars' ends the ABC tune that starts at line 1 (leave a blank line after a tune)
    [(1, 'X:1\\nK:D\\nDEF|\\n'), (4, 'continue 4 bars')]
    """
    it = iter(enumerate(lines, 1))
    pending: tuple[int, str] | None = None
    while True:
        if pending is not None:
            (num, raw), pending = pending, None
        else:
            try:
                num, raw = next(it)
            except StopIteration:
                return
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        if not stripped or re.match(r"^#(\s|$|[^\d])", stripped):
            continue
        if _ABC_START.match(stripped):
            block = [stripped]
            for more_num, more in it:
                more = more.rstrip("\r\n")
                if not more.strip():
                    break
                if _command_line(more):
                    if warn is not None:
                        warn(more_num, f"{more.strip()!r} ends the ABC tune that starts at line "
                             f"{num} (leave a blank line after a tune)")
                    pending = (more_num, more)
                    break
                block.append(more)
            yield num, "\n".join(block) + "\n"
        elif stripped.lower() == "paste":
            block = []
            for _, more in it:
                more = more.rstrip("\r\n")
                if more.strip().lower() in ("end", "."):
                    break
                block.append(more)
            yield num, "\n".join(block) + "\n"
        else:
            yield num, stripped


def run_script(repl: Repl, lines: Iterable[str], name: str, *, strict: bool = False,
               echo: bool = True) -> int:
    """Run a script's commands; exit code 0, or 2 if any failed (--strict stops at the first)."""
    def warn(num: int, message: str) -> None:
        repl.warn(message, f"{name}:{num}")

    for num, command in script_blocks(lines, warn):
        if echo:
            shown = (f"(ABC tune, {command.count(chr(10))} lines)" if "\n" in command else command)
            repl.console.print(_text(PROMPT + shown, "bold cyan"), soft_wrap=True)
        try:
            ok = (repl.run_intent(Intent("primer", {"abc": command}), where=f"{name}:{num}")
                  if "\n" in command else repl.execute(command, where=f"{name}:{num}"))
        except KeyboardInterrupt:
            return 130
        if not ok and strict:
            return 2
        if repl.quit:
            break
    return 2 if repl.failures else 0


# ----------------------------------------------------------------------------
# The interactive prompt
# ----------------------------------------------------------------------------
def run_interactive(args, *, input=None, output=None, console: "Console | None" = None,
                    warm: bool = True) -> int:
    """The prompt_toolkit REPL; `input`/`output` let tests drive it through a pipe."""
    from prompt_toolkit import PromptSession, print_formatted_text
    from prompt_toolkit.formatted_text import FormattedText
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    from st4rt_repl.repl.completer import CommandCompleter
    from st4rt_repl.repl.keys import paste_bindings, prompt_bindings
    from st4rt_repl.repl.lexer import STYLE, CommandLexer
    from st4rt_repl.repl.toolbar import toolbar_fragments

    data = paths.data_dir()
    try:
        data.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(data / "history"))
    except OSError:
        history = InMemoryHistory()

    def ask(question: str) -> bool:
        q = PromptSession(input=input, output=output)
        try:
            answer = q.prompt(question)
        except (EOFError, KeyboardInterrupt):
            return False
        return answer.strip().lower() in ("", "y", "yes")

    def answer(question: str) -> str | None:
        """The raw reply to a clarifying question (None on Ctrl-C / Ctrl-D)."""
        q = PromptSession(input=input, output=output)
        try:
            return q.prompt(question)
        except (EOFError, KeyboardInterrupt):
            return None

    def ask_no(question: str) -> bool:
        """A yes/no question whose default is no (replacing a file)."""
        q = PromptSession(input=input, output=output)
        try:
            answer = q.prompt(question)
        except (EOFError, KeyboardInterrupt):
            return False
        return answer.strip().lower() in ("y", "yes")

    def say(message: str, colour: str) -> None:
        if console is not None:
            console.print(_text(message, colour))
        else:
            print_formatted_text(FormattedText([(f"ansi{colour}", message)]), output=output)

    session = _start_session(args, ask, say)

    def read_paste() -> str | None:
        q = PromptSession(input=input, output=output, multiline=True,
                          key_bindings=paste_bindings(), style=STYLE)
        say("paste the ABC tune, then Ctrl-D (Ctrl-C cancels)", "brightblack")
        try:
            return q.prompt([("class:continuation", "paste> ")],
                            prompt_continuation=lambda w, n, s: [("class:continuation", "...   ")])
        except (EOFError, KeyboardInterrupt):
            return None

    warmup = WarmUp() if warm else None
    # The Repl first, so the completer and the toolbar can read its session
    repl = Repl(session, console, read_paste=read_paste, warmup=warmup, ask=ask_no, answer=answer)
    prompt = PromptSession(
        history=history, completer=CommandCompleter(lambda: repl.session),
        lexer=CommandLexer(), style=STYLE, key_bindings=prompt_bindings(),
        bottom_toolbar=lambda: toolbar_fragments(repl.session),
        auto_suggest=AutoSuggestFromHistory(), complete_while_typing=False,
        enable_history_search=False, input=input, output=output)
    say("ST4RT+ co-composer. Paste an ABC tune, 'load FILE' or 'generate 8 bars'; "
        "'help' lists commands.", "brightblack")
    if getattr(args, "file", None):
        repl.run_intent(Intent("load", {"path": args.file}))
    started = warmup.start if warmup else None
    while not repl.quit:
        try:
            text = prompt.prompt([("class:prompt", PROMPT)], pre_run=started)
        except KeyboardInterrupt:
            _stop_playback()   # Ctrl-C at the prompt silences what is playing
            continue
        except EOFError:
            break
        started = None
        try:
            _run_input(repl, prompt, text)
        except KeyboardInterrupt:
            continue
    session.save()
    if warmup is not None and warmup.thread is not None and warmup.thread.is_alive():
        _exit_now(0)     # do not make the user wait for torch to finish importing
    return 0


def _exit_now(code: int) -> None:
    """Leave while the warm-up thread is still importing: atexit work, flush, os._exit.

    A daemon thread halfway through importing a C extension can upset interpreter
    shutdown, and waiting for it would keep the user for seconds.
    """
    import atexit
    import os
    atexit._run_exitfuncs()    # e.g. playback stops its fluidsynth process
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _run_input(repl: Repl, prompt, text: str) -> None:
    """One accepted input: a pasted tune, a typed tune (X: ... blank line), or command lines."""
    if "\n" in text.strip():
        if looks_like_abc(text):
            repl.run_intent(Intent("primer", {"abc": text}))
            return
        for line in text.splitlines():
            if line.strip() and not repl.quit:
                repl.execute(line)
        return
    if _ABC_START.match(text.strip()):
        # A tune typed or pasted line by line (no bracketed paste): read up to a blank line.
        block = [text.strip()]
        while True:
            try:
                more = prompt.prompt([("class:continuation", "...   ")])
            except (EOFError, KeyboardInterrupt):
                break
            if not more.strip():
                break
            block.append(more)
        repl.run_intent(Intent("primer", {"abc": "\n".join(block) + "\n"}))
        return
    repl.execute(text)


# ----------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------
def _stop_playback() -> None:
    playback = sys.modules.get("st4rt_repl.playback")   # only if something was played
    if playback is not None:
        playback.stop()


def run_repl(args) -> int:
    """`st4rt`, `st4rt FILE`, `st4rt --script FILE [--strict]`, or commands on stdin."""
    script = getattr(args, "script", None)
    if script is None and sys.stdin is not None and not sys.stdin.isatty():
        script = "-"
    if script is None:
        return run_interactive(args)
    console = _console()
    err = _console(stderr=True)
    if script == "-":
        source: TextIO = sys.stdin
        name = "<stdin>"
    else:
        try:
            source = open(script, encoding="utf-8")
        except OSError as e:
            print(f"st4rt: {script}: {e.strerror}", file=sys.stderr)
            return 2
        name = script
    session = _start_session(args, None, lambda m, c: err.print(_text(m, c), soft_wrap=True))
    repl = Repl(session, console, err=err, force=bool(getattr(args, "force", False)))
    if getattr(args, "file", None):
        if not repl.run_intent(Intent("load", {"path": args.file})) and args.strict:
            return 2
    try:
        return run_script(repl, source, name, strict=bool(getattr(args, "strict", False)))
    finally:
        if source is not sys.stdin:
            source.close()
