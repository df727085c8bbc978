"""Colours of the input line (command word, numbers, paths, pasted ABC) and the style sheet.

The command words come from the registry (`st4rt_repl.commands.COMMAND_WORDS`); meters
("6/8") are numbers, not paths, and tune types ("jig") are coloured as numbers too: they
are modifiers.

>>> from prompt_toolkit.document import Document
>>> CommandLexer().lex_document(Document("vary bar 3"))(0)
[('class:command', 'vary'), ('', ' '), ('class:word', 'bar'), ('', ' '), ('class:number', '3')]
>>> [s for s, t in CommandLexer().lex_document(Document("generate a jig in 6/8"))(0) if t.strip()]
['class:command', 'class:word', 'class:number', 'class:word', 'class:number']
"""
from __future__ import annotations

import re

from prompt_toolkit.document import Document
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.styles import Style

from st4rt_repl.commands import COMMAND_WORDS, TUNE_TYPES

__all__ = ["CommandLexer", "STYLE"]

STYLE = Style.from_dict({
    "prompt": "ansicyan bold",
    "continuation": "ansibrightblack",
    "command": "ansigreen bold",
    "number": "ansiyellow",
    "path": "ansimagenta underline",
    "word": "",
    "abc": "ansibrightblack",
    "bottom-toolbar": "bg:#222222 #aaaaaa noreverse",
    "bottom-toolbar.title": "bg:#222222 #ffffff bold",
    "bottom-toolbar.key": "bg:#222222 ansicyan",
    "bottom-toolbar.dim": "bg:#222222 #777777",
})

_TOKEN = re.compile(r"\s+|\S+")
_COMMANDS = set(COMMAND_WORDS)
_MODIFIER_WORDS = {w for t in TUNE_TYPES for w in t.split()} - {"slow", "single", "double"}


class CommandLexer(Lexer):
    """One colour per kind of word; lines of a pasted ABC tune are dimmed."""

    def lex_document(self, document: Document):
        lines = document.lines
        is_abc = any(re.match(r"^[XK]:", ln) for ln in lines)

        def line(i: int):
            text = lines[i]
            if is_abc:
                return [("class:abc", text)]
            out = []
            first = True
            for m in _TOKEN.finditer(text):
                tok = m.group(0)
                if tok.isspace():
                    out.append(("", tok))
                    continue
                if first and tok.lower() in _COMMANDS:
                    style = "class:command"
                elif re.fullmatch(r"[-+]?\d+(?:[.-]\d+)?|\d{1,2}/\d{1,2}", tok) or \
                        tok.lower().rstrip("s,.") in _MODIFIER_WORDS:
                    style = "class:number"
                elif re.search(r"[/~]|\.[A-Za-z]{2,8}$", tok):
                    style = "class:path"
                else:
                    style = "class:word"
                first = False
                out.append((style, tok))
            return out

        return line
