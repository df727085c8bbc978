"""Tab completion: command words, candidate and bar numbers, file paths, session names.

What follows a verb comes from the command registry (`st4rt_repl.commands.REGISTRY`):
a command that takes a candidate completes candidate numbers, one that takes bars
completes bar numbers, and each command's ``follow`` words come after its first word.

>>> from prompt_toolkit.document import Document
>>> c = CommandCompleter(lambda: None)
>>> [x.text for x in c.get_completions(Document("vár"), None)]
[]
>>> [x.text for x in c.get_completions(Document("tra"), None)]
['transpose']
"""
from __future__ import annotations

import re
from typing import Callable, Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from st4rt_repl.commands import COMMAND_WORDS, REGISTRY
from st4rt_repl.repl.help import TOPICS, topic_of

__all__ = ["CommandCompleter"]

_PATH_VERBS = {"load", "import", "read", "personalize", "personalise", "learn", "export", "write",
               "render", "use"}
_CANDIDATE_VERBS = {w for c in REGISTRY.values() if "cand" in c.accepts for w in (c.name, *c.words)}
_BAR_VERBS = {w for c in REGISTRY.values() if "bars" in c.accepts for w in (c.name, *c.words)}
_FOLLOW = {w: list(c.follow) for c in REGISTRY.values() if c.follow for w in (c.name, *c.words)}
# after "in": keys and meters, for the commands that take them ("generate a jig in |")
_KEYS = ["D", "G", "A", "E minor", "A dorian", "D mixolydian"]
_METERS = ["6/8", "9/8", "3/4", "2/4"]
_IN_CHOICES = {w: (_KEYS if "key" in c.accepts else []) + (_METERS if "meter" in c.accepts else [])
               for c in REGISTRY.values() for w in (c.name, *c.words)}
_TUNE_EXTS = (".abc", ".mid", ".midi", ".musicxml", ".xml", ".mxl")


class CommandCompleter(Completer):
    """Completes the word under the cursor from what the session holds right now."""

    def __init__(self, session_getter: Callable[[], object]):
        self._session = session_getter
        self._paths = PathCompleter(expanduser=True)

    def _session_names(self) -> list[str]:
        from st4rt_repl.session import list_sessions
        return [r["name"] for r in list_sessions()]

    def get_completions(self, document: Document, complete_event: CompleteEvent | None
                        ) -> Iterable[Completion]:
        text = document.text_before_cursor
        if "\n" in text:
            return
        words = text.split()
        current = "" if text.endswith(" ") or not text else words[-1]
        before = words[:-1] if current else words
        if not before:
            for w in COMMAND_WORDS:
                if w.startswith(current.lower()):
                    meta = TOPICS.get(topic_of(w) or w, ("",))[0]
                    yield Completion(w, -len(current), display_meta=meta)
            return
        verb = before[0].lower()
        session = self._session()
        options: list[str] = []
        if verb == "help":
            options = list(TOPICS)
        elif verb == "open":
            options = self._session_names()
        elif verb in _FOLLOW and len(before) == 1:
            options = _FOLLOW[verb]
        if before[-1].lower() in ("in", "into", "to"):
            options += _IN_CHOICES.get(verb, [])
        if verb in _CANDIDATE_VERBS and session is not None and len(before) == 1:
            options += [str(k) for k in range(1, len(getattr(session, "proposals", ())) + 1)]
        if verb in _BAR_VERBS and session is not None:
            piece = getattr(session, "piece", None)
            if before[-1].lower() in ("bar", "bars", "to", "into", "and") and piece is not None:
                options += [str(n) for n in piece.bar_numbers() if n > 0]
            elif len(before) == 1:
                options += ["bar", "bars"]
        for o in options:
            if o.startswith(current) and o != current:
                yield Completion(o, -len(current))
        if verb in _PATH_VERBS or verb == "open" or re.search(r"[/~.]", current):
            sub = Document(current, len(current))
            for c in self._paths.get_completions(sub, complete_event or CompleteEvent()):
                name = current + c.text
                if verb in ("load", "open", "import", "read") and not (
                        name.endswith("/") or name.lower().endswith(_TUNE_EXTS)
                        or c.display_text.endswith("/")):
                    import os
                    if not os.path.isdir(os.path.expanduser(name)):
                        continue
                yield c
