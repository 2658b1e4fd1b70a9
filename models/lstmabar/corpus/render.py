"""Offline soundfont rendering with tinysoundfont (MIT; ``pip install --no-deps tinysoundfont``: it
declares pyaudio, which only its real-time playback needs) and where the sounds come from.

Sources (Debian packages, installed by ``ensure_debian_packages`` when running as root, the way
scripts/test.sh installs PostgreSQL):
- ``fluid-soundfont-gm``: FluidR3_GM.sf2 (Frank Wen, MIT), the training timbres;
- ``timgm6mb-soundfont``: TimGM6mb.sf2 (Tim Brechbill, GPL-2.0), the second, held-out soundfont; the
  same file ships inside the pretty_midi wheel, which is used when the Debian one is absent;
- ``sonic-pi-samples``: the Sonic Pi sample pack (CC0).

A clip is a list of note events ``(midi, start_s, length_s, velocity)`` on one program (or one drum
kit on the percussion channel), rendered to mono float32 at ``SAMPLE_RATE``. Rendering is
deterministic: the same events give the same samples, whatever was rendered before.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

SAMPLE_RATE = 44_100
CLIP_S = 2.0

SOUNDFONTS: dict[str, tuple[str, ...]] = {
    "fluidr3": ("/usr/share/sounds/sf2/FluidR3_GM.sf2",),
    "timgm6mb": ("/usr/share/sounds/sf2/TimGM6mb.sf2",),
}
DEBIAN_PACKAGES: dict[str, str] = {  # package -> a file it installs
    "fluid-soundfont-gm": "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "timgm6mb-soundfont": "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "sonic-pi-samples": "/usr/share/sonic-pi/samples",
}
LICENCES = {
    "fluidr3": "FluidR3_GM.sf2 by Frank Wen, MIT licence (Debian fluid-soundfont-gm)",
    "timgm6mb": "TimGM6mb.sf2 by Tim Brechbill, GPL-2.0 (Debian timgm6mb-soundfont, also in the pretty_midi wheel)",
    "sonicpi": "Sonic Pi samples, CC0, from freesound.org (Debian sonic-pi-samples; per-sample links in its README.md)",
}
NOT_AVAILABLE = ("tinysoundfont is not installed: `pip install --no-deps tinysoundfont` "
                 "(--no-deps: it declares pyaudio, which the offline renderer does not need)")


def ensure_debian_packages(log=print) -> list[str]:
    """Install the Debian packages of the sources that are missing, when running as root with apt-get;
    returns the packages still missing afterwards."""
    missing = [pkg for pkg, path in DEBIAN_PACKAGES.items() if not Path(path).exists()]
    if missing and shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        log(f"installing Debian packages: {' '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        r = subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, check=False)
        if r.returncode != 0:
            log("warning: apt-get install failed")
    return [pkg for pkg, path in DEBIAN_PACKAGES.items() if not Path(path).exists()]


def find_soundfont(name: str) -> Path | None:
    for p in SOUNDFONTS[name]:
        if Path(p).is_file():
            return Path(p)
    if name == "timgm6mb" and importlib.util.find_spec("pretty_midi") is not None:
        spec = importlib.util.find_spec("pretty_midi")
        p = Path(spec.origin).parent / "TimGM6mb.sf2"
        if p.is_file():
            return p
    return None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tinysoundfont_available() -> bool:
    return importlib.util.find_spec("tinysoundfont") is not None


class SoundFontRenderer:
    """One loaded soundfont; ``render(events, program)`` -> mono float32 (``seconds`` long)."""

    def __init__(self, path: str | Path, sample_rate: int = SAMPLE_RATE):
        if not tinysoundfont_available():
            raise RuntimeError(NOT_AVAILABLE)
        import tinysoundfont

        self.sample_rate = int(sample_rate)
        self.path = Path(path)
        self.synth = tinysoundfont.Synth(samplerate=self.sample_rate)
        self.sfid = self.synth.sfload(str(self.path))

    def preset_name(self, bank: int, preset: int) -> str | None:
        return self.synth.sfpreset_name(self.sfid, bank, preset)

    def render(self, events: list[tuple[int, float, float, int]], program: int, *, drums: bool = False,
               seconds: float = CLIP_S) -> np.ndarray:
        s = self.synth
        chan = 9 if drums else 0
        s.sounds_off()
        s.program_select(chan, self.sfid, 128 if drums else 0, int(program), is_drums=drums)
        n = round(seconds * self.sample_rate)
        times: list[tuple[int, int, int, int]] = []  # (sample, order, key, velocity); note-offs first at a tie
        for key, start, length, vel in events:
            on = round(start * self.sample_rate)
            off = round((start + length) * self.sample_rate)
            times += [(on, 1, int(key), int(vel)), (off, 0, int(key), 0)]
        times.sort()
        out = np.zeros((n, 2), np.float32)
        pos = 0
        for t, kind, key, vel in times + [(n, 0, -1, 0)]:
            t = min(max(t, pos), n)
            if t > pos:
                out[pos:t] = np.frombuffer(s.generate(t - pos), dtype=np.float32).reshape(-1, 2)
                pos = t
            if key < 0:
                break
            if kind == 1 and t < n:
                s.noteon(chan, key, vel)
            elif kind == 0:
                s.noteoff(chan, key)
        s.sounds_off()
        return out.mean(axis=1)
