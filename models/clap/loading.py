"""Find and load LAION-CLAP weights, tokenizer and front-end settings, the ways users actually have them.

Accepted sources (``load_clap_embedder(arg)``; ``arg=None`` means ``$LSTMABAR_CLAP_PATH`` or else
``laion/clap-htsat-unfused``):

* a Hugging Face hub id (``laion/clap-htsat-unfused`` = the 630k-audioset-best weights CTAG and
  Text2FX used; ``laion/larger_clap_general``, ``laion/larger_clap_music``... = HTSAT-base). Offline it is
  read from the local Hugging Face cache only; downloads happen only when ``allow_downloads``
  (``LSTMABAR_ALLOW_DOWNLOADS=1``);
* a local folder in transformers format (``config.json`` + weights, ideally with the tokenizer files and
  ``preprocessor_config.json``);
* an original LAION checkpoint file (``630k-audioset-best.pt``, ``music_audioset_epoch_15_esc_90.14.pt``
  ...), converted on load by :mod:`lstmabar.models.clap.convert`.

Tokenizer, in this order, first one that passes :func:`tokenizer_check.check_tokenizer`: the model
folder / hub id itself, ``$LSTMABAR_CLAP_TOKENIZER`` (folder or hub id), tokenizer files next to a
``.pt`` file, the Hugging Face cache (``laion/clap-htsat-unfused``, ``FacebookAI/roberta-base``,
``roberta-base``) and, only when downloads are allowed, ``FacebookAI/roberta-base`` from the hub.

The optional ``laion-clap`` package is *not* used or required. Facts about it (laion-clap 1.1.7): it pins
``numpy<2`` (clashes with pennylane 0.45 here); it imports torchvision without declaring it, and the
registry's torchvision for torch 2.13 is a CUDA build that breaks imports on a CPU machine; and loading
its checkpoints with recent transformers needs a patch because ``text_branch.embeddings.position_ids``
is no longer a persistent RobertaModel buffer (laion-clap deletes that key before ``load_state_dict``).
Our converter handles all three by not importing laion-clap at all.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..embedders.base import EmbedderUnavailable
from lstmabar.models.transformers_compat import prepare_transformers
from .audio import FrontEndSettings
from .tokenizer_check import DegenerateTokenizer, check_tokenizer

DEFAULT_HUB_ID = "laion/clap-htsat-unfused"
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")
TOKENIZER_FALLBACKS = ("laion/clap-htsat-unfused", "FacebookAI/roberta-base", "roberta-base")


@dataclass
class LoadedClap:
    model: Any  # transformers.ClapModel, eval mode
    tokenizer: Any
    settings: FrontEndSettings
    source: str
    tokenizer_source: str
    notes: list[str] = field(default_factory=list)


def _where_to_put(spec: str) -> str:
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME", str(Path.home() / ".cache" / "huggingface")) + "/hub"
    slug = "models--" + spec.replace("/", "--")
    return (
        f"LAION-CLAP model {spec!r} is not available offline. Either put it in the Hugging Face cache "
        f"({cache}/{slug}; e.g. run `huggingface-cli download {spec}` where there is network and copy that folder), "
        "or set LSTMABAR_CLAP_PATH to a local folder in transformers format (config.json, model.safetensors, "
        "tokenizer files, preprocessor_config.json) or to an original LAION checkpoint such as "
        "630k-audioset-best.pt (a tokenizer is then also needed: LSTMABAR_CLAP_TOKENIZER or roberta-base in the cache), "
        "or allow downloads with LSTMABAR_ALLOW_DOWNLOADS=1."
    )


def _looks_like_hub_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not spec.startswith((".", "/", "~"))


def _has_tokenizer_files(folder: Path) -> bool:
    return (folder / "tokenizer.json").is_file() or ((folder / "vocab.json").is_file() and (folder / "merges.txt").is_file())


def _load_tokenizer(name_or_path: str, *, local_only: bool):
    prepare_transformers()
    from transformers import AutoTokenizer

    errors = []
    try:
        return AutoTokenizer.from_pretrained(name_or_path, local_files_only=local_only)
    except Exception as exc:  # folder with bare vocab/merges files has no tokenizer_config.json
        errors.append(f"{type(exc).__name__}: {exc}")
    try:
        from transformers import RobertaTokenizer

        return RobertaTokenizer.from_pretrained(name_or_path, local_files_only=local_only)
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    raise OSError("; ".join(e.splitlines()[0][:200] for e in errors))


def find_tokenizer(candidates: list[tuple[str, bool]]) -> tuple[Any, str, list[str]]:
    """First candidate (name_or_path, local_only) that loads and passes the degenerate-tokenizer check."""
    tried: list[str] = []
    for cand, local_only in candidates:
        try:
            tok = _load_tokenizer(cand, local_only=local_only)
        except Exception as exc:
            tried.append(f"{cand}: not loadable ({str(exc)[:160]})")
            continue
        try:
            check_tokenizer(tok, where=f" from {cand}")
        except DegenerateTokenizer as exc:
            tried.append(f"{cand}: refused ({str(exc).split(':')[0]})")
            continue
        return tok, cand, tried
    degenerate = any("refused" in t for t in tried)
    cls = DegenerateTokenizer if degenerate else EmbedderUnavailable
    raise cls(
        "No usable RoBERTa tokenizer for LAION-CLAP. Tried: " + "; ".join(tried) + ". "
        "Set LSTMABAR_CLAP_TOKENIZER to a folder with the tokenizer files of laion/clap-htsat-unfused or "
        "roberta-base (tokenizer.json, or vocab.json + merges.txt), or allow downloads (LSTMABAR_ALLOW_DOWNLOADS=1)."
    )


def _tokenizer_candidates(first: list[str], *, allow_downloads: bool, local_first_only: bool) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = [(c, local_first_only) for c in first]
    env = os.environ.get("LSTMABAR_CLAP_TOKENIZER")
    if env:
        out.append((env, not allow_downloads))
    out += [(c, True) for c in TOKENIZER_FALLBACKS]
    if allow_downloads:
        out.append(("FacebookAI/roberta-base", False))
    seen, uniq = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            uniq.append(c)
    return uniq


def _settings_from(folder_or_id: str | None, model, *, local_only: bool) -> tuple[FrontEndSettings, str]:
    fusion = bool(getattr(model.config.audio_config, "enable_fusion", False))
    if folder_or_id is not None:
        path = Path(folder_or_id)
        try:
            if path.is_dir():
                f = path / "preprocessor_config.json"
                if f.is_file():
                    return FrontEndSettings.from_feature_extractor_dict(json.loads(f.read_text()), fusion=fusion), str(f)
            else:
                prepare_transformers()
                from transformers import ClapFeatureExtractor

                fe = ClapFeatureExtractor.from_pretrained(folder_or_id, local_files_only=local_only)
                return FrontEndSettings.from_feature_extractor_dict(fe.to_dict(), fusion=fusion), f"{folder_or_id} feature extractor"
        except Exception:
            pass
    # LAION's own audio config for every released HTS-AT checkpoint: 48 kHz, 1024/480, 64 mels, 50-14000 Hz.
    return FrontEndSettings(fusion=fusion), "LAION-CLAP defaults (48 kHz, n_fft 1024, hop 480, 64 mels, 50-14000 Hz)"


def load_clap(spec: str | None, *, allow_downloads: bool = False) -> LoadedClap:
    prepare_transformers()
    from transformers import ClapModel

    spec = spec or os.environ.get("LSTMABAR_CLAP_PATH") or DEFAULT_HUB_ID
    path = Path(spec).expanduser()
    if path.is_file():
        if path.suffix.lower() not in CHECKPOINT_SUFFIXES:
            raise EmbedderUnavailable(
                f"{path} is a file but not a LAION-CLAP checkpoint ({', '.join(CHECKPOINT_SUFFIXES)}); pass a .pt file, "
                "a transformers-format folder or a hub id."
            )
        from .convert import load_laion_checkpoint

        model = load_laion_checkpoint(path)
        first = [str(path.parent)] if _has_tokenizer_files(path.parent) else []
        tok, tok_src, tried = find_tokenizer(_tokenizer_candidates(first, allow_downloads=allow_downloads, local_first_only=True))
        settings, s_src = _settings_from(str(path.parent) if (path.parent / "preprocessor_config.json").is_file() else None, model, local_only=True)
        return LoadedClap(model, tok, settings, f"LAION checkpoint {path} (converted)", tok_src, [s_src, *tried])
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise EmbedderUnavailable(
                f"{path} has no config.json: a CLAP folder must be in transformers format (save_pretrained / "
                "huggingface-cli download output); for an original LAION .pt checkpoint pass the file itself."
            )
        try:
            model = ClapModel.from_pretrained(str(path), local_files_only=True).eval()
        except Exception as exc:
            raise EmbedderUnavailable(f"Could not load a ClapModel from {path}: {exc}") from exc
        tok, tok_src, tried = find_tokenizer(_tokenizer_candidates([str(path)], allow_downloads=allow_downloads, local_first_only=True))
        settings, s_src = _settings_from(str(path), model, local_only=True)
        return LoadedClap(model, tok, settings, f"folder {path}", tok_src, [s_src, *tried])
    if not _looks_like_hub_id(spec):
        raise EmbedderUnavailable(
            f"CLAP source {spec!r} is neither an existing file or folder nor a hub id like 'laion/clap-htsat-unfused'."
        )
    local_only = not allow_downloads
    try:
        model = ClapModel.from_pretrained(spec, local_files_only=local_only).eval()
    except Exception as exc:
        if local_only:
            raise EmbedderUnavailable(_where_to_put(spec)) from exc
        raise EmbedderUnavailable(f"Could not download/load {spec!r}: {exc}") from exc
    tok, tok_src, tried = find_tokenizer(_tokenizer_candidates([spec], allow_downloads=allow_downloads, local_first_only=local_only))
    settings, s_src = _settings_from(spec, model, local_only=local_only)
    return LoadedClap(model, tok, settings, f"hub {spec}", tok_src, [s_src, *tried])
