"""Help texts, generated from the command registry in `st4rt_repl.commands`.

`help` lists everything by group, `help COMMAND` explains one with examples.  A
command's words, summary, details and examples live once, in its registration;
this module only lays them out.

>>> topic_of("take"), topic_of("morph"), topic_of("nonsense")
('accept', 'interpolate', None)
>>> topic_of("repeat"), topic_of("slower")
('repeat', 'tempo')
>>> print(topic_help("unfold"))
unfold: write the repeats out in full
The piece becomes its performed melody: every repeat, ending and part order played out as plain bars.
examples:
  unfold
  write out the repeats
  expand the repeats
"""
from __future__ import annotations

import difflib

from st4rt_repl.commands import EXTRA_TOPICS, REGISTRY, topic_for

__all__ = ["TOPICS", "ALIASES", "GROUPS", "overview", "topic_help", "topic_of"]

# topic -> (one-line summary, details, examples): one per command that is its own topic
# (tempo_step is told under tempo, port under ports), plus the non-command topics.
TOPICS: dict[str, tuple[str, str, list[str]]] = {
    name: (cmd.summary, cmd.details, list(cmd.examples))
    for name, cmd in REGISTRY.items() if not cmd.topic
} | EXTRA_TOPICS

# word -> topic, from the commands' own words (what people type first)
ALIASES: dict[str, str] = {
    w: (cmd.topic or cmd.name) for cmd in REGISTRY.values() for w in cmd.words
    if w != (cmd.topic or cmd.name)
} | {"script": "scripts", "exit": "quit", "personalise": "personalize"}

GROUPS: list[tuple[str, list[str]]] = []
for _name, _cmd in REGISTRY.items():
    if _cmd.topic:
        continue
    for _group, _names in GROUPS:
        if _group == _cmd.group:
            _names.append(_name)
            break
    else:
        GROUPS.append((_cmd.group, [_name]))
for _group, _names in GROUPS:
    if _group == "Other":
        _names.insert(len(_names) - 2, "scripts")


def topic_of(word: str | None) -> str | None:
    """The help topic a word (or a phrase: "add a B part") refers to, or None."""
    if not word:
        return None
    w = word.lower().strip()
    if w in TOPICS:
        return w
    if w in ALIASES:
        return ALIASES[w]
    t = topic_for(w)
    return t if t in TOPICS else None


def overview() -> str:
    """All commands, grouped, one line each."""
    lines = ["Say what you want in plain words; these are the things st4rt understands.",
             "Modifiers go anywhere: '8 bars', 'bars 3-4', 'in 6/8', 'a jig', 'in E minor',",
             "'a little', 'wilder', 'at temperature 1.3', 'in my style', 'give me 3 options'.",
             "Paste an ABC tune at the prompt to start from it. 'help COMMAND' shows examples.", ""]
    for group, names in GROUPS:
        lines.append(group)
        for n in names:
            lines.append(f"  {n:<12} {TOPICS[n][0]}")
    lines += ["", "Keys: Tab completes, Up/Down history, Ctrl-R searches it, Ctrl-C cancels the "
              "running turn, Ctrl-D quits."]
    return "\n".join(lines)


def topic_help(word: str) -> str:
    """Details and examples of one command (or a suggestion for an unknown word)."""
    topic = topic_of(word)
    if topic is None:
        close = difflib.get_close_matches(word.lower(), list(TOPICS) + list(ALIASES), n=1)
        hint = f"; did you mean 'help {close[0]}'?" if close else "; 'help' lists them all"
        raise KeyError(f"no help on {word!r}{hint}")
    summary, details, examples = TOPICS[topic]
    lines = [f"{topic}: {summary}"]
    if details:
        lines.append(details)
    if examples:
        lines.append("examples:")
        lines += [f"  {e}" for e in examples]
    return "\n".join(lines)
