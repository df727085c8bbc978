"""Evaluate the attention-RNN and its baselines: ``st4rt eval rnn [--data PATH]``.

Prints ONE JSON line::

    {"nll_per_note": .., "accuracy": .., "ngram": {...}, "no_attention": {...},
     "tunes": n, "notes": n, ...}

nll_per_note is in bits: -log2 p summed over every token of a tune except its
conditioning prefix (``<s>``, meter, key, mode, pickup flag), barlines included,
divided by the number of notes and rests.  accuracy is top-1 next-token accuracy
over the same tokens.  No decoding constraints are applied (plain model scores).

Baselines, measured in the same run on the same tunes: an interpolated
Kneser-Ney n-gram fitted on the train split (order and discount tuned on valid;
the tuned settings are cached in ``<corpus>/ngram_rnn_v2.json``), and the same
network without attention (``attention_rnn_noattn.pt``).  Every model reads the
written form (tokenizer v2; a round-1 checkpoint, v1, is refused in one line),
transposed to tonic C or as written, the way it was trained (the checkpoint says which).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CHECKPOINTS = Path(__file__).parent / "checkpoints"


def _folder_tunes(path: Path):
    """Tunes from every .abc/.mid/.midi/.musicxml file in a folder (unreadable ones are skipped)."""
    from st4rt_repl.formats import InputError, load
    from st4rt_repl.formats.abc_in import read_abc_text, split_tunes
    from st4rt_repl.tune import TuneError
    out, skipped = [], 0
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in
                   (".abc", ".mid", ".midi", ".musicxml", ".xml", ".mxl"))
    for p in files:
        try:
            if p.suffix.lower() == ".abc":
                text = p.read_text(encoding="utf-8", errors="replace")
                for _, chunk in split_tunes(text):
                    try:
                        out.append(read_abc_text(chunk, source=str(p)).tune)
                    except (InputError, TuneError):
                        skipped += 1
            else:
                out.append(load(p).tune)
        except (InputError, TuneError, OSError):
            skipped += 1
    return out, skipped


def encode_tunes(tunes, tonic: bool):
    """Written-form token ids (int64) of each tune, moved to tonic C when `tonic`
    (tunes the tokenizer refuses are left out)."""
    import numpy as np
    from st4rt_repl.models.continuation import _tonic_shift
    from st4rt_repl.tokenizers import written
    seqs = []
    for t in tunes:
        s = _tonic_shift(t, {"transpose": "tonic"}) if tonic else 0
        try:
            seqs.append(np.array(written.encode(t.transpose(s) if s else t), dtype=np.int64))
        except written.TokenizeError:
            pass
    return seqs


def main(argv=None) -> int:
    """Entry point of ``st4rt eval rnn``."""
    p = argparse.ArgumentParser(prog="st4rt eval rnn", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, help="folder of .abc/.mid files (default: corpus test split)")
    p.add_argument("--corpus", type=Path, help="corpus folder (train split for the n-gram)")
    p.add_argument("--checkpoint", type=Path, default=CHECKPOINTS / "attention_rnn.pt")
    p.add_argument("--noattn", type=Path, default=CHECKPOINTS / "attention_rnn_noattn.pt")
    p.add_argument("--no-ngram", action="store_true", help="skip the n-gram baseline")
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    from st4rt_repl import paths
    from st4rt_repl.models.attention_rnn import CheckpointVersionError, load_checkpoint, tokenizer_version
    from st4rt_repl.models.train_rnn import evaluate, prepare
    root = args.corpus or paths.corpus_dir()
    if not args.checkpoint.exists():
        print(f"st4rt eval rnn: no checkpoint at {args.checkpoint}", file=sys.stderr)
        return 2
    try:
        model, ck = load_checkpoint(args.checkpoint)
        m2, ck2 = load_checkpoint(args.noattn) if args.noattn.exists() else (None, None)
    except CheckpointVersionError as e:
        print(f"st4rt eval rnn: {e}", file=sys.stderr)
        return 2
    tonic = ck.get("transpose") == "tonic"
    if args.data is not None:
        if not args.data.is_dir():
            print(f"{args.data}: not a folder", file=sys.stderr)
            return 2
        tunes, skipped = _folder_tunes(args.data)

        def seqs_for(t):
            return encode_tunes(tunes, t)
    else:
        from st4rt_repl.corpus import views
        skipped = 0

        def seqs_for(t):
            return views.written_sequences("test", root=root, transpose="tonic" if t else "none")
    seqs = seqs_for(tonic)
    if not seqs:
        print("st4rt eval rnn: no tunes to evaluate", file=sys.stderr)
        return 2
    res = evaluate(model, prepare(seqs, model.cfg.aligned))
    out = {"nll_per_note": res["nll_per_note"], "accuracy": res["accuracy"]}
    if not args.no_ngram:
        from st4rt_repl.corpus import views
        from st4rt_repl.models.ngram import tuned
        view = "tonic" if tonic else "none"
        train = views.written_sequences("train", root=root, transpose=view)
        valid = views.written_sequences("valid", root=root, transpose=view)
        stamp = f"{view}:{len(train)}:{sum(len(s) for s in train)}"
        ng, info = tuned(train, valid, Path(root) / "ngram_rnn_v2.json", stamp=stamp)
        r = ng.evaluate(seqs)
        out["ngram"] = {"nll_per_note": r["nll_per_note"], "accuracy": r["accuracy"],
                        "order": info["order"], "discount_mult": info["mult"]}
    if m2 is not None:
        t2 = ck2.get("transpose") == "tonic"
        r2 = evaluate(m2, prepare(seqs if t2 == tonic else seqs_for(t2), m2.cfg.aligned))
        out["no_attention"] = {"nll_per_note": r2["nll_per_note"], "accuracy": r2["accuracy"]}
    if "ngram" in out:
        out["ratio_to_ngram"] = out["nll_per_note"] / out["ngram"]["nll_per_note"]
    out.update(tunes=len(seqs), notes=res["notes"], tokens=res["tokens"],
               nll_per_token=res["nll_per_token"], skipped=skipped,
               transpose="tonic" if tonic else "none", tokenizer=tokenizer_version(ck))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
