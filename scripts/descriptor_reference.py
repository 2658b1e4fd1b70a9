"""Build library/descriptors/reference.json: percentiles of every descriptor over real recordings.

The words ``library.descriptors.words`` says ("bright", "dry", "plucky" ...) start at the 80th or
20th percentile of these tables, so the thresholds come from real sounds rather than from the code.
The table holds only percentiles (no audio, nothing that identifies a recording), with the recipe
and the sources. Rebuild it when a descriptor's definition changes:

    .venv/bin/python scripts/descriptor_reference.py

Sources (both needed; the run stops if one is missing):
* Sonic Pi's sample pack, CC0 (Debian: ``apt-get install sonic-pi-samples``, files in
  /usr/share/sonic-pi/samples): 165 one-shots, loops and ambiences from freesound.org, each
  taken whole (first 10 s);
* the four recordings in ../shared/audio (CC-BY; attribution in the .txt beside each): cut into
  notes at detected onsets (0.15-3 s, at most 25 per recording) and into consecutive 2 s excerpts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SHARED_AUDIO = ROOT.parent / "shared" / "audio"
SONIC_PI = Path("/usr/share/sonic-pi/samples")
OUT = ROOT / "library" / "descriptors" / "reference.json"
LEVELS = [1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 98, 99]
MAX_SECONDS = 10.0
EXCERPT_S = 2.0
NOTE_S = (0.15, 3.0)
NOTES_PER_RECORDING = 25
# Which reference sounds a descriptor's percentiles are taken over (the rest: every sound where it is defined).
POPULATION = {"f0_hz": "pitched", "midi": "pitched", "pitch_range_semitones": "pitched", "pitch_trend_semitones_per_s": "pitched",
              "vibrato_depth_cents": "pitched", "vibrato_rate_hz": "pitched", "width": "stereo", "correlation": "stereo"}


def _sonic_pi_version() -> str:
    try:
        import subprocess

        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", "sonic-pi-samples"], capture_output=True, text=True).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def recording_items(path: Path) -> list[tuple[str, np.ndarray, int]]:
    import librosa

    x, sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.T
    mono = x.mean(axis=0)
    items = []
    step = int(EXCERPT_S * sr)
    for k, s in enumerate(range(0, x.shape[1] - step + 1, step)):
        items.append((f"{path.stem}:excerpt{k}", x[:, s : s + step], sr))
    onsets = librosa.onset.onset_detect(y=mono, sr=sr, units="samples", backtrack=True)
    bounds = list(onsets) + [x.shape[1]]
    notes = 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        if NOTE_S[0] * sr <= b - a and notes < NOTES_PER_RECORDING:
            items.append((f"{path.stem}:note{notes}", x[:, a : min(b, a + int(NOTE_S[1] * sr))], sr))
            notes += 1
    return items


def collect(sources: list[tuple[str, np.ndarray, int]], log=print) -> list[dict]:
    from lstmabar.library.descriptors import describe

    rows = []
    t0 = time.perf_counter()
    for i, (name, x, sr) in enumerate(sources):
        d = describe(x[:, : int(MAX_SECONDS * sr)], sr)
        if d.silent:
            continue
        rows.append(d.flat())
        if (i + 1) % 25 == 0:
            log(f"  {i + 1}/{len(sources)} described ({time.perf_counter() - t0:.0f} s)")
    return rows


def percentiles(rows: list[dict]) -> dict[str, dict]:
    out = {}
    keys = sorted({k for r in rows for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
    for k in keys:
        pop = POPULATION.get(k, "all")
        use = [r for r in rows if (pop != "pitched" or r.get("pitched")) and (pop != "stereo" or r.get("stereo"))]
        vals = np.array([float(r[k]) for r in use if r.get(k) is not None and math.isfinite(float(r[k]))])
        if vals.size < 10:
            continue
        if pop == "all" and vals.size < len(rows):
            pop = "measurable"
        out[k] = {"population": pop, "n": int(vals.size), "values": [round(float(v), 5) for v in np.percentile(vals, LEVELS)]}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if not SONIC_PI.is_dir() or not SHARED_AUDIO.is_dir():
        print(f"need {SONIC_PI} (apt-get install sonic-pi-samples) and {SHARED_AUDIO}", file=sys.stderr)
        return 2
    items: list[tuple[str, np.ndarray, int]] = []
    sp_files = sorted(SONIC_PI.glob("*.flac"))
    for f in sp_files:
        x, sr = sf.read(f, dtype="float32", always_2d=True)
        items.append((f"sonic-pi:{f.stem}", x.T, sr))
    n_sp = len(items)
    rec_counts = {}
    for f in sorted(SHARED_AUDIO.glob("*.ogg")):
        its = recording_items(f)
        rec_counts[f.name] = len(its)
        items += its
    print(f"{len(items)} reference sounds ({n_sp} Sonic Pi samples, {len(items) - n_sp} cuts of the shared recordings)")
    rows = collect(items)
    table = {
        "about": "Percentiles of lstmabar's sound descriptors over real recordings; the words' thresholds. Only percentiles are stored.",
        "built": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
        "recipe": (
            "library.descriptors.describe on each sound (first 10 s; silent ones skipped); Sonic Pi samples whole; each shared "
            f"recording cut into consecutive {EXCERPT_S:g} s excerpts and into notes between librosa onsets (backtracked; "
            f"{NOTE_S[0]:g}-{NOTE_S[1]:g} s, at most {NOTES_PER_RECORDING} per recording). Percentiles by numpy (linear). "
            "population: 'all' = every sound, 'measurable' = the sounds where the descriptor is defined, 'pitched' = sounds "
            "more than half voiced, 'stereo' = sounds with two differing channels. Built by scripts/descriptor_reference.py."
        ),
        "sources": [
            {"name": "Sonic Pi sample pack", "version": _sonic_pi_version(), "items": n_sp,
             "licence": "CC0 1.0 (public domain dedication)", "where": "Debian package sonic-pi-samples, /usr/share/sonic-pi/samples",
             "attribution": "samples from freesound.org contributors, collected by the Sonic Pi project (Sam Aaron); "
                            "per-sample links in the package's samples/README.md"},
            *[{"name": f, "items": n, "where": "../shared/audio",
               "attribution": (SHARED_AUDIO / f).with_suffix(".txt").read_text().strip()} for f, n in rec_counts.items()],
        ],
        "n_sounds": len(rows),
        "levels": LEVELS,
        "descriptors": percentiles(rows),
    }
    args.out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {args.out} ({len(table['descriptors'])} descriptors over {len(rows)} sounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
