"""Match metrics: spectral convergence, log-spectral distance, MFCC L1, multi-resolution STFT loss.

Both signals are mono, at the same rate, cut/padded to the same length and scaled to the same RMS
before comparison (a user's sample and the synth differ in level, which a fader fixes; we measure
spectral shape over time). ``mr_stft`` also has a batched torch form used by the refinement.
"""

from __future__ import annotations

import numpy as np
import torch

MR_RESOLUTIONS = ((2048, 512), (1024, 256), (512, 128))


def _prep(target: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(target, dtype=np.float64).reshape(-1)
    e = np.asarray(estimate, dtype=np.float64).reshape(-1)
    n = max(len(t), 1)
    e = e[:n] if len(e) >= n else np.pad(e, (0, n - len(e)))
    rt, re_ = np.sqrt(np.mean(t**2)) + 1e-12, np.sqrt(np.mean(e**2)) + 1e-12
    return t / rt * 0.1, e / re_ * 0.1


def stft_mag(x: np.ndarray, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    x = np.pad(x, (n_fft // 2, n_fft // 2), mode="constant")
    frames = 1 + (x.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    return np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)).T  # (freq, frames)


def spectral_convergence(target: np.ndarray, estimate: np.ndarray, n_fft: int = 2048, hop: int = 512) -> float:
    """||S - S_hat||_F / ||S||_F on linear magnitude spectrograms (seed 002's measure)."""
    t, e = _prep(target, estimate)
    s, s_hat = stft_mag(t, n_fft, hop), stft_mag(e, n_fft, hop)
    return float(np.linalg.norm(s - s_hat) / (np.linalg.norm(s) + 1e-12))


def log_spectral_distance(target: np.ndarray, estimate: np.ndarray, n_fft: int = 2048, hop: int = 512) -> float:
    """dB: mean over frames of the RMS over bins of 10 log10(S^2 / S_hat^2)."""
    t, e = _prep(target, estimate)
    p, p_hat = stft_mag(t, n_fft, hop) ** 2, stft_mag(e, n_fft, hop) ** 2
    eps = 1e-8
    d = 10 * np.log10(p + eps) - 10 * np.log10(p_hat + eps)
    return float(np.mean(np.sqrt(np.mean(d**2, axis=0))))


def mfcc_l1(target: np.ndarray, estimate: np.ndarray, sample_rate: int, n_mfcc: int = 20) -> float:
    """Mean absolute difference of 20 MFCCs per frame (librosa defaults otherwise)."""
    import librosa

    t, e = _prep(target, estimate)
    a = librosa.feature.mfcc(y=t.astype(np.float32), sr=sample_rate, n_mfcc=n_mfcc)
    b = librosa.feature.mfcc(y=e.astype(np.float32), sr=sample_rate, n_mfcc=n_mfcc)
    return float(np.mean(np.abs(a - b)))


def _aligned(target: torch.Tensor, estimates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """target -> (1, T) float; estimates -> (B, T) float, cut or zero-padded to the target's length."""
    tgt = target.reshape(1, -1).float()
    est = estimates.float()
    n = tgt.shape[-1]
    est = est[..., :n] if est.shape[-1] >= n else torch.nn.functional.pad(est, (0, n - est.shape[-1]))
    return tgt, est


def _rms_normalised(x: torch.Tensor) -> torch.Tensor:
    return x / x.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-8) * 0.1


def mr_stft_torch(target: torch.Tensor, estimates: torch.Tensor, resolutions=MR_RESOLUTIONS) -> torch.Tensor:
    """Multi-resolution STFT loss: mean over resolutions of (spectral convergence + mean |log S - log S_hat|).

    target (T,) or (1, T); estimates (B, T) -> (B,). Both RMS-normalised first."""
    tgt, est = _aligned(target, estimates)
    tgt, est = _rms_normalised(tgt), _rms_normalised(est)
    total = torch.zeros(est.shape[0], device=est.device)
    for n_fft, hop in resolutions:
        w = torch.hann_window(n_fft, device=est.device)
        s = torch.stft(tgt, n_fft, hop, window=w, return_complex=True).abs()
        s_hat = torch.stft(est, n_fft, hop, window=w, return_complex=True).abs()
        sc = torch.linalg.norm((s - s_hat).flatten(1), dim=1) / torch.linalg.norm(s.flatten(1), dim=1).clamp_min(1e-8)
        mag = (torch.log(s + 1e-5) - torch.log(s_hat + 1e-5)).abs().mean(dim=(1, 2))
        total = total + sc + mag
    return total / len(resolutions)


def mr_stft(target: np.ndarray, estimate: np.ndarray) -> float:
    t, e = _prep(target, estimate)
    return float(mr_stft_torch(torch.from_numpy(t), torch.from_numpy(e)[None])[0])


def all_metrics(target: np.ndarray, estimate: np.ndarray, sample_rate: int) -> dict[str, float]:
    return {
        "spectral_convergence": spectral_convergence(target, estimate),
        "log_spectral_distance_db": log_spectral_distance(target, estimate),
        "mfcc_l1": mfcc_l1(target, estimate, sample_rate),
        "mr_stft": mr_stft(target, estimate),
    }


def _mag(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """|STFT| with a floor inside the square root, so its gradient is finite at silence."""
    s = torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft, device=x.device), return_complex=True)
    return torch.sqrt(s.real.pow(2) + s.imag.pow(2) + 1e-10)


def loudness_envelope_torch(target: torch.Tensor, estimates: torch.Tensor, hop: int = 256, floor_db: float = -60.0) -> torch.Tensor:
    """Mean |level difference| / 20 dB over 16 ms frames (both RMS-normalised; levels floored at
    ``floor_db`` under the target's loudest frame): how far the match's loudness contour is from the target's."""
    tgt = target.reshape(1, -1).float()
    est = estimates.float()
    n = tgt.shape[-1]
    est = est[..., :n] if est.shape[-1] >= n else torch.nn.functional.pad(est, (0, n - est.shape[-1]))
    tgt = tgt / tgt.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-8)
    est = est / est.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-8)
    frames = n // hop

    def level(x: torch.Tensor) -> torch.Tensor:
        return 10 * torch.log10(x[..., : frames * hop].reshape(x.shape[0], frames, hop).pow(2).mean(-1) + 1e-10)

    lt, le = level(tgt), level(est)
    floor = lt.amax(-1, keepdim=True) + floor_db
    return (torch.maximum(lt, floor) - torch.maximum(le, floor)).abs().mean(-1) / 20.0


def match_loss_torch(target: torch.Tensor, estimates: torch.Tensor, loudness_weight: float = 1.0) -> torch.Tensor:
    """The real-sound refinement loss: multi-resolution STFT (gradient-safe magnitudes) plus the loudness
    envelope term. target (T,); estimates (B, T) -> (B,)."""
    tgt, est = _aligned(target, estimates)
    tgt_n, est_n = _rms_normalised(tgt), _rms_normalised(est)
    total = torch.zeros(est.shape[0], device=est.device)
    for n_fft, hop in MR_RESOLUTIONS:
        s, s_hat = _mag(tgt_n, n_fft, hop), _mag(est_n, n_fft, hop)
        sc = torch.linalg.norm((s - s_hat).flatten(1), dim=1) / torch.linalg.norm(s.flatten(1), dim=1).clamp_min(1e-8)
        total = total + sc + (torch.log(s + 1e-5) - torch.log(s_hat + 1e-5)).abs().mean(dim=(1, 2))
    return total / len(MR_RESOLUTIONS) + loudness_weight * loudness_envelope_torch(tgt, est)
