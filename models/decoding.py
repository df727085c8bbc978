"""Constrained decoding for our written-form tokens: the form grammar and sampling helpers.

`FormGrammar.mask`: given where a token stream is (a `WrittenTracker`: position
in the bar, the form so far), it says which tokens may come next so that every
bar is exactly full in its meter, on a musical grid (`on_grid`), ties join only
the same pitch across a barline, pitches stay inside a range (e.g. around the
primer's), and the written form (repeat signs, endings, part labels) stays well
formed.  `sample` and `sample_probs` draw tokens (temperature, nucleus);
`rhythm_pitch_probs` tempers the note length and the pitch apart.
"""
from __future__ import annotations

import torch

from st4rt_repl.tokenizers.written import PITCH_HI, PITCH_LO


def on_grid(ticks: int) -> bool:
    """Durations we let a model write: multiples of 3 or 4 ticks (24 ticks = a quarter)."""
    return ticks % 3 == 0 or ticks % 4 == 0


def pitch_range(pitches, margin: int = 4, min_span: int = 14) -> tuple[int, int]:
    """A sensible pitch range around some pitches (at least `min_span` semitones).

    >>> pitch_range([62, 74])
    (58, 78)
    >>> pitch_range([])
    (60, 84)
    """
    pitches = [p for p in pitches if p is not None]
    if not pitches:
        return 60, 84
    lo, hi = min(pitches) - margin, max(pitches) + margin
    if hi - lo < min_span:
        extra = min_span - (hi - lo)
        lo, hi = lo - extra // 2, hi + extra - extra // 2
    return max(lo, PITCH_LO), min(hi, PITCH_HI)


def masked_log_probs(logits: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log-softmax of logits / temperature over the allowed tokens only."""
    return torch.log_softmax((logits / max(temperature, 1e-6)).masked_fill(~mask, float("-inf")), -1)


def rhythm_pitch_probs(logits: torch.Tensor, mask: torch.Tensor, first_note: int, n_lengths: int,
                       rhythm_temperature: float, pitch_temperature: float,
                       length_weights: torch.Tensor | None = None,
                       pitch_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Masked probabilities with one temperature for the note length and another for the pitch.

    Tokens from `first_note` on are notes laid out pitch-major (``first_note + pitch
    row * n_lengths + length``), as in tokenizer v2; the others (form tokens) count as
    lengths of their own.  p(token) = p(length) * p(pitch | length): the first factor
    is tempered by `rhythm_temperature`, the second by `pitch_temperature`.  Keeping the
    rhythm near the model's own distribution while the pitch is sharpened avoids the
    even, eighth-note-heavy rhythm that one low temperature for both gave.
    `length_weights` (n_lengths,) multiply the tempered mass of each length and
    `pitch_weights` (B, pitch rows) the tempered pitch choice within a length (the
    checkpoint's ``length_weights`` and ``interval_weights``: `length_weights_tensor`,
    `interval_weights_table`).

    >>> lg = torch.tensor([[0.5, 0.0, 0.0, 1.0, 1.0]])     # a form token, then 2 pitches x 2 lengths
    >>> mk = torch.ones(1, 5, dtype=torch.bool)
    >>> p = rhythm_pitch_probs(lg, mk, 1, 2, 1.0, 0.5)[0]
    >>> plain = torch.softmax(lg, -1)[0]
    >>> [round(float(x), 3) for x in (p[0], p[1] + p[3], plain[1] + plain[3])]   # length totals kept
    [0.181, 0.409, 0.409]
    >>> round(float(p[3] / p[1]), 3)                     # e ** (1 / 0.5) within that length
    7.389
    >>> q = rhythm_pitch_probs(lg, mk, 1, 2, 1.0, 0.5, torch.tensor([1.0, 2.0]))[0]
    >>> round(float((q[2] + q[4]) / (q[1] + q[3])), 3), round(float((p[2] + p[4]) / (p[1] + p[3])), 3)
    (2.0, 1.0)
    """
    # In the exp domain (fewer kernels than logsumexp: this runs once a sampling step):
    # p^(1/t) per pitch, rescaled so each length keeps its (tempered) total.
    x = logits.masked_fill(~mask, float("-inf"))
    x = x - x.max(-1, keepdim=True).values
    b = x.shape[0]
    notes = x[:, first_note:].reshape(b, -1, n_lengths)                 # (B, pitch, length)
    length = notes.exp().sum(1, keepdim=True)                           # mass per length
    if rhythm_temperature != 1.0:
        length = length.pow(1.0 / rhythm_temperature)
    if length_weights is not None:
        length = length * length_weights
    pitch = (notes * (1.0 / pitch_temperature)).exp()
    if pitch_weights is not None:
        pitch = pitch * pitch_weights[:, :, None]
    pitch = pitch * (length / pitch.sum(1, keepdim=True).clamp_min(1e-30))
    out = torch.cat([(x[:, :first_note] * (1.0 / rhythm_temperature)).exp(), pitch.reshape(b, -1)], 1)
    return out / out.sum(-1, keepdim=True)


def length_weights_tensor(weights: dict | None) -> torch.Tensor | None:
    """A checkpoint's ``length_weights`` ({ticks: weight}; tokenizer v2, 24 ticks = a
    quarter) as one weight per joint note duration, for `rhythm_pitch_probs`; None if none.

    >>> from st4rt_repl.tokenizers.written import DURATIONS
    >>> w = length_weights_tensor({6: 1.5})                 # 6 ticks: a 16th note
    >>> float(w[DURATIONS.index(6)]), float(w.sum()) == len(DURATIONS) + 0.5
    (1.5, True)
    """
    from st4rt_repl.tokenizers.written import DURATIONS
    if not weights:
        return None
    w = torch.ones(len(DURATIONS))
    for ticks, weight in weights.items():
        w[DURATIONS.index(int(ticks))] = float(weight)
    return w


def interval_weights_table(weights: dict | None) -> torch.Tensor | None:
    """A checkpoint's ``interval_weights`` ({semitones up or down: weight}) as a table
    [previous pitch, pitch row] of weights for `rhythm_pitch_probs`'s `pitch_weights`
    (tokenizer v2 rows: 0 is the rest, then MIDI PITCH_LO..PITCH_HI; the extra last
    row, for "no note yet", is all ones); None if none.

    >>> from st4rt_repl.tokenizers.written import PITCH_LO
    >>> t = interval_weights_table({2: 0.5})
    >>> prev = 62 - PITCH_LO                                  # after a D ...
    >>> [float(t[prev, p - PITCH_LO + 1]) for p in (60, 62, 63, 64)], float(t[prev, 0]), float(t[-1].min())
    ([0.5, 1.0, 1.0, 0.5], 1.0, 1.0)
    """
    if not weights:
        return None
    n = PITCH_HI - PITCH_LO + 1
    by_size = torch.ones(n)
    for size, weight in weights.items():
        by_size[abs(int(size))] = float(weight)
    steps = torch.arange(n)
    table = torch.ones(n + 1, n + 1)
    table[:n, 1:] = by_size[(steps[None, :] - steps[:, None]).abs()]
    return table


def sample(logits: torch.Tensor, mask: torch.Tensor, *, temperature: float = 1.0,
           top_p: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row from masked, tempered, nucleus-truncated logits (B, V) -> (B,).

    temperature 0 (or below 1e-6) means greedy.

    >>> lg = torch.tensor([[0.0, 5.0, 1.0], [3.0, 0.0, 0.0]])
    >>> mk = torch.tensor([[True, False, True], [True, True, True]])
    >>> sample(lg, mk, temperature=0).tolist()
    [2, 0]
    """
    if temperature < 1e-6:
        return logits.masked_fill(~mask, float("-inf")).argmax(-1)
    p = torch.softmax((logits / temperature).masked_fill(~mask, float("-inf")), -1)
    return sample_probs(p, top_p=top_p, generator=generator)


NUCLEUS_FIRST_TRY = 48     # tokens sorted first when looking for the nucleus


def sample_probs(p: torch.Tensor, *, top_p: float = 1.0,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """One index per row of probabilities p (B, V; rows sum to 1), after nucleus (top_p) truncation.

    >>> sample_probs(torch.tensor([[0.0, 0.0, 1.0], [0.6, 0.4, 0.0]]), top_p=0.5).tolist()
    [2, 0]
    """
    idx = None
    if top_p < 1.0:
        # The nucleus almost always lies among the few largest: sort only those (a full
        # sort of the 1,414-token row was the sampler's largest cost after the network).
        top, top_idx = p.topk(min(NUCLEUS_FIRST_TRY, p.shape[-1]), -1)
        if bool((top.sum(-1) > top_p).all()):
            p, idx = top, top_idx
        else:
            p, idx = p.sort(-1, descending=True)
        p = p.masked_fill(p.cumsum(-1) - p > top_p, 0.0)   # keep the smallest set reaching top_p
    # Inverse-CDF sampling: one uniform number per row (torch.multinomial costs ~5x more
    # here).  u * total < cdf[j] picks j with p[j] > 0; `last` guards the rounding case
    # u * total == total, where the search would run past the last allowed token.
    cdf = p.cumsum(-1)
    total = cdf[:, -1:]
    u = torch.rand(p.shape[0], 1, generator=generator, dtype=p.dtype) * total
    last = (cdf < total).sum(-1, keepdim=True)
    j = torch.minimum(torch.searchsorted(cdf, u, right=True), last)
    return (j if idx is None else idx.gather(1, j))[:, 0]


class FormGrammar:
    """Token masks for v2 streams: full bars AND a well-formed written form.

    Reads a `st4rt_repl.models.attention_rnn.WrittenTracker`; `bars_left` is the
    number of new bars still to write, the current one included.  Rules:

    * every bar exactly full (joint note tokens on the 32nd/16th-triplet grid, no
      ``+d``, no ``short``); a tie only from a pitched note ending the bar, and the
      next bar starts on that pitch; pitches inside lo..hi;
    * ``|:`` only when no ``|:`` is open, and with room to close it: the last new
      bar closes any open ``|:`` (the primer's too), so repeat signs stay balanced;
    * ``:|`` closes a section of two bars or more, or a first ending; it needs a
      start to go back to (an open ``|:``, an earlier section end, or the start of
      a tune without pickup: abc2midi warns about a repeated pickup);
    * ``[1`` only inside a section of one bar or more with room for a ``[2`` after it;
      a first ending is closed by ``:|`` and the next bar must be ``[2``;
    * ``||`` outside an open ``|:`` and a first ending; ``|]`` only on the last new bar;
    * ``P:x`` (the next unused letter) only right after a section end, when `parts` is on;
      no meter or key changes;
    * after a partial bar (a part's last bar, cut short) comes ``short`` and the
      rest of that bar (the next part's pickup, outside any new repeat); no other
      bar is partial.

    >>> from st4rt_repl.models.attention_rnn import WrittenTracker
    >>> from st4rt_repl.tokenizers.written import VOCAB as V2
    >>> g, t = FormGrammar(60, 72), WrittenTracker()
    >>> for s in ['<s>', 'M:2/4', 'K:0', 'mode:major', 'p60:24', 'p62:24']:
    ...     t.push(V2.stoi[s])
    >>> [V2.itos[i] for i in g.mask(t, bars_left=3).nonzero()[:, 0].tolist()]
    ['~', '|']
    >>> t.push(V2.stoi['|']); t.push(V2.stoi['|:'])
    >>> t.push(V2.stoi['p64:48'])
    >>> [V2.itos[i] for i in g.mask(t, bars_left=1, opened_here=True).nonzero()[:, 0].tolist()]
    ['~', ':|']
    """

    def __init__(self, lo: int = 36, hi: int = 96, *, rests: bool = True, parts: bool = False):
        from st4rt_repl.tokenizers.written import DURATIONS, PITCH_HI, PITCH_LO, VOCAB as V2
        self.V2 = V2
        lo, hi = max(lo, PITCH_LO), min(hi, PITCH_HI)
        self.all_durs = DURATIONS
        self.durs = [d for d in DURATIONS if on_grid(d) and d >= 3]
        self.dur_index = {d: k for k, d in enumerate(DURATIONS)}
        ok = [False] * (4 * 144 + 1)
        ok[0] = True
        for r in range(1, len(ok)):
            ok[r] = any(d <= r and ok[r - d] for d in self.durs)
        self._fill = ok
        self.pitch_ok = torch.zeros(V2.n_pitch, dtype=torch.bool)
        self.pitch_ok[1 + lo - PITCH_LO:2 + hi - PITCH_LO] = True
        self.pitch_ok[0] = rests
        self.parts = parts
        self._cache: dict[tuple, torch.Tensor] = {}

    def _dur_ok(self, rem: int) -> torch.Tensor:
        m = torch.zeros(self.V2.n_dur, dtype=torch.bool)
        for d in self.durs:
            if d <= rem and self._fill[rem - d]:
                m[self.dur_index[d]] = True
        if not m.any() and rem > 0:   # an off-grid primer left an odd remainder: the largest fitting
            m[max(k for k, d in enumerate(self.all_durs) if d <= rem)] = True
        return m

    def _notes(self, rem: int, tied) -> torch.Tensor:
        V2 = self.V2
        pitches = self.pitch_ok
        if tied is not None:
            pitches = torch.zeros_like(pitches)
            pitches[tied - 35] = True                  # row of MIDI pitch `tied` (row 0 = rest)
        m = torch.zeros(len(V2), dtype=torch.bool)
        m[V2.first_note:] = (pitches[:, None] & self._dur_ok(rem)[None, :]).flatten()
        return m

    def mask(self, s, bars_left: int = 99, *, opened_here: bool = False) -> torch.Tensor:
        """Bool (V,) of the v2 tokens allowed after tracker `s`.

        `opened_here`: the open ``|:`` was written among the new bars (so it must close).
        """
        first_end = s.in_ending[:1] == "1"
        key = (s.phase, s.rem, s.pitched, s.tied_pitch, s.explicit_open, first_end, s.prev_len > 0,
               s.can_repeat,
               bool(s.in_ending), s.need_ending2, min(s.sec_bar, 2), min(bars_left, 3),
               opened_here and s.explicit_open, s.bar_start,
               (s.parts_used, s.ended) if self.parts else "")
        m = self._cache.get(key)
        if m is None:
            m = self._cache[key] = self._make(s, bars_left, opened_here, first_end)
        return m

    def _make(self, s, bars_left, opened_here, first_end) -> torch.Tensor:
        V2, B = self.V2, torch.zeros(len(self.V2), dtype=torch.bool)
        rem, tied = s.rem, s.tied_pitch
        if s.phase == 0:                                   # bar start: form tokens, then notes
            if s.need_ending2:
                if not s.bar_start:
                    B[V2.stoi["[2"]] = True
                    return B
            started = set(s.bar_start)
            if tied is None and not started and not s.need_ending2:
                if self.parts and s.ended:                 # a label right after a section end
                    nxt = chr(max([ord(c) for c in s.parts_used] + [ord("A")]) + 1)
                    if f"P:{nxt}" in V2.stoi:
                        B[V2.stoi[f"P:{nxt}"]] = True
            if tied is None and V2.repeat_start not in started and not s.explicit_open \
                    and bars_left >= 2 and not any(t in V2.endings for t in started):
                B[V2.repeat_start] = True
            if tied is None and not started and not s.in_ending and s.sec_bar >= 1 and bars_left >= 2 \
                    and not s.need_ending2:
                B[V2.stoi["[1"]] = True
            if V2.short in started:                        # the rest of a cut bar: notes
                return self._notes(rem, tied)
            if s.prev_len > 0:                             # after a cut bar comes its rest
                # no |: before it: a repeat opened at a pickup and closed by a full bar
                # is a bar too long when abc2midi plays it again (the |: goes one bar later)
                B[V2.repeat_start] = False
                B[V2.stoi["[1"]] = False
                B[V2.short] = True
                return B
            return B | self._notes(rem, tied)
        if rem > 0:
            return self._notes(rem, None)
        # the bar is full: its barline (or a tie first)
        if tied is None and s.pitched:
            B[V2.tie] = True
        # repeat signs stay balanced: an open |: (the primer's too) closes on the last new bar
        must_close = s.explicit_open and bars_left <= 1
        if first_end:
            B[V2.repeat_end] = True
            if bars_left > 2:
                B[V2.bar] = True
            return B
        if must_close:
            B[V2.repeat_end] = True
            return B
        B[V2.bar] = True
        if s.sec_bar >= 1 and not s.in_ending and s.can_repeat:
            B[V2.repeat_end] = True
        if not s.explicit_open and s.sec_bar >= 1:
            B[V2.double] = True
            if bars_left <= 1:
                B[V2.final] = True
        return B

    def masks(self, states, bars_left, opened) -> torch.Tensor:
        """Stacked masks (B, V): one state, bars-left count and opened flag per row."""
        return torch.stack([self.mask(s, b, opened_here=o) for s, b, o in zip(states, bars_left, opened)])
