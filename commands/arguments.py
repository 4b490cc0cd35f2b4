"""Reading the comma-separated number options of the commands (``--light-dir 0.5,0.7,0.5``)."""

from __future__ import annotations

from ..errors import BadInput


def numbers(text: str | None, option: str, count: int, example: str) -> tuple[float, ...] | None:
    """``count`` numbers from ``text`` (None when the option was not given)."""
    if text is None:
        return None
    try:
        values = tuple(float(part) for part in text.replace(" ", "").split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        words = {2: "two", 3: "three"}.get(count, str(count))
        raise BadInput(f"Cannot read {option} '{text}'", f"Give {words} numbers, e.g. {option} {example}.")
    return values
