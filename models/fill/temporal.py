"""Debris Fill over a shot: key frames filled, the fill carried along by optical flow.

A plate is a shot, and on a moving shot a fill synthesised frame by frame boils: every
frame picks other patches. So only **key frames** are synthesised (every ``key_interval``
frames, or the frames given); the frames between them get the key fills *carried along
the shot* by optical flow:

* **Flow.** Dense optical flow between neighbouring plates (OpenCV's DIS, no weights).
  Inside the hole the plate shows what is to be removed, so its flow means nothing there:
  the grey image is pre-filled over the hole, and the flow of the (dilated) hole — and of
  pixels whose match lands in the other frame's hole — is replaced by a smooth
  interpolation of the flow around it (pull-push). A pan or a zoom is continued exactly.
* **Propagation.** For each hole pixel ``p`` of frame ``t``, ``q = p + flow(t→t−1)(p)`` is
  where it was one frame earlier. If ``q`` lies outside the previous hole it shows real
  background (revealed plate, taken from the plate); inside, the previous frame's fill.
  Fill that came from the key is not resampled frame after frame (which would blur it):
  each pixel keeps its position in the key frame, composed along the flows, and is
  sampled once from the key's fill.
* **Disocclusions.** A pixel whose ``q`` falls outside the frame, or whose flow fails the
  forward/backward consistency check (``|f(p) + b(p + f(p))|² > 0.01 (|f|² + |b|²) + 0.5``,
  Sundaram et al. 2010: an occlusion), cannot be explained by the flow; only those pixels
  are synthesised again, with the job's filler, and carry a low confidence onwards.
* **Blend.** Between two keys ``k0 < t < k1`` the fill is propagated forward from ``k0``
  and backward from ``k1`` and mixed with weights ``(1 − w) c_f`` and ``w c_b``,
  ``w = (t − k0) / (k1 − k0)`` (``c`` the confidences), so the fill reaches each key
  exactly: no jump at a key frame. Before the first key only the backward propagation
  exists, after the last only the forward one.
* **Hold** (locked-off shots): one fill, the first key's, for every frame.
* **Carry** (:mod:`.carry`): no keys; what any frame shows is taken from there, the rest
  synthesised once and carried rigidly (no cross-fade); the default
  (:data:`DEFAULT_MODE`).

Pixels outside the hole (mask ≤ 0.5) are the current plate's own bits, always.

Everything here is deterministic (DIS and pull-push are), so a window computed again
gives the same bytes. Arrays in, arrays out; the caller gives plates through ``load`` and
synthesis through ``resynthesise`` callables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ...errors import BadInput
from ..flow import consistent, dis_flow, grey8
from .hole import hole as hole_of

#: Part of the fill generator's version (and so of the cache key): bump when output changes.
TEMPORAL_VERSION = "4"  # 2: plates over 1024 px have their flow measured shrunk; 3: planes move by homographies;
# 4: flows through both holes trusted within the planes' tolerance

MODES = ("propagate", "carry", "hold", "off")
#: What a shot gets unless told otherwise: on rendered truth (benchmarks/eval_fill_truth.py,
#: six shots) carrying one synthesis beats propagating keys in PSNR on five and SSIM on all.
DEFAULT_MODE = "carry"
DEFAULT_KEY_INTERVAL = 12
PARAM_NAMES = ("temporal", "key_interval", "key_frames")

_SYNTH_CONFIDENCE = 0.02  # confidence of re-synthesised pixels (propagated ones have 1)
_FLOW_MARGIN = 6          # px around a hole whose measured flow is not trusted
_FLOW_MAX_SIDE = 1024     # larger plates have their flow measured shrunk by a whole factor


@dataclass(frozen=True)
class TemporalOptions:
    """How a fill job treats its frames: ``carry`` (the default: what other frames show,
    the rest synthesised once and carried: :mod:`.carry`), ``propagate`` (key frames +
    optical flow), ``hold`` (the first key's fill for every frame) or ``off`` (every
    frame filled on its own)."""

    mode: str = DEFAULT_MODE
    key_interval: int = DEFAULT_KEY_INTERVAL
    key_frames: tuple[int, ...] = ()

    @classmethod
    def split(cls, params: dict) -> tuple["TemporalOptions", dict]:
        """The temporal options in a job's ``params`` and the rest (the filler's own)."""
        params = dict(params or {})
        mode = params.pop("temporal", None) or DEFAULT_MODE
        interval = params.pop("key_interval", None)
        keys = params.pop("key_frames", None)
        if mode not in MODES:
            raise BadInput(f"Unknown temporal mode '{mode}'", f"Use one of: {', '.join(MODES)}.")
        if interval is None:
            interval = DEFAULT_KEY_INTERVAL
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or int(interval) != interval \
                or interval < 1:
            raise BadInput(f"The key-frame interval must be a whole number of 1 or more, got {interval!r}",
                           "Use e.g. 12 (a key frame every 12 frames).")
        try:
            keys = tuple(sorted({int(k) for k in (keys or ())}))
        except (TypeError, ValueError):
            raise BadInput(f"Key frames must be frame numbers, got {keys!r}", "Use e.g. 1,13,25.") from None
        return cls(mode, int(interval), keys), params

    def keys(self, frames: list[int]) -> list[int]:
        """The key frames among ``frames`` (sorted): the given ones, else every
        ``key_interval``-th frame from the first; ``hold`` keeps only the first."""
        frames = sorted(frames)
        if self.mode == "off":
            return frames
        if self.key_frames:
            keys = [frame for frame in self.key_frames if frame in set(frames)]
            if not keys:
                raise BadInput(f"None of the key frames {', '.join(map(str, self.key_frames))} is among the frames "
                               f"{frames[0]}-{frames[-1]}", "Give key frames inside the frame range.")
        else:
            keys = frames[::self.key_interval]
        return keys[:1] if self.mode == "hold" else keys


def windows(frames: list[int], keys: list[int]) -> list[tuple[int | None, list[int], int | None]]:
    """``(previous key, frames between, next key)`` covering every non-key frame; the
    frames before the first key have no previous key, those after the last no next."""
    frames, keys = sorted(frames), sorted(keys)
    bounds = [None] + keys + [None]
    result = []
    for before, after in zip(bounds[:-1], bounds[1:]):
        between = [f for f in frames if (before is None or f > before) and (after is None or f < after)]
        if between:
            result.append((before, between, after))
    return result


def hold_frame(key_combined: np.ndarray, plate: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """A frame of a held fill: the key's fill in this frame's hole, this plate elsewhere."""
    combined = np.where(hole_of(mask)[..., None], key_combined, plate).astype(np.float32)
    return passes(combined, mask)


def passes(combined: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """The Debris Fill passes of a filled frame (as the per-frame filler gives them)."""
    return {"Combined": combined, "Fill": np.multiply(combined, mask[..., None], dtype=np.float32), "Mask": mask.copy()}


# --------------------------------------------------------------------------- flow


def pull_push(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``values`` (H×W×C) with the pixels where ``known`` is False replaced by a smooth
    interpolation of the known ones (normalised pyramid, coarse to fine). Known pixels
    keep their values exactly."""
    import cv2

    values = values.astype(np.float32)
    weight = known.astype(np.float32)
    if weight.all() or not weight.any():
        return values if weight.all() else np.zeros_like(values)
    levels = [(values * weight[..., None], weight)]
    while not (levels[-1][1] > 0).all() and min(levels[-1][1].shape) > 1:
        value, weight = levels[-1]
        size = ((weight.shape[1] + 1) // 2, (weight.shape[0] + 1) // 2)
        small = cv2.resize(value, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
        levels.append((small, cv2.resize(weight, size, interpolation=cv2.INTER_AREA)))
    value, weight = levels[-1]
    filled = np.where(weight[..., None] > 0, value / np.maximum(weight, 1e-12)[..., None], 0.0)
    for value, weight in reversed(levels[:-1]):
        height, width = weight.shape
        up = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR).reshape(height, width, -1)
        filled = value + (1.0 - weight[..., None]) * up
    return filled.astype(np.float32)


def _dilate(hole: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(hole.astype(np.uint8), kernel).astype(bool)


def flow(plate_from: np.ndarray, hole_from: np.ndarray, plate_to: np.ndarray, hole_to: np.ndarray) -> np.ndarray:
    """H×W×2 (x, y) displacement taking each pixel of ``plate_from`` to where it is in
    ``plate_to``, measured outside the holes and interpolated through them."""
    return flow_between(flow_grey(plate_from, hole_from), hole_from, flow_grey(plate_to, hole_to), hole_to)


def flow_grey(plate: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """What :func:`flow_between` measures a plate by: its 8-bit grey with the hole smoothly
    filled (so the hole's edge shows no step). Computed once per frame by callers that
    measure a frame against both its neighbours."""
    grey = pull_push(grey8(plate)[..., None].astype(np.float32), ~hole)[..., 0]
    return np.clip(grey + 0.5, 0, 255).astype(np.uint8)


def flow_between(grey_from: np.ndarray, hole_from: np.ndarray, grey_to: np.ndarray, hole_to: np.ndarray) -> np.ndarray:
    """:func:`flow` from the frames' :func:`flow_grey`. Plates larger than
    ``_FLOW_MAX_SIDE`` are measured, and the field interpolated through the holes, shrunk by
    a whole factor (a shrunk pixel is hole where any of its pixels is), then the field is
    scaled back: the field inside the hole is an interpolation anyway, and DIS's time falls
    with the area."""
    import cv2

    height, width = hole_from.shape
    shrink = max(1, -(-max(height, width) // _FLOW_MAX_SIDE))
    if shrink == 1:
        return _flow_through(grey_from, hole_from, grey_to, hole_to)
    small = (round(width / shrink), round(height / shrink))

    def down(grey, hole):
        return (cv2.resize(grey, small, interpolation=cv2.INTER_AREA),
                cv2.resize(hole.astype(np.float32), small, interpolation=cv2.INTER_AREA) > 0)

    field = _flow_through(*down(grey_from, hole_from), *down(grey_to, hole_to))
    field = cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR)
    return field * np.float32([width / small[0], height / small[1]])


def _flow_through(grey_from, hole_from, grey_to, hole_to) -> np.ndarray:
    near_from, near_to = _dilate(hole_from, _FLOW_MARGIN), _dilate(hole_to, _FLOW_MARGIN)
    field = dis_flow(grey_from, grey_to)
    height, width = hole_from.shape
    ys, xs = np.mgrid[0:height, 0:width]
    lands_x = np.clip(np.rint(xs + field[..., 0]), 0, width - 1).astype(np.int64)
    lands_y = np.clip(np.rint(ys + field[..., 1]), 0, height - 1).astype(np.int64)
    trusted = ~near_from & ~near_to[lands_y, lands_x]
    return pull_push(field, trusted)


# --------------------------------------------------------------------------- sampling


def corners(image_shape, ys, xs):
    """The four bilinear corners of points (clamped to the frame): ``(index, weight)``
    pairs, ``index`` into the image's pixels flattened row by row (see :func:`pixels`)."""
    height, width = image_shape[:2]
    clip = lambda values, top: np.minimum(np.maximum(values, 0), top)  # noqa: E731  (np.clip, without its overhead)
    x0 = clip(np.floor(xs), width - 1).astype(np.int64)
    y0 = clip(np.floor(ys), height - 1).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx = clip(xs - x0, 1.0).astype(np.float32)
    fy = clip(ys - y0, 1.0).astype(np.float32)
    row0, row1 = y0 * width, y1 * width
    return ((row0 + x0, (1 - fy) * (1 - fx)), (row0 + x1, (1 - fy) * fx),
            (row1 + x0, fy * (1 - fx)), (row1 + x1, fy * fx))


def pixels(image: np.ndarray) -> np.ndarray:
    """An H×W(×C) image as (H·W)(×C) pixels, what :func:`corners`' indices point into."""
    return image.reshape((-1,) + image.shape[2:])


def sample(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` (H×W or H×W×C) at points (clamped to the frame)."""
    flat = pixels(image)
    out = 0.0
    for index, weight in corners(image.shape, ys, xs):
        out = out + flat.take(index, axis=0) * (weight if image.ndim == 2 else weight[:, None])
    return np.asarray(out, np.float32)


def _sample_defined(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear samples of an H×W×C image that is NaN where undefined, and whether every
    corner that counts was defined."""
    out = np.zeros((len(ys), image.shape[2]), np.float32)
    defined = np.ones(len(ys), bool)
    flat = pixels(image)
    for index, weight in corners(image.shape, ys, xs):
        corner = flat.take(index, axis=0)
        missing = np.isnan(corner).any(axis=1)
        defined &= ~(missing & (weight > 0))
        out += np.where(missing[:, None], 0.0, corner) * weight[:, None]
    return out, defined


# --------------------------------------------------------------------------- propagation


@dataclass
class _State:
    """One frame of a propagation: its filled image, its hole, and per pixel the position
    in the key frame its fill comes from (NaN where it does not come from the key) and
    how far it is to be trusted."""

    plate: np.ndarray
    hole: np.ndarray
    combined: np.ndarray
    key_position: np.ndarray  # H×W×2 (x, y)
    confidence: np.ndarray    # H×W


def _key_state(key_combined: np.ndarray, plate: np.ndarray, mask: np.ndarray) -> _State:
    height, width = mask.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return _State(plate, hole_of(mask), key_combined, np.stack([xs, ys], axis=-1), np.ones((height, width), np.float32))


def _step(previous: _State, key_combined: np.ndarray, plate: np.ndarray, mask: np.ndarray,
          resynthesise: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> _State:
    """Carry ``previous`` one frame on, into the hole of ``plate``."""
    hole = hole_of(mask)
    height, width = hole.shape
    combined = plate.copy()
    key_position = np.full((height, width, 2), np.nan, np.float32)
    confidence = np.ones((height, width), np.float32)
    if not hole.any():
        return _State(plate, hole, combined, key_position, confidence)
    to_previous = flow(plate, hole, previous.plate, previous.hole)
    from_previous = flow(previous.plate, previous.hole, plate, hole)
    ys, xs = np.nonzero(hole)
    f = to_previous[ys, xs]
    qx, qy = xs + f[:, 0], ys + f[:, 1]
    inside = (qx >= -0.5) & (qx <= width - 0.5) & (qy >= -0.5) & (qy <= height - 0.5)
    b = sample(from_previous, qy, qx)
    valid = inside & consistent(f, b)
    position, from_key = _sample_defined(previous.key_position, qy, qx)
    from_key &= valid
    carried = valid & ~from_key
    values = np.zeros((len(ys), 4), np.float32)
    values[from_key] = sample(key_combined, position[from_key, 1], position[from_key, 0])
    values[carried] = sample(previous.combined, qy[carried], qx[carried])
    combined[ys[valid], xs[valid]] = values[valid]
    key_position[ys[from_key], xs[from_key]] = position[from_key]
    confidence[ys, xs] = np.where(valid, sample(previous.confidence, qy, qx), _SYNTH_CONFIDENCE)
    if not valid.all():
        redo = np.zeros((height, width), np.float32)
        redo[ys[~valid], xs[~valid]] = 1.0
        synthesised = resynthesise(combined, redo)
        combined[ys[~valid], xs[~valid]] = synthesised[ys[~valid], xs[~valid]]
    return _State(plate, hole, combined, key_position, confidence)


Loader = Callable[[int], tuple[np.ndarray, np.ndarray]]
Resynthesiser = Callable[[int, np.ndarray, np.ndarray, bool, Callable], np.ndarray]


def propagate_window(between: list[int], load: Loader, previous_key: tuple[int, np.ndarray] | None,
                     next_key: tuple[int, np.ndarray] | None, resynthesise: Resynthesiser,
                     progress_for: Callable[[int], Callable[[int, int], None]],
                     wanted: set[int] | None = None) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """The frames ``between`` two keys, filled by propagation, in order.

    load(frame) -> (plate, mask); previous_key / next_key: ``(frame, key Combined)`` or
    None; resynthesise(frame, image, mask, backward, on_step) -> image with the mask's
    pixels synthesised; progress_for(frame) -> on_step(step, of) (which may raise to
    cancel). Yields ``(frame, passes)`` for the frames in ``wanted`` (default: all);
    the others are still computed through, so the result does not depend on which
    frames are wanted."""
    wanted = set(between) if wanted is None else set(wanted) & set(between)
    if not wanted:
        return
    if previous_key is None and next_key is None:
        raise ValueError("a window needs at least one key")
    steps = 2 if previous_key is not None and next_key is not None else 1
    # Backward from the next key first (a frame's backward fill depends only on later
    # frames), kept compactly: hole pixels of the wanted frames ...
    backward: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if next_key is not None:
        key_frame, key_combined = next_key
        state = _key_state(key_combined, *load(key_frame))
        for frame in reversed(between):
            if frame < min(wanted):
                break
            on_step = progress_for(frame)
            plate, mask = load(frame)
            state = _step(state, key_combined, plate, mask,
                          lambda image, redo: resynthesise(frame, image, redo, True, on_step))
            if frame in wanted:
                backward[frame] = (state.combined[state.hole], state.confidence[state.hole])
            on_step(1, steps)
    if previous_key is None:
        for frame in between:
            if frame in wanted:
                plate, mask = load(frame)
                combined = plate.copy()
                combined[hole_of(mask)] = backward[frame][0]
                yield frame, passes(combined, mask)
        return
    # ... then forward from the previous key, blending and handing frames out as it goes.
    key_frame, key_combined = previous_key
    state = _key_state(key_combined, *load(key_frame))
    for frame in between:
        if frame > max(wanted):
            break
        on_step = progress_for(frame)
        plate, mask = load(frame)
        state = _step(state, key_combined, plate, mask,
                      lambda image, redo: resynthesise(frame, image, redo, False, on_step))
        on_step(steps, steps)
        if frame not in wanted:
            continue
        combined = state.combined.copy()
        if next_key is not None:
            hole = state.hole
            w = (frame - previous_key[0]) / (next_key[0] - previous_key[0])
            values, confidence = backward.pop(frame)
            forward_weight = (1.0 - w) * state.confidence[hole]
            backward_weight = w * confidence
            combined[hole] = (forward_weight[:, None] * combined[hole] + backward_weight[:, None] * values) \
                / (forward_weight + backward_weight)[:, None]
        yield frame, passes(combined, mask)
