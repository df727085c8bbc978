"""Does the written form survive our ABC and MusicXML writers?  Over real tunes.

For each bundled tune (music21's folk collections, see
st4rt_repl.formats.abc_reference) read as written: ABC -> Tune -> our ABC ->
(abc2midi, our reader), and Tune -> our MusicXML -> music21 -> our reader.  Prints,
for each aspect of the written form (repeats, endings, chord symbols, written bar
count, barline kinds, part labels and P: order, key changes, spelling), the share of
the tunes having it that keep it; for ABC also abc2midi's verdict on our text (no
Error and no bar-length Warning; complaints the original does not have) and whether
abc2midi plays the same notes from our text as from the original; then failing
examples.

    nice -n 10 .venv/bin/python bench/written_form_roundtrip.py                 # 300 seeded tunes
    nice -n 10 .venv/bin/python bench/written_form_roundtrip.py --all --xml-every 20
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor

from st4rt_repl.formats import abc_reference as ref
from st4rt_repl.formats.form_check import ASPECTS, abc_round_trip, has, musicxml_round_trip

KEY_ASPECTS = ("repeats", "endings", "chords", "bars")


def _strip(message: str) -> str:
    """An abc2midi message without its position (to compare ours with the original's)."""
    return re.sub(r"in line-char \d+-\d+ : ", "", message)


def run_one(args):
    """In a worker: both round trips for one tune -> a small picklable record."""
    ct, xml = args
    r = abc_round_trip(ct.name, ct.text)
    rec = {"name": ct.name, "error": r.error, "abc_lost": r.lost, "abc2midi": r.abc2midi,
           "original": r.original_abc2midi, "same_notes": r.same_notes, "has": {}, "xml_lost": None}
    if r.tune is None or r.error:
        return rec
    rec["has"] = {a: has(r.tune, a) for a in ASPECTS}
    if xml:
        with tempfile.TemporaryDirectory(prefix="st4rt-xml-") as d:
            x = musicxml_round_trip(ct.name, r.tune, d)
        rec["xml_lost"] = ["error: " + x.error] if x.error else x.lost
    return rec


def summarise(records: list[dict]) -> dict:
    """Counts and shares over the records (see the module doc)."""
    read = [r for r in records if not r["error"]]
    out = {"tunes": len(records), "read": len(read), "errors": [(r["name"], r["error"]) for r in records
                                                                 if r["error"]]}
    out["abc2midi_clean"] = sum(not r["abc2midi"] for r in read)
    out["new_complaints"] = [(r["name"], r["abc2midi"][0]) for r in read
                             if {_strip(m) for m in r["abc2midi"]} - {_strip(m) for m in r["original"]}]
    out["complaints"] = [(r["name"], r["abc2midi"][0]) for r in read if r["abc2midi"]]
    out["original_clean"] = sum(not r["original"] for r in read)
    out["same_notes"] = sum(bool(r["same_notes"]) for r in read)
    out["notes_compared"] = sum(r["same_notes"] is not None for r in read)
    out["notes_differ"] = [r["name"] for r in read if r["same_notes"] is False]
    for via, key in (("abc", "abc_lost"), ("xml", "xml_lost")):
        done = [r for r in read if r[key] is not None]
        out[f"{via}_n"] = len(done)
        out[f"{via}_all_kept"] = sum(not r[key] for r in done)
        for a in ASPECTS:
            having = [r for r in done if r["has"].get(a)]
            out[f"{via}_{a}"] = (sum(a not in r[key] for r in having), len(having))
        out[f"{via}_failing"] = [(r["name"], r[key]) for r in done if r[key]]
    return out


def _share(kept: int, n: int) -> str:
    return f"{kept}/{n} ({kept / n:.1%})" if n else "0/0"


def report(s: dict, show: int) -> str:
    lines = [f"tunes {s['tunes']}, read {s['read']} (unreadable: {len(s['errors'])})",
             f"ABC: abc2midi clean (no Error, no bar Warning) {_share(s['abc2midi_clean'], s['read'])}"
             f"  [the originals: {_share(s['original_clean'], s['read'])}]; complaints the original "
             f"does not have: {len(s['new_complaints'])}",
             f"ABC: abc2midi plays the same notes from ours as from the original "
             f"{_share(s['same_notes'], s['notes_compared'])}"]
    for via, label in (("abc", "ABC"), ("xml", "MusicXML")):
        if not s[f"{via}_n"]:
            continue
        lines.append(f"{label} ({s[f'{via}_n']} tunes): everything kept {_share(s[f'{via}_all_kept'], s[f'{via}_n'])}")
        for a in ASPECTS:
            kept, n = s[f"{via}_{a}"]
            lines.append(f"  {a:9s} {_share(kept, n)}")
        for name, lost in s[f"{via}_failing"][:show]:
            lines.append(f"    lost {', '.join(lost)}: {name}")
    for name in s["notes_differ"][:show]:
        lines.append(f"  abc2midi plays other notes from ours: {name}")
    for name, msg in s["new_complaints"][:show]:
        lines.append(f"  abc2midi (new): {name}: {msg}")
    for name, msg in s["complaints"][:show]:
        lines.append(f"  abc2midi: {name}: {msg}")
    for name, err in s["errors"][:show]:
        lines.append(f"  unreadable: {name}: {err}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true", help="every tune of every collection")
    ap.add_argument("--per-collection", type=int, default=60)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--xml-every", type=int, default=1, help="MusicXML round trip on every Nth tune (0: none)")
    ap.add_argument("--show", type=int, default=25)
    args = ap.parse_args(argv)
    tunes = ref.corpus_tunes() if args.all else ref.sample_tunes(args.per_collection, seed=args.seed)
    work = [(t, args.xml_every > 0 and k % args.xml_every == 0) for k, t in enumerate(tunes)]
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            records = list(pool.map(run_one, work, chunksize=8))
    else:
        records = [run_one(w) for w in work]
    print(report(summarise(records), args.show))
    return 0


if __name__ == "__main__":
    sys.exit(main())
