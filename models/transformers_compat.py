"""Make ``transformers`` importable here without touching torchaudio (the one place this is done).

transformers 5.x imports ``torchaudio`` from ``transformers.audio_utils`` whenever the package is
installed. torchaudio arrives with torchcrepe and is broken against the pinned torch (its C extension
fails to load with an OSError), which would make ``from transformers import ClapModel`` and MiniLM's
``AutoModel`` fail. Neither needs torchaudio (our log-mel front ends are written in torch), so before
transformers' audio utilities are first imported we tell transformers that torchaudio is unavailable.
This only changes transformers' optional torchaudio code paths (audio loading helpers, some
pipelines), never CLAP's or MiniLM's numerics.
"""

from __future__ import annotations

import sys

_DONE = False


def _no_torchaudio() -> bool:
    return False


def prepare_transformers() -> None:
    """Call before importing models from transformers (idempotent, cheap)."""
    global _DONE
    if _DONE:
        return
    if "transformers.audio_utils" not in sys.modules:
        import transformers.utils as tu
        import transformers.utils.import_utils as iu

        tu.is_torchaudio_available = _no_torchaudio  # type: ignore[assignment]
        iu.is_torchaudio_available = _no_torchaudio  # type: ignore[assignment]
    _DONE = True
