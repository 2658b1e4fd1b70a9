"""How a vibrato moves the measured brightness: the spectral centroid of a steady tone against the same tone with a
vibrato, as library.descriptors measures it (librosa's magnitude-weighted centroid) and weighted by power instead.

    python -m benchmarks.vibrato_smear

A vibrato smears each partial over the bins its swing crosses, and the swing grows with the partial's frequency.
The magnitudes of a smeared peak sum to more than the one peak's (the energy is the same), so the upper partials
weigh more in a magnitude-weighted mean: the centroid rises with no change of timbre. The synthesize_refine judge
keeps the centroid within 20 % of the start's, so a refinement that adds a vibrato can fail that keep on its own.
Tones: band-limited square and sawtooth waves (numpy, 48 kHz, 2 s, partials up to 20 kHz), vibrato at 5.5 Hz.
"""

from __future__ import annotations

import numpy as np

from lstmabar.library.descriptors import describe

from ._report import write_report

SR = 48000
DEPTHS = (0.0, 15.0, 30.0, 50.0, 68.0)  # +- cents
NOTES = (110.0, 330.0)
N_FFT, HOP = 2048, 512  # the descriptor's STFT


def tone(f0: float, cents: float, shape: str, rate: float = 5.5, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * 2 ** (cents / 1200 * np.sin(2 * np.pi * rate * t))) / SR
    x = np.zeros_like(t)
    for n in range(1, int(20000 / f0) + 1):
        if shape == "square" and n % 2 == 0:
            continue
        x += np.sin(n * phase) / n
    return (x / np.abs(x).max()).astype(np.float32)


def power_centroid(x: np.ndarray) -> float:
    import librosa

    mag = np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP))
    power = mag**2
    f = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)[:, None]
    return float(np.mean((power * f).sum(axis=0) / np.maximum(power.sum(axis=0), 1e-20)))


def main() -> None:
    rows = []
    for shape in ("square", "saw"):
        for f0 in NOTES:
            base_mag = base_pow = None
            for cents in DEPTHS:
                x = tone(f0, cents, shape)
                d = describe(x, SR).flat()
                mag, pw = float(d["centroid_hz"]), power_centroid(x)
                base_mag = mag if base_mag is None else base_mag
                base_pow = pw if base_pow is None else base_pow
                rows.append({"shape": shape, "f0_hz": f0, "vibrato_cents": cents, "measured_vibrato_cents": d.get("vibrato_depth_cents"),
                             "centroid_hz": round(mag, 1), "centroid_rise": round(mag / base_mag - 1, 3),
                             "power_centroid_hz": round(pw, 1), "power_centroid_rise": round(pw / base_pow - 1, 3)})
    worst = max(r["centroid_rise"] for r in rows)
    lines = [__doc__.split("\n\n")[2].replace("\n", " ") + "\n",
             "| tone | vibrato (+- cents; measured) | centroid (descriptor) | rise | power-weighted centroid | rise |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['shape']} {r['f0_hz']:g} Hz | {r['vibrato_cents']:g} ({r['measured_vibrato_cents']}) | {r['centroid_hz']:.0f} Hz | "
                     f"{r['centroid_rise']:+.0%} | {r['power_centroid_hz']:.0f} Hz | {r['power_centroid_rise']:+.1%} |")
    lines.append(f"\nThe descriptor's centroid rises by up to {worst:.0%} with the vibrato alone; the power-weighted one stays within "
                 f"{max(abs(r['power_centroid_rise']) for r in rows):.1%}. A brightness measure that a vibrato does not move (power summed "
                 "per band before the mean, or a smear-robust peak picking) would let a refinement add a vibrato and keep the brightness; "
                 "it would change every brightness figure and the reference percentiles the words map to, so it is not made here.")
    write_report("vibrato_smear", {"rows": rows, "max_centroid_rise": worst}, "\n".join(lines))


if __name__ == "__main__":
    main()
