"""Debris Fill along the vanishing rays of a street.

In a street seen in one-point perspective the lines that run along the street (kerb, the
pavement's edges, the shopfront's base, the fascia, window rows, road markings) all meet
at the vanishing point, so each ray from that point stays on one such line: what the hole
hides on a ray is what the ray shows either side of the hole. Each hole pixel is therefore
filled from the known pixels on its own ray, on both sides: the median of the known
samples in the first :data:`_SAMPLES` steps beyond the hole each way (a thin mullion or a stray
highlight at the hole's edge does not streak across), blended by distance, so a kerb or a
shop band that enters the hole on one side leaves it on the other, at the right slope.

What runs across the rays is not carried by them. On a facade (seen by a level camera)
that is mostly vertical lines (mullions, pillars, window edges), so there the detail the
facade shows just above the hole in each column is carried down the column,
as far as the ray fill stays the same material. Paving joints are not continued: the
ground is smooth along the rays. Where neither side of a ray has a known pixel
(both run out of the frame), the hole is closed by a smooth interpolation of what is around.

numpy and OpenCV only; the same inputs give the same bytes.
"""

from __future__ import annotations

import math

import numpy as np

from .temporal import pull_push

_SAMPLES = 9            # steps along the ray sampled beyond each side of the hole
_STEP = 1.0 / 300.0     # the step along a ray, × the frame's diagonal (at least one pixel)
_CONTRAST = (0.1, 0.3)  # display-encoded difference of the two sides: below, blended by distance; above, ...
_SWITCH = 0.1           # ... a switch at the middle, eased over this × the chord each side
_DETAIL_ROWS = 3        # rows above the hole's edge a column's vertical detail is taken from (where known)
_DETAIL_LIKENESS = 0.08 # display-encoded: the detail fades as the ray fill differs from its source's by this
_MARGIN = 1             # known pixels this close to the hole are not taken (the mask's soft edge)


def fill_along_rays(plate: np.ndarray, hole: np.ndarray, vanishing_point: tuple[float, float],
                    facade: np.ndarray | None = None) -> np.ndarray:
    """``plate`` (H×W×C float32) with its ``hole`` pixels (H×W bool) filled along the rays
    from ``vanishing_point`` (x, y in pixels; may lie outside the frame, not in the hole).
    ``facade`` (H×W bool, optional): where the plate is a facade, whose vertical lines
    (mullions, pillars) are carried down into the hole (:func:`_vertical_detail`)."""
    out = plate.copy()
    if not hole.any():
        return out
    height, width = hole.shape
    step = max(1.0, math.hypot(width, height) * _STEP)
    window = _window(hole, step)
    if window is None:
        return _fill_window(out, hole, vanishing_point, facade, step)
    rows, columns = window
    x_v, y_v = vanishing_point
    out[rows, columns] = _fill_window(out[rows, columns].copy(), hole[rows, columns],
                                      (x_v - columns.start, y_v - rows.start),
                                      None if facade is None else facade[rows, columns], step)
    return out


def _window(hole: np.ndarray, step: float) -> tuple[slice, slice] | None:
    """The part of the frame a fill along the rays reads (the hole's box grown by the
    farthest sample it can take beyond the hole), when that is well under the whole frame:
    a small hole (the few pixels a carried shot exposes) is filled in its window with the
    same result, without passes over the whole frame. None: the whole frame."""
    height, width = hole.shape
    ys, xs = np.nonzero(hole.any(axis=1))[0], np.nonzero(hole.any(axis=0))[0]
    reach = int(math.ceil(_MARGIN + 2 + (_SAMPLES + 2) * step + _DETAIL_ROWS))
    rows = slice(max(0, ys[0] - reach), min(height, ys[-1] + reach + 1))
    columns = slice(max(0, xs[0] - reach), min(width, xs[-1] + reach + 1))
    if (rows.stop - rows.start) * (columns.stop - columns.start) > 0.5 * height * width:
        return None
    return rows, columns


def _fill_window(out, hole, vanishing_point, facade, step):
    """:func:`fill_along_rays` of ``out`` (a copy of the plate, or of a window of it)."""
    import cv2

    plate = out.copy()
    height, width = hole.shape
    size = 2 * _MARGIN + 1
    known = ~(cv2.dilate(hole.astype(np.uint8), np.ones((size, size), np.uint8)) > 0)
    ys, xs = np.nonzero(hole)
    direction = np.stack([xs - vanishing_point[0], ys - vanishing_point[1]], -1).astype(np.float64)
    direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-9)
    distance = cv2.distanceTransform((~known).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    outward = _ray_side(plate, known, distance, ys, xs, direction * step)
    inward = _ray_side(plate, known, distance, ys, xs, -direction * step)
    (t_out, c_out), (t_in, c_in) = outward, inward
    has_out, has_in = np.isfinite(t_out), np.isfinite(t_in)
    both = has_out & has_in
    weight = np.where(both, _blend(t_out, t_in, c_out, c_in), has_out.astype(np.float64))
    values = c_out * weight[:, None] + c_in * (1.0 - weight[:, None])
    values = np.where(has_out[:, None] & ~has_in[:, None], c_out, values)
    values = np.where(has_in[:, None] & ~has_out[:, None], c_in, values)
    reached = has_out | has_in
    out[ys[reached], xs[reached]] = values[reached].astype(out.dtype)
    if facade is not None:
        _vertical_detail(out, plate, hole, known, facade, vanishing_point, step)
    if not reached.all():
        rest = np.zeros_like(hole)
        rest[ys[~reached], xs[~reached]] = True
        smooth = pull_push(out, ~rest)
        out[rest] = smooth[rest]
    return out


def _vertical_detail(out, plate, hole, known, facade, vanishing_point, step):
    """Add to ``out``'s facade hole pixels the vertical lines the facade shows just above the
    hole in their column. On a facade seen by a level camera, mullions, pillars
    and window edges are vertical in the image and run the height of their band, while the
    rays only carry what runs along the street. So per column, the detail of the few known
    facade pixels beyond the hole's edge (the plate less its median along the ray, what the
    rays cannot give) is added down the column, weighed by how alike the ray fill there is to
    the ray-smoothed value at the source (same band: the glass; another band, the shop's
    base, gets none). Only from above: what stands on the ground has facade above it and
    ground below, and a facade label can reach a little way onto the pavement, whose kerb
    lines are no mullions."""
    height, width = hole.shape
    columns = np.flatnonzero((hole & facade).any(axis=0))
    if not len(columns):
        return
    top = np.argmax(hole[:, columns], axis=0)                 # the hole's top edge, per column
    ys, xs = np.nonzero(hole & facade)
    slot = np.searchsorted(columns, xs)
    rows = top[:, None] - np.arange(1, _DETAIL_ROWS + 1)[None, :]
    inside = rows >= 0
    rows = np.clip(rows, 0, height - 1)
    cols = np.broadcast_to(columns[:, None], rows.shape)
    usable = inside & known[rows, cols] & facade[rows, cols]
    smooth = np.zeros(rows.shape + (plate.shape[2],), np.float32)
    smooth[usable] = _along_ray(plate, known, rows[usable], cols[usable], vanishing_point, step)
    found = usable.any(axis=1)
    residual = np.where(found[:, None], _median_where(plate[rows, cols] - smooth, usable), 0.0)
    reference = np.where(found[:, None], _median_where(smooth, usable), 0.0)
    difference = np.abs(_display(out[ys, xs]) - _display(reference[slot])).max(axis=1)
    weight = np.where(found[slot], np.exp(-(difference / _DETAIL_LIKENESS) ** 2), 0.0)
    out[ys, xs] = out[ys, xs] + (residual[slot] * weight[:, None]).astype(np.float32)


def _along_ray(plate, known, ys, xs, vanishing_point, step):
    """The median of the known samples within :data:`_SAMPLES` steps either way along the
    ray through each point: the plate smoothed along the rays."""
    height, width = known.shape
    direction = np.stack([xs - vanishing_point[0], ys - vanishing_point[1]], -1).astype(np.float64)
    direction /= np.maximum(np.linalg.norm(direction, axis=-1, keepdims=True), 1e-9)
    t = np.arange(-_SAMPLES, _SAMPLES + 1) * step
    xi, yi, inside = _pixels_at(xs[:, None], ys[:, None], t[None, :] * direction[:, :1],
                                t[None, :] * direction[:, 1:], width, height)
    usable = inside & known[yi, xi]
    usable[:, _SAMPLES] = True  # the point itself is known
    return _median_where(plate[yi, xi], usable)


def _blend(t_out, t_in, c_out, c_in):
    """The weight of the outward side: by distance (the nearer side weighs more), eased into a
    switch where the two sides are different materials (a red fascia one side, a blue one the
    other: their blend is a colour neither shows), sharper the more they differ."""
    linear = t_in / np.maximum(t_out + t_in, 1e-9)
    contrast = np.abs(_display(c_out) - _display(c_in)).max(axis=1)
    half = np.interp(contrast, _CONTRAST, (0.5, _SWITCH))
    return np.clip((linear - 0.5) / (2.0 * half) + 0.5, 0.0, 1.0)


def _ray_side(plate, known, distance, ys, xs, delta):
    """Marching from each hole pixel by ``delta`` per step: the distance (steps) to the first
    known sample (inf: none before the frame's edge) and the median of the known samples
    among the :data:`_SAMPLES` steps from there. Across the hole the march jumps by
    ``distance`` (each hole pixel's distance to the nearest known pixel: no known pixel can
    lie closer), so it reaches the far side in a few steps."""
    height, width = known.shape
    n = len(ys)
    first = np.full(n, np.inf, np.float32)
    travelled = np.zeros(n, np.float32)                   # in steps
    length = float(np.hypot(delta[0, 0], delta[0, 1])) if n else 1.0
    dx, dy = delta[:, 0].astype(np.float32), delta[:, 1].astype(np.float32)
    active = np.arange(n)
    while len(active):
        xi, yi, _ = _pixels_at(xs[active], ys[active], travelled[active] * dx[active],
                               travelled[active] * dy[active], width, height)
        travelled[active] += np.maximum(np.floor(distance[yi, xi] / length), 1.0)
        xi, yi, inside = _pixels_at(xs[active], ys[active], travelled[active] * dx[active],
                                    travelled[active] * dy[active], width, height)
        hit = inside & known[yi, xi]
        first[active[hit]] = travelled[active[hit]]
        active = active[inside & ~hit]
    found = np.flatnonzero(np.isfinite(first))
    steps = first[found, None] + np.arange(_SAMPLES, dtype=np.float32)[None, :]
    xi, yi, inside = _pixels_at(xs[found, None], ys[found, None], steps * dx[found, None], steps * dy[found, None],
                                width, height)
    usable = inside & known[yi, xi]
    values = np.zeros((n, plate.shape[2]), np.float32)
    values[found] = _median_where(plate[yi, xi], usable)
    return first, values


def _display(colours: np.ndarray) -> np.ndarray:
    """RGB of N×C linear colours, clipped and display-encoded (what the likeness thresholds
    are in)."""
    return np.clip(colours[..., :3], 0.0, 1.0) ** (1 / 2.2)


def _pixels_at(xs, ys, offset_x, offset_y, width, height):
    """The pixels nearest the points ``(xs, ys) + offset`` (``xs``, ``ys`` whole pixels),
    clamped to the frame, and whether each lies in it. The offsets are rounded on their own
    (half up), so a ray meets the same pixels in a window of the frame as in the whole."""
    xi = xs + np.floor(offset_x + 0.5).astype(np.int64)
    yi = ys + np.floor(offset_y + 0.5).astype(np.int64)
    inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
    return np.clip(xi, 0, width - 1), np.clip(yi, 0, height - 1), inside


def _median_where(samples: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Per row of ``samples`` (N×K×C), the median of its usable samples, per channel (rows
    with none are not defined: callers mask them)."""
    count = usable.sum(axis=1)
    rows = np.arange(len(count))
    ordered = np.sort(np.where(usable[..., None], samples, np.inf), axis=1)
    low, high = (count - 1) // 2, count // 2
    return (0.5 * (ordered[rows, low] + ordered[rows, high])).astype(np.float32)
