"""A Debris Fill job's parameters as the node and ``genvfx fill`` give them: how the shot
is treated (read back by :meth:`.temporal.TemporalOptions.split`) and the model's own
settings. The node and the CLI both build them here, so the same choices give the same
parameters, and so the same cache key."""

from __future__ import annotations

import re

from ...errors import BadInput
from .temporal import DEFAULT_KEY_INTERVAL, DEFAULT_MODE

_FRAME = re.compile(r"-?\d+")

#: How the embedded default carries a street's structure across the hole (see
#: :func:`genvfx.models.fill.patchmatch.fill`); the first is the default.
STRUCTURES = ("rays", "planes", "none")


def parse_key_frames(text: str | None) -> list[int]:
    """``"13, 1,25"`` → [1, 13, 25]: frame numbers separated by commas (spaces and empty
    parts are ignored); '' or None → [] (no key frames given)."""
    parts = [part.strip() for part in (text or "").split(",")]
    parts = [part for part in parts if part]
    if not all(_FRAME.fullmatch(part) for part in parts):
        raise BadInput(f"Cannot read the key frames '{text}'",
                       "Give frame numbers separated by commas, such as 1,13,25, or leave them out.")
    return sorted({int(part) for part in parts})


def job_params(temporal: str = DEFAULT_MODE, key_frames: str | None = "", key_interval: int | None = None,
               **settings) -> dict:
    """The fill's parameters. ``temporal``: 'propagate', 'carry', 'hold' or 'off', always written
    out so the cache key names the behaviour; ``key_frames``: text (see
    :func:`parse_key_frames`), which wins over ``key_interval``; ``key_interval``: a key
    every this many frames (None: the default, written only where propagation needs it).
    Neither applies to 'off' or 'carry'. ``settings``: the model's (patch_size, prompt, strength…),
    each written only when given (not None)."""
    params = {"temporal": temporal}
    params.update({name: value for name, value in settings.items() if value is not None})
    if temporal in ("off", "carry"):
        return params
    keys = parse_key_frames(key_frames)
    if keys:
        params["key_frames"] = keys
    elif temporal == "propagate" or key_interval is not None:
        params["key_interval"] = DEFAULT_KEY_INTERVAL if key_interval is None else int(key_interval)
    return params
