"""The attack of a swell under a tremolo: library.descriptors' attack against the rule it replaced (the rise to the first
level not exceeded in the next 50 ms, which under a tremolo is the first crest), on synthetic tones with a known rise and on
the real reference recordings (scripts/descriptor_reference.py's set: Sonic Pi's samples and the shared recordings).

    python -m benchmarks.attack_swell

Synthetic tones: a 220 Hz sine whose level rises linearly over A seconds (10-90 % of it: 0.8 A) under a tremolo of depth 0.5
(the level at its troughs is half) at 2, 4 or 8 Hz, starting at a crest or a trough, or with no tremolo; 3 s, 48 kHz.
"""

from __future__ import annotations

import numpy as np

from lstmabar.library.descriptors._signal import level_envelope
from lstmabar.library.descriptors.envelope import ATTACK_HOLD_S, PEAK_SMOOTH_S, SOUNDING_DB, _crossing, _first_top, envelope_batch

from ._report import write_report

SR = 48000
RISES = (0.005, 0.05, 0.3, 1.0, 2.0)
TREMOLOS = (0.0, 2.0, 4.0, 8.0)
SWELL_S = 1.0  # a rise this long or longer is a swell (its first crest comes well before its top)


def tone(rise: float, hz: float, crest_first: bool) -> np.ndarray:
    t = np.arange(3 * SR) / SR
    level = np.minimum(t / rise, 1.0) * np.where(t < 2.5, 1.0, np.clip(1 - (t - 2.5) / 0.3, 0, 1))
    phase = 0.0 if crest_first else np.pi
    trem = 1 - 0.5 * (0.5 - 0.5 * np.cos(2 * np.pi * hz * t + phase)) if hz else 1.0
    return level * trem * np.sin(2 * np.pi * 220 * t)


def attack_50ms(x: np.ndarray, sr: int) -> float:
    """The rule before 2026-12-01: the rise to the first level not exceeded (by 2 %) in the next 50 ms."""
    env, dt = level_envelope(np.atleast_2d(x), sr)
    e = env[0]
    k = max(1, int(round(PEAK_SMOOTH_S / dt)))
    smooth = np.sqrt(np.convolve(e**2, np.ones(k) / k, mode="same"))
    ldb = 20 * np.log10(np.maximum(e / smooth.max(), 1e-5))
    i_on = int(np.nonzero(ldb >= SOUNDING_DB)[0][0])
    top = _first_top(smooth, i_on, max(1, int(round(ATTACK_HOLD_S / dt))), dt)
    return max(_crossing(e, 0, 0.9 * top, dt) - _crossing(e, 0, 0.1 * top, dt), 0.0)


def reference_changes() -> tuple[int, int, int, list[dict]]:
    """(sounds, sounds with a periodic level modulation, sounds whose attack differs, the differing ones) over the reference set."""
    import soundfile as sf

    from scripts.descriptor_reference import MAX_SECONDS, SHARED_AUDIO, SONIC_PI, recording_items

    items = [(f"sonic-pi:{f.stem}", *sf.read(f, dtype="float32", always_2d=True)) for f in sorted(SONIC_PI.glob("*.flac"))]
    items = [(n, x.T, sr) for n, x, sr in items]
    for f in sorted(SHARED_AUDIO.glob("*.ogg")):
        items += recording_items(f)
    n = periodic = 0
    differ = []
    for name, x, sr in items:
        mono = x[:, : int(MAX_SECONDS * sr)].mean(axis=0)
        new = envelope_batch(mono[None], sr)
        if not np.isfinite(new["attack_s"][0]):
            continue
        n += 1
        periodic += bool(np.isfinite(new["am_rate_hz"][0]))
        old = attack_50ms(mono, sr)
        if abs(old - new["attack_s"][0]) > 1e-9:
            differ.append({"sound": name, "before": round(float(old), 4), "now": round(float(new["attack_s"][0]), 4)})
    return n, periodic, len(differ), differ


def main() -> None:
    rows = []
    for rise in RISES:
        for hz in TREMOLOS:
            for crest in (True, False) if hz else (True,):
                x = tone(rise, hz, crest)
                now = envelope_batch(x[None], SR)
                rows.append({"rise_s": rise, "tremolo_hz": hz, "start": "crest" if crest else "trough", "truth_s": round(0.8 * rise, 4),
                             "before_s": round(float(attack_50ms(x, SR)), 4), "now_s": round(float(now["attack_s"][0]), 4),
                             "am_rate_hz": None if not np.isfinite(now["am_rate_hz"][0]) else round(float(now["am_rate_hz"][0]), 2)})
    swells = [r for r in rows if r["tremolo_hz"] and r["rise_s"] >= SWELL_S]
    short = [r for r in rows if r["rise_s"] < SWELL_S or not r["tremolo_hz"]]

    def err(rs: list[dict], key: str) -> float:
        return round(float(np.median([abs(r[key] - r["truth_s"]) / r["truth_s"] for r in rs])), 3)

    fig: dict = {"rows": rows, "swells": len(swells), "swell_median_rel_error_before": err(swells, "before_s"),
                 "swell_median_rel_error_now": err(swells, "now_s"),
                 "others": len(short), "others_unchanged": int(sum(abs(r["before_s"] - r["now_s"]) < 1e-9 for r in short))}
    try:
        n, periodic, changed, differ = reference_changes()
        fig.update({"reference_sounds": n, "reference_periodic": periodic, "reference_changed": changed, "reference_differ": differ})
    except (ImportError, IndexError, OSError):  # the reference recordings are not installed here
        fig["reference_sounds"] = None
    lines = [__doc__.split("\n\n")[0].replace("\n", " "), "",
             f"Swells of {SWELL_S:g} s or more under a tremolo ({fig['swells']} tones): median error against the true 10-90 % rise "
             f"**{fig['swell_median_rel_error_before']:.0%} before, {fig['swell_median_rel_error_now']:.0%} now**. The other tones "
             f"(rises under {SWELL_S:g} s, or no tremolo): {fig['others_unchanged']} of {fig['others']} unchanged.",
             "" if fig["reference_sounds"] is None else
             f"Real reference sounds: {fig['reference_changed']} of {fig['reference_sounds']} change ({fig['reference_periodic']} have a periodic "
             "level modulation).", "",
             "| rise (s) | tremolo (Hz) | starts at | true 10-90 % (s) | before (s) | now (s) |", "|---|---|---|---|---|---|",
             *[f"| {r['rise_s']:g} | {r['tremolo_hz']:g} | {r['start'] if r['tremolo_hz'] else '-'} | {r['truth_s']:.3f} | {r['before_s']:.3f} | "
               f"{r['now_s']:.3f} |" for r in rows]]
    write_report("attack_swell", fig, "\n".join(lines))


if __name__ == "__main__":
    main()
