"""Gradient-free search over synth parameters (CTAG): strategies, the search loop, diverse top-k."""

from .diverse import select_diverse
from .es import CMAES, SNES, STRATEGIES, RandomSearch, Strategy, make_strategy
from .loop import ParamSpace, SearchResult, SearchState, run_search

__all__ = [
    "CMAES",
    "SNES",
    "STRATEGIES",
    "ParamSpace",
    "RandomSearch",
    "SearchResult",
    "SearchState",
    "Strategy",
    "make_strategy",
    "run_search",
    "select_diverse",
]
