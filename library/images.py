"""PNG pictures of sounds: log-magnitude spectrograms (one or several side by side)."""

from __future__ import annotations

import io

import numpy as np


def _matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def log_spectrogram(mono: np.ndarray, sample_rate: int, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    x = np.asarray(mono, dtype=np.float32)
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    frames = 1 + (x.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft).astype(np.float32), axis=1)).T
    return 20 * np.log10(spec + 1e-6)


def spectrogram_png(
    panels: list[tuple[str, np.ndarray, int]], *, width: float = 6.0, height: float = 3.0, dpi: int = 80
) -> bytes:
    """One spectrogram per (title, mono samples, sample rate), stacked vertically."""
    plt = _matplotlib()
    fig, axes = plt.subplots(len(panels), 1, figsize=(width, height * len(panels)), dpi=dpi, squeeze=False)
    for ax, (title, mono, sr) in zip(axes[:, 0], panels):
        db = log_spectrogram(mono, sr)
        vmax = float(db.max())
        ax.imshow(
            db,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=vmax - 90,
            vmax=vmax,
            extent=(0, len(mono) / sr, 0, sr / 2000),
        )
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("kHz")
    axes[-1, 0].set_xlabel("seconds")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def line_plot_png(
    x: np.ndarray, curves: list[tuple[str, np.ndarray]], *, xlabel: str, ylabel: str, title: str, logx: bool = True
) -> bytes:
    """A simple line chart (e.g. EQ gain against frequency)."""
    plt = _matplotlib()
    fig, ax = plt.subplots(figsize=(6, 3), dpi=80)
    for label, y in curves:
        ax.plot(x, y, label=label)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    if len(curves) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()
