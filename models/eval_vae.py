"""Evaluate the MusicVAE: ``st4rt eval vae [--data PATH] [--checkpoint FILE]``; prints one JSON line.

* ``teacher_forced_accuracy``: top-1 accuracy of each body token given the true
  previous tokens and z = the window's mean code.
* ``free_running_accuracy``: the window encoded (mean z), decoded greedily under the
  meter grammar, compared position by position with the original; a token past
  the end of the shorter sequence counts as wrong; denominator = original length.
* ``interpolation_valid``: share of interpolations (3 steps between two random
  held-out windows of the same meter) whose every decoded phrase is exactly two
  full bars (checked on the decoded Tune, not on the grammar's word).

* ``free_running_step_accuracy`` / ``teacher_forced_step_accuracy``: MusicVAE's
  measure.  Each window is laid on a grid of 16th-note steps (a window with triplets
  on its own grid of 12 steps per bar) and every step gets one class: an onset with
  its pitch, a hold, or a rest (`step_classes`).  Free running compares the classes of
  the greedy reconstruction with the original's, step by step.  Teacher forced credits
  a step when the tokens that place it were predicted given the true past: an onset
  needs its pitch token and the previous note's duration, a hold or rest step its
  note's duration (and a rest its rest token).

Data: ``--data`` a folder of tunes (their 2-bar windows), else the corpus test split.

>>> from st4rt_repl.tokenizers.melody import VOCAB
>>> p, d = VOCAB.pitch_id, VOCAB.duration_id
>>> body = [p(60), d(12), p(62), d(6), VOCAB.rest, d(6), VOCAB.bar]   # 2/4: C8 D16 z16
>>> step_classes(body, [24])
[60, 'hold', 62, 'rest']
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time

import torch

from st4rt_repl.models import music_vae as mv
from st4rt_repl.tokenizers.melody import VOCAB


STEP = 6          # ticks of a 16th note (24 ticks per quarter)


def _notes(body):
    """(start tick, ticks, pitch or None, continues a tie, token positions) of each note."""
    notes, t, tied = [], 0, False
    for i, tok in enumerate(body):
        tok = int(tok)
        if VOCAB.is_pitch(tok):
            notes.append([t, 0, VOCAB.pitch_of(tok), tied, [i], i])
            tied = False
        elif VOCAB.is_duration(tok) and notes:
            notes[-1][1] += VOCAB.ticks_of(tok)
            notes[-1][4].append(i)
            t += VOCAB.ticks_of(tok)
        elif tok == VOCAB.tie and notes:
            tied = True
            notes[-1][4].append(i)
    return notes


def _grid(notes, bar_ticks) -> list[tuple[int, int]]:
    """(start, length) of each step: 16ths, or 12 per bar when a note starts off that grid."""
    triplet = any(n[0] % STEP for n in notes)
    out, t = [], 0
    for ticks in bar_ticks:
        size = ticks / 12 if triplet else STEP
        k = 0
        while k * size < ticks - 1e-9:
            out.append((t + k * size, size))
            k += 1
        t += ticks
    return out


def step_classes(body, bar_ticks, *, grid=None, with_notes: bool = False):
    """The class of each step: an onset's pitch (int), 'hold' or 'rest' (see the module doc)."""
    notes = _notes(body)
    grid = grid or _grid(notes, bar_ticks)
    out, owner = [], []
    j = 0
    for start, size in grid:
        while j + 1 < len(notes) and notes[j + 1][0] <= start:
            j += 1
        onset = next((n for n in notes if start <= n[0] < start + size and n[2] is not None
                      and not n[3]), None)
        cover = notes[j] if notes and notes[j][0] <= start < notes[j][0] + notes[j][1] else None
        if onset is not None:
            out.append(onset[2])
            owner.append((notes.index(onset), "onset"))
        elif cover is not None and cover[2] is not None:
            out.append("hold")
            owner.append((j, "hold"))
        else:
            out.append("rest")
            owner.append((j if cover is not None else None, "rest"))
    return (out, owner, notes, grid) if with_notes else out


def step_scores(target, recon, correct_tokens, bar_ticks) -> tuple[int, int, int]:
    """(free-running matches, teacher-forced matches, steps) for one window."""
    cls, owner, notes, grid = step_classes(target, bar_ticks, with_notes=True)
    rec = step_classes(recon, bar_ticks, grid=grid)
    fr = sum(a == b for a, b in zip(cls, rec))
    tf = 0
    for c, (j, kind) in zip(cls, owner):
        if j is None:
            continue
        n = notes[j]
        if kind == "onset":
            ok = correct_tokens[n[5]] and (j == 0 or all(correct_tokens[i] for i in notes[j - 1][4][1:]))
        else:
            ok = all(correct_tokens[i] for i in n[4])
        tf += bool(ok)
    return fr, tf, len(cls)


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
    step_fr = step_tf = steps = 0
    t0 = time.time()
    for s in range(0, len(windows), batch):
        part = windows[s:s + batch]
        b = model.batch(part)
        body, prev, rem, barpos, cond, lengths = b
        mu, _ = model.encode_batch(body, rem, barpos, cond, lengths)
        logits = model.decode_logits(mu, prev, rem, barpos, cond)
        mask = torch.arange(body.shape[1])[None, :] < lengths[:, None]
        hit = (logits.argmax(-1) == body) & mask
        tf_ok += hit.sum().item()
        hit = hit.tolist()
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
                f, t_, n_ = step_scores(target, o, hit[i], [ticks, ticks])
                step_fr += f
                step_tf += t_
                steps += n_
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
            "free_running_step_accuracy": round(step_fr / max(steps, 1), 4),
            "teacher_forced_step_accuracy": round(step_tf / max(steps, 1), 4),
            "steps": steps,
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
