"""Sound briefs: the measurable demands of a prompt (pitch, brightness, noisiness, envelope, movement),
each with a range, a tolerance, a confidence and its source, absolute or relative to a start sound.
``parse_brief`` builds one; ``check`` judges a measured sound against a target; the search's penalty
lives in ``models.search.brief_fitness``."""

from .parse import crowd_brightness, parse_brief
from .targets import Brief, Target, check, distance

__all__ = ["Brief", "Target", "check", "crowd_brightness", "distance", "parse_brief"]
