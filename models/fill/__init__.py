"""Debris Fill: fill a masked part of a plate with texture (exemplar-based completion)."""

from .patchmatch import GENERATOR_VERSION, fill

__all__ = ["GENERATOR_VERSION", "fill"]
