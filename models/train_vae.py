"""Train the MusicVAE on 2-bar windows: ``st4rt train vae [options]``.

Read top to bottom (nanoGPT style): data, model, loop, checkpoints.

* Data: `st4rt_repl.corpus.views.vae_windows(split, transpose="tonic")`, or ``--data``
  (a folder of tunes, or a .pkl list of windows) for experiments.
* Loss: reconstruction NLL + beta * KL, beta annealed to ``--max-beta`` (0.2) as
  ``max_beta * (1 - beta_rate**step)`` (Magenta's schedule), optional free bits.
* Scheduled sampling, parallel form (Duckworth et al. 2019): a first no-grad pass
  predicts every token; pitch tokens in the decoder's input are replaced by those
  predictions with probability ``1 - k/(k + exp(step/k))`` (inverse sigmoid).
  Only pitches are swapped so the ticks-left feature stays true; a step-by-step
  sampler would cost a full sequential decode per batch on this CPU.
* Fine-tune: ``--init FILE`` starts from a checkpoint's weights (fresh optimiser);
  with ``--beta-rate 0`` the KL weight is at ``--max-beta`` from the first step.
* Resume: ``--out DIR`` holds ``last.pt`` (model, optimiser, step, RNG) and
  ``best.pt`` (model only, ship format); rerunning the same command resumes.
  Ctrl-C saves ``last.pt`` first.
* Several processes: ``torchrun --nproc_per_node N -m st4rt_repl.models.train_vae ...``
  (DDP, gloo); each rank takes a strided slice of the windows, rank 0 writes.
  On several machines add ``--nnodes M --node_rank R --master_addr HOST``.

Example: ``st4rt train vae --minutes 35 --out /tmp/vae/run1 --ship models/checkpoints/music_vae.pt``
"""
from __future__ import annotations

import argparse
import math
import os
import pickle
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from st4rt_repl.models import update_checkpoint
from st4rt_repl.models.music_vae import MusicVAE, VAEConfig, save_checkpoint, tune_windows


def parse_args(argv):
    p = argparse.ArgumentParser(prog="st4rt train vae", description=__doc__.split("\n")[0])
    p.add_argument("--data", help="folder of tunes or .pkl of windows (default: the corpus)")
    p.add_argument("--out", default=None, help="run folder (default: cache dir/train_vae)")
    p.add_argument("--ship", help="copy the best checkpoint here at the end")
    p.add_argument("--minutes", type=float, default=35.0, help="wall-clock budget")
    p.add_argument("--max-steps", type=int, default=10 ** 9)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--lr-min", type=float, default=1e-4)
    p.add_argument("--max-beta", type=float, default=0.2)
    p.add_argument("--beta-rate", type=float, default=0.999)
    p.add_argument("--free-bits", type=float, default=64.0,
                   help="nats of KL per window not penalised (keeps z in use)")
    p.add_argument("--sampling-k", type=float, default=400.0, help="0 disables sched. sampling")
    p.add_argument("--sampling-max", type=float, default=0.5)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--valid-max", type=int, default=2000, help="valid windows used per eval")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--init", help="start from this checkpoint's weights (fine-tune; its config wins)")
    p.add_argument("--reset-best", action="store_true",
                   help="on resume, forget the best valid score (e.g. the data changed)")
    p.add_argument("--set-amount-scale", type=float, metavar="S",
                   help="only store vary's calibrated amount scale in the --ship checkpoint and exit")
    for f, v in VAEConfig().__dict__.items():
        if f != "vocab_size":
            p.add_argument("--" + f.replace("_", "-"), type=type(v), default=v)
    return p.parse_args(argv)


def set_amount_scale(path, scale: float) -> None:
    """Store vary's calibration in a checkpoint (chosen on the VALID split with ``st4rt eval
    vary --split valid --checkpoint CKPT --amount A``): the user's amount is multiplied by
    `scale` (`variation.vary_bars`), so "amount 0.5" changes a bar as much with a sharper
    decoder as with the one it replaces.  Written atomically."""
    update_checkpoint(path, lambda ck: ck.setdefault("meta", {}).update(amount_scale=float(scale)))


def load_windows(data: str | None, split: str) -> list[np.ndarray]:
    """Windows of one split: the corpus's, or cut from --data (90/10 train/valid by index)."""
    if data is None:
        from st4rt_repl.corpus.views import vae_windows
        return vae_windows(split, transpose="tonic")
    path = Path(data)
    if path.suffix == ".pkl":
        wins = pickle.load(open(path, "rb"))
        wins = wins[0] if isinstance(wins, tuple) else wins
    else:
        from st4rt_repl.formats import load
        wins = []
        for f in sorted(path.rglob("*")):
            if f.suffix.lower() in (".abc", ".mid", ".midi", ".musicxml", ".xml", ".mxl"):
                wins += tune_windows(load(f).tune)
    wins = [np.asarray(w, dtype=np.int64) for w in wins]
    cut = max(1, len(wins) // 10)
    return wins[cut:] if split == "train" else wins[:cut]


def batches(wins, batch, rng):
    """Length-bucketed shuffled batches (less padding): sort within chunks of 50 batches."""
    idx = list(range(len(wins)))
    rng.shuffle(idx)
    chunk = batch * 50
    out = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s:s + chunk], key=lambda i: len(wins[i]))
        out += [part[j:j + batch] for j in range(0, len(part), batch)]
    rng.shuffle(out)
    return out


def sampling_prob(step, k):
    return 0.0 if k <= 0 else 1.0 - k / (k + math.exp(min(step / k, 50)))


@torch.no_grad()
def evaluate(model, valid, batch=256):
    """Per-token reconstruction NLL (mean z), KL per window and teacher-forced accuracy."""
    model.eval()
    nll = kl = correct = tokens = 0.0
    for s in range(0, len(valid), batch):
        b = model.batch(valid[s:s + batch])
        n, k, logits = model(*b, sample_z=False)
        body, lengths = b[0], b[5]
        mask = torch.arange(body.shape[1])[None, :] < lengths[:, None]
        correct += ((logits.argmax(-1) == body) & mask).sum().item()
        tokens += mask.sum().item()
        nll += n.sum().item()
        kl += k.sum().item()
    model.train()
    return {"nll_per_token": nll / tokens, "kl": kl / len(valid), "tf_accuracy": correct / tokens}


def main(argv=None) -> int:
    args = parse_args(argv or [])
    if args.set_amount_scale is not None:
        if not args.ship or not Path(args.ship).exists():
            print("st4rt train vae: --set-amount-scale needs an existing --ship checkpoint", file=sys.stderr)
            return 2
        set_amount_scale(args.ship, args.set_amount_scale)
        return 0
    torch.set_num_threads(args.threads)
    ddp = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank, world = 0, 1
    if ddp:
        dist.init_process_group("gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    random.seed(args.seed + rank)
    torch.manual_seed(args.seed)            # same initial weights on every rank
    rng = random.Random(args.seed + rank)

    from st4rt_repl import paths
    out = Path(args.out) if args.out else paths.cache_dir() / "train_vae"
    out.mkdir(parents=True, exist_ok=True)
    train = load_windows(args.data, "train")[rank::world]
    valid = load_windows(args.data, "valid")
    valid = [valid[i] for i in random.Random(0).sample(range(len(valid)), min(len(valid), args.valid_max))]
    cfg = VAEConfig(**{f: getattr(args, f) for f in VAEConfig().__dict__ if f != "vocab_size"})
    model = MusicVAE(cfg)
    if args.init:
        from st4rt_repl.models.music_vae import load_checkpoint
        model, _ = load_checkpoint(args.init)
        model.train()
        cfg = model.cfg
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, best, elapsed0, epoch = 0, float("inf"), 0.0, 0
    last = out / "last.pt"
    if last.exists():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, best, elapsed0, epoch = ck["step"], ck["best"], ck["elapsed"], ck["epoch"]
        rng.setstate(ck["rng"])
        torch.set_rng_state(ck["torch_rng"])
        if args.reset_best:
            best = float("inf")
    net = model
    if ddp:
        from torch.nn.parallel import DistributedDataParallel
        net = DistributedDataParallel(model)
    budget = args.minutes * 60
    nparams = sum(p.numel() for p in model.parameters())
    hist = []

    def save_last(elapsed):
        if rank == 0:
            tmp = out / "last.pt.tmp"
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "best": best, "elapsed": elapsed, "epoch": epoch, "rng": rng.getstate(),
                        "torch_rng": torch.get_rng_state(), "args": vars(args)}, tmp)
            os.replace(tmp, last)

    from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)
    t0 = time.time() - elapsed0
    model.train()
    status = ""
    with Progress(TextColumn("[bold]vae"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                  disable=rank != 0) as bar:
        task = bar.add_task("train", total=budget, completed=elapsed0, status="")
        try:
            done = False
            while not done:
                for idx in batches(train, args.batch, rng):
                    elapsed = time.time() - t0
                    stop = torch.tensor([float(elapsed >= budget or step >= args.max_steps)])
                    if ddp:      # every rank must stop at the same step, or one hangs
                        dist.all_reduce(stop, op=dist.ReduceOp.MAX)
                    if stop.item() > 0:
                        done = True
                        break
                    frac = min(1.0, elapsed / budget)
                    lr = args.lr_min + 0.5 * (args.lr - args.lr_min) * (1 + math.cos(math.pi * frac))
                    for g in opt.param_groups:
                        g["lr"] = lr
                    body, prev, rem, barpos, cond, lengths = model.batch([train[i] for i in idx])
                    p = min(args.sampling_max, sampling_prob(step, args.sampling_k))
                    if p >= 0.01:      # below that the extra pass is not worth its cost
                        with torch.no_grad():
                            mu, sigma = model.encode_batch(body, rem, barpos, cond, lengths)
                            pred = model.decode_logits(mu, prev, rem, barpos, cond).argmax(-1)
                        pred_prev = torch.cat([prev[:, :1], pred[:, :-1]], 1)
                        isp = model.grammar(True).is_pitch
                        swap = (torch.rand(prev.shape) < p) & isp[prev] & isp[pred_prev]
                        prev = torch.where(swap, pred_prev, prev)
                    nll, kl, _ = net(body, prev, rem, barpos, cond, lengths)
                    beta = args.max_beta * (1 - args.beta_rate ** step)
                    kl_pen = torch.clamp(kl - args.free_bits, min=0)
                    loss = (nll + beta * kl_pen).mean() / lengths.float().mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                    opt.step()
                    step += 1
                    if step % args.eval_every == 0 and rank == 0:
                        m = evaluate(model, valid)
                        m.update(step=step, minutes=round((time.time() - t0) / 60, 1),
                                 beta=round(beta, 3), sampling=round(p, 3))
                        hist.append(m)
                        with open(out / "log.jsonl", "a") as f:
                            import json
                            f.write(json.dumps(m) + "\n")
                        if m["nll_per_token"] < best:
                            best = m["nll_per_token"]
                            save_checkpoint(model, out / "best.pt", step=step, valid=m,
                                            train_windows=len(train) * world, params=nparams,
                                            args={k: v for k, v in vars(args).items()})
                        save_last(time.time() - t0)
                        status = (f"step {step} nll/tok {m['nll_per_token']:.3f} "
                                  f"acc {m['tf_accuracy']:.3f} kl {m['kl']:.1f}")
                    bar.update(task, completed=min(budget, time.time() - t0), status=status)
                else:
                    epoch += 1
        except KeyboardInterrupt:
            save_last(time.time() - t0)
            raise
    if rank == 0:
        m = evaluate(model, valid)
        if m["nll_per_token"] < best or not (out / "best.pt").exists():
            best = m["nll_per_token"]
            save_checkpoint(model, out / "best.pt", step=step, valid=m,
                            train_windows=len(train) * world, params=nparams,
                            args={k: v for k, v in vars(args).items()})
        save_last(time.time() - t0)
        print(f"done: {step} steps, {epoch} epochs, best valid nll/token {best:.4f}; {out / 'best.pt'}")
        if args.ship:
            shutil.copyfile(out / "best.pt", args.ship)
            print(f"shipped {args.ship}")
    if ddp:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
