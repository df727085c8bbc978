"""The musical operations, on Tunes: the one place the REPL and the CLI both call.

continue / vary / generate / interpolate / personalize each return a list of
`Proposal`s (a whole-piece Tune plus the bar numbers that changed).  The models
are imported lazily, so nothing here costs an import of torch until it is used.
When a model has not landed (no module or no shipped checkpoint) the call raises
`NotAvailable` with a one-line message for the user.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from st4rt_repl.tune import Key, Meter, Tune, TuneError

__all__ = ["Proposal", "NotAvailable", "changed_bars", "continue_tune", "vary", "generate",
           "interpolate", "personalize"]


class NotAvailable(RuntimeError):
    """A feature whose model has not landed or whose checkpoint is missing."""


@dataclass(frozen=True)
class Proposal:
    """One candidate: the whole piece as it would be if accepted, and what changed."""
    tune: Tune
    changed: tuple[int, ...]   # bar numbers (1-based; 0 = pickup) that are new or altered


def _model(module: str, feature: str):
    import importlib
    try:
        return importlib.import_module(f"st4rt_repl.models.{module}")
    except ModuleNotFoundError as e:
        if "st4rt_repl.models" in str(e):
            raise NotAvailable(f"{feature} is not available yet: its model has not landed") from e
        raise


def continue_tune(tune: Tune, bars: int, *, candidates: int = 4, temperature: float = 1.0,
                  top_p: float = 0.95, seed: int | None = None, beam: int = 1,
                  profile: str | None = None, likeness: float = 0.5) -> list[Proposal]:
    """The primer plus exactly `bars` new full bars, `candidates` times (attention-RNN)."""
    if bars < 1:
        raise TuneError("continue needs at least 1 bar")
    m = _model("continuation", "continue")
    tunes = m.continue_tune(tune, bars, candidates=candidates, temperature=temperature,
                            top_p=top_p, seed=seed, beam=beam, profile=profile, likeness=likeness)
    return [Proposal(t, changed_bars(tune, t)) for t in tunes]


def changed_bars(old: Tune, new: Tune) -> tuple[int, ...]:
    """Bar numbers of `new` that are not in `old` or differ from it (a completed last bar too).

    >>> a = Tune.from_bars([[(60, 4)], [(62, 2)]])
    >>> b = Tune.from_bars([[(60, 4)], [(62, 2), (64, 2)], [(65, 4)]])
    >>> changed_bars(a, b)
    (2, 3)
    """
    numbers = new.bar_numbers()
    return tuple(k for i, k in enumerate(numbers)
                 if i >= len(old.bars) or old.bars[i] != new.bars[i])


def vary(tune: Tune, bars: Sequence[int], *, candidates: int = 4, amount: float = 0.5,
         seed: int | None = None, profile: str | None = None,
         likeness: float = 0.5) -> list[Proposal]:
    """New versions of the chosen bars; every other bar stays identical (MusicVAE)."""
    numbers = sorted({tune.bar_numbers()[tune._index(b)] if b < 0 else b for b in bars})
    for b in numbers:
        tune.bar(b)   # raises a clear TuneError for a bar that does not exist
    m = _model("variation", "vary")
    tunes = m.vary_bars(tune, numbers, candidates=candidates, amount=amount, seed=seed,
                        profile=profile, likeness=likeness)
    return [Proposal(t, tuple(numbers)) for t in tunes]


def generate(bars: int, *, meter: Meter = (4, 4), key: Key = Key("D", "major"),
             candidates: int = 4, seed: int | None = None, profile: str | None = None,
             likeness: float = 0.5, title: str = "Generated") -> list[Proposal]:
    """New tunes of `bars` bars sampled from the VAE prior, window by window."""
    m = _model("variation", "generate")
    tunes = m.generate_tunes(bars, meter=meter, key=key, candidates=candidates, seed=seed,
                             profile=profile, likeness=likeness, title=title)
    return [Proposal(t, tuple(range(1, t.num_bars + 1))) for t in tunes]


def interpolate(tune: Tune, from_bar: int, to_bar: int, *, steps: int = 3,
                candidates: int = 4, seed: int | None = None) -> list[Proposal]:
    """Bridges that morph the phrase at `from_bar` into the phrase at `to_bar`.

    Each proposal is the piece with the in-between phrases inserted after the
    2-bar window that starts at `from_bar`; `changed` names the inserted bars.
    """
    m = _model("variation", "interpolate")
    return [Proposal(t, tuple(ch)) for t, ch in
            m.interpolate_tunes(tune, from_bar, to_bar, steps=steps, candidates=candidates,
                                seed=seed)]


def personalize(paths: Sequence[str], name: str = "me") -> str:
    """Train a MidiMe profile on the user's tunes; returns a one-line summary."""
    m = _model("midime", "personalize")
    return m.personalize(list(paths), name=name)
