"""The level envelope (RMS per 5 ms frame): onset, attack, decay, sustain, release, how long the sound
sounds, amplitude modulation (tremolo, wobble) and how strongly it starts.

Batched over (B, samples) like ``spectrum``; one sound is a batch of one."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from ._signal import level_envelope, nan_to_none

PEAK_SMOOTH_S = 0.03
SOUNDING_DB = -20.0  # a frame "sounds" when within 20 dB of the peak
FIT_FLOOR_DB = -40.0  # the decay is fitted from the peak down to here
DECAY_MIN_DB = 10.0  # a time constant is given only when the fitted line falls at least this far
TRANSIENT_S = 0.05
AM_MIN_S = 0.4  # shortest stretch on which a modulation rate is looked for
AM_BAND_HZ = (1.0, 20.0)
AM_MIN_DB = 1.0  # below this the "rate" is just the largest ripple of a steady level
PERIODIC_SHARE = 0.5  # a modulation has a rate when one sinusoid carries half the detrended variance
ATTACK_HOLD_S = 0.05
ATTACK_RISE = 0.4  # per second: a level still rising this fast (2 % in 50 ms) has not reached its top
SWELL_PAST = 0.5  # a level that climbs on past its first top to over twice it (6 dB), crest over crest, is still rising
SWELL_RISES = 2  # ... in at least this many steps of one period each (a louder second note is one step)
HOLD_PERIODS = 1.5  # ... over this many periods of the modulation (its rate is measured after the attack: a swell blurs it)


class EnvelopeDescriptors(BaseModel):
    onset_s: float | None = Field(None, description="When the level first comes within 20 dB of its peak (the peak of a 30 ms running RMS).")
    attack_s: float | None = Field(None, description="Rise time of the first event from 10 % to 90 % of its top (the first level not exceeded in the next 50 ms; under a periodic level modulation whose crests keep rising, a swell under a tremolo, the first not exceeded in the next 1.5 periods; 5 ms frames, interpolated).")
    peak_s: float | None = Field(None, description="When the level peaks.")
    decay_db_per_s: float | None = Field(None, description="Slope of the level (dB/s) fitted from the peak down to -40 dB or the end: 0 for a held note, strongly negative for a pluck.")
    decay_time_constant_s: float | None = Field(None, description="Time constant of that fall (an exp(-t/tau) decay gives tau); null when the line falls less than 10 dB.")
    sustain_level_db: float | None = Field(None, description="Median level after the peak while the sound sounds, dB below the peak (0 = held at full level).")
    release_s: float | None = Field(None, description="Time of the final fall: from 6 dB under the sustain level to 20 dB under the peak.")
    sounding_s: float | None = Field(None, description="From the onset to the last moment within 20 dB of the peak.")
    sounding_fraction: float | None = Field(None, description="Share of the clip's 5 ms frames within 20 dB of the peak.")
    am_rate_hz: float | None = Field(None, description="Rate of the strongest level modulation between 1 and 20 Hz (tremolo, wobble, repeated notes); null when the part after the attack is under 0.4 s, the modulation under 1 dB, or not periodic (one sinusoid carrying under half of the level's detrended variance, as with a phrase of notes).")
    am_depth_db: float | None = Field(None, description="Size of that modulation, peak to peak in dB (the fundamental of the detrended dB envelope).")
    transient_db: float | None = Field(None, description="How far the first 50 ms stand above the body of the sound (dB): high for hits and plucks.")


def _crossing(env: np.ndarray, start: int, level: float, dt: float) -> float:
    """Time (s, frame centres) where ``env`` first reaches ``level`` at or after ``start``, interpolated."""
    idx = np.nonzero(env[start:] >= level)[0]
    if idx.size == 0:
        return float("nan")
    i = start + int(idx[0])
    if i == 0 or env[i - 1] >= level:
        return (i + 0.5) * dt
    frac = (level - env[i - 1]) / max(env[i] - env[i - 1], 1e-20)
    return (i - 0.5 + frac) * dt


def _first_top(smooth: np.ndarray, start: int, w: int, dt: float) -> float:
    """The first level of ``smooth`` at or after frame ``start`` not exceeded in the next ``w`` frames by more than
    ATTACK_RISE per second of the window (2 % in 50 ms); the peak when the level rises to the end."""
    ahead = np.lib.stride_tricks.sliding_window_view(np.append(smooth, np.zeros(w)), w)[1 : smooth.size + 1].max(axis=1)
    tops = np.nonzero((ahead <= (1.0 + ATTACK_RISE * w * dt) * smooth) & (np.arange(smooth.size) >= start))[0]
    return float(smooth[tops[0]]) if tops.size else float(smooth.max())


def _climbs(smooth: np.ndarray, start: int, top: float, period: int) -> bool:
    """Whether ``smooth`` climbs from ``start`` to 0.9 ``top`` crest over crest: the maxima of consecutive ``period``-frame
    windows rise (by 2 % each) at least SWELL_RISES times on the way."""
    end = start + int(np.argmax(smooth[start:] >= 0.9 * top))
    maxima = [float(smooth[i : i + period].max()) for i in range(start, end + 1, period)]
    return sum(b > 1.02 * a for a, b in zip(maxima, maxima[1:])) >= SWELL_RISES


def _am(ldb: np.ndarray, dt: float) -> tuple[float, float, float]:
    """(rate Hz, peak-to-peak dB, share of the detrended variance it carries) of the strongest 1-20 Hz
    component of a dB envelope stretch."""
    n = ldb.size
    t = np.arange(n) * dt
    resid = ldb - np.polyval(np.polyfit(t, ldb, 2), t)
    win = np.hanning(n)
    nfft = max(4096, 1 << int(np.ceil(np.log2(n * 4))))
    spec = np.abs(np.fft.rfft(resid * win, nfft))
    f = np.fft.rfftfreq(nfft, dt)
    lo = max(AM_BAND_HZ[0], 2.0 / (n * dt))
    sel = (f >= lo) & (f <= AM_BAND_HZ[1])
    if not sel.any():
        return float("nan"), float("nan"), 0.0
    k = int(np.argmax(np.where(sel, spec, -1.0)))
    amp = 2.0 * spec[k] / win.sum()
    return float(f[k]), float(2.0 * amp), float(min(1.0, amp**2 / 2 / max(float(np.var(resid)), 1e-12)))


def envelope_batch(x: np.ndarray, sr: int) -> dict[str, np.ndarray]:
    """(B, samples) mono -> {name: (B,) array}, NaN where undefined or silent."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    env, dt = level_envelope(x, sr)
    names = list(EnvelopeDescriptors.model_fields)
    out = {k: np.full(x.shape[0], np.nan) for k in names}
    k = max(1, int(round(PEAK_SMOOTH_S / dt)))
    for b in range(x.shape[0]):
        e = env[b]
        if float(e.max()) <= 1e-7:
            continue
        # The reference level is the peak of a 30 ms running RMS: the single loudest 5 ms frame of a
        # noise stands a few dB above the rest and would make its "attack" a random wait.
        smooth = np.sqrt(np.convolve(e**2, np.ones(k) / k, mode="same"))
        peak = float(smooth.max())
        ldb = 20 * np.log10(np.maximum(e / peak, 1e-5))  # dB re the reference level, floored at -100
        ipk = int(np.argmax(e))
        above = np.nonzero(ldb >= SOUNDING_DB)[0]
        i_on, i_end = int(above[0]), int(above[-1])
        # level modulation first: its period sets how far ahead the attack's top must hold
        hold_s, period = ATTACK_HOLD_S, 1
        i90 = int(np.argmax(e >= 0.9 * peak))
        if (i_end - i90 + 1) * dt >= AM_MIN_S:
            rate, depth, share = _am(ldb[i90 : i_end + 1], dt)
            periodic = depth >= AM_MIN_DB and share >= PERIODIC_SHARE
            out["am_rate_hz"][b] = rate if periodic else np.nan
            out["am_depth_db"][b] = depth
            if periodic:
                hold_s = max(ATTACK_HOLD_S, HOLD_PERIODS / rate)
                period = max(1, int(round(1.0 / (rate * dt))))
        # attack: the rise of the first event, up to the first level not exceeded (by 2 %) in the next 50 ms;
        # a phrase's loudest note may come seconds later and is not its attack
        first_top = _first_top(smooth, i_on, max(1, int(round(ATTACK_HOLD_S / dt))), dt)
        if hold_s > ATTACK_HOLD_S:
            # under a periodic level modulation a swell rises crest over crest, and its first crest (0.2 s into a
            # 2 s swell at 4 Hz) ends that rise: the top must then hold for a period. Only when the level climbs on
            # past that first top by more than SWELL_PAST, and period over period (SWELL_RISES): a fast attack whose
            # tremolo crests a little later keeps its own rise, and so does a soft pickup note before a loud one
            held = _first_top(smooth, i_on, max(1, int(round(hold_s / dt))), dt)
            if first_top < SWELL_PAST * held and _climbs(smooth, i_on, held, period):
                first_top = held
        t10 = _crossing(e, 0, 0.1 * first_top, dt)
        t90 = _crossing(e, 0, 0.9 * first_top, dt)
        out["onset_s"][b] = i_on * dt
        out["attack_s"][b] = max(t90 - t10, 0.0)
        out["peak_s"][b] = (ipk + 0.5) * dt
        out["sounding_s"][b] = (i_end - i_on + 1) * dt
        out["sounding_fraction"][b] = above.size / e.size
        # decay: straight line through the dB level from the peak to -40 dB (or the clip's end)
        after = np.nonzero(ldb[ipk:] < FIT_FLOOR_DB)[0]
        stop = ipk + (int(after[0]) if after.size else e.size - ipk)
        if stop - ipk >= 3:
            t = np.arange(ipk, stop) * dt
            slope = float(np.polyfit(t, ldb[ipk:stop], 1)[0])
            out["decay_db_per_s"][b] = slope
            if slope * (stop - 1 - ipk) * dt <= -DECAY_MIN_DB:
                out["decay_time_constant_s"][b] = 20 * np.log10(np.e) / -slope
        else:
            out["decay_db_per_s"][b] = 0.0
        body = ldb[ipk : i_end + 1]
        sustain = float(np.median(body))
        out["sustain_level_db"][b] = sustain
        held = np.nonzero(ldb[: i_end + 1] >= sustain - 6.0)[0]
        out["release_s"][b] = (i_end - int(held[-1])) * dt if held.size else 0.0
        first = ldb[i_on : i_on + max(1, int(round(TRANSIENT_S / dt)))]
        out["transient_db"][b] = float(first.max() - np.median(ldb[i_on : i_end + 1]))
    return out


def from_batch(row: dict[str, np.ndarray], i: int = 0) -> EnvelopeDescriptors:
    nd = {"am_rate_hz": 2, "am_depth_db": 2, "decay_db_per_s": 2, "sustain_level_db": 2, "transient_db": 2, "sounding_fraction": 3}
    return EnvelopeDescriptors(**{k: nan_to_none(row[k][i], nd.get(k, 4)) for k in EnvelopeDescriptors.model_fields})
