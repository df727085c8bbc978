"""Train the attention-RNN: ``st4rt train rnn [options]`` (read top to bottom).

Adam, gradient clipping, dropout, early stopping on the valid split, a rich
progress bar with ETA, and resumable checkpoints: Ctrl-C, then the same command
again, resumes from the last evaluation (``--fresh`` starts over).  Seeds are fixed.

Data: ``st4rt_repl.corpus.views.written_sequences(split, transpose=...)`` (tokenizer
v2).  Long tunes are cut into random windows of ``--max-len`` tokens (features such
as the bar position are computed on the whole tune first, so a window keeps them).

Several processes (one machine or several)::

    torchrun --nproc_per_node 2 -m st4rt_repl.models.train_rnn --out run.pt
    # several machines: same command on each, plus
    #   --nnodes N --node_rank R --master_addr HOST --master_port 29500
    # every machine needs the corpus cache (copy ~/.cache/st4rt/corpus).

Each rank takes a strided slice of the train split (DDP, gloo backend,
gradients averaged); rank 0 evaluates, saves and draws the progress bar.
"""
from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from st4rt_repl.models import update_checkpoint
from st4rt_repl.models.attention_rnn import AttentionRNN, RNNConfig, featurize_written, save_checkpoint
from st4rt_repl.tokenizers import written


def note_mask() -> np.ndarray:
    """Bool per token id: the tokens that are a note or rest (bits/note counts these)."""
    return np.arange(len(written.VOCAB)) >= written.VOCAB.first_note


def prepare(seqs, aligned: bool = False) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(features, ids, prefix length) per tune (`aligned`: see `RNNConfig.aligned`)."""
    return [(featurize_written(s, aligned), np.asarray(s, dtype=np.int64), written.prefix_length(list(s[:64])))
            for s in seqs]


def make_batches(data, batch_tokens: int, max_len: int, rng: random.Random):
    """Lists of (features, targets) windows of similar length, about batch_tokens each."""
    items = []
    for f, ids, n0 in data:
        T = len(ids) - 1
        tgt = ids[1:].copy()
        tgt[: n0 - 1] = -100                      # the prefix is given, not predicted
        if T > max_len:
            a = rng.randrange(0, T - max_len + 1)
            items.append((f[a:a + max_len], tgt[a:a + max_len]))
        else:
            items.append((f[:T], tgt))
    items.sort(key=lambda x: len(x[1]) + rng.random())
    batches, cur = [], []
    for it in items:
        cur.append(it)
        if len(cur) * len(cur[-1][1]) >= batch_tokens:
            batches.append(cur)
            cur = []
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def collate(batch):
    T = max(len(t) for _, t in batch)
    f = torch.zeros(len(batch), T, batch[0][0].shape[1], dtype=torch.long)
    y = torch.full((len(batch), T), -100, dtype=torch.long)
    for i, (fi, ti) in enumerate(batch):
        f[i, : len(ti)] = torch.from_numpy(fi.astype(np.int64))
        y[i, : len(ti)] = torch.from_numpy(ti)
    return f, y


@torch.no_grad()
def evaluate(model, data, batch_tokens: int = 8192) -> dict:
    """Bits per note (notes and rests), bits per token and top-1 accuracy over non-prefix tokens."""
    model.eval()
    nll = 0.0
    correct = tokens = notes = 0
    is_note = torch.from_numpy(note_mask())
    items = sorted(data, key=lambda d: len(d[1]))
    i = 0
    while i < len(items):
        # sorted by length: grow the chunk while (rows x longest row) fits the budget,
        # since attention memory grows with rows x length^2
        n = 1
        while i + n < len(items) and (n + 1) * len(items[i + n][1]) <= batch_tokens:
            n += 1
        chunk = items[i:i + n]
        i += n
        batch = []
        for f, ids, n0 in chunk:
            tgt = ids[1:].copy()
            tgt[: n0 - 1] = -100
            batch.append((f[:-1], tgt))
        fx, y = collate(batch)
        logits = model(fx)
        lp = F.log_softmax(logits, -1)
        m = y >= 0
        yy = y.clamp(min=0)
        nll -= lp.gather(-1, yy[..., None])[..., 0][m].sum().item()
        correct += (logits.argmax(-1) == yy)[m].sum().item()
        tokens += m.sum().item()
        notes += int(is_note[yy][m].sum().item())
    model.train()
    bits = nll / math.log(2)
    return {"nll_per_note": bits / max(notes, 1), "nll_per_token": bits / max(tokens, 1),
            "accuracy": correct / max(tokens, 1), "tokens": tokens, "notes": notes}


def train(cfg: RNNConfig, train_seqs, valid_seqs, *, out: Path, lr: float = 2e-3,
          batch_tokens: int = 8192, max_len: int = 512, epochs: int = 30,
          max_minutes: float = 1e9, max_steps: int = 0, patience: int = 3, eval_every: int = 0, seed: int = 0,
          clip: float = 1.0, resume: bool = True, reset_best: bool = False, progress: bool = True,
          log=None, extra: dict | None = None, init: Path | None = None, new_lr: float | None = None) -> dict:
    """Train and keep the best checkpoint (by valid bits/note) at `out`; returns its metrics.

    `init`: start from a checkpoint's weights (fine-tuning); parts it lacks (a new
    head) keep their fresh initialisation and learn at `new_lr` (default `lr`).  A saved
    state to resume wins over it."""
    log = log or (lambda msg: print(msg, flush=True))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("gloo")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    out = Path(out)
    state_path = out.with_suffix(".state.pt")
    model = AttentionRNN(cfg)
    missing: list[str] = []
    if init is not None:
        got = torch.load(init, map_location="cpu", weights_only=True)["state_dict"]
        unexpected = [k for k in got if k not in model.state_dict()]
        if unexpected:
            raise ValueError(f"{init}: weights this model does not have: {', '.join(unexpected)}")
        missing = [n for n, _ in model.named_parameters() if n not in got]
        if not (resume and state_path.exists()):
            model.load_state_dict(got, strict=False)
            if rank == 0:
                log(f"starting from {init}" + (f"; new: {', '.join(missing)}" if missing else ""))
    fresh = [p for n, p in model.named_parameters() if n in missing]
    old = [p for n, p in model.named_parameters() if n not in missing]
    groups = [{"params": old, "lr": lr}] + ([{"params": fresh, "lr": new_lr or lr}] if fresh else [])
    opt = torch.optim.Adam(groups)
    train_data = prepare(train_seqs[rank::world], cfg.aligned)
    valid_data = prepare(valid_seqs, cfg.aligned) if rank == 0 else []
    start_epoch, step, best, bad, history = 0, 0, float("inf"), 0, []
    if resume and state_path.exists():
        st = torch.load(state_path, map_location="cpu", weights_only=True)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        start_epoch, step, best, bad = st["epoch"], st["step"], st["best"], st["bad"]
        history = list(st.get("history", []))
        if reset_best:         # the inputs changed (e.g. --aligned): the old best is not comparable
            best, bad = float("inf"), 0
        for group, rate in zip(opt.param_groups, (lr, new_lr or lr)):  # --lr on a resumed run: go on at that rate
            group["lr"] = rate
        if rank == 0:
            log(f"resuming from {state_path} at epoch {start_epoch}, step {step}, best {best:.4f}, lr {lr:g}")
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    model.train()
    t0 = time.time()
    n_batches = len(make_batches(train_data, batch_tokens, max_len, random.Random(seed)))
    if world > 1:  # every rank must take the same number of steps
        n = torch.tensor(n_batches)
        torch.distributed.all_reduce(n, op=torch.distributed.ReduceOp.MIN)
        n_batches = int(n)
    eval_every = eval_every or n_batches
    stop = False
    bar = None
    if progress and rank == 0:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                       transient=False)
        bar.start()
        task = bar.add_task("train rnn", total=epochs * n_batches, completed=start_epoch * n_batches,
                            info="")
    last = {}
    try:
        for epoch in range(start_epoch, epochs):
            batches = make_batches(train_data, batch_tokens, max_len,
                                   random.Random(seed * 1000 + epoch))[:n_batches]
            run_loss, run_n = 0.0, 0
            for bi, batch in enumerate(batches):
                f, y = collate(batch)
                logits = net(f)
                loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                opt.step()
                step += 1
                run_loss += loss.item()
                run_n += 1
                if bar is not None:
                    bar.update(task, advance=1, info=f"loss {run_loss / run_n:.3f} best {best:.3f}")
                timeout = (time.time() - t0) / 60 > max_minutes or 0 < max_steps <= step
                if (bi + 1) % eval_every == 0 or bi + 1 == len(batches) or timeout:
                    if world > 1:
                        flag = torch.tensor(int(timeout))
                        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
                        timeout = bool(flag)
                    if rank == 0:
                        last = evaluate(model, valid_data)
                        last.update(epoch=epoch + (bi + 1) / len(batches), step=step,
                                    minutes=(time.time() - t0) / 60)
                        history.append(last)
                        if last["nll_per_note"] < best - 1e-4:
                            best, bad = last["nll_per_note"], 0
                            save_checkpoint(out, model, metrics=last, **(extra or {}))
                        else:
                            bad += 1
                        log(f"epoch {last['epoch']:.2f} step {step} train {run_loss / max(run_n, 1):.4f} "
                            f"valid {last['nll_per_note']:.4f} bits/note acc {last['accuracy']:.4f} "
                            f"({last['minutes']:.1f} min)")
                        done_epoch = epoch + (1 if bi + 1 == len(batches) else 0)
                        torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                                    "epoch": done_epoch, "step": step, "best": best, "bad": bad,
                                    "history": history}, state_path)
                    if world > 1:
                        flag = torch.tensor(int(bad >= patience))
                        torch.distributed.broadcast(flag, 0)
                        stop = bool(flag)
                    else:
                        stop = bad >= patience
                    if stop or timeout:
                        stop = True
                        break
            if stop:
                break
    finally:
        if bar is not None:
            bar.stop()
    return {"best_nll_per_note": best, "last": last, "history": history, "step": step}


def set_temperature_scales(path: Path, pitch: float, rhythm: float) -> None:
    """Store the sampling calibration in a checkpoint (chosen on the VALID split with
    ``st4rt eval continue --split valid --pitch-scale P --rhythm-scale R``): the user's
    temperature is multiplied by `pitch` for the choice of pitch and by `rhythm` for
    note lengths and form tokens (`continuation._generate`).  Written atomically."""
    update_checkpoint(path, lambda ck: ck.update(temperature_scale=float(pitch), rhythm_scale=float(rhythm)))


def set_copy_odds(path: Path, odds: float) -> None:
    """Store the pointer's calibration in a checkpoint with a pointer head (`RNNConfig.copy`),
    chosen on the VALID split with ``st4rt eval continue --split valid --copy-odds X``:
    sampling multiplies the odds of copying from the tune against the softmax by `odds`
    (`attention_rnn.Stepper`).  Written atomically."""
    if not odds > 0:
        raise ValueError(f"copy odds must be above 0, not {odds:g}")

    def change(ck):                      # raising here leaves the file as it was
        if not ck["config"].get("copy"):
            raise ValueError(f"{path} has no pointer head (train with --copy)")
        ck["copy_odds"] = float(odds)
    update_checkpoint(path, change)


def set_sampling_weights(path: Path, *, lengths: dict | None = None, intervals: dict | None = None) -> None:
    """Store sampling weights in a checkpoint, chosen on the VALID split with ``st4rt eval
    continue --split valid --length-weight TICKS W --interval-weight SEMITONES W``:
    sampling multiplies the chance of a note length ({ticks: weight}; 24 ticks = a
    quarter) and of a melodic interval from the note before ({semitones up or down:
    weight}) by its weight.  Weight 1 removes an entry.  Written atomically."""
    from st4rt_repl.tokenizers.written import DURATIONS, PITCH_HI, PITCH_LO
    for ticks in lengths or {}:
        if int(ticks) not in DURATIONS:
            raise ValueError(f"no note length of {ticks:g} ticks (24 ticks = a quarter): one of {DURATIONS}")
    for size in intervals or {}:
        if not 0 <= abs(int(size)) <= PITCH_HI - PITCH_LO:
            raise ValueError(f"no interval of {size:g} semitones")

    given = {"length_weights": {int(k): float(w) for k, w in (lengths or {}).items()},
             "interval_weights": {abs(int(k)): float(w) for k, w in (intervals or {}).items()}}

    def change(ck):
        for key, new in given.items():
            if new:
                kept = {**{int(k): float(w) for k, w in (ck.get(key) or {}).items()}, **new}
                ck[key] = {k: w for k, w in sorted(kept.items()) if w != 1.0}
    update_checkpoint(path, change)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="st4rt train rnn", description="Train the attention-RNN.")
    p.add_argument("--out", type=Path, help="best checkpoint (default: <corpus>/runs/rnn.pt)")
    p.add_argument("--corpus", type=Path, help="corpus folder (default: st4rt corpus default)")
    p.add_argument("--transpose", choices=["tonic", "none", "augment"], default="tonic")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--emb", type=int, default=64)
    p.add_argument("--window", type=int, default=256, help="attention window in steps")
    p.add_argument("--no-attention", action="store_true")
    p.add_argument("--no-lookback", action="store_true")
    p.add_argument("--copy", action="store_true", help="add the pointer head (RNNConfig.copy)")
    p.add_argument("--init", type=Path, help="start from this checkpoint's weights (fine-tuning)")
    p.add_argument("--new-lr", type=float, help="with --init: learning rate of the weights it lacks (default --lr)")
    p.add_argument("--unaligned", action="store_true",
                   help="v2: count a part's pickup as a bar of its own (round-2 checkpoints; see RNNConfig.aligned)")
    p.add_argument("--reset-best", action="store_true",
                   help="on resume, forget the best valid figure (after changing the inputs)")
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-tokens", type=int, default=8192)
    p.add_argument("--max-len", type=int, default=512)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--max-minutes", type=float, default=1e9, help="stop after this long")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps")
    p.add_argument("--patience", type=int, default=3, help="evaluations without improvement")
    p.add_argument("--eval-every", type=int, default=0, help="steps (default: once per epoch)")
    p.add_argument("--limit", type=int, default=0, help="train on a random subset of N train sequences")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tokenizer", type=int, choices=[written.TOKENIZER_VERSION], default=written.TOKENIZER_VERSION,
                   help="token layout: 2 = written form, one token per note (the only one; round 1's v1 is retired)")
    p.add_argument("--fresh", action="store_true", help="ignore a saved state; start over")
    p.add_argument("--set-scales", nargs=2, type=float, metavar=("PITCH", "RHYTHM"),
                   help="do not train: store these temperature scales in the --out checkpoint")
    p.add_argument("--set-length-weight", nargs=2, type=float, action="append", metavar=("TICKS", "W"),
                   help="do not train: store a sampling weight for notes of TICKS ticks (24 = a quarter) "
                        "in the --out checkpoint (repeatable; W 1 removes it)")
    p.add_argument("--set-interval-weight", nargs=2, type=float, action="append", metavar=("SEMITONES", "W"),
                   help="do not train: store a sampling weight for melodic intervals of SEMITONES up or down "
                        "in the --out checkpoint (repeatable; W 1 removes it)")
    p.add_argument("--set-copy-odds", type=float, metavar="X",
                   help="do not train: store the pointer's odds multiplier in the --out checkpoint")
    return p


def main(argv=None) -> int:
    """Entry point of ``st4rt train rnn``."""
    args = build_parser().parse_args(argv)
    if args.set_scales or args.set_length_weight or args.set_interval_weight or args.set_copy_odds is not None:
        if not args.out or not args.out.exists():
            print("st4rt train rnn: --set-scales, --set-*-weight and --set-copy-odds need an existing "
                  "--out checkpoint", file=sys.stderr)
            return 2
        try:
            if args.set_copy_odds is not None:
                set_copy_odds(args.out, args.set_copy_odds)
            if args.set_length_weight or args.set_interval_weight:
                set_sampling_weights(args.out, lengths=dict(args.set_length_weight or []),
                                     intervals=dict(args.set_interval_weight or []))
        except ValueError as e:
            print(f"st4rt train rnn: {e}", file=sys.stderr)
            return 2
        if args.set_scales:
            set_temperature_scales(args.out, *args.set_scales)
        return 0
    if args.copy and args.no_attention:
        print("st4rt train rnn: --copy needs attention (the pointer is an attention head)", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    from st4rt_repl import paths
    from st4rt_repl.corpus import views
    root = args.corpus or paths.corpus_dir()
    out = args.out or Path(root) / "runs" / "rnn.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        train_seqs = views.written_sequences("train", root=root, transpose=args.transpose)
        valid_seqs = views.written_sequences("valid", root=root,
                                             transpose="tonic" if args.transpose == "tonic" else "none")
    except (OSError, ValueError) as e:
        print(f"st4rt train rnn: cannot read the corpus at {root}: {e}", file=sys.stderr)
        return 2
    if args.limit and args.limit < len(train_seqs):   # a seeded random subset (any view)
        pick = sorted(random.Random(args.seed).sample(range(len(train_seqs)), args.limit))
        train_seqs = [train_seqs[i] for i in pick]
    cfg = RNNConfig(hidden=args.hidden, emb=args.emb, window=0 if args.no_attention else args.window,
                    lookback=not args.no_lookback, dropout=args.dropout, copy=args.copy,
                    vocab=len(written.VOCAB), aligned=not args.unaligned)
    info = {"transpose": args.transpose, "argv": " ".join(argv or sys.argv[1:]),
            "train_tunes": len(train_seqs), "valid_tunes": len(valid_seqs)}
    res = train(cfg, train_seqs, valid_seqs, out=out, lr=args.lr, batch_tokens=args.batch_tokens,
                max_len=args.max_len, epochs=args.epochs, max_minutes=args.max_minutes,
                max_steps=args.max_steps, patience=args.patience, eval_every=args.eval_every, seed=args.seed,
                resume=not args.fresh, reset_best=args.reset_best, init=args.init, new_lr=args.new_lr, extra={"transpose": args.transpose, "train_info": str(info)})
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"best valid {res['best_nll_per_note']:.4f} bits/note -> {out}")
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
