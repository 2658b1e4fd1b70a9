"""Synthesis engines. The Voice modular synth: ``params`` (the 78 parameters), ``voice`` (batched
renderer), ``patch`` (named, human-readable patches)."""

from .params import NUM_PARAMS, PARAM_INDEX, VOICE_PARAMS, ParamSpec
from .patch import Patch
from .voice import Voice

__all__ = ["NUM_PARAMS", "PARAM_INDEX", "VOICE_PARAMS", "ParamSpec", "Patch", "Voice"]
