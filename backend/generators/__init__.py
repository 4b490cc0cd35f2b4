"""The generators the worker knows, one module each: how a generator's frames (or shot)
are made from files. ``models/`` does the pixels; these modules do the files.

:mod:`.spec` says what a generator is (:class:`GeneratorSpec`), :mod:`.frames` holds
what they share (reading plate and mask, resizing, seeds, side files); :mod:`.fill`,
:mod:`.relight` and :mod:`.collapse` each define their ``SPEC``.
"""

from __future__ import annotations

from ...errors import BadInput
from . import collapse, fill, relight
from .spec import GeneratorSpec

GENERATORS: dict[str, GeneratorSpec] = {spec.name: spec for spec in (fill.SPEC, relight.SPEC, collapse.SPEC)}


def generator_spec(name: str) -> GeneratorSpec:
    try:
        return GENERATORS[name]
    except KeyError:
        raise BadInput(f"Unknown generator '{name}'", f"Known generators: {', '.join(GENERATORS)}.") from None


__all__ = ["GENERATORS", "GeneratorSpec", "generator_spec"]
