"""Speed of the Voice synth against torchsynth 1.0.2 (same machine, same run), and of the archetype engine.

Run from the repository root: ``python -m benchmarks.synth_speed`` (add ``--quick`` for a smoke run).

torchsynth 1.0.2 cannot be installed next to the product's dependencies; it gets its own virtual
environment, ``.bench-venvs/torchsynth`` (gitignored), made by this script with the recipe:

    python -m venv .bench-venvs/torchsynth
    .bench-venvs/torchsynth/bin/pip install "setuptools<81" "pytorch-lightning==1.8.6" \
        "torchsynth==1.0.2" "torch==2.13.0"

and is run there in a subprocess (this file, ``--worker torchsynth``). Both sides use the same
number of torch threads (``--threads``, default 1), the same batch size and length, render under
no-grad, and are timed after one warm-up render in ``--rounds`` interleaved fresh processes of
``--repeats`` renders each (median and best reported). Peak memory
is the peak resident set size of a fresh subprocess that builds the synth and renders (ru_maxrss)
minus its RSS just before building the synth, i.e. the extra memory the synth and one render need.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench-venvs" / "torchsynth"
RECIPE = ["setuptools<81", "pytorch-lightning==1.8.6", "torchsynth==1.0.2", "torch==2.13.0"]

CASES = {
    # name: (batch, seconds, sample_rate, control_rate)
    "voice_b128_4s_44k": (128, 4.0, 44100, 441),
    "ctag_b50_2s_48k": (50, 2.0, 48000, 480),
}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    ok = py.exists() and subprocess.run([str(py), "-c", "import torchsynth"], capture_output=True).returncode == 0
    if not ok:
        VENV.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *RECIPE], check=True)
    return py


# ---------------------------------------------------------------- workers (run in subprocesses)
def worker_torchsynth(batch: int, seconds: float, sr: int, cr: int, repeats: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from torchsynth.config import SynthConfig
    from torchsynth.synth import Voice

    base = _rss_mb()
    reproducible = batch % 32 == 0
    cfg = SynthConfig(batch_size=batch, sample_rate=sr, buffer_size_seconds=seconds, control_rate=cr, reproducible=reproducible)
    voice = Voice(cfg)
    times = []
    for i in range(repeats + 1):
        with torch.no_grad():
            voice.randomize(seed=i)  # new random patches (not timed, like ours)
            t0 = time.perf_counter()
            audio = voice.output()
            dt = time.perf_counter() - t0
        if i:
            times.append(dt)
    assert audio.shape == (batch, int(round(seconds * sr))), audio.shape
    return {"times": times, "peak_mb": _peak_mb() - base, "finite": bool(torch.isfinite(audio).all())}


def worker_voice(batch: int, seconds: float, sr: int, cr: int, repeats: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from lstmabar.models.synth.params import NUM_PARAMS
    from lstmabar.models.synth.voice import Voice

    base = _rss_mb()
    voice = Voice(sample_rate=sr, control_rate=cr, seconds=seconds)
    times = []
    for i in range(repeats + 1):
        params = torch.rand(batch, NUM_PARAMS, generator=torch.Generator().manual_seed(i))
        t0 = time.perf_counter()
        audio = voice.render(params, seed=0)
        dt = time.perf_counter() - t0
        if i:
            times.append(dt)
    return {"times": times, "peak_mb": _peak_mb() - base, "finite": bool(torch.isfinite(audio).all())}


def worker_archetype(batch: int, seconds: float, sr: int, repeats: int, threads: int) -> dict:
    """The archetype engine (models/synth/archetype.py): random ArchetypeParams (its own
    ``ArchetypeParams.random``), ``render_archetypes(params, sample_rate, seconds, seed)``."""
    import torch

    torch.set_num_threads(threads)
    from lstmabar.models.synth import archetype

    base = _rss_mb()
    times = []
    for i in range(repeats + 1):
        params = archetype.ArchetypeParams.random(batch, seed=i)
        t0 = time.perf_counter()
        with torch.no_grad():
            audio = archetype.render_archetypes(params, sample_rate=sr, seconds=seconds, seed=0)
        dt = time.perf_counter() - t0
        if i:
            times.append(dt)
    assert tuple(audio.shape) == (batch, int(round(seconds * sr))), audio.shape
    return {"times": times, "peak_mb": _peak_mb() - base, "finite": bool(torch.isfinite(audio).all())}


def aliasing_figures() -> dict[str, float]:
    """Band-limiting of the square-saw VCO (the same measures as tests/test_synth_voice.py): energy
    away from the harmonics (Blackman-Harris window, +-6 Hz around each harmonic excluded) relative
    to the fundamental's, for 1 s saws/squares at 48 kHz. At exactly 4 kHz aliases would fold onto
    harmonics, so 4 kHz is measured a quarter-tone either side, plus the worst harmonic-amplitude
    error against the 1/h series at exactly 4 kHz."""
    import numpy as np
    from scipy.signal import windows

    from lstmabar.models.synth.patch import Patch

    sr = 48000

    patch = Patch.steady_vco2

    def measure(y: np.ndarray, freq: float):
        spec = np.abs(np.fft.rfft(y * windows.blackmanharris(len(y)))) ** 2
        fr = np.fft.rfftfreq(len(y), 1.0 / sr)
        n_h = int((sr / 2 - 6.0) // freq)
        harm = np.array([spec[np.abs(fr - h * freq) <= 6.0].sum() for h in range(1, n_h + 1)])
        mask = fr <= 6.0
        for h in range(1, n_h + 1):
            mask |= np.abs(fr - h * freq) <= 6.0
        return harm, 10 * np.log10(spec[~mask].sum() / harm[0])

    out: dict[str, float] = {}
    worst = -1e9
    for f in (4000.0 * 2 ** (1 / 24), 4000.0 * 2 ** (-1 / 24)):
        y = patch(f, 1.0).render(seconds=1.0).astype(np.float64)
        worst = max(worst, measure(y, f)[1])
    out["saw_4khz_nonharmonic_db_rel_fundamental"] = round(float(worst), 1)
    harm, _ = measure(patch(4000.0, 1.0).render(seconds=1.0).astype(np.float64), 4000.0)
    amp = np.sqrt(harm / harm[0])
    ideal = np.where(np.arange(1, len(amp) + 1) <= 5, 1.0 / np.arange(1, len(amp) + 1), 0.0)
    out["saw_4khz_harmonic_error_db"] = round(float(20 * np.log10(np.abs(amp - ideal).max())), 1)
    naive = 2.0 * ((4000.0 * 2 ** (1 / 24) * np.arange(sr) / sr) % 1.0) - 1.0
    out["naive_saw_4khz_nonharmonic_db_rel_fundamental"] = round(float(measure(naive, 4000.0 * 2 ** (1 / 24))[1]), 1)
    worst_all = -1e9
    for f in (41.7, 97.3, 449.5, 1000.3, 2500.7, 4117.2, 8000.3):
        for shape in (0.0, 1.0):
            worst_all = max(worst_all, measure(patch(f, shape).render(seconds=1.0).astype(np.float64), f)[1])
    out["square_saw_worst_nonharmonic_db_41hz_to_8khz"] = round(float(worst_all), 1)
    return out


# ---------------------------------------------------------------- driver
def _run_worker(python: str, args: list[str]) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": args[args.index("--threads") + 1]}
    res = subprocess.run([python, "-m", "benchmarks.synth_speed", *args], cwd=ROOT, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"worker failed: {' '.join(args)}\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="timed renders per worker process")
    ap.add_argument("--rounds", type=int, default=2, help="worker processes per synth and case, interleaved")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, do not write the report")
    ap.add_argument("--worker", choices=["voice", "torchsynth", "archetype"])
    ap.add_argument("--case", default="")
    a = ap.parse_args()

    if a.worker:
        if a.worker == "archetype":
            out = worker_archetype(256, 2.0, 48000, a.repeats, a.threads)
        else:
            batch, seconds, sr, cr = CASES[a.case]
            fn = worker_voice if a.worker == "voice" else worker_torchsynth
            out = fn(batch, seconds, sr, cr, a.repeats, a.threads)
        print(json.dumps(out))
        return

    repeats = 1 if a.quick else a.repeats
    rounds = 1 if a.quick else a.rounds
    ts_python = str(ensure_venv())
    common = ["--threads", str(a.threads), "--repeats", str(repeats)]
    figures: dict[str, float] = {"threads": a.threads, "timed_renders_per_case": repeats * rounds}
    rows = []
    for case, (batch, seconds, sr, cr) in CASES.items():
        audio_s = batch * seconds
        runs: dict[str, list] = {"voice": [], "torchsynth": []}
        peaks: dict[str, list] = {"voice": [], "torchsynth": []}
        for _ in range(rounds):  # interleaved fresh processes, so background load hits both alike
            for who, py in (("voice", sys.executable), ("torchsynth", ts_python)):
                r = _run_worker(py, ["--worker", who, "--case", case, *common])
                if not r["finite"]:
                    raise RuntimeError(f"{who} rendered NaN/Inf in {case}")
                runs[who] += r["times"]
                peaks[who].append(r["peak_mb"])
        res = {}
        for who in ("voice", "torchsynth"):
            med, best, peak = statistics.median(runs[who]), min(runs[who]), max(peaks[who])
            res[who] = (med, best, peak)
            figures[f"{case}_{who}_seconds_median"] = round(med, 4)
            figures[f"{case}_{who}_seconds_min"] = round(best, 4)
            figures[f"{case}_{who}_x_realtime"] = round(audio_s / med, 1)
            figures[f"{case}_{who}_x_realtime_best"] = round(audio_s / best, 1)
            figures[f"{case}_{who}_peak_rss_mb"] = round(peak, 1)
        ratio = res["torchsynth"][0] / res["voice"][0]
        figures[f"{case}_speedup_vs_torchsynth"] = round(ratio, 2)
        figures[f"{case}_speedup_vs_torchsynth_best"] = round(res["torchsynth"][1] / res["voice"][1], 2)
        figures[f"{case}_memory_ratio_torchsynth_over_voice"] = round(res["torchsynth"][2] / max(res["voice"][2], 1e-9), 2)
        rows.append(
            f"| {batch} x {seconds:g} s @ {sr / 1000:g} kHz | "
            f"{audio_s / res['voice'][0]:.0f}x ({res['voice'][0]:.3f} s; best {res['voice'][1]:.3f} s) | "
            f"{audio_s / res['torchsynth'][0]:.0f}x ({res['torchsynth'][0]:.3f} s; best {res['torchsynth'][1]:.3f} s) | "
            f"**{ratio:.2f}x** (best/best {res['torchsynth'][1] / res['voice'][1]:.2f}x) | {res['voice'][2]:.0f} MB | {res['torchsynth'][2]:.0f} MB |"
        )

    figures.update(aliasing_figures())

    arch_line = ""
    if (ROOT / "models" / "synth" / "archetype.py").exists():
        try:
            r = _run_worker(sys.executable, ["--worker", "archetype", *common])
            med = statistics.median(r["times"])
            figures["archetype_b256_2s_48k_seconds"] = round(med, 4)
            figures["archetype_b256_2s_48k_sounds_per_second"] = round(256 / med, 1)
            figures["archetype_b256_2s_48k_x_realtime"] = round(256 * 2.0 / med, 1)
            figures["archetype_b256_2s_48k_peak_rss_mb"] = round(r["peak_mb"], 1)
            arch_line = (
                f"Archetype engine (`render_archetypes`, batch 256 x 2 s at 48 kHz, `ArchetypeParams.random`, same threads): "
                f"{256 / med:.0f} sounds/s ({256 * 2.0 / med:.0f}x realtime, {med:.3f} s per batch), peak RSS delta {r['peak_mb']:.0f} MB."
            )
        except Exception as exc:  # report, do not hide
            arch_line = f"Archetype engine: not measured ({type(exc).__name__}: {str(exc).splitlines()[-1][:200]})."
    else:
        arch_line = "Archetype engine: not measured (models/synth/archetype.py absent at run time)."

    md = f"""
Voice (ours, `models/synth/voice.py`) against torchsynth 1.0.2's `Voice` in the same run, on the CPU,
{a.threads} torch thread(s) for both, no-grad, random patches (U(0,1)^78). Each synth renders in
{rounds} fresh processes, interleaved with the other's, {repeats} timed renders each after one warm-up;
the table gives the median (and the best) of those {repeats * rounds} renders. This 2-core machine is
shared with other jobs while it runs, so single timings are noisy; the ratio of medians from the same
interleaved run is the figure to read. torchsynth's batch of 50 runs with `reproducible=False` (its
reproducible mode needs multiples of 32). torchsynth runs in its own venv (`.bench-venvs/torchsynth`, recipe in the script).
Peak memory: peak RSS (ru_maxrss) of a fresh process minus its RSS before the synth is built.

| batch x length | ours, x realtime (median s) | torchsynth, x realtime (median s) | speed-up (median) | ours peak RSS delta | torchsynth peak RSS delta |
|---|---|---|---|---|---|
{chr(10).join(rows)}

{arch_line}

Band-limiting of the square-saw VCO (1 s at 48 kHz, energy away from the harmonics relative to the
fundamental, Blackman-Harris window): 4 kHz saw (a quarter-tone either side, so aliases cannot hide
on harmonics) {figures["saw_4khz_nonharmonic_db_rel_fundamental"]} dB (a naive saw:
{figures["naive_saw_4khz_nonharmonic_db_rel_fundamental"]} dB); harmonic amplitudes of an exact 4 kHz saw
within {figures["saw_4khz_harmonic_error_db"]} dB of the 1/h series; worst over squares and saws from
41 Hz to 8 kHz: {figures["square_saw_worst_nonharmonic_db_41hz_to_8khz"]} dB.

No GPU was lent to this task, so there are no GPU figures (SynthAX's 90,000x on a V100 is not compared).
Both are timed on the render alone (the random patches are drawn untimed). torchsynth pre-computes
its noise when the synth is built; ours caches the noise of the last seed, so both render with ready
noise here.
"""
    if a.quick:
        print(json.dumps(figures, indent=2))
        print(md)
        return
    from benchmarks._report import write_report

    write_report("synth_speed", figures, md)


if __name__ == "__main__":
    main()
