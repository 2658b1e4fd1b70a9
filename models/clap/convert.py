"""Convert an original LAION-CLAP checkpoint (``630k-audioset-best.pt``, ``music_audioset_epoch_15_esc_90.14.pt``
...) to transformers' ``ClapModel`` layout, without the ``laion_clap`` package.

The LAION layout (``laion_clap.clap_module.model.CLAP`` with an HTS-AT audio branch and a RoBERTa text
branch), after stripping a ``module.`` prefix and unwrapping ``{"state_dict": ...}``:

=====================================================  ==================================================
LAION key                                              transformers key
=====================================================  ==================================================
``audio_branch.bn0.*``                                 ``audio_model.audio_encoder.batch_norm.*``
``audio_branch.patch_embed.*``                         ``audio_model.audio_encoder.patch_embed.*``
``audio_branch.layers.I.blocks.J.norm1.*``             ``....layers.I.blocks.J.layernorm_before.*``
``audio_branch.layers.I.blocks.J.attn.qkv.*``          ``....attention.self.{query,key,value}.*`` (split in 3)
``audio_branch.layers.I.blocks.J.attn.proj.*``         ``....attention.output.dense.*``
``audio_branch.layers.I.blocks.J.attn.relative_*``     ``....attention.self.relative_*``
``audio_branch.layers.I.blocks.J.norm2.*``             ``....layernorm_after.*``
``audio_branch.layers.I.blocks.J.mlp.fc1/fc2.*``       ``....intermediate.dense.*`` / ``....output.dense.*``
``audio_branch.layers.I.downsample.*``, ``.norm.*``     same names under ``audio_model.audio_encoder``
``audio_projection.0/2.*``, ``text_projection.0/2.*``  ``*_projection.linear1/linear2.*``
``text_branch.*`` (a RobertaModel)                     ``text_model.*``
``logit_scale_a``, ``logit_scale_t``                   same
=====================================================  ==================================================

Dropped on purpose (not used to compute embeddings): the torchlibrosa front end
(``audio_branch.spectrogram_extractor.*``, ``audio_branch.logmel_extractor.*`` -- our front end is
:mod:`lstmabar.models.clap.audio`), the AudioSet classifier head (``audio_branch.tscam_conv.*``,
``audio_branch.head.*``), the precomputed shifted-window masks (``*.attn_mask``, recomputed by
transformers) and the training-only MLPs ``audio_transform.*`` / ``text_transform.*``. Any other key that
does not map, and any transformers weight left without a value, is an error: a conversion never
silently drops or misnames a weight. Buffers transformers recomputes itself (``position_ids``,
``token_type_ids``) are taken from the fresh model when the checkpoint lacks them (laion-clap 1.1.7
deletes ``text_branch.embeddings.position_ids`` on load for the same reason).

The architecture is read from the weights (embed dim, depths, heads, window, fusion, vocabulary...),
so HTSAT-tiny (630k-*, embed 96, depths 2-2-6-2) and HTSAT-base (music_*, embed 128, depths 2-2-12-2)
checkpoints both convert. Only RoBERTa text branches (every released LAION-CLAP checkpoint) are supported.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from ..embedders.base import EmbedderUnavailable
from lstmabar.models.transformers_compat import prepare_transformers

# LAION prefixes whose weights are not needed for embeddings (see module docstring).
DROPPED_PREFIXES = (
    "audio_branch.spectrogram_extractor.",
    "audio_branch.logmel_extractor.",
    "audio_branch.tscam_conv.",
    "audio_branch.head.",
    "audio_transform.",
    "text_transform.",
)
DROPPED_SUFFIXES = (".attn_mask",)
# transformers keys that may be absent from a LAION checkpoint because transformers can rebuild them.
REBUILDABLE_HF_KEYS = re.compile(r"^text_model\.embeddings\.(position_ids|token_type_ids)$")

_BLOCK_RENAMES = (
    (".norm1.", ".layernorm_before."),
    (".norm2.", ".layernorm_after."),
    (".attn.proj.", ".attention.output.dense."),
    (".attn.relative_position_bias_table", ".attention.self.relative_position_bias_table"),
    (".attn.relative_position_index", ".attention.self.relative_position_index"),
    (".mlp.fc1.", ".intermediate.dense."),
    (".mlp.fc2.", ".output.dense."),
)
_PROJ = {"0": "linear1", "2": "linear2"}


class ConversionError(EmbedderUnavailable):
    """The checkpoint does not convert cleanly (unknown keys, missing weights, unsupported branch)."""


def unwrap_checkpoint(obj: Any) -> dict[str, torch.Tensor]:
    """The raw LAION state dict from a loaded ``.pt`` (``{"state_dict": ...}``, ``module.`` prefixes)."""
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise ConversionError(f"Not a LAION-CLAP checkpoint: expected a state dict, got {type(obj).__name__}.")
    sd = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module.") :]: v for k, v in sd.items()}
    return sd


def is_laion_state_dict(sd: Mapping[str, Any]) -> bool:
    return any(k.startswith("audio_branch.") for k in sd) and any(k.startswith("text_branch.") for k in sd)


def _is_dropped(key: str) -> bool:
    return key.startswith(DROPPED_PREFIXES) or key.endswith(DROPPED_SUFFIXES)


def laion_to_hf_state_dict(sd: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """Rename/split LAION keys. Returns (hf_state_dict, dropped_keys, unmapped_keys)."""
    out: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    unmapped: list[str] = []
    for key, value in sd.items():
        if _is_dropped(key):
            dropped.append(key)
            continue
        if key in ("logit_scale_a", "logit_scale_t"):
            out[key] = value
        elif key.startswith("text_branch."):
            out["text_model." + key[len("text_branch.") :]] = value
        elif m := re.fullmatch(r"(audio|text)_projection\.(\d+)\.(weight|bias)", key):
            if m.group(2) not in _PROJ:
                unmapped.append(key)
                continue
            out[f"{m.group(1)}_projection.{_PROJ[m.group(2)]}.{m.group(3)}"] = value
        elif key.startswith("audio_branch."):
            rest = key[len("audio_branch.") :]
            if rest.startswith("bn0."):
                out["audio_model.audio_encoder.batch_norm." + rest[len("bn0.") :]] = value
            elif rest.startswith("patch_embed.") or rest.startswith("norm."):
                out["audio_model.audio_encoder." + rest] = value
            elif m := re.fullmatch(r"layers\.(\d+)\.downsample\.(reduction|norm)\.(weight|bias)", rest):
                out["audio_model.audio_encoder." + rest] = value
            elif m := re.fullmatch(r"layers\.(\d+)\.blocks\.(\d+)\.attn\.qkv\.(weight|bias)", rest):
                prefix = f"audio_model.audio_encoder.layers.{m.group(1)}.blocks.{m.group(2)}.attention.self"
                if value.shape[0] % 3:
                    unmapped.append(key)
                    continue
                q, k, v = value.chunk(3, dim=0)
                out[f"{prefix}.query.{m.group(3)}"] = q.clone()
                out[f"{prefix}.key.{m.group(3)}"] = k.clone()
                out[f"{prefix}.value.{m.group(3)}"] = v.clone()
            elif re.match(r"layers\.\d+\.blocks\.\d+\.", rest):
                new = "." + rest
                for old, repl in _BLOCK_RENAMES:
                    new = new.replace(old, repl)
                if new == "." + rest:
                    unmapped.append(key)
                    continue
                out["audio_model.audio_encoder" + new] = value
            else:
                unmapped.append(key)
        else:
            unmapped.append(key)
    return out, dropped, unmapped


def hf_to_laion_state_dict(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse renaming (transformers -> LAION layout); used by tests to fabricate LAION checkpoints."""
    out: dict[str, torch.Tensor] = {}
    qkv: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        if key in ("logit_scale_a", "logit_scale_t"):
            out[key] = value
        elif key.startswith("text_model."):
            if REBUILDABLE_HF_KEYS.match(key) and key.endswith("token_type_ids"):
                continue  # never stored by LAION checkpoints
            out["text_branch." + key[len("text_model.") :]] = value
        elif m := re.fullmatch(r"(audio|text)_projection\.linear([12])\.(weight|bias)", key):
            out[f"{m.group(1)}_projection.{0 if m.group(2) == '1' else 2}.{m.group(3)}"] = value
        elif key.startswith("audio_model.audio_encoder."):
            rest = key[len("audio_model.audio_encoder.") :]
            if rest.startswith("batch_norm."):
                out["audio_branch.bn0." + rest[len("batch_norm.") :]] = value
            elif m := re.fullmatch(r"(layers\.\d+\.blocks\.\d+)\.attention\.self\.(query|key|value)\.(weight|bias)", rest):
                qkv.setdefault((m.group(1), m.group(3)), {})[m.group(2)] = value
            elif re.match(r"layers\.\d+\.blocks\.\d+\.", rest):
                new = "." + rest
                for old, repl in _BLOCK_RENAMES:
                    new = new.replace(repl, old)
                out["audio_branch" + new] = value
            else:
                out["audio_branch." + rest] = value
        else:
            raise KeyError(f"unexpected transformers key {key}")
    for (block, kind), parts in qkv.items():
        out[f"audio_branch.{block}.attn.qkv.{kind}"] = torch.cat([parts["query"], parts["key"], parts["value"]], 0)
    return out


def config_from_laion_state_dict(sd: Mapping[str, torch.Tensor]):
    """Infer a transformers ``ClapConfig`` from LAION weights (HTS-AT audio branch, RoBERTa text branch)."""
    prepare_transformers()
    from transformers import ClapConfig

    def need(key: str) -> torch.Tensor:
        if key not in sd:
            raise ConversionError(
                f"Checkpoint lacks {key!r}; only LAION-CLAP checkpoints with an HTS-AT audio branch and a RoBERTa "
                "text branch (e.g. 630k-audioset-best.pt, music_audioset_epoch_15_esc_90.14.pt) are supported."
            )
        return sd[key]

    proj = need("audio_branch.patch_embed.proj.weight")  # (embed_dim, in_ch*(4 if channel_map), p, p)
    embed_dim, in_ch, patch_h, patch_w = proj.shape
    layer_ids = sorted({int(m.group(1)) for k in sd if (m := re.match(r"audio_branch\.layers\.(\d+)\.", k))})
    depths, heads = [], []
    window = None
    for i in layer_ids:
        # count blocks by a real weight (stray buffers such as attn_mask must not add blocks)
        blocks = sorted({int(m.group(1)) for k in sd if (m := re.fullmatch(rf"audio_branch\.layers\.{i}\.blocks\.(\d+)\.norm1\.weight", k))})
        depths.append(len(blocks))
        table = need(f"audio_branch.layers.{i}.blocks.0.attn.relative_position_bias_table")
        heads.append(int(table.shape[1]))
        window = int(round((math.isqrt(int(table.shape[0])) + 1) / 2))
    n_mels = int(need("audio_branch.bn0.weight").shape[0])
    fusion = "audio_branch.patch_embed.mel_conv2d.weight" in sd
    fusion_type = None
    if fusion:
        if "audio_branch.patch_embed.fusion_model.local_att.0.weight" not in sd:
            raise ConversionError("Only the 'aff_2d' fusion of LAION-CLAP fused checkpoints is supported.")
        fusion_type = "aff_2d"
        aff_r = embed_dim // int(sd["audio_branch.patch_embed.fusion_model.local_att.0.weight"].shape[0])
    else:
        aff_r = 4
    a_proj = need("audio_projection.0.weight")
    projection_dim = int(a_proj.shape[0])
    audio_hidden = int(a_proj.shape[1])
    mlp_hidden = int(need("audio_branch.layers.0.blocks.0.mlp.fc1.weight").shape[0])

    word = need("text_branch.embeddings.word_embeddings.weight")
    vocab, hidden = word.shape
    text_layers = len({int(m.group(1)) for k in sd if (m := re.match(r"text_branch\.encoder\.layer\.(\d+)\.", k))})
    if not text_layers or "text_branch.pooler.dense.weight" not in sd:
        raise ConversionError("Unsupported LAION-CLAP text branch: expected a RoBERTa model (text_branch.encoder.layer.*).")
    inter = int(need("text_branch.encoder.layer.0.intermediate.dense.weight").shape[0])
    max_pos = int(need("text_branch.embeddings.position_embeddings.weight").shape[0])
    type_vocab = int(sd["text_branch.embeddings.token_type_embeddings.weight"].shape[0]) if "text_branch.embeddings.token_type_embeddings.weight" in sd else 1
    text_heads = max(1, int(hidden) // 64)  # RoBERTa: 64-dimensional heads (roberta-base: 12)

    audio_config = dict(
        patch_embeds_hidden_size=int(embed_dim),
        depths=depths,
        num_attention_heads=heads,
        window_size=window or 8,
        hidden_size=audio_hidden,
        num_mel_bins=n_mels,
        spec_size=256,
        patch_size=int(patch_h),
        patch_stride=[int(patch_h), int(patch_w)],
        mlp_ratio=mlp_hidden / embed_dim,
        enable_fusion=fusion,
        fusion_type=fusion_type,
        aff_block_r=aff_r,
        projection_dim=projection_dim,
        patch_embed_input_channels=1,
    )
    text_config = dict(
        vocab_size=int(vocab),
        hidden_size=int(hidden),
        num_hidden_layers=text_layers,
        num_attention_heads=text_heads,
        intermediate_size=inter,
        max_position_embeddings=max_pos,
        layer_norm_eps=1e-5,  # RobertaModel (roberta-base), which LAION-CLAP's text branch is
        type_vocab_size=type_vocab,
        projection_dim=projection_dim,
    )
    return ClapConfig(text_config=text_config, audio_config=audio_config, projection_dim=projection_dim)


def convert_laion_state_dict(sd: Mapping[str, torch.Tensor], config=None):
    """Build a ``ClapModel`` (eval mode) holding the LAION weights. Raises ConversionError on any mismatch."""
    prepare_transformers()
    from transformers import ClapModel

    sd = unwrap_checkpoint(sd)
    if not is_laion_state_dict(sd):
        raise ConversionError(
            "This file is not an original LAION-CLAP checkpoint (no audio_branch.*/text_branch.* weights)."
        )
    config = config or config_from_laion_state_dict(sd)
    model = ClapModel(config).eval()
    target = model.state_dict()
    hf_sd, _dropped, unmapped = laion_to_hf_state_dict(sd)
    unexpected = sorted(set(hf_sd) - set(target))
    missing = sorted(k for k in set(target) - set(hf_sd) if not REBUILDABLE_HF_KEYS.match(k))
    bad_shape = sorted(k for k in set(hf_sd) & set(target) if tuple(hf_sd[k].shape) != tuple(target[k].shape))
    problems = []
    if unmapped:
        problems.append(f"{len(unmapped)} LAION keys with no transformers equivalent (e.g. {unmapped[:3]})")
    if unexpected:
        problems.append(f"{len(unexpected)} renamed keys unknown to ClapModel (e.g. {unexpected[:3]})")
    if missing:
        problems.append(f"{len(missing)} ClapModel weights missing from the checkpoint (e.g. {missing[:3]})")
    if bad_shape:
        problems.append(f"{len(bad_shape)} shape mismatches (e.g. {bad_shape[:3]})")
    if problems:
        raise ConversionError("LAION-CLAP checkpoint does not convert cleanly: " + "; ".join(problems) + ".")
    merged = {k: hf_sd.get(k, target[k]) for k in target}
    model.load_state_dict(merged, strict=True)
    return model


def load_laion_checkpoint(path: str | Path):
    """``torch.load`` an original LAION ``.pt`` file and convert it; returns an eval-mode ``ClapModel``."""
    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        # Some training checkpoints pickle extra objects (argparse namespaces, numpy scalars). Unpickling
        # those runs arbitrary code, so it is only done when the user says the file is trusted.
        if os.environ.get("LSTMABAR_CLAP_TRUST_PICKLE", "").lower() not in {"1", "true", "yes"}:
            raise ConversionError(
                f"Could not read {path} with torch.load(weights_only=True) ({exc}). If you trust this file, set "
                "LSTMABAR_CLAP_TRUST_PICKLE=1 to allow a full unpickle, or re-save just its state_dict."
            ) from exc
        obj = torch.load(path, map_location="cpu", weights_only=False)
    return convert_laion_state_dict(unwrap_checkpoint(obj))
