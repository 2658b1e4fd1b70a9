"""The Voice: a batched modular subtractive synth with torchsynth's Voice architecture (78 params).

Signal flow (per item of the batch):

* keyboard: ``midi_f0`` and note-on ``duration``;
* six ADSR envelopes at control rate: ``adsr_1``, ``adsr_2`` (modulation sources) and, per LFO, an
  amplitude and a rate envelope;
* two LFOs in [0, 1] (mix of sine/triangle/saw/reverse-saw/square), rate modulated by their rate
  ADSR, scaled by their amplitude ADSR;
* a 4x5 modulation matrix (adsr_1, adsr_2, lfo_1, lfo_2 -> vco_1 pitch/amp, vco_2 pitch/amp, noise
  amp), pitch modulation in semitones ``mod_depth * signal``, pitch clamped to MIDI [0, 127];
* a sine VCO, a square-saw VCO (band-limited wavetables, ``shape`` cross-fades square -> saw),
  white noise; VCAs by the matrix's amp outputs; a 3-input mixer; the mix is divided by its peak
  when the peak exceeds 1 (as torchsynth does), so the output never clips.

Control signals are computed at ``control_rate`` (rounded so that ``sample_rate / control_rate`` is a
whole number of samples, ``hop``) and joined linearly at audio rate; the oscillator phase is the
exact running sum of the instantaneous frequency. Rendering runs under ``torch.no_grad()``: the
Voice is meant for gradient-free search (CTAG) and dataset generation.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from .modules import ROW_ALIGN, TWO_PI, adsr, harmonic_tables, lfo, midi_to_hz, segment_phase_coeffs
from .params import ADSR_MODULES, LFO_SHAPES, MOD_SOURCES, MOD_TARGETS, NUM_PARAMS, PARAM_INDEX, to_physical_tensor

_ADSR_FIELDS = ("attack", "decay", "sustain", "release", "alpha")


def _idx(names: Sequence[str]) -> torch.Tensor:
    return torch.tensor([PARAM_INDEX[n] for n in names], dtype=torch.long)


class Voice(torch.nn.Module):
    """Batched renderer: ``render((B, 78) in [0, 1]) -> (B, samples)`` float32.

    Args:
        sample_rate: audio rate in Hz.
        control_rate: control rate in Hz (effective rate is ``sample_rate / hop`` with
            ``hop = round(sample_rate / control_rate)``).
        seconds: length of every rendered sound.
        max_harmonics: most partials the square-saw VCO plays (default 1023), so notes below about
            MIDI 24 (33 Hz) lose partials above 1023 x f0 (all below Nyquist are kept above that).
        chunk_samples: audio-rate work is done a few items at a time, about this many samples per
            chunk, to stay in cache and bound memory.
    """

    def __init__(
        self,
        sample_rate: int = 48000,
        control_rate: float = 480,
        seconds: float = 2.0,
        *,
        max_harmonics: int = 1023,
        chunk_samples: int = 1 << 18,
    ):
        super().__init__()
        if sample_rate <= 0 or control_rate <= 0 or seconds <= 0:
            raise ValueError("sample_rate, control_rate and seconds must be positive")
        self.sample_rate = int(sample_rate)
        self.hop = max(1, int(round(self.sample_rate / float(control_rate))))
        self.control_rate = self.sample_rate / self.hop
        self.seconds = float(seconds)
        self.num_samples = max(1, int(round(self.seconds * self.sample_rate)))
        # whole segments covering the sound, rounded up so that a row of audio (segments * hop) is a
        # multiple of ROW_ALIGN samples: keeps every item bit-identical alone or in any batch
        seg = -(-self.num_samples // self.hop)
        unit = ROW_ALIGN // math.gcd(self.hop, ROW_ALIGN)
        self.num_segments = -(-seg // unit) * unit
        self.num_control = self.num_segments + 1
        self.max_harmonics = int(max_harmonics)
        self.chunk_samples = int(chunk_samples)

        t = torch.arange(self.num_control, dtype=torch.float32) * (self.hop / self.sample_rate)
        self.register_buffer("t_control", t, persistent=False)
        j = torch.arange(self.hop, dtype=torch.float32)
        self.register_buffer("phase_basis", torch.stack((torch.ones_like(j), j, j * (j - 1.0))), persistent=False)
        self.register_buffer("amp_basis", torch.stack((1.0 - j / self.hop, j / self.hop)), persistent=False)
        table, offsets, sizes = harmonic_tables(self.sample_rate, max_harmonics=self.max_harmonics)  # (rows, 4)
        if table.shape[0] >= 2**24:
            raise ValueError("wavetables too large for float32 row indices")
        self.register_buffer("table_cols", table.t().contiguous(), persistent=False)  # (4, rows)
        self.register_buffer("band_offset", offsets.float(), persistent=False)  # exact in float32
        self.register_buffer("band_size", sizes.float(), persistent=False)

        self._adsr_idx = torch.stack([_idx([f"{m}.{f}" for m in ADSR_MODULES]) for f in _ADSR_FIELDS])  # (5, 6)
        self._mod_idx = _idx([f"mod_matrix.{s}->{d}" for s in MOD_SOURCES for d in MOD_TARGETS])
        self._noise_cache: tuple | None = None
        self._noise_t_cache: tuple | None = None

    # ------------------------------------------------------------------ helpers
    def _noise(self, seed, batch: int, length: int, device) -> torch.Tensor:
        """White noise in [-1, 1): (length,) shared by all items for an int seed, or (B, length)
        for one seed per item. Generated on the CPU from a torch.Generator, so identical on every
        device and independent of the batch an item sits in."""
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        if isinstance(seed, torch.Tensor):
            seed = seed.tolist()
        if isinstance(seed, (list, tuple)):
            if len(seed) != batch:
                raise ValueError(f"got {len(seed)} seeds for a batch of {batch}")
            return torch.stack([self._noise(int(s), batch, length, device) for s in seed])
        key = (int(seed), length, str(device))
        if self._noise_cache is not None and self._noise_cache[0] == key:
            return self._noise_cache[1]
        g = torch.Generator(device="cpu").manual_seed(int(seed))
        noise = (torch.rand(length, generator=g) * 2.0 - 1.0).to(device)
        self._noise_cache = (key, noise)
        return noise

    def control_signals(self, params: torch.Tensor) -> dict[str, torch.Tensor]:
        """Everything at control rate: envelopes, LFOs, modulation outputs, VCO pitches (MIDI)."""
        P = to_physical_tensor(params)
        dev = P.device
        t = self.t_control.to(dev)
        dt = 1.0 / self.control_rate

        def col(name: str) -> torch.Tensor:
            i = PARAM_INDEX[name]
            return P[:, i : i + 1]

        duration = col("keyboard.duration")
        a, d, s, r, al = (P[:, self._adsr_idx[k].to(dev)].unsqueeze(-1) for k in range(5))  # (B, 6, 1)
        env = adsr(t, duration.unsqueeze(-1), a, d, s, r, al, dt)  # (B, 6, K)
        envs = dict(zip(ADSR_MODULES, env.unbind(1)))

        lfos = []
        for name in ("lfo_1", "lfo_2"):
            w = P[:, _idx([f"{name}.{sh}" for sh in LFO_SHAPES]).to(dev)]
            raw = lfo(
                col(f"{name}.frequency"),
                col(f"{name}.mod_depth"),
                col(f"{name}.initial_phase"),
                w,
                envs[f"{name}_rate_adsr"],
                self.control_rate,
            )
            lfos.append(raw * envs[f"{name}_amp_adsr"])
        sources = torch.stack((envs["adsr_1"], envs["adsr_2"], lfos[0], lfos[1]), dim=1)  # (B, 4, K)
        W = P[:, self._mod_idx.to(dev)].view(-1, len(MOD_SOURCES), len(MOD_TARGETS))
        # explicit sums (not einsum/matmul) so an item's result does not depend on the batch around it
        mods = W[:, 0, :, None] * sources[:, 0:1]
        for i in range(1, len(MOD_SOURCES)):
            mods = mods + W[:, i, :, None] * sources[:, i : i + 1]  # (B, 5, K)
        out = {f"env.{k}": v for k, v in envs.items()}
        out["lfo_1"], out["lfo_2"] = lfos
        out.update({f"mod.{k}": mods[:, i] for i, k in enumerate(MOD_TARGETS)})
        midi_f0 = col("keyboard.midi_f0")
        for v, tgt in (("vco_1", 0), ("vco_2", 2)):
            pitch = midi_f0 + col(f"{v}.tuning") + col(f"{v}.mod_depth") * mods[:, tgt]
            out[f"{v}.midi"] = pitch.clamp(0.0, 127.0)
        out["physical"] = P
        return out

    # ------------------------------------------------------------------ render
    def render(self, params: torch.Tensor, *, seed: int | Sequence[int] | None = None) -> torch.Tensor:
        """Render a batch of normalised patches (B, 78) to audio (B, num_samples), float32.

        ``seed`` drives the noise source: an int gives every item the same noise sequence (so an
        item sounds the same alone or in any batch), a sequence gives one seed per item, None draws
        a fresh seed from torch's global generator.
        """
        if params.dim() == 1:
            params = params.unsqueeze(0)
        if params.dim() != 2 or params.shape[1] != NUM_PARAMS:
            raise ValueError(f"params must be (B, {NUM_PARAMS}), got {tuple(params.shape)}")
        with torch.no_grad():
            params = params.detach().float()
            if not torch.isfinite(params).all():
                raise ValueError("params contain NaN or Inf")
            return self._render(params, seed)

    def _render(self, params: torch.Tensor, seed) -> torch.Tensor:
        B = params.shape[0]
        dev = params.device
        S, hop, N = self.num_segments, self.hop, self.num_samples
        padded = S * hop
        cs = self.control_signals(params)
        P = cs["physical"]

        def col(name: str) -> torch.Tensor:
            i = PARAM_INDEX[name]
            return P[:, i : i + 1]

        f1 = midi_to_hz(cs["vco_1.midi"])
        f2 = midi_to_hz(cs["vco_2.midi"])
        p1 = segment_phase_coeffs(f1, hop, self.sample_rate, col("vco_1.initial_phase") / TWO_PI)
        p2 = segment_phase_coeffs(f2, hop, self.sample_rate, col("vco_2.initial_phase") / TWO_PI)
        # Audio-rate work uses the layout (item, j, segment): sample n = segment * hop + j. Per-segment
        # coefficients then broadcast along a middle dim and every op's inner loop runs over
        # segments contiguously, which torch vectorises (broadcasting along the inner dim does not).
        # sine VCO: cos(2 pi phase) = sin(2 pi (phase + 1/4)), computed in radians directly (sin is
        # the faster kernel); the start phases are < 1.25 cycles, so float32 radians stay precise
        p1 = [((p1[0] + 0.25) * TWO_PI).unsqueeze(1).contiguous()] + [(c * TWO_PI).unsqueeze(1).contiguous() for c in p1[1:]]
        p1 = [p.float() for p in p1]
        p2 = [c.unsqueeze(1).contiguous() for c in p2]
        m2 = cs["vco_2.midi"]
        band = torch.floor(torch.maximum(m2[:, :-1], m2[:, 1:])).clamp(0, 127).long()  # (B, S)
        offset = self.band_offset.to(dev)[band].unsqueeze(1)  # (B, 1, S): first row of the segment's table
        size = self.band_size.to(dev)[band].unsqueeze(1)  # (B, 1, S): its length
        shape = col("vco_2.shape").unsqueeze(-1)  # (B, 1, 1)

        def seg(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # (B, K) -> start, slope (B, 1, S)
            return x[:, :-1].unsqueeze(1).contiguous(), (x[:, 1:] - x[:, :-1]).unsqueeze(1)

        amp1 = seg(cs["mod.vco_1_amp"] * col("mixer.vco_1"))
        amp2 = seg(cs["mod.vco_2_amp"] * col("mixer.vco_2"))
        ampn = seg(cs["mod.noise_amp"] * col("mixer.noise"))
        noise_t = self._noise_t(seed, B, S, hop, dev)  # (1 or B, hop, S)

        j = self.phase_basis[1].to(dev).view(1, hop, 1)  # 0..hop-1
        jj = self.phase_basis[2].to(dev).view(1, hop, 1)  # j (j - 1)
        jn = self.amp_basis[1].to(dev).view(1, hop, 1)  # j / hop

        cols = self.table_cols.to(dev)  # (4, rows): square, d square, saw - square, d (saw - square)
        out = torch.empty(B, padded, dtype=torch.float32, device=dev)
        step = max(1, min(B, self.chunk_samples // padded))
        # workspace reused by every chunk: fresh multi-MB tensors per op cost more in page faults
        # than the arithmetic itself
        shp = (step, hop, S)
        y_buf, ph_buf, fl_buf, w_buf, amp_buf = (torch.empty(shp, device=dev) for _ in range(5))
        v_buf = torch.empty((4, step * S * hop), device=dev)
        idx_buf = torch.empty(shp, dtype=torch.long, device=dev)
        abs_buf = torch.empty((step, N), device=dev)
        np_transpose = dev.type == "cpu"  # numpy's transposing copy is ~4x faster than torch's on CPU

        def lin(a, lo: int, hi: int, out: torch.Tensor) -> torch.Tensor:  # amplitude, (c, hop, S)
            return torch.addcmul(a[0][lo:hi], a[1][lo:hi], jn, out=out)

        def phase(pc, lo: int, hi: int, out: torch.Tensor) -> torch.Tensor:  # cycles, (c, hop, S)
            return torch.addcmul(pc[0][lo:hi], pc[1][lo:hi], j, out=out).addcmul_(pc[2][lo:hi], jj)

        for lo in range(0, B, step):
            hi = min(B, lo + step)
            c = hi - lo
            y, ph, fl, w, amp, idx = (b[:c] for b in (y_buf, ph_buf, fl_buf, w_buf, amp_buf, idx_buf))
            v = v_buf[:, : c * S * hop]
            # sine VCO
            torch.sin(phase(p1, lo, hi, ph), out=y)
            y.mul_(lin(amp1, lo, hi, amp))
            # square-saw VCO: band-limited wavetable, linear interpolation
            phase(p2, lo, hi, ph).frac_().mul_(size[lo:hi])
            torch.floor(ph, out=fl)
            fr = ph.sub_(fl)  # phase >= 0 and frac < 1, so fl is in [0, size - 1]
            idx.copy_(fl.add_(offset[lo:hi]))
            flat = idx.view(-1)
            for k in range(4):
                torch.index_select(cols[k], 0, flat, out=v[k])
            vv = v.view(4, c, hop, S)
            torch.addcmul(vv[2], fr, vv[3], out=w).mul_(shape[lo:hi])
            w.add_(vv[0]).addcmul_(fr, vv[1])
            y.addcmul_(w, lin(amp2, lo, hi, amp))
            # noise
            nz = noise_t if noise_t.shape[0] == 1 else noise_t[lo:hi]
            y.addcmul_(nz, lin(ampn, lo, hi, amp))
            # back to time order, then peak-normalise the items that would clip (peak over the sound)
            chunk = out[lo:hi]
            if np_transpose:
                np.copyto(chunk.view(c, S, hop).numpy(), y.numpy().transpose(0, 2, 1))
            else:
                chunk.view(c, S, hop).copy_(y.transpose(1, 2))
            peak = torch.abs(chunk[:, :N], out=abs_buf[:c]).amax(dim=1, keepdim=True)
            chunk.div_(peak.clamp_min(1.0))
        return out[:, :N] if padded == N else out[:, :N].contiguous()

    def _noise_t(self, seed, batch: int, S: int, hop: int, device) -> torch.Tensor:
        """The noise in the (item, j, segment) layout: (1, hop, S) for an int seed (cached), or a
        strided (B, hop, S) view for per-item seeds."""
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item())
        if isinstance(seed, (int, np.integer)):
            key = (int(seed), S, hop, str(device))
            cached = self._noise_t_cache
            if cached is not None and cached[0] == key:
                return cached[1]
            nt = self._noise(int(seed), batch, S * hop, device).view(S, hop).t().contiguous().unsqueeze(0)
            self._noise_t_cache = (key, nt)
            return nt
        return self._noise(seed, batch, S * hop, device).view(batch, S, hop).transpose(1, 2)

    def forward(self, params: torch.Tensor, seed: int | None = 0) -> torch.Tensor:  # pragma: no cover
        return self.render(params, seed=seed)
