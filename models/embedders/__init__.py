"""Text-audio embedders behind one interface; ``load_embedder`` picks one by name.

Names: ``lstmabar`` (the project's own model, ships with the package; the default) and ``clap``
(LAION-CLAP through transformers; ``clap:<hub id, folder or .pt file>`` picks the weights).
"""

from __future__ import annotations

from typing import Callable

from .base import Embedder, EmbedderUnavailable

# name -> "module:function"; loaded lazily so importing the registry stays cheap.
_LOADERS: dict[str, str] = {
    "lstmabar": "lstmabar.models.lstmabar.embedder:load_lstmabar_embedder",
    "clap": "lstmabar.models.clap.embedder:load_clap_embedder",
}


def available_embedders() -> list[str]:
    return sorted(_LOADERS)


def load_embedder(spec: str, *, device: str | None = None, allow_downloads: bool = False) -> Embedder:
    """Load an embedder by ``name`` or ``name:argument`` (e.g. ``clap:/models/630k-audioset-best.pt``)."""
    name, _, arg = spec.partition(":")
    if name not in _LOADERS:
        raise EmbedderUnavailable(f"Unknown embedder {name!r}; choose one of {', '.join(available_embedders())}.")
    module_name, func_name = _LOADERS[name].split(":")
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise EmbedderUnavailable(f"Embedder {name!r} is not installed in this build ({exc}).") from exc
    loader: Callable[..., Embedder] = getattr(module, func_name)
    return loader(arg or None, device=device, allow_downloads=allow_downloads)


__all__ = ["Embedder", "EmbedderUnavailable", "available_embedders", "load_embedder"]
