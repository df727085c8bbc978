"""The attention-RNN melody model: a 2-layer LSTM over our written-form tokens with attention.

Each step reads one token of `st4rt_repl.tokenizers.written` (tokenizer v2: the
tune as written, one token per note; repeat signs, endings and part labels are
tokens too) plus features that spare the network from counting (all computed by
`WrittenTracker`, the one piece of code shared by training and generation, so
both paths see identical inputs):

* position in the bar and ticks left in the bar (after the token), the meter,
  the key's pitch class and the mode (the conditioning prefix, repeated each step);
* the bar's place in its section and the number of sections so far;
* lookback: the token that came next at the same place (position in bar and
  phase) 1, 2, 4 and 8 bars ago.  Folk tunes repeat whole 4- and 8-bar phrases,
  which these features reach directly.

Layout (differs from Magenta's AttentionCellWrapper on purpose)::

    x_t -> LSTM1 -> h1_t --+-- attention over h1 of the last `window` steps -> c_t
                           |                                                   |
                           +--------------- [h1_t ; c_t] -> LSTM2 -> h2_t      |
                                                  logits = W [h2_t ; c_t] <----+

Magenta feeds the attention vector into the *next* step's first-layer input,
which makes layer 1 strictly sequential.  Here attention reads layer 1 and feeds
layer 2, so training runs both LSTMs with cuDNN/oneDNN over the whole sequence
and the attention is one batched masked matmul (causal band of `window` steps).
The attention scores get a learned bias indexed by (bars ago, same position in
bar), which lets the model look up "this spot, 4 bars back" cheaply.

With ``RNNConfig.copy`` a pointer head sits beside the softmax: a second attention
over the earlier steps proposes the token that followed each of them, its scores
biased by how many tokens before that step match the latest ones (`match_runs`);
a gate mixes the two distributions, so the output is log-probabilities.  Tunes
borrow in runs (a B part closing like the A part), which lookback alone, by fixed
bar lags and one token at a time, did not follow (see the model card, round 2e).
Generation (`Stepper`) uses the very same weights one token at a time; the test
suite checks that both paths give the same logits.

Round 1's token layout (tokenizer v1, the melody as played, two steps per note)
is retired: commit b1cb07b holds its code, and `load_checkpoint` refuses its
checkpoints.

>>> cfg = RNNConfig(hidden=16, emb=8, attn=8, window=12)
>>> m = AttentionRNN(cfg)
>>> ids = [VOCAB.bos, VOCAB.stoi['M:2/4'], VOCAB.stoi['K:2'], VOCAB.stoi['mode:major'],
...        VOCAB.stoi['p62:48'], VOCAB.bar, VOCAB.eos]
>>> f = featurize_written(ids)
>>> f.shape
(7, 13)
>>> m(torch.as_tensor(f)[None].long()).shape == (1, 7, len(VOCAB))
True
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from st4rt_repl.tokenizers.written import TICKS_PER_QUARTER, TOKENIZER_VERSION, VOCAB

LAGS = (1, 2, 4, 8)          # lookback distances in bars
MAX_TICKS = 288              # longest bar we track (3/1); positions are clipped to this
MAX_BARS_AGO = 16            # attention bias buckets: 0..15 bars ago, 16 = further
SEC_BARS, SEC_COUNT = 32, 8  # bar in section 0..31, sections so far 0..7 (clipped)
RUN_CAP = 8                  # pointer: matched tokens before a key are counted up to this
LB0 = 9                      # first lookback column (token, pos, rem, meter, key, mode, bar, sec bar, sections)


@dataclass
class RNNConfig:
    """Hyper-parameters; saved in the checkpoint next to the weights."""
    vocab: int = len(VOCAB)
    emb: int = 64           # token embedding
    feat: int = 16          # each small feature embedding
    hidden: int = 256
    attn: int = 64          # attention key/query size
    window: int = 256       # attention reaches this many steps back (0 = no attention)
    lookback: bool = True
    dropout: float = 0.2
    tokenizer: int = TOKENIZER_VERSION   # token layout (2 = written form; checkpoints store it)
    # the rest of a bar cut short (a part's pickup) joins that bar for lookback and
    # attention's bars-ago, so bar k of the B part sits 8 bars after bar k of an 8-bar A
    # part (without it, every part's pickup shifted the lags by one bar).
    aligned: bool = False
    # A pointer head (needs attention): a second attention over the earlier steps proposes
    # "the token that came next there", mixed with the softmax by a learned gate.  Lookback
    # reaches 1, 2, 4 and 8 bars ago at the same place; the pointer reaches any bar, at
    # any offset, and learns when a tune borrows (a B part's cadence) and when it moves on.
    copy: bool = False

    @property
    def attention(self) -> bool:
        return self.window > 0


class AttentionRNN(nn.Module):
    """2-layer LSTM with windowed attention over layer 1 and lookback features."""

    def __init__(self, cfg: RNNConfig):
        super().__init__()
        if cfg.tokenizer != TOKENIZER_VERSION:
            raise ValueError(f"tokenizer v{cfg.tokenizer} is retired; the attention-RNN reads v{TOKENIZER_VERSION}")
        self.cfg = cfg
        E, Fd, H = cfg.emb, cfg.feat, cfg.hidden
        self.tok = nn.Embedding(cfg.vocab, E)
        self.pos = nn.Embedding(MAX_TICKS + 1, Fd)
        self.rem = nn.Embedding(MAX_TICKS + 1, Fd)
        self.meter = nn.Embedding(cfg.vocab, Fd)   # indexed by meter token id
        self.key = nn.Embedding(12, Fd)
        self.mode = nn.Embedding(7, Fd)
        # the bar's place in its section and the section count (columns 7, 8)
        self.sec = nn.Embedding(SEC_BARS, Fd)
        self.secn = nn.Embedding(SEC_COUNT, Fd)
        n_in = E + 7 * Fd
        if cfg.lookback:
            self.look = nn.Embedding(cfg.vocab, E)     # shared table, one slot per lag
            self.look_lag = nn.Parameter(torch.zeros(len(LAGS), E))
            n_in += len(LAGS) * E
        self.lstm1 = nn.LSTM(n_in, H, batch_first=True)
        A = cfg.attn
        if cfg.attention:
            self.q = nn.Linear(H, A, bias=False)
            self.k = nn.Linear(H, A, bias=False)
            self.bias = nn.Parameter(torch.zeros(MAX_BARS_AGO + 1, 2))
            self.lstm2 = nn.LSTM(2 * H, H, batch_first=True)
            self.head = nn.Linear(2 * H, cfg.vocab)
            if cfg.copy:
                self.cq = nn.Linear(H, A, bias=False)
                self.ck = nn.Linear(H, A, bias=False)
                self.cbias = nn.Parameter(torch.zeros(MAX_BARS_AGO + 1, 2))
                # by how many tokens the key's past matches the query's (0..RUN_CAP): the
                # longer the match, the likelier the tune goes on as it went on there
                self.rbias = nn.Parameter(torch.arange(RUN_CAP + 1, dtype=torch.float))
                self.gate = nn.Linear(2 * H, 1)       # p(softmax) vs p(copy), from [h2 ; c]
                self.gbias = nn.Parameter(torch.zeros(RUN_CAP + 1))   # ... and the longest match
                nn.init.zeros_(self.gate.weight)
                nn.init.constant_(self.gate.bias, 2.0)   # starts at 88 % softmax (fine-tuning)
        else:
            self.lstm2 = nn.LSTM(H, H, batch_first=True)
            self.head = nn.Linear(H, cfg.vocab)
        self.drop = nn.Dropout(cfg.dropout)

    # ----- shared pieces --------------------------------------------------
    def embed(self, f: torch.Tensor) -> torch.Tensor:
        """(..., LB0 + len(LAGS)) long -> (..., n_in) inputs of LSTM1."""
        parts = [self.tok(f[..., 0]), self.pos(f[..., 1]), self.rem(f[..., 2]),
                 self.meter(f[..., 3]), self.key(f[..., 4]), self.mode(f[..., 5]),
                 self.sec(f[..., 7]), self.secn(f[..., 8])]
        if self.cfg.lookback:
            lb = self.look(f[..., LB0:]) + self.look_lag          # (..., L, E)
            lb = lb * (f[..., LB0:] > 0).unsqueeze(-1)           # "nothing there" is zero
            parts.append(lb.flatten(-2))
        return torch.cat(parts, -1)

    def _scores(self, q, k, where, bias):
        """Attention scores (B, T, T) of queries q against keys k, plus `bias` at `where`
        (`_bias_index`: bars ago, same place)."""
        return q @ k.transpose(1, 2) / math.sqrt(self.cfg.attn) + bias[where]

    @staticmethod
    def _bias_index(f):
        """(bars ago, same place in the bar) of every key for every query, to index a bias table."""
        ago = (f[..., 6].unsqueeze(-1) - f[..., 6].unsqueeze(-2)).clamp(0, MAX_BARS_AGO)
        return ago, (f[..., 1].unsqueeze(-1) == f[..., 1].unsqueeze(-2)).long()

    # ----- training path: whole sequences -----------------------------------
    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """Next-token scores (B, T, vocab), teacher-forced on features f (B, T, F).

        Logits; with the pointer head (`RNNConfig.copy`) log-probabilities, which every
        caller may treat as logits (their log-softmax is themselves)."""
        return self.run(f)["out"]

    def run(self, f: torch.Tensor, copy_odds: float = 1.0, last: bool = False) -> dict:
        """The training path's pieces: "out" (see `forward`), LSTM states, attention keys;
        `copy_odds` multiplies the pointer's odds (a sampling calibration, see `Stepper`);
        `last` computes "out" for the last step only (a primer run: the output layer and
        the pointer's mixture over the vocabulary are most of its cost)."""
        x = self.drop(self.embed(f))
        h1, s1 = self.lstm1(x)
        r = {"h1": h1, "s1": s1}
        at = slice(-1, None) if last else slice(None)       # the steps whose output is wanted
        if not self.cfg.attention:
            h2, r["s2"] = self.lstm2(self.drop(h1))
            r["out"] = self.head(self.drop(h2[:, at]))
            return r
        T = f.shape[1]
        i = torch.arange(T)
        back = i[:, None] - i[None, :]                      # steps from key to query
        k, where = self.k(h1), self._bias_index(f)
        s = self._scores(self.q(h1), k, where, self.bias)
        s = s.masked_fill(~((back >= 0) & (back < self.cfg.window)), float("-inf"))
        c = torch.softmax(s, -1) @ h1
        h2, r["s2"] = self.lstm2(self.drop(torch.cat([h1, c], -1)))
        hc = self.drop(torch.cat([h2, c], -1))[:, at]
        r.update(k=k, out=self.head(hc))
        if self.cfg.copy:
            # point at an earlier step j < t: propose the token that followed it (input j + 1)
            earlier = ((back > 0) & (back < self.cfg.window))[at]
            run = match_runs(f[..., 0])[:, at] * earlier
            ck = self.ck(h1)
            s = self._scores(self.cq(h1[:, at]), ck, tuple(w[:, at] for w in where), self.cbias) + self.rbias[run]
            w = torch.softmax(s.masked_fill(~earlier, -1e9), -1) * earlier   # step 0: nothing to point at
            nxt = torch.cat([f[:, 1:, 0], torch.zeros_like(f[:, :1, 0])], 1)
            copy = torch.zeros_like(r["out"]).scatter_add_(2, nxt[:, None, :].expand(-1, w.shape[1], -1), w)
            g = torch.sigmoid(self.gate(hc)[..., 0] + self.gbias[run.max(-1).values] - math.log(copy_odds))
            g = torch.where(earlier.any(-1)[None, :], g, torch.ones_like(g))
            r["out"] = torch.lerp(copy, torch.softmax(r["out"], -1), g[..., None]).clamp_min(1e-30).log()
            r.update(ck=ck, run=run)
        return r

    def stepper(self, copy_odds: float = 1.0, half: bool = True) -> "Stepper":
        """A fast one-token-at-a-time runner with these weights (for generation);
        `copy_odds` multiplies the pointer's odds against the softmax, `half` runs
        layer 2 and the output layer in bfloat16 (see `Stepper`)."""
        return Stepper(self, copy_odds, half)


def match_runs(ids: torch.Tensor) -> torch.Tensor:
    """(B, T, T) long: for query t and key j, how many tokens ending at t equal those
    ending at j (t, t-1, ... against j, j-1, ...), counted up to `RUN_CAP`.

    >>> match_runs(torch.tensor([[5, 6, 5, 6]]))[0].tolist()
    [[1, 0, 1, 0], [0, 2, 0, 2], [1, 0, 3, 0], [0, 2, 0, 4]]
    """
    T = ids.shape[1]
    eq = ids[:, :, None] == ids[:, None, :]
    acc, run = eq, eq.long()
    for k in range(1, min(RUN_CAP, T)):
        back = torch.zeros_like(eq)
        back[:, k:, k:] = eq[:, :T - k, :T - k]             # eq[t - k, j - k]
        acc = acc & back
        run += acc
    return run


class Stepper:
    """Generation path: the same network one token per step, with fused weights.

    Embedding -> concat -> LSTM1 input matmul is linear, so each feature's table is
    multiplied into LSTM1's input weights once here: a step then adds one row per
    feature instead of a (B, n_in) x (n_in, 4H) product.  Layer 2's input and
    recurrent matmuls are fused into one.  Attention keys and values live in
    preallocated buffers (no concatenation per step); so do the pointer's keys, the
    tokens it proposes and its match runs, which grow by one per step instead of
    `match_runs` over the whole history.  `prime` runs the primer through the
    training path in one call.  Tests check it against `AttentionRNN.run`.

    At batch 8 a step is three matmuls (~60% of its time on a 2-core CPU) and a few
    dozen small ops whose fixed per-op cost is the rest, so the code below counts
    ops: one embedding_bag for all feature rows, one sigmoid per cell, narrow/copy_
    instead of Python indexing.  With `half` (the default) layer 2 and the output
    layer run in bfloat16; `half=False` is the exact path the tests compare.
    """

    @torch.no_grad()
    def __init__(self, model: AttentionRNN, copy_odds: float = 1.0, half: bool = True):
        self.m = m = model
        self.copy_odds = copy_odds
        self.half = half
        cfg = m.cfg
        E, Fd, H = cfg.emb, cfg.feat, cfg.hidden
        W = m.lstm1.weight_ih_l0
        cols, tabs, at = [0, 1, 2, 3, 4, 5, 7, 8], [], 0
        embs = [(m.tok, E), (m.pos, Fd), (m.rem, Fd), (m.meter, Fd), (m.key, Fd), (m.mode, Fd),
                (m.sec, Fd), (m.secn, Fd)]
        for emb, n in embs:
            tabs.append(emb.weight @ W[:, at:at + n].T)
            at += n
        if cfg.lookback:
            for j in range(len(LAGS)):
                t = (m.look.weight + m.look_lag[j]) @ W[:, at:at + E].T
                t[0] = 0.0                                   # "nothing there"
                tabs.append(t)
                cols.append(LB0 + j)
                at += E
        # Every step looks up exactly one token row, so LSTM1's biases ride along in
        # the token table; all tables are stacked into one so that a single
        # embedding_bag(sum) call replaces 11 gathers and adds (~8x faster here).
        tabs[0] = tabs[0] + m.lstm1.bias_ih_l0 + m.lstm1.bias_hh_l0
        self.cols = torch.tensor(cols)
        self.offsets = torch.tensor([0] + [len(t) for t in tabs[:-1]]).cumsum(0)
        self.tab = torch.cat(tabs).contiguous()
        self.w1 = m.lstm1.weight_hh_l0.T.contiguous()
        l2 = m.lstm2
        self.w2 = torch.cat([l2.weight_ih_l0, l2.weight_hh_l0], 1).T.contiguous()
        self.b2 = l2.bias_ih_l0 + l2.bias_hh_l0
        self.wh = m.head.weight.T.contiguous()
        self.bh = m.head.bias.detach()
        self.copy = cfg.copy
        if cfg.attention:
            # query (pre-scaled) and key projections as one (H, 2A) product (pointer: (H, 4A))
            proj = [m.q.weight.T / math.sqrt(cfg.attn), m.k.weight.T]
            if cfg.copy:
                proj += [m.cq.weight.T / math.sqrt(cfg.attn), m.ck.weight.T]
                # one table for both pointer biases: index (2 * bars ago + same) * (RUN_CAP + 1) + run
                self.crbias = (m.cbias.detach().flatten()[:, None] + m.rbias.detach()[None, :]).flatten()
                self.gbias = m.gbias.detach()
                # the gate is one more output column of the head's matmul
                self.wh = torch.cat([self.wh, m.gate.weight.T], 1).contiguous()
                # copy_odds (a sampling calibration, like a temperature) moves the gate's bias:
                # the pointer's odds against the softmax are exp(-gate), times copy_odds
                self.bh = torch.cat([self.bh, m.gate.bias.detach() - math.log(copy_odds)])
            self.wqk = torch.cat(proj, 1).contiguous()
            self.bias = m.bias.detach().flatten()           # index 2 * bars_ago + same_pos
        if half:
            # The output layer and layer 2's fused matmul are most of a step and, at batch 8,
            # bound by reading their weights: in bfloat16 each takes ~half the time.  The
            # rounding (~0.4 % of a pre-activation) moves a sampled token's log-probability
            # by ~0.01 (tests check the distance to the exact path).
            self.wh, self.bh = self.wh.bfloat16(), self.bh.bfloat16()
            self.w2, self.b2 = self.w2.bfloat16(), self.b2.bfloat16()
        self._primed: tuple[bytes, dict] | None = None

    @staticmethod
    def _cell(gates, c):
        # At batch 8 the per-op overhead outweighs the arithmetic, so one sigmoid runs
        # over all four gates (the g slice is wasted) and addcmul fuses a mul and add.
        H = c.shape[1]
        i, f, _, o = torch.sigmoid(gates).chunk(4, 1)
        c = torch.addcmul(f * c, i, torch.tanh(gates.narrow(1, 2 * H, H)))
        return o * torch.tanh(c), c

    @torch.no_grad()
    def _prime_one(self, f: torch.Tensor) -> dict:
        """Batch-1 results of running the primer f (1, T, F) through the training path."""
        r = self.m.run(f, self.copy_odds, last=True)
        (a1, b1), (a2, b2) = r["s1"], r["s2"]
        out = {"h1": a1[0], "c1": b1[0], "h2": a2[0], "c2": b2[0], "logits": r["out"][:, -1]}
        if self.m.cfg.attention:
            out.update(keys=r["k"][0].T, vals=r["h1"][0], kbar2=2 * f[0, :, 6], kpos=f[0, :, 1])
        if self.copy:
            run = torch.zeros(f.shape[1] + 1, dtype=torch.long)    # run[j + 1]: key j (run[0] = 0)
            run[1:-1] = r["run"][0, -1, :-1]
            out.update(ckeys=r["ck"][0].T, toks=f[0, :, 0], run=run)
        return out

    @torch.no_grad()
    def prime(self, f: torch.Tensor, batch: int, max_steps: int) -> tuple[torch.Tensor, dict]:
        """Run one primer (1, T, F), copy it `batch` times; returns (logits (batch, V), state).

        The batch-1 result of the last primer is kept: asking again for more
        candidates from the same tune (the usual REPL loop) skips the primer run.
        """
        key = f.numpy().tobytes()
        if self._primed is None or self._primed[0] != key:
            self._primed = (key, self._prime_one(f))
        p = self._primed[1]
        T, cfg = f.shape[1], self.m.cfg
        st = {k: p[k].expand(batch, -1).clone() for k in ("h1", "c1", "h2", "c2")}
        st["t"] = T
        if cfg.attention:
            # Slots past the primer are written before they are read, so no zero-filling.
            # Keys are stored transposed, (B, attn, steps): the per-step score is then a
            # (1 x attn) @ (attn x window) bmm, ~8x faster than (window x attn) @ (attn x 1).
            n = T + max_steps
            keys = torch.empty(batch, cfg.attn, n)
            vals = torch.empty(batch, n, cfg.hidden)
            kbar2 = torch.empty(batch, n, dtype=torch.long)   # 2 * bar index of each key
            kpos = torch.empty(batch, n, dtype=torch.long)
            keys[:, :, :T], vals[:, :T] = p["keys"], p["vals"]
            kbar2[:, :T], kpos[:, :T] = p["kbar2"], p["kpos"]
            st.update(keys=keys, vals=vals, kbar2=kbar2, kpos=kpos)
            if self.copy:
                ckeys = torch.empty(batch, cfg.attn, n)
                toks = torch.zeros(batch, n, dtype=torch.long)
                ckeys[:, :, :T], toks[:, :T] = p["ckeys"], p["toks"]
                # match runs for the last query (key j at j + 1), and a buffer for the next one
                run = torch.zeros(batch, n + 1, dtype=torch.long)
                run[:, :T + 1] = p["run"]
                st.update(ckeys=ckeys, toks=toks, run=run, run_next=torch.zeros_like(run))
        return p["logits"].expand(batch, -1).clone(), st

    def step(self, f: torch.Tensor, st: dict) -> torch.Tensor:
        """One token per row, f (B, F) long; updates `st` in place; returns logits (B, V).

        No no_grad decorator needed (its enter/exit costs as much as two ops): every
        tensor here was made under no_grad or detached, so nothing records a graph.
        """
        x1 = F.embedding_bag(f.index_select(1, self.cols) + self.offsets, self.tab, mode="sum")
        h, c = self._cell(torch.addmm(x1, st["h1"], self.w1), st["c1"])
        st["h1"], st["c1"] = h, c
        t = st["t"]
        st["t"] = t + 1
        if self.m.cfg.attention:
            a, A = max(0, t + 1 - self.m.cfg.window), self.m.cfg.attn
            keys, vals, kbar2, kpos = st["keys"], st["vals"], st["kbar2"], st["kpos"]
            # (select/narrow + copy_ rather than x[:, t] = ...: Python indexing costs more
            # than the copy itself at these sizes)
            qk = h @ self.wqk
            keys.select(2, t).copy_(qk.narrow(1, A, A))
            vals.select(1, t).copy_(h)
            bar2, pos = f.narrow(1, 6, 1) * 2, f.narrow(1, 1, 1)
            kbar2.narrow(1, t, 1).copy_(bar2)
            kpos.narrow(1, t, 1).copy_(pos)
            L = t + 1 - a
            s = torch.bmm(qk.narrow(1, 0, A).unsqueeze(1), keys.narrow(2, a, L)).squeeze(1)
            # Bias index 2 * bars ago + same position (index_select: ~5x cheaper than
            # bias[idx]).  Clamp at 0 too: finished rows are fed a stale padding row.
            idx = (bar2 - kbar2.narrow(1, a, L)).clamp_(0, 2 * MAX_BARS_AGO)
            idx += pos == kpos.narrow(1, a, L)
            s += self.bias.index_select(0, idx.view(-1)).view(idx.shape)
            ctx = torch.bmm(torch.softmax(s, -1).unsqueeze(1), vals.narrow(1, a, L)).squeeze(1)
            x2 = torch.cat([h, ctx, st["h2"]], 1)
            h2, c2 = self._cell(self._layer2(x2), st["c2"])
            st["h2"], st["c2"] = h2, c2
            out = self._head(torch.cat([h2, ctx], 1))
            if not self.copy:
                return out
            # pointer: keys a..t-1, each proposing the token that followed it (toks a+1..t)
            ckeys, toks, old, run = st["ckeys"], st["toks"], st["run"], st["run_next"]
            st["run"], st["run_next"] = run, old
            ckeys.select(2, t).copy_(qk.narrow(1, 3 * A, A))
            tok = f.narrow(1, 0, 1)
            toks.narrow(1, t, 1).copy_(tok)
            n = L - 1
            # run of key j = that of key j-1 for the query before, plus one, where tokens match
            r = run.narrow(1, a + 1, n)
            torch.mul(toks.narrow(1, a, n).eq(tok), (old.narrow(1, a, n) + 1).clamp_max_(RUN_CAP), out=r)
            cs = torch.bmm(qk.narrow(1, 2 * A, A).unsqueeze(1), ckeys.narrow(2, a, n)).squeeze(1)
            ci = torch.add(r, idx.narrow(1, 0, n), alpha=RUN_CAP + 1)
            cs += self.crbias.index_select(0, ci.view(-1)).view(cs.shape)
            V = out.shape[1] - 1
            copy = torch.zeros(cs.shape[0], V).scatter_add_(1, toks.narrow(1, a + 1, n), torch.softmax(cs, -1))
            gate = out.narrow(1, V, 1) + self.gbias.index_select(0, r.amax(1))[:, None]
            p = torch.lerp(copy, torch.softmax(out.narrow(1, 0, V), -1), torch.sigmoid(gate))
            return p.clamp_min_(1e-30).log_()
        h2, c2 = self._cell(self._layer2(torch.cat([h, st["h2"]], 1)), st["c2"])
        st["h2"], st["c2"] = h2, c2
        return self._head(h2)

    def _layer2(self, x: torch.Tensor) -> torch.Tensor:
        if self.half:
            return torch.addmm(self.b2, x.bfloat16(), self.w2).float()
        return torch.addmm(self.b2, x, self.w2)

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        if self.half:
            return torch.addmm(self.bh, x.bfloat16(), self.wh).float()
        return torch.addmm(self.bh, x, self.wh)

    @staticmethod
    def select(st: dict, index: torch.Tensor) -> dict:
        """Reorder a batch of generation states (beam search)."""
        return {k: (v if k == "t" else v[index]) for k, v in st.items()}


def save_checkpoint(path, model: AttentionRNN, **extra) -> None:
    """State dict + config (+ metrics, + the tokenizer version) in a weights_only file."""
    torch.save({"config": asdict(model.cfg), "state_dict": model.state_dict(),
                "tokenizer_version": model.cfg.tokenizer, **extra}, path)


class CheckpointVersionError(ValueError):
    """A checkpoint trained on another tokenizer version than the code asks for."""


def tokenizer_version(ck: dict) -> int:
    """The token layout a checkpoint dict was trained on (round-1 files have none: v1)."""
    return int(ck.get("tokenizer_version", ck["config"].get("tokenizer", 1)))


def load_checkpoint(path, *, expect: int = TOKENIZER_VERSION) -> tuple[AttentionRNN, dict]:
    """(model in eval mode, the whole checkpoint dict); a checkpoint of another tokenizer
    version than `expect` (round 1's v1) is refused with `CheckpointVersionError`."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    v = tokenizer_version(ck)
    if v != expect:
        raise CheckpointVersionError(
            f"{path}: checkpoint uses tokenizer v{v}, this code needs v{expect}; "
            f"retrain it (`st4rt train rnn`) or use a v{expect} checkpoint")
    model = AttentionRNN(RNNConfig(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck


# ----- the features: where the written tune is -------------------------------------
BETWEEN, IN = 0, 1           # phases: at a bar's start (form tokens may come) / after a note


class WrittenTracker:
    """Follows a v2 token stream and says where in the bar it is (the model's features);
    also the grammar's state.  Feed tokens with `push`; `features()` then gives the
    model inputs for the token just pushed.

    Besides the bar position it follows the form: bars since the section began
    (`sec_bar`; a ``[2`` ending resumes the count of its ``[1``), sections so far,
    whether a ``|:`` is open, which ending the bar lies under, whether a ``[2``
    must come next.  Lookback is by written bars.

    >>> from st4rt_repl.tokenizers.written import VOCAB as V2
    >>> t = WrittenTracker()
    >>> for s in ['<s>', 'M:2/4', 'K:0', 'mode:major', '|:', 'p60:24', 'p62:24', ':|', '[2']:
    ...     t.push(V2.stoi[s])
    >>> t.bar_index, t.sec_bar, t.sec_n, t.explicit_open, t.in_ending
    (1, 0, 0, False, '2')
    """

    __slots__ = ("meter", "bar_len", "pos", "phase", "key", "mode", "bar_index", "bars", "current",
                 "last_pitch", "tied_pitch", "n", "_pickup", "sec_bar", "sec_n", "end_base",
                 "explicit_open", "open_at", "in_ending", "need_ending2", "bar_start", "parts_used",
                 "pitched", "prev_len", "short", "last_end", "ended", "aligned", "lb_index")

    def __init__(self, pickup_ticks: int = 0, aligned: bool = False):
        from st4rt_repl.tokenizers.written import VOCAB as V2
        self.meter, self.bar_len = V2.stoi["M:4/4"], 96
        self.pos, self.phase = 0, BETWEEN
        self.key, self.mode = 0, 0
        self.bar_index = 0
        self.bars: list[dict] = []
        self.current: dict = {}
        self.last_pitch = self.tied_pitch = None
        self.pitched = False
        self.n = 0
        self._pickup = pickup_ticks
        self.sec_bar, self.sec_n, self.end_base = 0, 0, (0, 0)
        self.explicit_open, self.open_at = False, -1
        self.in_ending, self.need_ending2 = "", False
        self.bar_start: tuple = ()           # start tokens written in the current bar
        self.parts_used = ""
        self.prev_len = 0                    # ticks of the previous bar (0: none)
        self.short = False                   # the current bar is marked partial
        self.last_end = ""                   # the last section end written: ":|", "||", "|]"
        self.ended = False                   # the bar before this one ended a section
        self.aligned = aligned               # see RNNConfig.aligned
        self.lb_index = 0                    # bar count for lookback and bars-ago

    @property
    def rem(self) -> int:
        return self.bar_len - self.pos

    @property
    def can_repeat(self) -> bool:
        """A ``:|`` here has a start abc2midi goes back to without a warning: an open
        ``|:``, or the tune's start when it has no pickup and no section ended yet
        (abc2midi warns "assuming repeat" after an earlier section end, and about a
        repeated pickup)."""
        return self.explicit_open or (not self._pickup and not self.last_end)

    def copy(self) -> "WrittenTracker":
        t = WrittenTracker.__new__(WrittenTracker)
        for s in WrittenTracker.__slots__:
            setattr(t, s, getattr(self, s))
        t.bars = list(self.bars)
        t.current = dict(self.current)
        return t

    def _new_section(self):
        if self.sec_bar:
            self.sec_bar, self.sec_n = 0, self.sec_n + 1

    def push(self, tok: int) -> None:
        """Advance past one v2 token."""
        from st4rt_repl.tokenizers.written import VOCAB as V2
        tok = int(tok)
        key = (self.pos, self.phase)
        if key not in self.current:
            self.current[key] = tok
        self.n += 1
        if tok >= V2.first_note:
            p, d = V2.note_of(tok)
            self.pos += d
            self.phase = IN
            self.last_pitch, self.pitched, self.tied_pitch = p, p is not None, None
        elif tok in V2.bar_ends:
            self.bars.append(self.current)
            self.current = {}
            # a partial bar at a section's start is its pickup: it does not count as a bar there
            pickup_bar = (self.short or (self.bar_index == 0 and self._pickup > 0)) and self.sec_bar == 0
            self.bar_index += 1
            self.lb_index += 1
            self.prev_len = self.pos if self.pos < self.bar_len else 0
            self.pos, self.phase, self.bar_start, self.short = 0, BETWEEN, (), False
            if self.tied_pitch is None:
                self.last_pitch, self.pitched = None, False
            self.ended = tok != V2.bar
            if tok == V2.bar:
                self.sec_bar += 0 if pickup_bar else 1
            else:
                self.last_end = V2.itos[tok]
                if tok == V2.repeat_end:
                    self.need_ending2 = self.in_ending[:1] == "1"
                self.explicit_open, self.in_ending = False, ""
                self.sec_bar, self.sec_n = 0, self.sec_n + 1
        elif tok == V2.short:
            # the rest of a bar cut short (a part's pickup): it ends where a full bar would
            self.short = True
            self.bar_start += (tok,)
            if self.prev_len:
                self.pos = self.prev_len
                if self.aligned and self.bars:     # one bar again, for lookback: the cut bar and its rest
                    self.current = {**self.current, **self.bars.pop()}
                    self.lb_index -= 1
        elif V2.is_extra(tok):
            self.pos += tok - V2.first_extra + 1
        elif tok == V2.tie:
            self.tied_pitch = self.last_pitch
        elif tok == V2.repeat_start:
            self._new_section()
            self.explicit_open, self.open_at = True, self.bar_index
            self.in_ending = ""
            self.bar_start += (tok,)
        elif tok in V2.endings:
            label = V2.endings[tok]
            if label[:1] == "1":
                self.end_base = (self.sec_bar, self.sec_n)
            else:
                self.sec_bar, self.sec_n = self.end_base
            self.in_ending, self.need_ending2 = label, False
            self.bar_start += (tok,)
        elif tok in V2.parts:
            self._new_section()
            self.parts_used += V2.parts[tok]
            self.bar_start += (tok,)
        elif tok in V2.meters:
            self.meter = tok
            num, den = V2.meters[tok]
            self.bar_len = TICKS_PER_QUARTER * 4 * num // den
            if self.n == 2 and self._pickup:      # prefix meter: align the pickup
                self.pos = max(0, self.bar_len - self._pickup)
        elif V2.is_key(tok):
            self.key = tok - V2.first_key
        elif V2.is_mode(tok):
            self.mode = tok - V2.first_mode

    def lookback(self) -> list[int]:
        """Token that followed this (position, phase) 1, 2, 4, 8 written bars ago (0 = none)."""
        key = (self.pos, self.phase)
        nb = len(self.bars)
        return [self.bars[nb - k].get(key, 0) if nb >= k else 0 for k in LAGS]

    def features(self, tok: int) -> list[int]:
        """Model inputs for `tok`, the token just pushed."""
        return [int(tok), min(self.pos, MAX_TICKS), min(max(self.rem, 0), MAX_TICKS), self.meter,
                self.key, self.mode, self.lb_index, min(self.sec_bar, SEC_BARS - 1),
                min(self.sec_n, SEC_COUNT - 1)] + self.lookback()


def written_pickup_ticks(ids) -> int:
    """Ticks in the pickup bar of a v2 token sequence (0 if none)."""
    from st4rt_repl.tokenizers.written import VOCAB as V2, prefix_length
    n0 = prefix_length(ids)
    if V2.pickup not in [int(i) for i in ids[4:n0]]:
        return 0
    t = 0
    for i in ids[n0:]:
        i = int(i)
        if i in V2.bar_ends:
            return t
        if i >= V2.first_note:
            t += V2.note_of(i)[1]
        elif V2.is_extra(i):
            t += i - V2.first_extra + 1
    return t


def featurize_written(ids, aligned: bool = False) -> np.ndarray:
    """(T, LB0 + len(LAGS)) int array of model inputs for a whole token sequence
    (`aligned`: see `RNNConfig.aligned`)."""
    tr = WrittenTracker(written_pickup_ticks(ids), aligned)
    out = np.zeros((len(ids), LB0 + len(LAGS)), dtype=np.int16)
    for t, tok in enumerate(ids):
        tr.push(tok)
        out[t] = tr.features(tok)
    return out

