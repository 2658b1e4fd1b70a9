"""A fresh interpreter imports every package module and transformers' CLAP and MiniLM classes
cleanly, though the torchaudio that torchcrepe brings is broken against the pinned torch: the one
shim in models/transformers_compat.py keeps transformers from touching it."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import importlib, pkgutil, sys
import lstmabar
names = [m.name for m in pkgutil.walk_packages(lstmabar.__path__, 'lstmabar.') if '.weights' not in m.name]
for name in names:
    importlib.import_module(name)
from lstmabar.models.transformers_compat import prepare_transformers
prepare_transformers()
from transformers import AutoModel, ClapModel
from transformers.audio_utils import mel_filter_bank
print('imported', len(names), 'modules')
"""


def test_fresh_interpreter_imports_cleanly():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "imported" in out.stdout
