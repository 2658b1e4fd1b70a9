"""How well a refinement's words are read: the brief's asked changes against the changes people wrote for each step.

    python -m benchmarks.refine_reading [--blind held_out_18]

No sound is made: each chain step of ``benchmarks/data/synth_prompts.json`` is read by ``parse_brief`` from one
fixed start sound, and the brief's changed targets are compared with the step's ``change`` list. A step is read
right when every asked change is there in its direction (a pitch step by its size, within half a semitone) and no
change is read on a quality the step does not ask about (pitch, length, brightness, attack, noisiness).

Two comparisons, both fair to text the rules had not seen:
1. **Blind-time rules.** Each earlier blind set is read by the code of the day it was blind (``BLIND_CODE``, run
   from ``git archive``), alone and with the change reader trained without that set (and without the current
   blind set) deciding as ``reader.arbitrate`` does: leave-one-set-out.
2. **The current code on the current blind set**, words alone and with the shipped reader (trained without it).
The current code on the earlier sets is also reported, marked seen (its rules were mended on them).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._report import ROOT, write_report

PROMPT_SET = ROOT / "benchmarks" / "data" / "synth_prompts.json"
# The code each earlier blind set was first run on (docs/benchmarks.md synthesize_refine; the commits' times).
BLIND_CODE = {"held_out_2": "879dcea", "held_out_3": "da738f1", "held_out_4": "689fdac", "held_out_5": "06c306c", "held_out_6": "0b65d84",
              "held_out_7": "b6144a5", "held_out_8": "09eaa3b", "held_out_9": "38ad82d", "held_out_10": "a6e4132", "held_out_11": "a47943d",
              "held_out_12": "59914b5",  # held_out_12's blind synthesize runs were on 4fed7e7; its first reading, still blind, on 59914b5
              "held_out_13": "27c863e", "held_out_14": "b50d44a", "held_out_15": "74c9736", "held_out_16": "67a0b86", "held_out_17": "af31e7b"}
START = {"pitched": True, "f0_hz": 220.0, "centroid_hz": 1000.0, "attack_s": 0.05, "sounding_s": 1.5, "flatness": 0.01, "silent": False,
         "decay_db_per_s": -3.0, "sustain_level_db": -6.0}
START_PATCH = {"keyboard.midi_f0": 57.0, "keyboard.duration": 1.2, "vco_1.tuning": 0.0, "vco_2.tuning": 12.0, "mixer.noise": 0.1}
JUDGED = {"pitch", "length", "brightness", "attack", "noisiness"}
GRID_ADD = (0.4, 0.5, 0.6, 0.7, 0.8, 1.01)  # 1.01: the reader never adds
GRID_DROP = (-0.01, 0.05, 0.1, 0.2)  # -0.01: it never drops
# Blind readings of earlier runs (this report keeps only the current blind set's rows)
EARLIER_BLIND_READING = ("held_out_7 at 17:59 UTC on 6599058 (reader trained without it): words alone 50/74 (68 %), with the reader 52/74 (70 %); "
                        "held_out_8 at 18:10 UTC on 09eaa3b (reader trained without it): words alone 40/72 (56 %), with the reader 42/72 (58 %); "
                        "held_out_9 at 19:03 UTC on 38ad82d (reader trained on 463 steps without it): words alone 33/61 (54 %), with the reader 44/61 (72 %); "
                        "held_out_10 at 21:00 UTC on a6e4132 (reader trained on 524 steps without it): words alone 51/61 (84 %), with the reader 54/61 (89 %); "
                        "held_out_11 at 23:13 UTC on a47943d (reader trained on 585 steps without it): words alone 46/60 (77 %), with the reader 46/60 (77 %); "
                        "held_out_12 at 00:53 UTC on 59914b5 (reader trained on 760 steps without it): words alone 53/62 (85 %), with the reader 56/62 (90 %); "
                        "held_out_13 at 01:35 UTC on 27c863e (reader trained on 822 steps without it): words alone 54/61 (89 %), with the reader 58/61 (95 %); "
                        "held_out_14 at 03:35 UTC on b50d44a's code (reader trained on 822 steps without it): words alone 52/60 (87 %), with the reader 55/60 (92 %); "
                        "held_out_15 at 04:27 UTC on 74c9736 (reader trained on 822 steps without it): words alone 41/62 (66 %), with the reader 45/62 (73 %); "
                        "held_out_16 at 05:17 UTC on 67a0b86 (reader trained on 822 steps without it): words alone 55/63 (87 %), with the reader 54/63 (86 %); "
                        "held_out_17 at 07:18 UTC on c4d1aa8, af31e7b's code (reader trained on 822 steps without it): words alone 57/64 (89 %), with the reader 58/64 (91 %)")

# Run inside an old checkout: the brief's changed targets of every step, as JSON on stdout.
_DUMP = """
import inspect, json, sys
from benchmarks.synthesize import load
from lstmabar.tools.synthesize_from_text import _encoder
from lstmabar.models.brief import parse_brief
emb, why = load("lstmabar")
enc = _encoder(emb)
start, patch = json.loads(sys.argv[2]), json.loads(sys.argv[3])
# the words alone: code that ships its own change reader reads without it (the reader is simulated, left out of the set)
words = {"change_reader": False} if "change_reader" in inspect.signature(parse_brief).parameters else {}
out = {}
for c in json.load(open(sys.argv[1]))["chains"]:
    for i, st in enumerate(c["steps"]):
        b = parse_brief(st["prompt"], start=start, start_patch=patch, encode=enc, **words)
        out[c["id"] + "/" + str(i)] = [dict(d=t.descriptor, lo=t.lo, hi=t.hi, rel=t.relative_to) for t in b.targets if not t.kept]
print(json.dumps(out))
"""


def quality(descriptor: str) -> str:
    from lstmabar.models.brief.reader import QUALITY

    return QUALITY.get(descriptor, ("brightness" if descriptor.startswith(("band_", "low_end")) else descriptor,))[0]


def _side(t: dict, start: dict) -> str | None:
    ref = t["rel"] if t["rel"] is not None else start.get(t["d"])
    if t["lo"] is not None and t["hi"] is not None and ref:
        return "up" if (t["lo"] + t["hi"]) / 2 > ref else "down"
    return "up" if t["lo"] is not None else "down" if t["hi"] is not None else None


def _asked(c: dict, reads: list[dict], start: dict) -> bool:
    d = c["d"]
    if "semitones" in c:
        return any(t["d"] == "keyboard.midi_f0" or (t["d"] == "f0_hz" and t["rel"] and t["lo"] and abs(12 * math.log2(t["lo"] / t["rel"]) - c["semitones"]) <= 0.5)
                   for t in reads)
    if "dir" in c:
        return any(t["d"] == d and _side(t, start) == c["dir"] for t in reads)
    want = "up" if c["op"] == ">=" else "down"
    if any(t["d"] == d and t["lo"] is not None and t["hi"] is not None and ((t["lo"] + t["hi"]) / 2 >= c["v"] if want == "up" else (t["lo"] + t["hi"]) / 2 <= c["v"])
           for t in reads):
        return True  # a stated value ("4 Hz or so", "once or twice a second") on the asked side of the demand
    if d == "vibrato_depth_cents" and want == "down" and any(t["d"] == "pitch_range_semitones" and _side(t, start) == "down" for t in reads):
        return True  # a steady pitch removes the vibrato
    if d in ("am_depth_db", "vibrato_depth_cents") and want == "up":  # the modulation named, by its depth or its rate
        return any(quality(t["d"]) == quality(d) and (t["d"] != d or _side(t, start) == "up") for t in reads)
    return any(t["d"] == d and _side(t, start) == want for t in reads)


def judge(step: dict, reads: list[dict], start: dict = START) -> dict[str, Any]:
    """Whether one step's brief reads its asked changes and nothing else on a judged quality."""
    asked = {quality(c["d"]) for c in step["change"]}
    if asked & {"pitch", "glide", "vibrato"}:
        asked.add("pitch")
    missing = [c for c in step["change"] if not _asked(c, reads, start)]
    extra = sorted({quality(t["d"]) for t in reads if t["d"] != "pitched" and quality(t["d"]) not in asked and quality(t["d"]) in JUDGED})
    return {"ok": not missing and not extra, "missing": missing, "extra": extra}


def steps_of(data: dict, split: str) -> list[tuple[str, dict]]:
    return [(f"{c['id']}/{i}", st) for c in data["chains"] if c["split"] == split for i, st in enumerate(c["steps"])]


def old_reads(rev: str, data_file: Path) -> dict[str, list[dict]]:
    """Every step's reads by the code of commit ``rev`` (its own checkout, its own package path)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, pkg = Path(tmp) / "src", Path(tmp) / "pkg" / "lstmabar"
        src.mkdir()
        pkg.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        for sub in ("library", "models", "prompts", "server", "tools"):
            (pkg / sub).symlink_to(src / sub)
        env = {**os.environ, "PYTHONPATH": f"{pkg.parent}:{src}", "OMP_NUM_THREADS": "1"}
        out = subprocess.run([sys.executable, "-c", _DUMP, str(data_file), json.dumps(START), json.dumps(START_PATCH)], cwd=src, env=env,
                             check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def simulated(reads: list[dict], p: dict[str, float], **thresholds: float) -> list[dict]:
    """Old reads with the reader's decision applied (``reader.arbitrate``; an added change as a target in its direction)."""
    from lstmabar.models.brief.reader import CHANGES, arbitrate

    drop, add = arbitrate({t["d"]: False for t in reads}, p, **thresholds)
    dropped = {k for k, _, _ in drop}
    out = [t for t in reads if t["d"] not in dropped]
    for change, _ in add:
        d, sign = CHANGES[change]
        ref = START.get(d, 1.0)
        out.append({"d": d, "lo": ref * 2 if sign > 0 else None, "hi": None if sign > 0 else ref / 2, "rel": None})
    return out


def current_reads(data: dict, split: str, reader) -> dict[str, list[dict]]:
    from lstmabar.models.brief import parse_brief
    from lstmabar.models.fx.crowd.prior import embed_texts

    out = {}
    for key, st in steps_of(data, split):
        b = parse_brief(st["prompt"], start=START, start_patch=START_PATCH, encode=embed_texts, change_reader=reader)
        out[key] = [dict(d=t.descriptor, lo=t.lo, hi=t.hi, rel=t.relative_to) for t in b.targets if not t.kept]
    return out


def share(data: dict, split: str, reads: dict[str, list[dict]]) -> tuple[int, int, list[dict]]:
    rows = [{"step": k, "prompt": st["prompt"], **judge(st, reads[k])} for k, st in steps_of(data, split)]
    return sum(r["ok"] for r in rows), len(rows), rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blind", default="held_out_18", help="the current blind chain split (read by the current code; kept out of every reader's training)")
    ap.add_argument("--skip-blind", action="store_true", help="leave the current blind split out of this run")
    ap.add_argument("--later", default="", help="comma-separated blind splits kept for a later session: never read, never trained on")
    args = ap.parse_args()
    later = {s for s in args.later.split(",") if s}
    from lstmabar.models.brief.reader import ADD_P, DROP_P, fit, shipped
    from lstmabar.models.brief.train_reader import examples, sentence_vectors

    data = json.loads(PROMPT_SET.read_text())
    texts, changes, splits = examples(data, {args.blind} | later)
    vecs = sentence_vectors(texts)
    keys = [f"{c['id']}/{i}" for c in data["chains"] if c["split"] not in {args.blind} | later for i, _ in enumerate(c["steps"])]
    step_vec = dict(zip(keys, vecs))
    fig: dict[str, Any] = {"start": START, "blind_code": BLIND_CODE, "blind_split": args.blind}
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        data_file = Path(tmp) / "prompts.json"
        data_file.write_text(json.dumps({"chains": [c for c in data["chains"] if c["split"] in BLIND_CODE]}))
        tot = {"old": 0, "old_reader": 0, "now_words": 0, "now_reader": 0, "n": 0}
        grid = {(a, d): 0 for a in GRID_ADD for d in GRID_DROP}
        for split, rev in BLIND_CODE.items():
            held = [i for i, s in enumerate(splits) if s != split]
            reader = fit(vecs[held], [changes[i] for i in held], trained_on=f"all but {split} and {args.blind}")
            reads = old_reads(rev, data_file)
            ok_old, n, _ = share(data, split, reads)
            probs = {k: reader.read(step_vec[k]) for k, _ in steps_of(data, split)}
            for a, d in grid:
                grid[a, d] += share(data, split, {k: simulated(reads[k], probs[k], add_p=a, drop_p=d) for k in probs})[0]
            sim = {k: simulated(reads[k], probs[k]) for k in probs}
            ok_sim, _, _ = share(data, split, sim)
            ok_words, _, _ = share(data, split, current_reads(data, split, False))
            ok_now, _, _ = share(data, split, current_reads(data, split, reader))
            fig[split] = {"steps": n, "blind_code": rev, "blind_rules": ok_old, "blind_rules_with_reader": ok_sim, "current_words_seen": ok_words,
                          "current_with_reader_seen": ok_now}
            for k, v in zip(("old", "old_reader", "now_words", "now_reader", "n"), (ok_old, ok_sim, ok_words, ok_now, n)):
                tot[k] += v
            table.append(f"| {split} ({n}) | {rev} | {ok_old / n:.0%} | **{ok_sim / n:.0%}** | {ok_words / n:.0%} | {ok_now / n:.0%} |")
        fig["leave_one_set_out"] = {k: (v if k == "n" else round(v / tot["n"], 3)) for k, v in tot.items()}
        fig["threshold_grid"] = [{"add_p": a, "drop_p": d, "share": round(v / tot["n"], 3)} for (a, d), v in grid.items()]
    if not args.skip_blind and steps_of(data, args.blind):
        ok_w, n, rows_w = share(data, args.blind, current_reads(data, args.blind, False))
        ok_r, _, rows_r = share(data, args.blind, current_reads(data, args.blind, True))
        fig[args.blind] = {"steps": n, "words": ok_w, "with_shipped_reader": ok_r, "reader": shipped().trained_on,
                           "rows_words": rows_w, "rows_reader": rows_r}
    lo = fig["leave_one_set_out"]
    lines = ["Each refinement step's brief (from one fixed start: a 220 Hz tone, centroid 1 kHz, 50 ms attack, 1.5 s) against the "
             "changes its writer asked for; a step counts when every asked change is read in its direction (a pitch step within half a "
             "semitone of its size) and nothing is read on an unasked judged quality (pitch, length, brightness, attack, noisiness). "
             "No sound is made: this is the reading alone; `synthesize_refine` judges the sounds.\n",
             "Leave one set out: each earlier blind set read by the code it was first run on (its rules had not seen it), alone and "
             f"with the change reader trained on the other sets (never on {args.blind}); then the current code (its rules were mended "
             "on these sets, so those two columns are seen figures).\n",
             "| set (steps) | code when blind | its words | + change reader (trained without the set) | current words (seen) | current + reader (seen) |",
             "|---|---|---|---|---|---|", *table,
             f"| all ({lo['n']}) | | {lo['old']:.1%} | **{lo['old_reader']:.1%}** | {lo['now_words']:.1%} | {lo['now_reader']:.1%} |",
             f"\nThe reader's thresholds (add above, drop at or under), leave one set out as above (reading share of {lo['n']} steps; "
             f"the shipped ones are add {ADD_P:g}, drop {DROP_P:g}):\n",
             "| add \\ drop | " + " | ".join("never" if d < 0 else f"{d:g}" for d in GRID_DROP) + " |", "|---|" + "---|" * len(GRID_DROP),
             *[f"| {'never' if a > 1 else f'{a:g}'} | " + " | ".join(f"{next(g['share'] for g in fig['threshold_grid'] if g['add_p'] == a and g['drop_p'] == d):.1%}"
                                                              for d in GRID_DROP) + " |" for a in GRID_ADD],
             f"\nBlind readings (each set's first reading, before it was looked at): {EARLIER_BLIND_READING}."]
    if args.blind in fig:
        b = fig[args.blind]
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        lines.append(f"\n**{args.blind} ({b['steps']} steps), the code of this run ({rev}{'; its first, blind reading is among the blind readings above' if args.blind in EARLIER_BLIND_READING else '; its first reading, blind'}):** words alone {b['words']}/{b['steps']} "
                     f"({b['words'] / b['steps']:.0%}); with the shipped change reader {b['with_shipped_reader']}/{b['steps']} "
                     f"({b['with_shipped_reader'] / b['steps']:.0%}). Reader: {b['reader']}.")
    write_report("refine_reading", fig, "\n".join(lines))


if __name__ == "__main__":
    main()
