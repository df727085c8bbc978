"""MidiMe: a tiny VAE in the MusicVAE's latent space that learns one user's style.

After Dinculescu, Engel & Roberts 2019 (MidiMe), written from the paper: the user's
tunes are cut into 2-bar windows, each encoded by the frozen MusicVAE to its mean
code z; a small dense VAE (z -> 256 -> 64 -> 4 -> 64 -> 256 -> z) is fitted to those
codes with full-batch Adam.  Sampling its 4-d prior and decoding gives codes that
sit where the user's phrases sit; the MusicVAE decodes them to music.  Profiles are
saved as ``paths.data_dir()/profiles/NAME.pt`` (state_dicts + configs + summary).

A tunebook mixes tune types (reels, jigs, slip jigs, waltzes), and one small VAE
over all their codes blurs them: a jig's phrases and a waltz's sit in different
parts of the latent space, and the mixture decoded in 3/4 is neither.  So a profile
holds one LatentVAE per meter with at least `MIN_CODES` phrases, besides the one over
all phrases; `load_profile(name, meter)` picks the meter's (else the all-phrase one).
Measured with `st4rt eval personalize --user mixed` (see the MusicVAE model card).

>>> p = LatentVAE(8)
>>> p.sample(3, torch.Generator().manual_seed(0)).shape
torch.Size([3, 8])
"""
from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from st4rt_repl import paths
from st4rt_repl.models.music_vae import one_thread as mv_one_thread
from st4rt_repl.tune import Tune, TuneError

LATENT = 4
HIDDEN = (256, 64)
STEPS = 300
MIN_CODES = 24     # phrases a meter needs for a profile of its own (fewer: the all-phrase one)
_CACHE: dict[tuple[str, float], dict] = {}
TUNE_SUFFIXES = (".abc", ".mid", ".midi", ".musicxml", ".xml", ".mxl")


class LatentVAE(nn.Module):
    """Dense VAE over MusicVAE codes, with a learned per-dimension output scale."""

    def __init__(self, z_dim: int, latent: int = LATENT, hidden: Sequence[int] = HIDDEN):
        super().__init__()
        self.z_dim, self.latent, self.hidden = z_dim, latent, tuple(hidden)
        enc, d = [], z_dim
        for h in hidden:
            enc += [nn.Linear(d, h), nn.ReLU()]
            d = h
        self.enc = nn.Sequential(*enc)
        self.to_mu, self.to_sigma = nn.Linear(d, latent), nn.Linear(d, latent)
        dec, d = [], latent
        for h in reversed(hidden):
            dec += [nn.Linear(d, h), nn.ReLU()]
            d = h
        dec.append(nn.Linear(d, z_dim))
        self.dec = nn.Sequential(*dec)
        self.log_scale = nn.Parameter(torch.zeros(z_dim))

    def elbo(self, z: torch.Tensor, *, sample: bool = True) -> torch.Tensor:
        """Evidence lower bound (nats) of each row of z; higher = more like the user."""
        h = self.enc(z)
        mu, sigma = self.to_mu(h), F.softplus(self.to_sigma(h)) + 1e-4
        u = mu + sigma * torch.randn_like(mu) if sample else mu
        diff = (z - self.dec(u)) * torch.exp(-self.log_scale)
        rec = -(0.5 * diff ** 2 + self.log_scale + 0.5 * math.log(2 * math.pi)).sum(1)
        kl = 0.5 * (mu ** 2 + sigma ** 2 - 1 - 2 * torch.log(sigma)).sum(1)
        return rec - kl

    codes: torch.Tensor | None = None   # the user's phrase codes it was fitted to

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n MusicVAE codes drawn through the profile.

        With the user's codes kept (every profile since round 2): from the *aggregate
        posterior* -- a user phrase's code is encoded, a latent drawn from q(u | z) and
        decoded -- so samples stay near the user's phrases, each one a little moved.
        Decoder means of prior draws (round 1) sit near the centre of all the user's
        codes and decode to bland phrases: on a mixed tunebook the style distance fell
        by 0.14-0.17 (seeds 0-1) that way and by 0.38-0.50 this way.
        Without codes (round-1 files): decoder means of prior samples (adding the
        learned output noise measured worse: reduction -2 % against +8 %).
        """
        with torch.no_grad():
            if self.codes is not None and len(self.codes):
                pick = torch.randint(len(self.codes), (n,), generator=generator)
                h = self.enc(self.codes[pick])
                mu, sigma = self.to_mu(h), F.softplus(self.to_sigma(h)) + 1e-4
                return self.dec(mu + sigma * torch.randn(mu.shape, generator=generator))
            return self.dec(torch.randn(n, self.latent, generator=generator))


def profile_path(name: str) -> Path:
    """Where profile `name` lives (names: letters, digits, - and _)."""
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name or ""):
        raise TuneError(f"bad profile name {name!r}: use letters, digits, - and _")
    return paths.data_dir() / "profiles" / f"{name}.pt"


def _meter_tag(meter) -> str:
    return "all" if meter is None else f"{meter[0]}/{meter[1]}"


def save_profile(models: "LatentVAE | dict[str, LatentVAE]", name: str, summary: dict) -> Path:
    """Save one LatentVAE, or several keyed by meter tag ("all", "6/8", ...), as profile `name`."""
    if isinstance(models, LatentVAE):
        models = {"all": models}
    path = profile_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"profiles": {tag: {"state_dict": m.state_dict(),
                                   "config": {"z_dim": m.z_dim, "latent": m.latent,
                                              "hidden": list(m.hidden)},
                                   **({"codes": m.codes} if m.codes is not None else {})}
                             for tag, m in models.items()},
                "summary": summary}, tmp)
    tmp.replace(path)
    return path


def _load_all(name: str) -> dict[str, LatentVAE]:
    path = profile_path(name)
    if not path.exists():
        raise TuneError(f"no profile named {name!r}; make one with: st4rt personalize FILES --name {name}")
    key = (str(path), path.stat().st_mtime)
    if key not in _CACHE:
        ck = torch.load(path, map_location="cpu", weights_only=True)
        # round-1 files hold one model at the top level: it is the all-phrase profile
        entries = ck["profiles"] if "profiles" in ck else {"all": ck}
        out = {}
        for tag, e in entries.items():
            c = e["config"]
            m = LatentVAE(c["z_dim"], c["latent"], c["hidden"])
            m.load_state_dict(e["state_dict"])
            m.codes = e.get("codes")
            out[tag] = m.eval()
        _CACHE[key] = out
    return _CACHE[key]


def load_profile(name: str, meter=None) -> LatentVAE:
    """The profile saved as `name`: its model for `meter` if it has one, else the all-phrase one.

    Cached; a newer file is reloaded.
    """
    models = _load_all(name)
    return models.get(_meter_tag(meter)) or models["all"]


def profile_meters(name: str) -> list[str]:
    """The meters profile `name` has a model of its own for ("6/8", ...)."""
    return sorted(t for t in _load_all(name) if t != "all")


def expand_paths(items: Sequence[str | Path]) -> list[Path]:
    """Files as given, folders replaced by the tune files inside them (sorted)."""
    out = []
    for it in items:
        p = Path(it)
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in TUNE_SUFFIXES)
        else:
            out.append(p)
    return out


def encode_tunes(tunes: Sequence[Tune], *, meters: bool = False):
    """Per tune, the MusicVAE mean codes of its 2-bar windows ([n_windows, z]);
    with ``meters=True`` also, per tune, the meter of each window."""
    from st4rt_repl.models import music_vae as mv
    from st4rt_repl.models.variation import get_model
    model = get_model()
    wins, owner = [], []
    for i, t in enumerate(tunes):
        for w in mv.tune_windows(t):
            wins.append(w)
            owner.append(i)
    out = [torch.zeros(0, model.cfg.z_dim) for _ in tunes]
    wm = [[] for _ in tunes]
    for w, i in zip(wins, owner):
        wm[i].append(mv.meter_of_ids(w))
    if wins:
        with torch.no_grad():
            mus = torch.cat([model.encode(wins[s:s + 512])[0] for s in range(0, len(wins), 512)])
        owner_t = torch.tensor(owner)
        out = [mus[owner_t == i] for i in range(len(tunes))]
    return (out, wm) if meters else out


def fit_by_meter(codes: torch.Tensor, meters: Sequence, *, seed: int = 0,
                 steps: int | None = None) -> dict[str, "LatentVAE"]:
    """The all-phrase LatentVAE plus one per meter with at least `MIN_CODES` codes."""
    out = {"all": fit(codes, seed=seed, steps=steps)}
    tags = [_meter_tag(m) for m in meters]
    for tag in sorted(set(tags)):
        idx = [i for i, t in enumerate(tags) if t == tag]
        if len(idx) >= MIN_CODES and len(idx) < len(tags):
            out[tag] = fit(codes[idx], seed=seed, steps=steps)
    return out


def fit(codes: torch.Tensor, *, steps: int | None = None, seed: int = 0) -> LatentVAE:
    """Fit a LatentVAE to codes [N, z] with full-batch Adam (seeded)."""
    g = torch.random.fork_rng()
    with g:
        torch.manual_seed(seed)
        model = LatentVAE(codes.shape[1])
        opt = torch.optim.Adam(model.parameters(), lr=5e-3)
        for _ in range(STEPS if steps is None else steps):
            loss = -model.elbo(codes).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.codes = codes.detach().clone()
    return model.eval()


@mv_one_thread()
def personalize(paths_: Sequence[str], name: str = "me") -> str:
    """Train profile `name` on the user's tunes (files or folders); a one-line summary."""
    from st4rt_repl.formats import load
    profile_path(name)                           # check the name before any work
    t0 = time.time()
    files = expand_paths(paths_)
    if not files:
        raise TuneError("personalize: no tune files given")
    tunes, skipped = [], []
    for f in files:
        try:
            tunes.append(load(f).tune)
        except TuneError as e:
            skipped.append(str(e))
    if not tunes:
        raise TuneError(skipped[0] if skipped else "personalize: no tunes could be read")
    per_tune, per_meter = encode_tunes(tunes, meters=True)
    codes = torch.cat(per_tune)
    meters = [m for ms in per_meter for m in ms]
    if len(codes) == 0:
        raise TuneError("personalize: the tunes hold no 2-bar phrase of full bars")
    models = fit_by_meter(codes, meters)
    secs = time.time() - t0
    summary = {"tunes": len(tunes), "phrases": int(len(codes)), "skipped": skipped,
               "meters": sorted(t for t in models if t != "all"),
               "files": [str(f) for f in files], "seconds": round(secs, 2)}
    path = save_profile(models, name, summary)
    note = f"; skipped {len(skipped)} unreadable file(s)" if skipped else ""
    return (f"profile {name!r}: {len(tunes)} tunes, {len(codes)} phrases, "
            f"trained in {secs:.1f} s; saved to {path}{note}")


@mv_one_thread()
def score_tunes(profile_name: str, tunes: Sequence[Tune]) -> list[float]:
    """Per tune, the mean ELBO (nats) of its 2-bar windows' codes under the profile of its
    meter; higher = more like the user.  A tune without a full 2-bar window scores -inf."""
    out = []
    per_tune, per_meter = encode_tunes(tunes, meters=True)
    with torch.no_grad():
        for codes, ms in zip(per_tune, per_meter):
            if not len(codes):
                out.append(float("-inf"))
                continue
            prof = load_profile(profile_name, ms[0])
            out.append(float(prof.elbo(codes, sample=False).mean()))
    return out
