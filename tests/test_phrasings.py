"""The phrasing list: how fiddlers and session players ask, and what it must mean.

tests/data/phrasings.tsv holds one sentence per line with the intent it must give
(``sentence<TAB>{"intent": ..., "args": ...}<TAB>flags``).  The first 221 lines were written
before the registry parser existed; two later batches were added while tuning (marked in the
file).  Lines flagged ``heldout`` were never tuned on: 40 written with the first list and
40 written after tuning had ended, each run once.  Lines flagged ``unclear`` must raise
`Unclear` whose guess is the expected intent.  Run with -s to see the scores.
"""
import json
from pathlib import Path

from st4rt_repl.commands import ParseError, Unclear, parse

DATA = Path(__file__).parent / "data" / "phrasings.tsv"


def load() -> list[tuple[str, dict, set[str]]]:
    rows = []
    for ln in DATA.read_text(encoding="utf-8").splitlines():
        if not ln.strip() or ln.startswith("#"):
            continue
        cols = ln.split("\t")
        rows.append((cols[0], json.loads(cols[1]), set(cols[2].split(",")) if len(cols) > 2 else set()))
    return rows


def outcome(sentence: str, flags: set[str]) -> dict | str:
    """What the parser makes of a sentence, in the file's form (or the error text)."""
    try:
        intent = parse(sentence)
    except Unclear as e:
        got = {"intent": e.guess.name, "args": e.guess.args}
        return got if "unclear" in flags else f"unclear: {e}"
    except ParseError as e:
        return f"error: {e}"
    got = {"intent": intent.name, "args": intent.args}
    return got if "unclear" not in flags else f"not unclear: {got}"


def score(rows) -> tuple[int, list[str]]:
    misses = []
    for sentence, want, flags in rows:
        got = outcome(sentence, flags)
        if got != want:
            misses.append(f"{sentence!r}: want {json.dumps(want)}, got {got if isinstance(got, str) else json.dumps(got)}")
    return len(rows) - len(misses), misses


def test_the_list_is_big_and_has_a_held_out_part():
    rows = load()
    assert len(rows) >= 170
    assert sum("heldout" in f for _, _, f in rows) >= 40
    intents = {w["intent"] for _, w, _ in rows}
    assert {"new_part", "repeat", "unfold", "fold", "meter", "generate", "continue", "vary"} <= intents


def test_at_least_95_percent_of_the_phrasings_parse_right():
    rows = load()
    right, misses = score(rows)
    held = [r for r in rows if "heldout" in r[2]]
    held_right, _ = score(held)
    print(f"\nphrasings: {right}/{len(rows)} right ({right / len(rows):.1%}); "
          f"held-out part: {held_right}/{len(held)} ({held_right / len(held):.1%})")
    assert right / len(rows) >= 0.95, "\n".join(misses)
