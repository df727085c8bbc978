"""Evaluate the MusicVAE: ``st4rt eval vae [--data PATH] [--checkpoint FILE]``; prints one JSON line.

* ``teacher_forced_accuracy``: top-1 accuracy of each body token given the true
  previous tokens and z = the window's mean code.
* ``free_running_accuracy``: the window encoded (mean z), decoded greedily under the
  meter grammar, compared position by position with the original; a token past
  the end of the shorter sequence counts as wrong; denominator = original length.
* ``interpolation_valid``: share of interpolations (3 steps between two random
  held-out windows of the same meter) whose every decoded phrase is exactly two
  full bars (checked on the decoded Tune, not on the grammar's word).

Data: ``--data`` a folder of tunes (their 2-bar windows), else the corpus test split.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time

import torch

from st4rt_repl.models import music_vae as mv


def parse_args(argv):
    p = argparse.ArgumentParser(prog="st4rt eval vae", description=__doc__.split("\n")[0])
    p.add_argument("--data", help="folder of tunes (default: corpus test split windows)")
    p.add_argument("--checkpoint", default=None, help="default: the shipped checkpoint")
    p.add_argument("--max-windows", type=int, default=2000, help="sample at most this many")
    p.add_argument("--interpolations", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def load_eval_windows(data):
    if data:
        from st4rt_repl.models.train_vae import load_windows
        from pathlib import Path
        from st4rt_repl.formats import load
        wins = []
        for f in sorted(Path(data).rglob("*")):
            if f.suffix.lower() in (".abc", ".mid", ".midi", ".musicxml", ".xml", ".mxl"):
                wins += mv.tune_windows(load(f).tune)
        return [list(map(int, w)) for w in wins]
    from st4rt_repl.corpus.views import vae_windows
    return [list(map(int, w)) for w in vae_windows("test", transpose="tonic")]


@torch.no_grad()
def evaluate(model: mv.MusicVAE, windows, *, interpolations: int = 100, seed: int = 0,
             batch: int = 256) -> dict:
    """The metrics above, as a dict."""
    rng = random.Random(seed)
    tf_ok = fr_ok = tokens = exact = nll = 0.0
    t0 = time.time()
    for s in range(0, len(windows), batch):
        part = windows[s:s + batch]
        b = model.batch(part)
        body, prev, rem, barpos, cond, lengths = b
        mu, _ = model.encode_batch(body, rem, barpos, cond, lengths)
        logits = model.decode_logits(mu, prev, rem, barpos, cond)
        mask = torch.arange(body.shape[1])[None, :] < lengths[:, None]
        tf_ok += ((logits.argmax(-1) == body) & mask).sum().item()
        nll += (torch.nn.functional.cross_entropy(logits.transpose(1, 2), body, reduction="none")
                * mask).sum().item()
        tokens += mask.sum().item()
        # free running: group by meter and mode (one decode call per group)
        groups: dict[tuple, list[int]] = {}
        for i, w in enumerate(part):
            groups.setdefault((w[1], w[3]), []).append(i)
        for (mt, md), idx in groups.items():
            w0 = part[idx[0]]
            meter, mode = mv.meter_of_ids(w0), mv.mode_of_ids(w0)
            ticks = mv.bar_ticks_of(meter)
            out = model.decode(mu[idx], meter=meter, mode=mode, bar_ticks=[ticks, ticks])
            for i, o in zip(idx, out):
                target = part[i][mv.PREFIX_LEN:]
                fr_ok += sum(1 for a, c in zip(target, o) if a == c)
                exact += o == target
    n = len(windows)
    # interpolation validity
    by_meter: dict[int, list[int]] = {}
    for i, w in enumerate(windows):
        by_meter.setdefault(w[1], []).append(i)
    pools = [v for v in by_meter.values() if len(v) >= 2]
    valid = total = 0
    for _ in range(interpolations if pools else 0):
        pool = rng.choice(pools)
        a, c = rng.sample(pool, 2)
        meter = mv.meter_of_ids(windows[a])
        ticks = mv.bar_ticks_of(meter)
        za, _ = model.encode([windows[a]])
        zc, _ = model.encode([windows[c]])
        z = torch.cat([mv.slerp(za, zc, t) for t in (0.25, 0.5, 0.75)])
        outs = model.decode(z, meter=meter, mode=mv.mode_of_ids(windows[a]), bar_ticks=[ticks, ticks])
        ok = True
        for o in outs:
            bars = mv.ids_to_bars(o, meter)
            ok &= len(bars) == 2 and all(b.is_full for b in bars)
        valid += ok
        total += 1
    return {"teacher_forced_accuracy": round(tf_ok / tokens, 4),
            "free_running_accuracy": round(fr_ok / tokens, 4),
            "interpolation_valid": round(valid / max(total, 1), 4),
            "exact_window_reconstruction": round(exact / n, 4),
            "nll_per_token": round(nll / tokens, 4),
            "windows": n, "tokens": int(tokens), "interpolations": total,
            "seconds": round(time.time() - t0, 1)}


def main(argv=None) -> int:
    args = parse_args(argv or [])
    torch.set_num_threads(args.threads)
    from st4rt_repl.tune import TuneError
    try:
        if args.checkpoint:
            model, _ = mv.load_checkpoint(args.checkpoint)
        else:
            from st4rt_repl.models.variation import get_model
            model = get_model()
        windows = load_eval_windows(args.data)
    except (TuneError, FileNotFoundError, RuntimeError) as e:
        print(f"st4rt eval vae: {e}", file=sys.stderr)
        return 2
    if not windows:
        print("st4rt eval vae: no 2-bar windows in the data", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    if len(windows) > args.max_windows:
        windows = rng.sample(windows, args.max_windows)
    res = evaluate(model, windows, interpolations=args.interpolations, seed=args.seed)
    res["data"] = args.data or "corpus test split"
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
