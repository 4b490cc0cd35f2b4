"""Planar structure for Debris Fill: the street's vanishing point, the planes it implies and
their rectifications.

Man-made plates are mostly planes seen in perspective: the ground, and facades along the
street. Patches copied by translation in the image cannot continue a kerb, a paving course or a
window row at the right slope and scale, and a search over the whole frame lets a facade patch
land on the pavement. So, in the manner of Huang, Kang, Ahuja and Kopf ("Image Completion using
Planar Structure Guidance", SIGGRAPH 2014), the fill looks for the plate's planes and completes
each plane's part of the hole in that plane's *rectified* space, where the plane's texture is
translation-invariant, taking sources only from the same plane and near the hole.

The model (the "box" of a one-point perspective street, with a level camera):

1. Line segments (OpenCV's LSD) away from the hole; the oblique ones vote for a vanishing
   point (the pair intersection most segments point at). No confident point: no planes, and
   the fill is the plain one.
2. Seen from the vanishing point, the ground fills a cone of directions below it and the two
   facades the directions either side; every ray from the point stays on one plane. The
   cone's edges are found from the segments: vertical ones (mullions, window edges) are
   evidence of a facade, horizontal ones (paving courses) of the ground. Every pixel's plane
   is then the one its direction from the point falls in.
3. Each plane's affine rectification is a homography that sends its vanishing line to
   infinity (ground: the horizon through the point; a facade along the street: the vertical
   through it), normalised so that at the hole's centre it is the identity (no resampling
   there; perspective undone around it).

Everything here is numpy and OpenCV on small arrays; the synthesis itself stays in
:mod:`.patchmatch`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GROUND, LEFT, RIGHT = 1, 2, 3
PLANE_NAMES = {GROUND: "ground", LEFT: "left facade", RIGHT: "right facade"}

# Tuning (a change here changes pixels: bump patchmatch.GENERATOR_VERSION).
_LSD_MAX_SIDE = 1024        # larger plates are shrunk by a whole factor for the segments (LSD's time)
_MIN_SEGMENT = 0.02         # segments shorter than this × the frame's diagonal are ignored (at least 8 px)
_AXIS_TOLERANCE = 4.0       # degrees from vertical / horizontal that count as vertical / horizontal
_VP_CANDIDATES = 80         # longest oblique segments whose pair intersections are tried
_VP_TOLERANCE = 2.0         # degrees: a segment points at the vanishing point within this (or 1.5 px at its end)
_VP_MIN_SEGMENTS = 8        # a vanishing point needs this many segments ...
_VP_MIN_LENGTH = 0.5        # ... whose lengths add up to this × (width + height) ...
_VP_MIN_SHARE = 0.6         # ... and this share of all the oblique segments' length ...
_VP_MIN_SPREAD = 20.0       # ... pointing at it from directions at least this many degrees apart
_ANGLE_BINS = 180           # directions below the vanishing point, for the planes' cone
_WINDOW_SPREAD = 1.5        # a plane's search window: its hole's extent plus this × that extent each side
_WINDOW_MARGIN = 4          # ... plus this many patches
_WINDOW_MAX_AREA = 1.0      # ... at most this × the frame's area
_MOTION_NEAR = 6            # px around the hole whose measured flow is not trusted (as the flow's own margin)
_MOTION_RING = 0.15         # the ring a plane's homography is fitted on: this × the frame's long side ...
_MOTION_RING_MIN = 12       # ... and at least this many px beyond the hole
_MOTION_MIN_SAMPLES = 50    # ring pixels a plane needs ...
_MOTION_MAX_SAMPLES = 5000  # ... (subsampled to at most this many) ...
_MOTION_MIN_INLIERS = 0.5   # ... and this share of them explained by its homography
_MAX_STRETCH = 3.0          # a plane takes the hole pixels its rectification stretches at most this much


@dataclass
class Structure:
    vanishing_point: tuple[float, float]   # (x, y) in pixels, may lie outside the frame
    labels: np.ndarray                     # H×W uint8: GROUND, LEFT or RIGHT for every pixel
    cone: tuple[float, float]              # the ground's directions (radians, y down): (right edge, left edge)
    segments: int                          # how many segments pointed at the vanishing point


@dataclass
class Rectified:
    """One plane's part of the hole in that plane's rectified space (see :func:`rectify`)."""
    plane: int
    to_rect: np.ndarray        # 3×3 homography: image pixel -> rectified pixel
    image: np.ndarray          # h×w×4 the plate, resampled
    hole: np.ndarray           # h×w bool: to fill (the plane's hole, a little more)
    forbid: np.ndarray         # h×w bool: not this plane (or outside the frame): never a source
    targets: np.ndarray        # image pixels (flat indices) this plane fills


def _display_gray(plate: np.ndarray, shrink: int = 1) -> np.ndarray:
    """8-bit display-encoded luminance, ``shrink`` times smaller (area mean of the linear plate)."""
    import cv2

    rgb = plate.astype(np.float32, copy=False)
    if shrink > 1:   # the channels are shrunk alike, so the whole plate is (no copy of its colour first)
        height, width = rgb.shape[:2]
        rgb = cv2.resize(rgb, (round(width / shrink), round(height / shrink)), interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(rgb[..., :3])
    rgb = np.clip(rgb, 0.0, 1.0) ** (1 / 2.2)
    luma = rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    return (luma * 255 + 0.5).astype(np.uint8)


def segments(plate: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Line segments [N, 4] (x0, y0, x1, y1) of the plate, none touching the (dilated) hole."""
    import cv2

    height, width = hole.shape
    lsd = cv2.createLineSegmentDetector(cv2.LSD_REFINE_STD)
    shrink = max(1, math.ceil(max(height, width) / _LSD_MAX_SIDE))
    gray = _display_gray(plate, shrink)
    found = lsd.detect(gray)[0]
    if found is None:
        return np.zeros((0, 4), np.float64)
    lines = found.reshape(-1, 4).astype(np.float64)
    if shrink > 1:  # back to the plate's pixels (centres of the shrunk pixels)
        lines = (lines + 0.5) * np.array([width / gray.shape[1], height / gray.shape[0]] * 2) - 0.5
    near = cv2.dilate(hole.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    keep = np.ones(len(lines), bool)
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = np.clip(np.round(lines[:, 0] + t * (lines[:, 2] - lines[:, 0])), 0, width - 1).astype(int)
        y = np.clip(np.round(lines[:, 1] + t * (lines[:, 3] - lines[:, 1])), 0, height - 1).astype(int)
        keep &= ~near[y, x]
    length = np.hypot(lines[:, 2] - lines[:, 0], lines[:, 3] - lines[:, 1])
    keep &= length >= max(8.0, _MIN_SEGMENT * math.hypot(width, height))
    return lines[keep]


def _axis_classes(lines: np.ndarray):
    dx, dy = lines[:, 2] - lines[:, 0], lines[:, 3] - lines[:, 1]
    angle = np.degrees(np.arctan2(dy, dx)) % 180.0
    vertical = np.abs(angle - 90.0) < _AXIS_TOLERANCE
    horizontal = (angle < _AXIS_TOLERANCE) | (angle > 180.0 - _AXIS_TOLERANCE)
    return vertical, horizontal


def _pointing(lines: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Which segments point at ``point`` (x, y): their direction within the tolerance of the
    direction from their midpoint to it, and the point not on the segment itself. ``point``
    may be P×2: then P×N, a row per point."""
    mid = (lines[:, :2] + lines[:, 2:]) / 2
    d = lines[:, 2:] - lines[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    to = np.asarray(point)[..., None, :] - mid
    dist = np.hypot(to[..., 0], to[..., 1])
    sin = np.abs(d[:, 0] * to[..., 1] - d[:, 1] * to[..., 0]) / np.maximum(length * dist, 1e-9)
    tol = np.maximum(np.sin(np.radians(_VP_TOLERANCE)), 1.5 / np.maximum(length / 2, 1e-9))
    return (sin < tol) & (dist > 0.6 * length)


def vanishing_point(lines: np.ndarray, width: int, height: int):
    """The point most oblique segments converge on, refined by least squares, or None when no
    point is confident (see the module's notes). Returns (x, y, inlier mask over ``lines``)."""
    if len(lines) < _VP_MIN_SEGMENTS:
        return None
    vertical, horizontal = _axis_classes(lines)
    oblique = ~vertical & ~horizontal
    obl = lines[oblique]
    if len(obl) < _VP_MIN_SEGMENTS:
        return None
    length = np.hypot(obl[:, 2] - obl[:, 0], obl[:, 3] - obl[:, 1])
    homog = np.cross(np.c_[obl[:, :2], np.ones(len(obl))], np.c_[obl[:, 2:], np.ones(len(obl))])
    order = np.argsort(-length, kind="stable")[:_VP_CANDIDATES]
    best, best_score = None, 0.0
    for a in range(len(order)):
        i = order[a]
        points = np.cross(homog[i][None, :], homog[order[a + 1:]])
        ok = np.abs(points[:, 2]) > 1e-9
        if not ok.any():
            continue
        xy = points[ok, :2] / points[ok, 2:3]
        inside = ((xy[:, 0] > -width) & (xy[:, 0] < 2 * width) & (xy[:, 1] > -height) & (xy[:, 1] < 2 * height))
        if not inside.any():
            continue
        scores = np.where(_pointing(obl, xy[inside]), length, 0.0).sum(axis=1)
        top = int(np.argmax(scores))
        if scores[top] > best_score:
            best, best_score = xy[inside][top], float(scores[top])
    if best is None:
        return None
    inl = _pointing(obl, best)
    for _ in range(2):  # least squares: the point nearest every inlier's line, weighted by length
        n = homog[inl, :2]
        norm = np.hypot(n[:, 0], n[:, 1])[:, None]
        a_mat, b_vec = n / norm, -homog[inl, 2:3] / norm
        w = length[inl][:, None]
        refined, *_ = np.linalg.lstsq(a_mat * w, (b_vec * w).ravel(), rcond=None)
        inl_new = _pointing(obl, refined)
        if inl_new.sum() < inl.sum():
            break
        best, inl = refined, inl_new
    total = float(length.sum())
    count, support = int(inl.sum()), float(length[inl].sum())
    if count < _VP_MIN_SEGMENTS or support < _VP_MIN_LENGTH * (width + height) or support < _VP_MIN_SHARE * total:
        return None
    mid = (obl[inl, :2] + obl[inl, 2:]) / 2
    direction = np.degrees(np.arctan2(mid[:, 1] - best[1], mid[:, 0] - best[0]))
    spread = _circular_spread(direction)
    if spread < _VP_MIN_SPREAD:
        return None
    mask = np.zeros(len(lines), bool)
    mask[np.flatnonzero(oblique)[inl]] = True
    return float(best[0]), float(best[1]), mask


def _circular_spread(degrees: np.ndarray) -> float:
    """The width of the smallest arc holding all the directions (degrees)."""
    d = np.sort(degrees % 360.0)
    gaps = np.diff(np.r_[d, d[0] + 360.0])
    return float(360.0 - gaps.max())


def _ground_cone(lines: np.ndarray, vp: tuple[float, float]):
    """The ground's directions below the vanishing point: a cone round straight down whose
    edges keep vertical segments (facades) out and horizontal ones (ground) in."""
    vertical, horizontal = _axis_classes(lines)
    evidence = np.zeros(_ANGLE_BINS)
    for lines_k, sign in ((lines[vertical], -1.0), (lines[horizontal], 1.0)):
        for x0, y0, x1, y1 in lines_k:
            length = math.hypot(x1 - x0, y1 - y0)
            n = max(2, int(length / 2))
            t = (np.arange(n) + 0.5) / n
            x, y = x0 + t * (x1 - x0) - vp[0], y0 + t * (y1 - y0) - vp[1]
            theta = np.arctan2(y, x)
            below = theta > 0
            bins = np.clip((theta[below] / math.pi * _ANGLE_BINS).astype(int), 0, _ANGLE_BINS - 1)
            np.add.at(evidence, bins, sign * length / n)
    down = _ANGLE_BINS // 2
    # Grow from straight down each way while the evidence summed so far is not negative: up to
    # the last bin of the best prefix (ties: the farthest, so a plain pavement stays ground).
    right = evidence[:down][::-1]          # from straight down towards the right (theta -> 0)
    left = evidence[down:]                 # towards the left (theta -> pi)
    edges = []
    for side in (right, left):
        sums = np.cumsum(side)
        best = sums.max() if len(sums) else 0.0
        reach = int(np.flatnonzero(sums >= max(best, 0.0) - 1e-9).max()) + 1 if best >= 0 else 0
        edges.append(reach)
    lo = (down - edges[0]) / _ANGLE_BINS * math.pi
    hi = (down + edges[1]) / _ANGLE_BINS * math.pi
    return lo, hi


def find(plate: np.ndarray, hole: np.ndarray) -> Structure | None:
    """The plate's vanishing point and planes, or None (no confident structure, or the point
    in the hole)."""
    height, width = hole.shape
    lines = segments(plate, hole)
    found = vanishing_point(lines, width, height)
    if found is None:
        return None
    x_v, y_v, inliers = found
    iy, ix = int(round(y_v)), int(round(x_v))
    if 0 <= iy < height and 0 <= ix < width:
        import cv2

        near = cv2.dilate(hole.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
        if near[iy, ix]:
            return None
    lo, hi = _ground_cone(lines, (x_v, y_v))
    dy = np.arange(height, dtype=np.float64)[:, None] - y_v
    dx = np.arange(width, dtype=np.float64)[None, :] - x_v
    labels = np.repeat(np.where(dx < 0, LEFT, RIGHT).astype(np.uint8), height, axis=0)
    # ground: the directions from the point between the cone's angles lo < hi (0..π, below it),
    # i.e. left of the ray at lo and right of the ray at hi (no arctangent per pixel)
    labels[(math.cos(lo) * dy - math.sin(lo) * dx > 0) & (math.sin(hi) * dx - math.cos(hi) * dy > 0)] = GROUND
    return Structure((x_v, y_v), labels, (lo, hi), int(inliers.sum()))


# --------------------------------------------------------------------------- rectification

def _plane_homography(plane: int, vp: tuple[float, float]) -> np.ndarray:
    """An affine rectification of the plane (its vanishing line sent to infinity)."""
    x_v, y_v = vp
    if plane == GROUND:      # (x - x_v, 1) / (y - y_v)
        return np.array([[1, 0, -x_v], [0, 0, 1], [0, 1, -y_v]], np.float64)
    if plane == LEFT:        # (1, y - y_v) / (x_v - x)
        return np.array([[0, 0, 1], [0, 1, -y_v], [-1, 0, x_v]], np.float64)
    return np.array([[0, 0, 1], [0, 1, -y_v], [1, 0, -x_v]], np.float64)


def _apply(h: np.ndarray, x: np.ndarray, y: np.ndarray):
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    return (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w, (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w, w


def rectify(plate: np.ndarray, hole: np.ndarray, structure: Structure, plane: int, patch: int) -> Rectified | None:
    """The plane's part of the hole and the plane around it, resampled into its rectified space:
    identity at the hole's centre, a window of the hole's extent plus a margin each side (so the
    sources are this plane's and near the hole). None when the plane has no hole, or its window
    has no room for sources."""
    import cv2

    height, width = hole.shape
    labels = structure.labels
    mine = hole & (labels == plane)
    targets = np.flatnonzero(mine)
    if targets.size == 0:
        return None
    h0 = _plane_homography(plane, structure.vanishing_point)
    ty, tx = np.divmod(targets, width)
    # The rectification is the identity at the hole's pixel nearest the camera (farthest from the
    # vanishing line), so it only stretches the hole; where it stretches more than _MAX_STRETCH
    # (close to the vanishing line: far away, a few pixels) the plain fill takes over.
    x_v, y_v = structure.vanishing_point
    away = np.abs(ty - y_v) if plane == GROUND else np.abs(tx - x_v)
    keep = away >= away.max() / math.sqrt(_MAX_STRETCH)
    targets, tx, ty = targets[keep], tx[keep], ty[keep]
    mine = np.zeros_like(mine).reshape(-1)
    mine[targets] = True
    mine = mine.reshape(hole.shape)
    ref = int(np.argmax(away[keep]))
    cx, cy = float(tx[ref]), float(ty[ref])
    u0, v0, w0 = _apply(h0, np.array([cx]), np.array([cy]))
    if w0[0] <= 0:
        return None
    eps = 0.5
    ux, vx, _ = _apply(h0, np.array([cx + eps]), np.array([cy]))
    uy, vy, _ = _apply(h0, np.array([cx]), np.array([cy + eps]))
    jac = np.array([[ux[0] - u0[0], uy[0] - u0[0]], [vx[0] - v0[0], vy[0] - v0[0]]]) / eps
    if abs(np.linalg.det(jac)) < 1e-15:
        return None
    a = np.linalg.inv(jac)
    norm = np.eye(3)
    norm[:2, :2] = a
    norm[:2, 2] = -a @ np.array([u0[0], v0[0]]) + np.array([cx, cy])
    h1 = norm @ h0                                   # identity at (cx, cy)
    # The hole's rectified extent; pixels on the wrong side of the vanishing line are not this plane.
    ru, rv, rw = _apply(h1, tx.astype(np.float64), ty.astype(np.float64))
    if (rw <= 0).any():
        return None
    extent = max(ru.max() - ru.min(), rv.max() - rv.min(), patch)
    pad = _WINDOW_SPREAD * extent + _WINDOW_MARGIN * patch
    box = [ru.min() - pad, rv.min() - pad, ru.max() + pad, rv.max() + pad]
    # ... clipped to where the plane is seen in the frame
    yy, xx = np.mgrid[0:height:2, 0:width:2].astype(np.float64)
    seen = labels[::2, ::2] == plane
    su, sv, sw = _apply(h1, xx[seen], yy[seen])
    front = sw > 0
    if front.sum() < 4:
        return None
    box = [max(box[0], su[front].min()), max(box[1], sv[front].min()),
           min(box[2], su[front].max()), min(box[3], sv[front].max())]
    area_cap = _WINDOW_MAX_AREA * height * width
    shrink = math.sqrt(area_cap / max((box[2] - box[0]) * (box[3] - box[1]), 1.0))
    if shrink < 1.0:  # shrink the window about the hole's centre
        mx, my = cx, cy
        box = [mx + (box[0] - mx) * shrink, my + (box[1] - my) * shrink,
               mx + (box[2] - mx) * shrink, my + (box[3] - my) * shrink]
    x0, y0 = math.floor(box[0]), math.floor(box[1])
    rw_px, rh_px = int(math.ceil(box[2]) - x0 + 1), int(math.ceil(box[3]) - y0 + 1)
    if min(rw_px, rh_px) < 3 * patch:
        return None
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
    to_rect = shift @ h1
    size = (rw_px, rh_px)
    flags = cv2.INTER_LINEAR | cv2.WARP_FILL_OUTLIERS
    image = cv2.warpPerspective(plate, to_rect, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    nearest = cv2.INTER_NEAREST
    inside = cv2.warpPerspective(np.ones((height, width), np.uint8), to_rect, size, flags=nearest,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
    plane_px = cv2.warpPerspective((labels == plane).astype(np.uint8), to_rect, size, flags=nearest,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
    grown = cv2.dilate(mine.astype(np.uint8), np.ones((3, 3), np.uint8))
    r_hole = cv2.warpPerspective(grown, to_rect, size, flags=nearest, borderMode=cv2.BORDER_CONSTANT,
                                 borderValue=0) > 0
    r_hole = cv2.dilate(r_hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    any_hole = cv2.warpPerspective(cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8)), to_rect, size,
                                   flags=nearest, borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
    forbid = ~(inside & plane_px) | (any_hole & ~r_hole)
    forbid = cv2.dilate(forbid.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # bilinear reach
    forbid &= ~r_hole
    # The other planes right next to this one's hole are filled with it (and thrown away), so no
    # patch of the hole compares itself with them.
    band = cv2.dilate(r_hole.astype(np.uint8), np.ones((patch, patch), np.uint8)) > 0
    r_hole = r_hole | (band & forbid)
    forbid &= ~r_hole
    return Rectified(plane, to_rect, np.ascontiguousarray(image, np.float32), r_hole, forbid, targets)


def unrectify(rect: Rectified, filled: np.ndarray, width: int) -> np.ndarray:
    """The rectified fill sampled back at the plane's hole pixels: [N, C]."""
    import cv2

    ty, tx = np.divmod(rect.targets, width)
    u, v, _ = _apply(rect.to_rect, tx.astype(np.float64), ty.astype(np.float64))
    n = rect.targets.size
    cols = 4096  # remap's maps must be under 32767 on a side: lay the points out in rows
    rows = -(-n // cols)
    map_x = np.zeros(rows * cols, np.float32)
    map_y = np.zeros(rows * cols, np.float32)
    map_x[:n], map_y[:n] = u, v
    out = cv2.remap(filled, map_x.reshape(rows, cols), map_y.reshape(rows, cols), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(rows * cols, filled.shape[2])[:n]


# --------------------------------------------------------------------------- motion


@dataclass
class PlaneMotionRegion:
    """Where one plane's motion is fitted near a frame's hole and where it then replaces
    the flow (see :func:`planar_motion`). Depends on the frame's hole and labels only, so a
    frame measured against both its neighbours finds it once."""
    plane: int
    ring: tuple[np.ndarray, np.ndarray]     # (ys, xs): the plane's ring around the hole, subsampled
    region: tuple[np.ndarray, np.ndarray]   # (ys, xs): the plane's part of the hole and its edge


def motion_regions(hole: np.ndarray, labels: np.ndarray) -> list[PlaneMotionRegion]:
    """Per plane that touches the hole: its ring (the plane's pixels between
    ``_MOTION_NEAR`` px and a reach of the hole, at least ``_MOTION_MIN_SAMPLES`` of them)
    and its region (the plane's pixels within ``_MOTION_NEAR + 2`` px of the hole). Found in
    the hole's box grown by the reach: no pixel beyond it is that near."""
    import cv2

    height, width = hole.shape
    if not hole.any():
        return []
    reach = max(_MOTION_RING_MIN, int(_MOTION_RING * max(height, width)))
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    y0, y1 = max(0, rows[0] - reach - 1), min(height, rows[-1] + reach + 2)
    x0, x1 = max(0, cols[0] - reach - 1), min(width, cols[-1] + reach + 2)
    box_labels = labels[y0:y1, x0:x1]
    away = cv2.distanceTransform((~hole[y0:y1, x0:x1]).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    ring = (away > _MOTION_NEAR) & (away <= reach)
    region = away <= _MOTION_NEAR + 2
    found = []
    for plane in np.unique(box_labels[region]):
        ys, xs = np.nonzero(ring & (box_labels == plane))
        if len(ys) < _MOTION_MIN_SAMPLES:
            continue
        stride = max(1, len(ys) // _MOTION_MAX_SAMPLES)
        ty, tx = np.nonzero(region & (box_labels == plane))
        found.append(PlaneMotionRegion(int(plane), (ys[::stride] + y0, xs[::stride] + x0), (ty + y0, tx + x0)))
    return found


def motion_tolerance(width: int, height: int) -> float:
    """Pixels a plane's motion is trusted to: RANSAC's inlier threshold when its
    homography is fitted, and how far two fits (one per direction) may disagree."""
    return max(1.0, math.hypot(width, height) / 300.0)


def planar_motion(field: np.ndarray, regions: list[PlaneMotionRegion]) -> np.ndarray:
    """An optical flow ``field`` (H×W×2, measured outside a frame's hole and interpolated
    through it) with, near the hole, each plane's part replaced by that plane's homography:
    fitted (RANSAC) to the measured flow on the plane's ring around the hole
    (:func:`motion_regions`). A plane moves by a homography whatever the camera does, while
    the smooth interpolation through the hole blends the ground's motion with the facade's
    and bends a facade's vertical lines as it carries them along a trucking shot. A plane
    with too little ring, or whose ring the homography does not explain, keeps the
    interpolation."""
    import cv2

    if not regions:
        return field
    height, width = field.shape[:2]
    threshold = motion_tolerance(width, height)
    out = field.copy()
    for found in regions:
        ys, xs = found.ring
        source = np.stack([xs, ys], -1).astype(np.float32)
        homography, inliers = cv2.findHomography(source, source + field[ys, xs], cv2.RANSAC, threshold)
        if homography is None or inliers.mean() < _MOTION_MIN_INLIERS:
            continue
        ty, tx = found.region
        points = np.stack([tx, ty, np.ones(len(tx))], -1) @ homography.T
        out[ty, tx] = (points[:, :2] / points[:, 2:3] - np.stack([tx, ty], -1)).astype(np.float32)
    return out
