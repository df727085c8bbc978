"""MusicVAE for 2-bar melody windows on ST4RT+ tokens (one file: config, model, encode/decode).

After Roberts et al. 2018 (Magenta's ``cat-mel_2bar_small``), written from the paper:

* the **encoder** is a bidirectional LSTM over a window's bar tokens; its two final
  states give the mean and scale of ``q(z | x)``;
* the **decoder** is a stacked LSTM whose initial state comes from ``z`` and which
  is fed ``z`` at every step, together with the previous token, the window's meter
  and mode, and *where it is in the bar* (ticks left in the bar, which bar).  The
  bar position is what lets one model serve every meter;
* decoding is **constrained** (`Grammar`): every bar is exactly as long as asked,
  a tie only joins equal pitches, pitches stay in a range and durations stay on
  a grid that ABC can write.  The constraint is a per-step logit mask built from
  small tensors, so a batch of candidates decodes in one loop.

Windows are ``<s> M:x K:pc mode:m`` + two bars (see `st4rt_repl.corpus.views.vae_windows`);
they are transposed so the tonic is C (`to_tonic`), the key token is then constant
and only the meter and mode condition the model.

>>> cfg = VAEConfig(embed=8, enc_hidden=8, dec_hidden=8, z_dim=4, cond_embed=4, pos_embed=4)
>>> m = MusicVAE(cfg).eval()
>>> w = window_ids(Tune.from_bars([[(60, 2), (62, 2)], [(64, 4)]], meter=(4, 4)), 1)
>>> mu, _ = m.encode([w])
>>> tuple(mu.shape)
(1, 4)
>>> out = m.decode(mu, meter=(4, 4), mode='major', bar_ticks=[96, 96], seed=0)
>>> t = ids_to_tune(out[0], meter=(4, 4), key=Key('C', 'major'))
>>> [b.is_full for b in t.bars]
[True, True]
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from st4rt_repl.tokenizers.melody import (MAX_DURATION_TICKS, PITCH_HI, PITCH_LO,
                                           TICKS_PER_QUARTER, VOCAB, decode as decode_ids,
                                           encode_bar)
from st4rt_repl.tune import Bar, Key, MODES, Tune

MAX_REM = 288          # longest bar we position-encode (3/1, 6/2); longer bars are clipped
START = VOCAB.bos      # the decoder's first input token
PREFIX_LEN = 4         # <s> M:x K:pc mode:m
METER_TOKENS = [i for i, s in enumerate(VOCAB.itos) if s.startswith("M:")]
MODE_NAMES = list(MODES)


@dataclass
class VAEConfig:
    """Sizes of the model.  Defaults were chosen for latency on a 2-core CPU."""
    vocab_size: int = len(VOCAB)
    embed: int = 64
    enc_hidden: int = 128        # per direction
    dec_hidden: int = 256
    dec_layers: int = 1          # 2x256 trained at 1/3 the speed here; see the model card
    z_dim: int = 128
    cond_embed: int = 16         # meter and mode embeddings
    pos_embed: int = 32          # ticks-left-in-bar embedding
    dropout: float = 0.1


# ----------------------------------------------------------------- windows
def bar_ticks_of(meter) -> int:
    """Ticks in a full bar of `meter` (24 per quarter).

    >>> bar_ticks_of((6, 8)), bar_ticks_of((3, 4))
    (72, 72)
    """
    return TICKS_PER_QUARTER * 4 * meter[0] // meter[1]


def tonic_shift(tune: Tune) -> int:
    """Semitones that move the tune's tonic to C, choosing the octave nearest the original
    (the corpus's ``transpose="tonic"`` rule), then nudged by octaves to stay in range.

    >>> tonic_shift(Tune.from_bars([[(62, 4)]], key=Key('D', 'major')))
    -2
    >>> tonic_shift(Tune.from_bars([[(67, 4)]], key=Key('G', 'major')))
    5
    """
    pc = tune.key.tonic_pc
    s = -pc if pc <= 6 else 12 - pc
    pitches = [n.pitch for b in tune.bars for n in b.notes if n.pitch is not None]
    if pitches:
        while max(pitches) + s > PITCH_HI and min(pitches) + s - 12 >= PITCH_LO:
            s -= 12
        while min(pitches) + s < PITCH_LO and max(pitches) + s + 12 <= PITCH_HI:
            s += 12
    return s


def _clamp_bar(bar: Bar, shift: int) -> Bar:
    """`bar` shifted by `shift` semitones, with pitches folded into the tokenizer's range."""
    notes = []
    for n in bar.notes:
        if n.pitch is None:
            notes.append(n)
            continue
        p = n.pitch + shift
        while p > PITCH_HI:
            p -= 12
        while p < PITCH_LO:
            p += 12
        notes.append(type(n)(p, n.duration, n.tie))
    return Bar(tuple(notes), bar.meter)


def window_ids(tune: Tune, first: int, nbars: int = 2, *, shift: int | None = None) -> list[int]:
    """Token ids of the window of `nbars` bars starting at bar number `first`,
    transposed by `shift` (default: `tonic_shift`); the key token becomes K:0.

    >>> t = Tune.from_bars([[(62, 4)], [(64, 4)]], key=Key('D', 'major'))
    >>> [VOCAB.itos[i] for i in window_ids(t, 1)]
    ['<s>', 'M:4/4', 'K:0', 'mode:major', 'p60', 'd96', '|', 'p62', 'd96', '|']
    """
    s = tonic_shift(tune) if shift is None else shift
    bars = [tune.bar(k) for k in range(first, first + nbars)]
    meter = bars[0].meter
    ids = [VOCAB.bos, VOCAB.stoi[f"M:{meter[0]}/{meter[1]}"], VOCAB.stoi["K:0"],
           VOCAB.stoi[f"mode:{tune.key.mode}"]]
    for b in bars:
        ids += encode_bar(_clamp_bar(b, s))
    return ids


def tune_windows(tune: Tune, *, shift: int | None = None) -> list[list[int]]:
    """Every 2-bar window of full bars in one meter (hop one bar), as `window_ids`.

    >>> t = Tune.from_bars([[(60, 4)], [(62, 4)], [(64, 4)]])
    >>> len(tune_windows(t))
    2
    """
    s = tonic_shift(tune) if shift is None else shift
    full = [k for k in tune.bar_numbers() if k > 0 and tune.bar(k).is_full]
    fullset = set(full)
    out = []
    for k in full:
        if k + 1 in fullset and tune.bar(k).meter == tune.bar(k + 1).meter:
            try:
                out.append(window_ids(tune, k, shift=s))
            except (KeyError, ValueError):     # a meter or duration the vocabulary lacks
                continue
    return out


def split_body_bars(body: Sequence[int]) -> list[list[int]]:
    """Body tokens cut after each barline (each returned bar ends with ``|``)."""
    bars, cur = [], []
    for i in body:
        cur.append(int(i))
        if i == VOCAB.bar:
            bars.append(cur)
            cur = []
    if cur:
        bars.append(cur)
    return bars


def ids_to_bars(body: Sequence[int], meter, shift: int = 0) -> list[Bar]:
    """Decode body tokens (no prefix) into Bars of `meter`, shifted back by `shift` semitones."""
    ids = [VOCAB.bos, VOCAB.stoi[f"M:{meter[0]}/{meter[1]}"], VOCAB.stoi["K:0"],
           VOCAB.stoi["mode:major"]] + list(body)
    t = decode_ids(ids)
    out = []
    for b in t.bars:
        out.append(Bar(tuple(n if n.pitch is None else type(n)(n.pitch + shift, n.duration, n.tie)
                             for n in b.notes), tuple(meter)))
    return out


def ids_to_tune(body: Sequence[int], *, meter=(4, 4), key: Key = Key(), shift: int = 0,
                title: str = "Untitled") -> Tune:
    """A Tune from decoded body tokens (see `ids_to_bars`)."""
    return Tune(tuple(ids_to_bars(body, meter, shift)), tuple(meter), key, title=title)


def body_features(body: Sequence[int], bar_ticks: Sequence[int]) -> tuple[list[int], list[int]]:
    """For each body token: ticks left in its bar *before* it, and the index of its bar.

    >>> body_features([VOCAB.stoi['p60'], VOCAB.stoi['d48'], VOCAB.bar, VOCAB.stoi['r']], [48, 48])
    ([48, 48, 0, 48], [0, 0, 0, 1])
    """
    rem_out, bar_out = [], []
    k, rem = 0, bar_ticks[0]
    for i in body:
        rem_out.append(min(max(rem, 0), MAX_REM))
        bar_out.append(min(k, 3))
        if VOCAB.is_duration(i):
            rem -= VOCAB.ticks_of(i)
        elif i == VOCAB.bar:
            k += 1
            rem = bar_ticks[min(k, len(bar_ticks) - 1)]
    return rem_out, bar_out


def meter_of_ids(ids: Sequence[int]):
    num, den = VOCAB.itos[int(ids[1])][2:].split("/")
    return int(num), int(den)


def mode_of_ids(ids: Sequence[int]) -> str:
    return VOCAB.itos[int(ids[3])][5:]


# ----------------------------------------------------------------- grammar
# Duration grid for generation: binary values down to a 32nd (multiples of 3 ticks),
# plus triplet eighths/quarters/sixteenths when asked for.  A value is only offered if
# the rest of the bar can still be filled from the grid (`_reachable`).
BINARY = [t for t in range(3, MAX_DURATION_TICKS + 1, 3)]
TRIPLETS = [4, 8, 16]
PHASE_NOTE, PHASE_DUR, PHASE_END, PHASE_TIED, PHASE_DONE = range(5)


def _reachable(grid: Sequence[int], n: int) -> list[bool]:
    ok = [False] * (n + 1)
    ok[0] = True
    for r in range(1, n + 1):
        ok[r] = any(t <= r and ok[r - t] for t in grid)
    return ok


class Grammar:
    """Logit masks that make every decoded bar exactly `bar_ticks` long.

    States per sequence: expecting a note (pitch or rest), a duration, the end of a
    bar (``|`` or a tie ``~``), a barline after a tie, or done.  Masks come from
    precomputed tables indexed by the ticks left, so a step costs a few tensor ops.

    >>> g = Grammar(triplets=False)
    >>> allowed = g.duration_table[24].nonzero().flatten().tolist()
    >>> [VOCAB.itos[i] for i in allowed]
    ['d3', 'd6', 'd9', 'd12', 'd15', 'd18', 'd21', 'd24']
    """

    def __init__(self, *, triplets: bool = True, max_rem: int = MAX_REM * 2):
        grid = BINARY + (TRIPLETS if triplets else [])
        ok = _reachable(grid, max_rem)
        V = len(VOCAB)
        table = torch.zeros(max_rem + 1, V, dtype=torch.bool)
        for r in range(1, max_rem + 1):
            choices = [t for t in grid if t <= r and ok[r - t]] if ok[r] else \
                      list(range(1, min(r, MAX_DURATION_TICKS) + 1))  # off-grid remainder
            for t in choices:
                table[r, VOCAB.duration_id(t)] = True
        self.duration_table = table
        self.max_rem = max_rem
        ticks = torch.zeros(V, dtype=torch.long)
        for t in range(1, MAX_DURATION_TICKS + 1):
            ticks[VOCAB.duration_id(t)] = t
        self.ticks = ticks
        is_pitch = torch.zeros(V, dtype=torch.bool)
        pitch_of = torch.full((V,), -1, dtype=torch.long)
        for i in range(V):
            if VOCAB.is_pitch(i):
                is_pitch[i] = True
                p = VOCAB.pitch_of(i)
                pitch_of[i] = -1 if p is None else p
        self.is_pitch, self.pitch_of = is_pitch, pitch_of

    def pitch_mask(self, lo: int, hi: int, rests: bool = True) -> torch.Tensor:
        """Allowed note tokens: pitches lo..hi (and the rest)."""
        m = self.is_pitch & (self.pitch_of >= lo) & (self.pitch_of <= hi)
        m[VOCAB.rest] = rests
        return m


@dataclass
class DecodeState:
    """Grammar state of a batch (tensors of shape [B])."""
    phase: torch.Tensor
    rem: torch.Tensor
    bar: torch.Tensor
    last_pitch: torch.Tensor     # token id of the last note's pitch (or rest), -1 none
    tied_to: torch.Tensor        # token id the next note must repeat (after a tie), -1 none


def walk_state(bodies: Sequence[Sequence[int]], bar_ticks: torch.Tensor) -> DecodeState:
    """Grammar state after the forced tokens `bodies` (one list per row)."""
    B = len(bodies)
    phase, rem, bar, last, tied = [], [], [], [], []
    for b, body in enumerate(bodies):
        ph, k, r, lp, td = PHASE_NOTE, 0, int(bar_ticks[b, 0]), -1, -1
        for i in body:
            if VOCAB.is_pitch(i):
                lp, td, ph = i, -1, PHASE_DUR
            elif VOCAB.is_duration(i):
                r -= VOCAB.ticks_of(i)
                ph = PHASE_END if r <= 0 else PHASE_NOTE
            elif i == VOCAB.tie:
                td, ph = lp, PHASE_TIED
            elif i == VOCAB.bar:
                k += 1
                ph = PHASE_DONE if k >= bar_ticks.shape[1] else PHASE_NOTE
                r = int(bar_ticks[b, min(k, bar_ticks.shape[1] - 1)])
        phase.append(ph); rem.append(r); bar.append(k); last.append(lp); tied.append(td)
    t = lambda x: torch.tensor(x, dtype=torch.long)
    return DecodeState(t(phase), t(rem), t(bar), t(last), t(tied))


# ----------------------------------------------------------------- model
class MusicVAE(nn.Module):
    """Bi-LSTM encoder, z-conditioned stacked-LSTM decoder (see module docstring)."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.cfg = cfg
        V, E = cfg.vocab_size, cfg.embed
        self.tok = nn.Embedding(V, E)
        self.cond = nn.Embedding(V, cfg.cond_embed)     # meter and mode tokens
        self.pos = nn.Embedding(MAX_REM + 1, cfg.pos_embed)
        self.barpos = nn.Embedding(4, cfg.pos_embed)
        enc_in = E + cfg.pos_embed + 2 * cfg.cond_embed
        self.encoder = nn.LSTM(enc_in, cfg.enc_hidden, batch_first=True, bidirectional=True)
        self.to_mu = nn.Linear(2 * cfg.enc_hidden, cfg.z_dim)
        self.to_sigma = nn.Linear(2 * cfg.enc_hidden, cfg.z_dim)
        self.z_to_state = nn.Linear(cfg.z_dim, 2 * cfg.dec_layers * cfg.dec_hidden)
        dec_in = E + cfg.pos_embed + 2 * cfg.cond_embed + cfg.z_dim
        self.decoder = nn.LSTM(dec_in, cfg.dec_hidden, num_layers=cfg.dec_layers,
                               batch_first=True, dropout=cfg.dropout if cfg.dec_layers > 1 else 0)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.dec_hidden, V)
        self._grammars: dict[bool, Grammar] = {}

    # -- batching
    @staticmethod
    def batch(windows: Sequence[Sequence[int]]):
        """Pad windows into tensors: body [B,T], prev [B,T], rem [B,T], barpos [B,T],
        cond [B,2] (meter and mode token), lengths [B]."""
        B = len(windows)
        bodies = [list(map(int, w[PREFIX_LEN:])) for w in windows]
        T = max(len(b) for b in bodies)
        body = torch.zeros(B, T, dtype=torch.long)
        prev = torch.zeros(B, T, dtype=torch.long)
        rem = torch.zeros(B, T, dtype=torch.long)
        barpos = torch.zeros(B, T, dtype=torch.long)
        cond = torch.zeros(B, 2, dtype=torch.long)
        lengths = torch.zeros(B, dtype=torch.long)
        for i, (w, b) in enumerate(zip(windows, bodies)):
            n = len(b)
            ticks = bar_ticks_of(meter_of_ids(w))
            r, k = body_features(b, [ticks, ticks])
            body[i, :n] = torch.tensor(b)
            prev[i, 0] = START
            prev[i, 1:n] = torch.tensor(b[:-1])
            rem[i, :n] = torch.tensor(r)
            barpos[i, :n] = torch.tensor(k)
            cond[i, 0], cond[i, 1] = int(w[1]), int(w[3])
            lengths[i] = n
        return body, prev, rem, barpos, cond, lengths

    def _cond(self, cond: torch.Tensor) -> torch.Tensor:
        return self.cond(cond).flatten(1)                       # [B, 2*C]

    # -- encoder
    def encode_batch(self, body, rem, barpos, cond, lengths):
        """Mean and scale of q(z|x) for a padded batch."""
        B, T = body.shape
        c = self._cond(cond).unsqueeze(1).expand(B, T, -1)
        x = torch.cat([self.tok(body), self.pos(rem) + self.barpos(barpos), c], -1)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        _, (h, _) = self.encoder(packed)
        h = torch.cat([h[0], h[1]], -1)
        return self.to_mu(h), F.softplus(self.to_sigma(h)) + 1e-4

    def encode(self, windows: Sequence[Sequence[int]]):
        """(mu, sigma) for a list of windows (token id lists with prefix)."""
        body, _, rem, barpos, cond, lengths = self.batch(windows)
        return self.encode_batch(body, rem, barpos, cond, lengths)

    # -- decoder, teacher forced
    def initial_state(self, z):
        L, H = self.cfg.dec_layers, self.cfg.dec_hidden
        s = torch.tanh(self.z_to_state(z)).view(-1, 2, L, H).permute(1, 2, 0, 3)
        return s[0].contiguous(), s[1].contiguous()

    def decode_logits(self, z, prev, rem, barpos, cond):
        """Teacher-forced logits [B,T,V] given z and the previous tokens."""
        B, T = prev.shape
        c = self._cond(cond).unsqueeze(1).expand(B, T, -1)
        x = torch.cat([self.tok(prev), self.pos(rem) + self.barpos(barpos), c,
                       z.unsqueeze(1).expand(B, T, -1)], -1)
        out, _ = self.decoder(self.drop(x), self.initial_state(z))
        return self.head(self.drop(out))

    def forward(self, body, prev, rem, barpos, cond, lengths, *, sample_z: bool = True):
        """Returns (reconstruction NLL per window [B], KL per window [B], logits)."""
        mu, sigma = self.encode_batch(body, rem, barpos, cond, lengths)
        z = mu + sigma * torch.randn_like(mu) if sample_z else mu
        logits = self.decode_logits(z, prev, rem, barpos, cond)
        mask = torch.arange(body.shape[1])[None, :] < lengths[:, None]
        nll = F.cross_entropy(logits.transpose(1, 2), body, reduction="none")
        nll = (nll * mask).sum(1)
        kl = 0.5 * (mu ** 2 + sigma ** 2 - 1 - 2 * torch.log(sigma)).sum(1)
        return nll, kl, logits

    @torch.no_grad()
    def window_nll(self, windows: Sequence[Sequence[int]], z: torch.Tensor | None = None):
        """Teacher-forced NLL (nats) of each window given z (default: its own mean)."""
        body, prev, rem, barpos, cond, lengths = self.batch(windows)
        if z is None:
            z, _ = self.encode_batch(body, rem, barpos, cond, lengths)
        logits = self.decode_logits(z, prev, rem, barpos, cond)
        mask = torch.arange(body.shape[1])[None, :] < lengths[:, None]
        nll = F.cross_entropy(logits.transpose(1, 2), body, reduction="none")
        return (nll * mask).sum(1)

    # -- decoder, step by step under the grammar
    def grammar(self, triplets: bool) -> Grammar:
        if triplets not in self._grammars:
            self._grammars[triplets] = Grammar(triplets=triplets)
        return self._grammars[triplets]

    @torch.no_grad()
    def decode(self, z: torch.Tensor, *, meter, mode: str, bar_ticks: Sequence[int],
               forced: Sequence[Sequence[int]] | None = None, temperature: float = 0.0,
               seed: int | None = None, generator: torch.Generator | None = None,
               pitch_range: tuple[int, int] = (PITCH_LO, PITCH_HI), triplets: bool = True,
               tie_at_end: bool = False, tied_to: int | Sequence[int] | None = None,
               suffix: Sequence[int] | None = None, scores: bool = False,
               first_near: Sequence[int] | None = None, max_leap: int = 7,
               max_steps: int = 400):
        """Decode body tokens for each row of z so that bar k is exactly bar_ticks[k] long.

        `forced` gives each row's first body tokens (e.g. the unchanged bar before a varied
        one); they are fed, not sampled.  temperature 0 is greedy.  `tied_to` (a pitch
        token) makes the first note repeat a note tied over from a bar outside the window.
        With ``scores=True`` also returns a dict of per-row tensors: ``logp`` (summed
        log-probability of the sampled tokens under the grammar), ``n`` (their count)
        and, when `suffix` (one bar's tokens, e.g. the unchanged bar after a varied one)
        is given, ``suffix_logp``: its teacher-forced log-probability after each row.
        `first_near` (a MIDI pitch per row, -1 none) keeps the first sampled note within
        `max_leap` semitones of that pitch (the note before the window), so a decoded bar
        does not open with a leap from its neighbour; a row whose range holds no such
        pitch is left free.  Returns the whole body (forced tokens included), each bar
        ending in ``|``.
        """
        B = z.shape[0]
        g = self.grammar(triplets)
        forced = [list(map(int, f)) for f in (forced or [[]] * B)]
        nb = len(bar_ticks)
        bt = torch.tensor([list(bar_ticks)] * B, dtype=torch.long)
        if generator is None and seed is not None:
            generator = torch.Generator().manual_seed(seed)
        meter_tok = VOCAB.stoi[f"M:{meter[0]}/{meter[1]}"]
        cond = torch.tensor([[meter_tok, VOCAB.stoi[f"mode:{mode}"]]] * B)
        cvec = self._cond(cond)
        note_mask = g.pitch_mask(*pitch_range)
        L = self.cfg.dec_layers
        h, c = self.initial_state(z)
        # Feed the forced tokens common to all rows in one teacher-forced call.
        n_common = min(len(f) for f in forced)
        out_bodies = [[] for _ in range(B)]
        prev_tok = torch.full((B,), START, dtype=torch.long)
        if n_common:
            common = [f[:n_common] for f in forced]
            rem_l, bar_l = zip(*(body_features(f, list(bar_ticks)) for f in common))
            prev = torch.tensor([[START] + f[:-1] for f in common])
            x = torch.cat([self.tok(prev), self.pos(torch.tensor(rem_l)) +
                           self.barpos(torch.tensor(bar_l)),
                           cvec.unsqueeze(1).expand(B, n_common, -1),
                           z.unsqueeze(1).expand(B, n_common, -1)], -1)
            _, (h, c) = self.decoder(x, (h, c))
            for b in range(B):
                out_bodies[b] += common[b]
            prev_tok = torch.tensor([f[-1] for f in common])
        st = walk_state([o for o in out_bodies], bt)
        if tied_to is not None and not n_common:      # an int, or one per row (-1: none)
            st.tied_to[:] = torch.as_tensor(tied_to)
        forced_rest = [f[n_common:] for f in forced]
        max_forced = max(len(f) for f in forced_rest)
        ftab = torch.full((B, max(max_forced, 1)), -1, dtype=torch.long)
        for b, f in enumerate(forced_rest):
            if f:
                ftab[b, :len(f)] = torch.tensor(f)
        # Unbind the LSTM weights once for a hand-written cell (nn.LSTM per step is slow).
        W = [(getattr(self.decoder, f"weight_ih_l{l}"), getattr(self.decoder, f"weight_hh_l{l}"),
              getattr(self.decoder, f"bias_ih_l{l}") + getattr(self.decoder, f"bias_hh_l{l}"))
             for l in range(L)]
        hs, cs = list(h.unbind(0)), list(c.unbind(0))
        # The cond and z part of layer 0's input is the same at every step: project it once.
        nvar = self.cfg.embed + self.cfg.pos_embed
        const0 = torch.addmm(W[0][2], torch.cat([cvec, z], -1), W[0][0][:, nvar:].t())
        W[0] = (W[0][0][:, :nvar], W[0][1], const0)
        rows = torch.arange(B)
        n_forced = torch.tensor([len(f) for f in forced_rest])
        anchor = torch.as_tensor(first_near, dtype=torch.long) if first_near is not None \
            else torch.full((B,), -1, dtype=torch.long)
        placed = anchor < 0                      # rows whose first free note is written
        sounding = g.is_pitch & (g.pitch_of >= 0)
        toks = []
        logp = torch.zeros(B)
        ngen = torch.zeros(B)
        for step in range(max_steps):
            if bool((st.phase == PHASE_DONE).all()):
                break
            rem_c = st.rem.clamp(0, MAX_REM)
            x = torch.cat([self.tok(prev_tok), self.pos(rem_c) + self.barpos(st.bar.clamp(0, 3))], -1)
            live = (st.phase != PHASE_DONE)[:, None]
            for l, (wi, wh, bias) in enumerate(W):
                gates = (torch.addmm(bias, x, wi.t()) if l else bias + x @ wi.t()) + hs[l] @ wh.t()
                i, f, gg, o = gates.chunk(4, 1)
                c_new = torch.sigmoid(f) * cs[l] + torch.sigmoid(i) * torch.tanh(gg)
                h_new = torch.sigmoid(o) * torch.tanh(c_new)
                cs[l] = torch.where(live, c_new, cs[l])       # finished rows keep their state
                hs[l] = torch.where(live, h_new, hs[l])
                x = h_new
            logits = self.head(x)
            # -- grammar mask
            ph = st.phase
            allowed = torch.zeros_like(logits, dtype=torch.bool)
            note_rows = ph == PHASE_NOTE
            nm = note_mask.unsqueeze(0).expand(B, -1).clone()
            tied = st.tied_to >= 0
            if bool(tied.any()):
                nm[tied] = False
                nm[rows[tied], st.tied_to[tied]] = True
            need = note_rows & ~placed & ~tied & (step >= n_forced)
            if bool(need.any()):
                near = sounding[None] & ((g.pitch_of[None] - anchor[:, None]).abs() <= max_leap)
                keep = near | ~sounding[None]            # rests stay allowed
                ok = need & (nm & near).any(1)           # never leave a row without a pitch
                nm[ok] &= keep[ok]
            allowed |= note_rows[:, None] & nm
            allowed |= (ph == PHASE_DUR)[:, None] & g.duration_table[st.rem.clamp(0, g.max_rem)]
            end_rows = (ph == PHASE_END) | (ph == PHASE_TIED) | (ph == PHASE_DONE)
            allowed[:, VOCAB.bar] |= end_rows
            tie_ok = (ph == PHASE_END) & (st.last_pitch >= 0) & (st.last_pitch != VOCAB.rest)
            if not tie_at_end:
                tie_ok &= st.bar < nb - 1
            allowed[:, VOCAB.tie] |= tie_ok
            logits = logits.masked_fill(~allowed, float("-inf"))
            if temperature <= 0:
                tok = logits.argmax(-1)
            else:
                tok = torch.multinomial(F.softmax(logits / temperature, -1), 1,
                                        generator=generator).squeeze(1)
            if step < max_forced:
                f = ftab[:, step]
                tok = torch.where(f >= 0, f, tok)
            tok = torch.where(ph == PHASE_DONE, torch.full_like(tok, VOCAB.pad), tok)
            toks.append(tok)
            placed |= sounding[tok] & (step >= n_forced)
            if scores:
                gen = (ph != PHASE_DONE) & (step >= torch.tensor([len(f) for f in forced_rest]))
                lp = F.log_softmax(logits, -1).gather(1, tok[:, None]).squeeze(1)
                logp += torch.where(gen, lp, torch.zeros_like(lp))
                ngen += gen.float()
            # -- grammar update
            is_p = g.is_pitch[tok]
            is_d = g.ticks[tok] > 0
            is_tie = tok == VOCAB.tie
            is_bar = (tok == VOCAB.bar) & (ph != PHASE_DONE)
            new_rem = st.rem - g.ticks[tok]
            nxt_bar = st.bar + is_bar.long()
            phase = torch.where(is_p, torch.full_like(ph, PHASE_DUR), ph)
            phase = torch.where(is_d, torch.where(new_rem <= 0, torch.full_like(ph, PHASE_END),
                                                  torch.full_like(ph, PHASE_NOTE)), phase)
            phase = torch.where(is_tie, torch.full_like(ph, PHASE_TIED), phase)
            phase = torch.where(is_bar, torch.where(nxt_bar >= nb, torch.full_like(ph, PHASE_DONE),
                                                    torch.full_like(ph, PHASE_NOTE)), phase)
            rem = torch.where(is_bar, bt[rows, nxt_bar.clamp(max=nb - 1)], new_rem)
            st = DecodeState(phase, rem, nxt_bar,
                             torch.where(is_p, tok, st.last_pitch),
                             torch.where(is_tie, st.last_pitch,
                                         torch.where(is_p, torch.full_like(tok, -1), st.tied_to)))
            prev_tok = tok
        if toks:
            seq = torch.stack(toks, 1).tolist()
            for b in range(B):
                out_bodies[b] += [t for t in seq[b] if t != VOCAB.pad]
        for b in range(B):          # a row that ran out of steps is closed with rests
            out_bodies[b] = _close(out_bodies[b], list(bar_ticks))
        if not scores:
            return out_bodies
        info = {"logp": logp, "n": ngen}
        if suffix:
            suffix = list(map(int, suffix))
            ticks = sum(VOCAB.ticks_of(i) for i in suffix if VOCAB.is_duration(i))
            rem_s, _ = body_features(suffix, [ticks])
            prev = torch.tensor([VOCAB.bar] + suffix[:-1]).expand(B, -1)
            T = len(suffix)
            x = torch.cat([self.tok(prev), (self.pos(torch.tensor(rem_s)) +
                                            self.barpos(torch.tensor(min(nb, 3))))[None].expand(B, T, -1),
                           cvec.unsqueeze(1).expand(B, T, -1), z.unsqueeze(1).expand(B, T, -1)], -1)
            out, _ = self.decoder(x, (torch.stack(hs), torch.stack(cs)))
            lp = F.log_softmax(self.head(out), -1)
            info["suffix_logp"] = lp.gather(2, torch.tensor(suffix).expand(B, -1)[..., None]).sum((1, 2))
        return out_bodies, info


def _close(body: list[int], bar_ticks: list[int]) -> list[int]:
    """Complete a body that stopped early so every bar is full (rests fill)."""
    bars = split_body_bars(body)
    if len(bars) >= len(bar_ticks) and bars[-1][-1] == VOCAB.bar:
        return body[:sum(len(b) for b in bars[:len(bar_ticks)])]
    out = []
    for k, ticks in enumerate(bar_ticks):
        cur = bars[k] if k < len(bars) else []
        if cur and cur[-1] == VOCAB.bar:
            out += cur
            continue
        if cur and VOCAB.is_pitch(cur[-1]):
            cur = cur[:-1]
        if cur and cur[-1] == VOCAB.tie:
            cur = cur[:-1]
        used = sum(VOCAB.ticks_of(i) for i in cur if VOCAB.is_duration(i))
        left = ticks - used
        while left > 0:
            step = min(left, MAX_DURATION_TICKS)
            cur += [VOCAB.rest, VOCAB.duration_id(step)]
            left -= step
        out += cur + [VOCAB.bar]
    return out


# ----------------------------------------------------------------- threads
class one_thread:
    """Run a block on one intra-op thread: these models' matrices are small, and extra
    threads only spin (measured: a MidiMe fit took 72 s with 2 threads on a busy
    2-core machine, 13 s with 1).  The previous setting is restored."""

    def __enter__(self):
        self.n = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.n)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapped(*a, **k):
            with one_thread():
                return fn(*a, **k)
        return wrapped


# ----------------------------------------------------------------- geometry
def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between vectors (rows) a and b; linear when they are parallel.

    >>> slerp(torch.tensor([1., 0.]), torch.tensor([0., 1.]), 0.5)
    tensor([0.7071, 0.7071])
    """
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    if bool((na < 1e-8).any() or (nb < 1e-8).any()):
        return (1 - t) * a + t * b
    omega = torch.acos(((a / na) * (b / nb)).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    if bool((so.abs() < 1e-6).all()):
        return (1 - t) * a + t * b
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


# ----------------------------------------------------------------- checkpoint
def save_checkpoint(model: MusicVAE, path, **meta) -> None:
    """Write {state_dict, config, meta}: loadable with torch.load(weights_only=True)."""
    torch.save({"state_dict": model.state_dict(), "config": asdict(model.cfg), "meta": meta},
               path)


def load_checkpoint(path) -> tuple[MusicVAE, dict]:
    """(model in eval mode, meta) from a checkpoint written by `save_checkpoint`.

    ``model.amount_scale`` is vary's calibration stored in the meta (1.0 when absent)."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    model = MusicVAE(VAEConfig(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    meta = ck.get("meta", {})
    model.amount_scale = float(meta.get("amount_scale", 1.0))
    return model.eval(), meta
