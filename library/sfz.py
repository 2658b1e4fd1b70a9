"""A playable instrument from a patch: WAVs across the keyboard plus an SFZ file, in one zip.

SFZ is the open, plain-text sampler format that free samplers load (sfizz, Sforzando, Decent
Sampler's importers, many DAWs' samplers). Each rendered note becomes a ``<region>`` with its own
``pitch_keycenter``; the keys between two rendered notes are split at the midpoint, so no sample is
transposed by more than half the spacing. Notes are rendered with their own release inside the
sample, so regions play as one-shots (``loop_mode=one_shot``): holding a key longer than the render
does not sustain it.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import soundfile as sf

DEFAULT_KEYS = tuple(range(24, 109, 3))  # C1..C8 every 3 semitones: 29 samples
NOTE_NAMES = ("c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b")


def note_name(midi: int) -> str:
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def _safe(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")
    return s[:60] or "instrument"


def key_ranges(keys: Sequence[int]) -> list[tuple[int, int, int]]:
    """(lokey, hikey, keycenter) per rendered key: midpoints between neighbours; the ends reach 0 and 127."""
    ks = sorted(set(int(k) for k in keys))
    if not ks or ks[0] < 0 or ks[-1] > 127:
        raise ValueError("keys must be MIDI notes 0-127 (at least one)")
    out: list[tuple[int, int, int]] = []
    for i, k in enumerate(ks):
        lo = 0 if i == 0 else (ks[i - 1] + k) // 2 + 1
        hi = 127 if i == len(ks) - 1 else (k + ks[i + 1]) // 2
        out.append((lo, hi, k))
    return out


def sfz_text(name: str, regions: Sequence[tuple[str, int, int, int]]) -> str:
    """regions: (sample path inside the zip, lokey, hikey, keycenter)."""
    lines = [f"// {name}: rendered by lstmabar (one sample per region, played as one-shots)", "<control>", "default_path=samples/", "",
             "<group>", "loop_mode=one_shot", "amp_veltrack=100", ""]
    for sample, lo, hi, key in regions:
        lines.append(f"<region> sample={sample} lokey={lo} hikey={hi} pitch_keycenter={key}")
    return "\n".join(lines) + "\n"


def build_sfz_zip(render_note: Callable[[int], np.ndarray], sample_rate: int, name: str, keys: Sequence[int] = DEFAULT_KEYS) -> bytes:
    """Render each key with ``render_note(midi) -> mono float audio`` and pack ``NAME.sfz`` + ``samples/*.wav``."""
    base = _safe(name)
    buf = io.BytesIO()
    regions: list[tuple[str, int, int, int]] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for lo, hi, key in key_ranges(keys):
            audio = np.asarray(render_note(key), dtype=np.float32).reshape(-1)
            if not np.isfinite(audio).all():
                raise ValueError(f"the render of MIDI note {key} is not finite")
            peak = float(np.abs(audio).max()) or 1.0
            wav = io.BytesIO()
            sf.write(wav, audio * min(1.0, 0.98 / peak), sample_rate, format="WAV", subtype="PCM_24")
            sample = f"{base}_{key:03d}_{note_name(key).replace('#', 's')}.wav"
            zf.writestr(f"samples/{sample}", wav.getvalue())
            regions.append((sample, lo, hi, key))
        zf.writestr(f"{base}.sfz", sfz_text(name, regions))
    return buf.getvalue()


def write_sfz_zip(path: Path, data: bytes) -> Path:
    """Write atomically (a temporary file renamed into place), so a failed export leaves nothing half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def parse_sfz(text: str) -> list[dict[str, str]]:
    """The regions of an SFZ text with the opcodes their headers set (group opcodes inherited; enough
    for the files this module writes and for checking them)."""
    regions: list[dict[str, str]] = []
    group: dict[str, str] = {}
    control: dict[str, str] = {}
    current: dict[str, str] | None = None
    scope = ""  # the header in force; none before the first
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        for token in re.findall(r"<\w+>|[^\s=]+=[^\s<]+", line):
            if token.startswith("<"):
                scope = token[1:-1]
                if scope == "group":
                    group = {}
                if scope == "region":
                    current = {**control, **group}
                    regions.append(current)
                continue
            k, v = token.split("=", 1)
            target = {"control": control, "group": group, "region": current}.get(scope)
            if target is not None:
                target[k] = v
    return regions
