"""Gradient-free search (synth parameters for CTAG, effect settings for optimize_fx): strategies, the loop, diverse top-k."""

from .diverse import select_diverse
from .es import CMAES, SNES, STRATEGIES, RandomSearch, Strategy, make_strategy
from .loop import ParamSpace, SearchResult, SearchState, StopSearch, run_search

__all__ = [
    "CMAES",
    "SNES",
    "STRATEGIES",
    "ParamSpace",
    "RandomSearch",
    "SearchResult",
    "SearchState",
    "StopSearch",
    "Strategy",
    "make_strategy",
    "run_search",
    "select_diverse",
]
