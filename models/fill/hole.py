"""Which pixels a fill fills: the one rule every Debris Fill model (the embedded default,
the adapters, the temporal modes) and the generated share in the ledger follow."""

from __future__ import annotations

import numpy as np

#: A pixel is hole where its mask is above this; elsewhere the plate's own pixels stay. A
#: softer mask edge changes the Fill pass, not the pixels.
HOLE_ABOVE = 0.5


def hole(mask) -> np.ndarray:
    """The hole of ``mask`` (H×W, 0–1) as booleans."""
    return np.asarray(mask) > HOLE_ABOVE
