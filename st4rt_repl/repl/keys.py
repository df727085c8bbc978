"""Key bindings: a pasted ABC tune arrives as one input; Ctrl-D ends a `paste`.

Terminals wrap pasted text in bracketed-paste markers; prompt_toolkit hands it to
us as one event.  If it looks like an ABC tune (an X: or K: line) the whole text
is accepted at once, newlines and all, as the primer.
"""
from __future__ import annotations

from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.keys import Keys

from st4rt_repl.commands import looks_like_abc

__all__ = ["prompt_bindings", "paste_bindings"]


def prompt_bindings() -> KeyBindings:
    """Bindings of the main prompt."""
    kb = KeyBindings()

    @kb.add(Keys.BracketedPaste)
    def _paste(event):
        data = event.data.replace("\r\n", "\n").replace("\r", "\n")
        buf = event.current_buffer
        buf.insert_text(data)
        if "\n" in buf.text.strip() and looks_like_abc(buf.text):
            buf.validate_and_handle()

    return kb


def paste_bindings() -> KeyBindings:
    """Bindings of the multi-line `paste` prompt: Ctrl-D (or Esc Enter) ends the paste."""
    kb = KeyBindings()

    @kb.add("c-d")
    def _done(event):
        event.current_buffer.validate_and_handle()

    @kb.add(Keys.BracketedPaste)
    def _paste(event):
        event.current_buffer.insert_text(event.data.replace("\r\n", "\n").replace("\r", "\n"))

    return kb
