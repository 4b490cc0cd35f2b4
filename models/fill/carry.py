"""Debris Fill over a moving shot: real background first, one synthesis, carried rigidly.

Every hole pixel of every frame gets exactly one *source*: a position in one frame of the
shot, followed there along the (hole-completed) optical flow of
:func:`~genvfx.models.fill.temporal.flow` (on a street, each plane's part of it near the
hole is that plane's homography, :func:`~genvfx.models.fill.structure.planar_motion`, so
what is carried through the hole moves as the ground or the facade it lies on), and
sampled once from that frame:

* **Revealed background.** Followed backward frame by frame (``q = p + flow(t→t−1)(p)``,
  forward/backward consistent, inside the frame) a hole pixel may land outside the
  previous frame's hole: there that frame *shows* the background; inside, it takes what
  the previous frame's pixel was traced to. The same forward (from the end of the shot).
  Of the two, the frame nearest in time wins (backward on a tie), and the value is that
  frame's plate at the composed position (bilinear over the corners outside its hole), so
  a revealed pixel is the real background, resampled once.
* **One synthesis.** Frames are taken in order; a hole pixel no frame reveals follows the
  previous frame's sources (revealed or synthesised) along the flow. Only pixels that
  cannot (the first frame's unrevealed part, a disocclusion, a flow that fails the
  check) are synthesised, once, in that frame, with the job's filler and everything
  already filled around them as known context (the filler's mask is those pixels
  alone). Later frames sample that frame's fill at the composed position: no two
  syntheses of one piece of background, no cross-fade.

Geometry (flows, which frame each pixel comes from) depends only on the plates and masks;
pixel values of synthesised sources are read from the frame that synthesised them *as
written to the cache* (float32, exactly what was computed) or as computed in this run.
So frame ``t`` depends on the plates and masks of the whole shot and on the outputs of
frames before it: computing frames in order, in any chunks, each chunk reading the earlier
frames back from the cache, gives the bytes of one run. A frame before the wanted ones that
is missing from the cache is computed (not handed out) when a later one needs it.

Cost: one pair of flows per neighbouring frames for the whole shot (kept cropped around the
holes), a lookup per hole pixel, and the filler only where something new is exposed.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ..flow import consistent, squared_length
from . import structure as planar
from .hole import hole as hole_of
from .temporal import corners as pixel_corners, flow_between, flow_grey, passes, pixels, sample as sample_at

Loader = Callable[[int], tuple[np.ndarray, np.ndarray]]
#: synthesise(frame, image, mask, on_step) -> image with the mask's pixels synthesised
Synthesiser = Callable[[int, np.ndarray, np.ndarray, Callable[[int, int], None]], np.ndarray]
#: cached(frame) -> the frame's Combined as written, or None
Cached = Callable[[int], "np.ndarray | None"]

_PAD = 3  # px beyond the largest displacement kept around the holes


# --------------------------------------------------------------------------- geometry


Box = tuple[int, int, int, int]  # y0, y1, x0, x1


def _union(a: Box | None, b: Box | None) -> Box | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


@dataclass
class _Pair:
    """The flows between frame ``i`` and ``i + 1``, cropped to ``box``."""

    box: Box | None
    back: np.ndarray | None   # later -> earlier
    forth: np.ndarray | None  # earlier -> later


def _pair(grey_a, hole_a, planes_a, grey_b, hole_b, planes_b) -> _Pair:
    """The pair from the frames' :func:`~.temporal.flow_grey`, holes and planes (the street's
    planes near the hole, :func:`~.structure.motion_regions`, or None: then the flow through
    the hole is the smooth interpolation)."""
    if not (hole_a.any() or hole_b.any()):
        return _Pair(None, None, None)
    back = flow_between(grey_b, hole_b, grey_a, hole_a)
    forth = flow_between(grey_a, hole_a, grey_b, hole_b)
    if planes_b is not None:
        back = planar.planar_motion(back, planes_b)
    if planes_a is not None:
        forth = planar.planar_motion(forth, planes_a)
    reach = 0.0
    for field, hole in ((back, hole_b), (forth, hole_a)):
        if hole.any():
            reach = max(reach, float(np.sqrt((field[hole] ** 2).sum(-1)).max()))
    pad = int(np.ceil(reach)) + _PAD
    either = hole_a | hole_b
    rows, cols = np.flatnonzero(either.any(axis=1)), np.flatnonzero(either.any(axis=0))
    height, width = hole_a.shape
    box = (max(0, rows[0] - pad), min(height, rows[-1] + pad + 1),
           max(0, cols[0] - pad), min(width, cols[-1] + pad + 1))
    crop = (slice(box[0], box[1]), slice(box[2], box[3]))
    return _Pair(box, np.ascontiguousarray(back[crop]), np.ascontiguousarray(forth[crop]))


def _step(ys, xs, to_field, from_field, box: Box, hole_there: np.ndarray):
    """Hole pixels ``(ys, xs)`` of one frame followed into a neighbour: where they land
    (qy, qx), whether the flow is trusted (inside the frame, consistent) and whether the
    neighbour shows the background there (the nearest pixel is outside its hole).

    Landing in the neighbour's hole, both ways are interpolations (a plane's homography,
    fitted once each way, or the smooth fill of the field), which the forward/backward
    check cannot judge as it judges measured flow: there the two are trusted when they
    agree within the planes' :func:`~.structure.motion_tolerance`; otherwise a frame's
    sub-pixel disagreement between two fits would send its whole hole to a new
    synthesis."""
    height, width = hole_there.shape
    f = to_field[ys - box[0], xs - box[2]]  # at whole pixels: the bilinear sample is the pixel
    qx, qy = xs + f[:, 0], ys + f[:, 1]
    inside = (qx >= -0.5) & (qx <= width - 0.5) & (qy >= -0.5) & (qy <= height - 0.5)
    b = sample_at(from_field, qy - box[0], qx - box[2]) if len(ys) else f
    ny = np.clip(np.rint(qy), 0, height - 1).astype(np.int64)
    nx = np.clip(np.rint(qx), 0, width - 1).astype(np.int64)
    modelled = hole_there[ny, nx]
    agree = squared_length(f + b) <= planar.motion_tolerance(width, height) ** 2
    valid = inside & (consistent(f, b) | (modelled & agree))
    shows = valid & ~modelled
    return qy, qx, valid, shows


class _Map:
    """Per pixel of a frame: the frame its fill comes from (-1: none yet), the position
    there, and whether that is a synthesis (else real background); origin and synthesis
    kept as one key, ``2 · origin + synth``."""

    def __init__(self, shape):
        self.shape = shape
        self.key = np.full(shape[0] * shape[1], -2, np.int32)
        self.position = np.zeros((shape[0] * shape[1], 2), np.float32)  # (x, y)

    def set(self, flat, origin, position, synth):
        """Pixels ``flat`` (indices into the frame's pixels, row by row) get their source."""
        self.key[flat] = 2 * origin + synth
        self.position[flat] = position

    def sample(self, qy, qx):
        """The source at points: the nearest pixel's, its position interpolated over the
        corners that share it. Returns (origin, position, synth); origin -1 where none."""
        corners = pixel_corners(self.shape, qy, qx)
        weights = np.stack([w for _, w in corners])
        nearest = np.argmax(weights, axis=0)
        keys = np.stack([self.key.take(index) for index, _ in corners])
        key = keys[nearest, np.arange(len(qy))]
        w = np.where((keys == key) & (weights > 0), weights, 0.0)
        position = sum(self.position.take(index, axis=0) * w[k][:, None] for k, (index, _) in enumerate(corners))
        position = position / np.maximum(w.sum(0), 1e-12)[:, None]
        return key >> 1, position.astype(np.float32), (key & 1).astype(bool)


# --------------------------------------------------------------------------- values


def _sample_outside(image: np.ndarray, hole: np.ndarray, ys, xs) -> np.ndarray:
    """Bilinear samples of a crop over its corners outside the hole (all corners where
    every one is inside)."""
    out = np.zeros((len(ys), image.shape[2]), np.float32)
    total = np.zeros(len(ys), np.float32)
    flat, outside = pixels(image), ~pixels(hole)
    for index, weight in pixel_corners(image.shape, ys, xs):
        w = np.where(outside.take(index), weight, 0.0).astype(np.float32)
        out += flat.take(index, axis=0) * w[:, None]
        total += w
    plain = total <= 1e-6
    if plain.any():
        out[plain] = sample_at(image, ys[plain], xs[plain])
    out[~plain] /= total[~plain, None]
    return out


@dataclass
class _Frame:
    number: int
    hole: np.ndarray
    box: Box | None = None
    plate: np.ndarray | None = None  # cropped to box
    forward: tuple[np.ndarray, np.ndarray] | None = None  # per hole pixel: origin, position

    def hole_pixels(self) -> tuple[np.ndarray, np.ndarray]:
        """(ys, xs) of the hole, row by row, found in the frame's box (which holds it)."""
        if self.box is None:
            return np.nonzero(self.hole)
        y0, y1, x0, x1 = self.box
        ys, xs = np.nonzero(self.hole[y0:y1, x0:x1])
        return ys + y0, xs + x0


def carry_shot(frames: list[int], todo, load: Loader, synthesise: Synthesiser, cached: Cached,
               progress_for: Callable[[int], Callable[[int, int], None]]
               ) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    """The frames in ``todo`` of the shot ``frames`` (neighbours in sorted order), filled,
    in frame order. load(frame) -> (plate, mask); synthesise(frame, image, mask, on_step)
    -> image; cached(frame) -> the Combined written for an earlier frame, or None;
    progress_for(frame) -> on_step(step, of), which may raise to cancel."""
    frames = sorted(frames)
    todo = set(todo) & set(frames)
    if not todo:
        return
    last = frames.index(max(todo))
    first_wanted = min(todo)
    check = lambda: progress_for(first_wanted)  # noqa: E731  (cancellation while tracing)

    # -- flows between neighbours, over the whole shot (frames after the wanted ones reveal)
    shot: list[_Frame] = []
    pairs: list[_Pair] = []
    previous = None
    for index, (number, plate, hole, grey, planes) in enumerate(_measured(frames, load)):
        check()
        shot.append(_Frame(number, hole))
        if previous is not None:
            pairs.append(_pair(*previous, grey, hole, planes))
        previous = (grey, hole, planes)
        shot[-1].plate = plate  # cropped once both neighbouring pairs are known
        if index >= 1:
            _crop(shot[index - 1], pairs, index - 1)
    _crop(shot[-1], pairs, len(shot) - 1)
    shape = shot[0].hole.shape

    # -- backward in time: what later frames show, nearest first
    later = _Map(shape)
    for index in range(len(shot) - 1, -1, -1):
        frame = shot[index]
        ys, xs = frame.hole_pixels()
        origin = np.full(len(ys), -1, np.int32)
        position = np.zeros((len(ys), 2), np.float32)
        pair = pairs[index] if index + 1 < len(shot) else None
        if pair is not None and pair.box is not None and len(ys):
            check()
            qy, qx, valid, shows = _step(ys, xs, pair.forth, pair.back, pair.box, shot[index + 1].hole)
            origin[shows] = index + 1
            position[shows] = np.stack([qx[shows], qy[shows]], -1)
            rest = valid & ~shows
            o, p, _ = later.sample(qy[rest], qx[rest])
            origin[rest], position[rest] = o, p
        frame.forward = (origin, position)
        later = _Map(shape)
        later.set(ys * shape[1] + xs, origin, position, False)

    # -- forward in time, each wanted frame's plate read while the one before is filled
    with _LoadsAhead(load, [frame.number for frame in shot[:last + 1] if frame.number in todo]) as reload:
        yield from _forward(shot, pairs, last, todo, shape, reload, synthesise, cached, progress_for, check)


def _forward(shot, pairs, last, todo, shape, load, synthesise, cached, progress_for, check):
    """Forward in time: what earlier frames show; the rest carried or synthesised once."""
    earlier, sources = _Map(shape), _Map(shape)
    fills: dict[int, np.ndarray] = {}  # frame index -> its Combined, cropped, while a source
    for index in range(last + 1):
        frame = shot[index]
        wanted = frame.number in todo
        ys, xs = frame.hole_pixels()
        back_origin = np.full(len(ys), -1, np.int32)
        back_position = np.zeros((len(ys), 2), np.float32)
        carried_origin = np.full(len(ys), -1, np.int32)
        carried_position = np.zeros((len(ys), 2), np.float32)
        carried_synth = np.zeros(len(ys), bool)
        if index > 0 and pairs[index - 1].box is not None and len(ys):
            check()
            pair = pairs[index - 1]
            qy, qx, valid, shows = _step(ys, xs, pair.back, pair.forth, pair.box, shot[index - 1].hole)
            back_origin[shows] = index - 1
            back_position[shows] = np.stack([qx[shows], qy[shows]], -1)
            rest = valid & ~shows
            o, p, _ = earlier.sample(qy[rest], qx[rest])
            back_origin[rest], back_position[rest] = o, p
            o, p, s = sources.sample(qy[rest], qx[rest])
            carried_origin[rest], carried_position[rest], carried_synth[rest] = o, p, s
        forward_origin, forward_position = frame.forward
        has_back, has_forward = back_origin >= 0, forward_origin >= 0
        use_back = has_back & (~has_forward | (index - back_origin <= forward_origin - index))
        origin = np.where(use_back, back_origin, forward_origin)
        position = np.where(use_back[:, None], back_position, forward_position)
        synth = np.zeros(len(ys), bool)
        real = has_back | has_forward
        carry = ~real & (carried_origin >= 0)
        origin[carry], position[carry], synth[carry] = \
            carried_origin[carry], carried_position[carry], carried_synth[carry]
        new = ~real & ~carry
        origin[new] = index
        position[new] = np.stack([xs[new], ys[new]], -1).astype(np.float32)
        synth[new] = True

        flat = ys * shape[1] + xs
        earlier = _Map(shape)
        earlier.set(flat, back_origin, back_position, False)
        sources = _Map(shape)
        sources.set(flat, origin, position, synth)

        if wanted or (new.any() and index < last):
            cached_combined = None if wanted else cached(frame.number)
            if cached_combined is not None:
                combined = cached_combined
            else:
                on_step = progress_for(frame.number) if wanted else (lambda step, of: check())
                plate, mask = load(frame.number)
                combined = plate.copy()
                values = np.zeros((len(ys), 4), np.float32)
                for o in np.unique(origin[~new]):
                    for is_synth in (False, True):
                        pick = ~new & (origin == o) & (synth == is_synth)
                        if not pick.any():
                            continue
                        source = shot[o]
                        py = position[pick, 1] - source.box[0]
                        px = position[pick, 0] - source.box[2]
                        if is_synth:
                            values[pick] = sample_at(fills[o], py, px)
                        else:
                            crop = source.hole[source.box[0]:source.box[1], source.box[2]:source.box[3]]
                            values[pick] = _sample_outside(source.plate, crop, py, px)
                combined[ys[~new], xs[~new]] = values[~new]
                if new.any():
                    redo = np.zeros(shape, np.float32)
                    redo[ys[new], xs[new]] = 1.0
                    synthesised = synthesise(frame.number, combined, redo, on_step)
                    combined[ys[new], xs[new]] = synthesised[ys[new], xs[new]]
                if wanted:
                    on_step(1, 1)
                    yield frame.number, passes(combined, mask)
            if new.any() and frame.box is not None:
                fills[index] = np.ascontiguousarray(
                    combined[frame.box[0]:frame.box[1], frame.box[2]:frame.box[3]])
        live = set(np.unique(origin[synth]).tolist())
        for o in [o for o in fills if o not in live]:
            del fills[o]


class _LoadsAhead:
    """``load`` for the frames of ``order``, in that order, each read on a thread while the
    frame before it is filled and written (reading lets go of Python's lock); any other
    frame is read when asked for."""

    def __init__(self, load: Loader, order: list[int]):
        self._load, self._order = load, deque(order)
        self._pool = ThreadPoolExecutor(1)
        self._next = None  # (frame, its read under way)
        self._read_next()

    def _read_next(self) -> None:
        if self._order and self._next is None:
            number = self._order.popleft()
            self._next = (number, self._pool.submit(self._load, number))

    def __call__(self, number: int):
        if self._next is None or self._next[0] != number:
            return self._load(number)
        future, self._next = self._next[1], None
        self._read_next()
        return future.result()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


#: Frames measured ahead of the one being traced (each holds its plate): OpenCV and numpy
#: let go of Python's lock, so reading and measuring the next frames runs beside the flows.
_AHEAD = max(1, min(4, (os.cpu_count() or 1) - 1))


def _measured(frames: list[int], load: Loader) -> Iterator[tuple]:
    """Per frame, in order: its number, plate, hole, flow grey and planes near the hole
    (:func:`~.structure.motion_regions`; None without a street's structure), measured on
    a thread pool :data:`_AHEAD` frames ahead.
    Each frame's measure depends on that frame alone, so the results do not depend on
    the threads."""
    def measure(number: int):
        plate, mask = load(number)
        hole = hole_of(mask)
        found = planar.find(plate, hole) if hole.any() else None
        planes = None if found is None else planar.motion_regions(hole, found.labels)
        return number, plate, hole, flow_grey(plate, hole), planes

    with ThreadPoolExecutor(_AHEAD) as pool:
        pending = deque()
        for number in frames:
            pending.append(pool.submit(measure, number))
            if len(pending) > _AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _crop(frame: _Frame, pairs: list[_Pair], index: int) -> None:
    """Keep of a frame's plate only what its neighbouring pairs can reach."""
    box = None
    for k in (index - 1, index):
        if 0 <= k < len(pairs):
            box = _union(box, pairs[k].box)
    frame.box = box
    frame.plate = None if box is None else np.ascontiguousarray(frame.plate[box[0]:box[1], box[2]:box[3]])
