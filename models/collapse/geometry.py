"""The plate's camera and the building lifted from the mask into 3D.

Camera space is the world: the camera sits at the origin looking down -Z, +X right,
+Y up, with a 50 mm lens on a 36 mm-wide sensor (the "50 mm-equivalent" of a still
camera) and the principal point at the frame's centre. Pixel (column c, row r) has its
centre at (c + 0.5, r + 0.5). The building becomes a slab whose front face lies in the
plane the mask is drawn on, at the depth that makes it ``height`` metres tall; the
ground is the horizontal plane through the mask's base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import BadInput

LENS_MM, SENSOR_MM = 50.0, 36.0
EYE_HEIGHT = 1.6          # metres: the camera height assumed when the mask's base sets the scale
FALLBACK_HEIGHT = 30.0    # metres: a building's height when its base gives no scale
DEFAULT_HEIGHTS = (12.0, 150.0)   # metres: the range a derived height is kept in


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    focal: float            # pixels

    @classmethod
    def for_frame(cls, width: int, height: int) -> "Camera":
        return cls(width, height, width * LENS_MM / SENSOR_MM)

    @property
    def centre(self) -> tuple[float, float]:
        return self.width / 2.0, self.height / 2.0

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (x right, y down, continuous) and depth of camera-space points."""
        depth = np.maximum(-points[..., 2], 1e-6)
        cx, cy = self.centre
        x = cx + self.focal * points[..., 0] / depth
        y = cy - self.focal * points[..., 1] / depth
        return np.stack([x, y], axis=-1), depth

    def unproject(self, x, y, depth):
        """Camera-space points at pixel coordinates (x, y) and depth (distance along -Z)."""
        cx, cy = self.centre
        x, y, depth = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(depth, float))
        return np.stack([(x - cx) / self.focal * depth, -(y - cy) / self.focal * depth, -depth], axis=-1)


@dataclass(frozen=True)
class Building:
    """The slab: front face at z = -distance, from ``low`` to ``high`` corners (metres)."""

    low: np.ndarray             # (x, y, z) minimum corner
    high: np.ndarray            # (x, y, z) maximum corner; high[2] = -distance (the front face)
    distance: float             # camera to the front face, metres
    ground: float               # y of the ground plane
    box_pixels: tuple[int, int, int, int]   # mask bounding box: left, top, right, bottom (exclusive)
    warnings: tuple[str, ...] = ()

    @property
    def size(self) -> np.ndarray:
        return self.high - self.low

    @property
    def front(self) -> float:
        return float(self.high[2])


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    solid = mask > 0.5
    if not solid.any():
        raise BadInput("The building mask is empty",
                       "Paint the building white in the mask (values above 0.5 count as building).")
    rows, cols = np.nonzero(solid.any(axis=1))[0], np.nonzero(solid.any(axis=0))[0]
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def lift_building(mask: np.ndarray, camera: Camera, height_m: float = 0.0) -> Building:
    """The slab for ``mask`` (H×W, 1 = building). ``height_m`` = 0 derives the scale
    from the base: a camera at eye height puts the base below the frame's centre by
    focal × 1.6 m / distance (the height found is kept within 12-150 m: a camera on a
    roof would otherwise make a tower a doll's house); a base above the centre gives a
    30 m building."""
    left, top, right, bottom = mask_box(mask)
    warnings = []
    if (right - left) < 4 or (bottom - top) < 4:
        raise BadInput(f"The building mask covers only {right - left}×{bottom - top} pixels",
                       "Mask the whole building (at least a few pixels across).")
    edges = [name for name, touches in (("left", left == 0), ("top", top == 0), ("right", right == camera.width),
                                        ("bottom", bottom == camera.height)) if touches]
    if edges:
        warnings.append(f"the mask touches the frame's {' and '.join(edges)} edge: the building is taken to end there"
                        + ("; its base is out of shot, so the ground is put at the frame's bottom" if "bottom" in edges else ""))
    _, cy = camera.centre
    pixels_tall = bottom - top
    if height_m > 0:
        distance = camera.focal * height_m / pixels_tall
    elif bottom - cy > 0.02 * camera.height:
        eye_level = EYE_HEIGHT * pixels_tall / (bottom - cy)       # the height if the camera is at eye level
        distance = camera.focal * float(np.clip(eye_level, *DEFAULT_HEIGHTS)) / pixels_tall
    else:
        distance = camera.focal * FALLBACK_HEIGHT / pixels_tall
        warnings.append(f"the building's base is not below the frame's centre, so its height is taken as "
                        f"{FALLBACK_HEIGHT:.0f} m (set the height for the right scale)")
    corner_low = camera.unproject(left, bottom, distance)
    corner_high = camera.unproject(right, top, distance)
    width_m, tall_m = corner_high[0] - corner_low[0], corner_high[1] - corner_low[1]
    thickness = float(np.clip(0.5 * min(width_m, tall_m), 0.05 * tall_m, 30.0))
    low = np.array([corner_low[0], corner_low[1], -distance - thickness])
    high = np.array([corner_high[0], corner_high[1], -distance])
    return Building(low=low, high=high, distance=float(distance), ground=float(corner_low[1]),
                    box_pixels=(left, top, right, bottom), warnings=tuple(warnings))


def outline_planes(mask: np.ndarray, camera: Camera) -> np.ndarray:
    """The mask's outline (its convex hull) as planes through the camera: K×3 normals
    ``n`` with ``n · p <= 0`` for every camera-space point ``p`` that projects inside the
    outline, whatever its depth. Cutting the fragments with them keeps every piece of
    the building inside the building's silhouette."""
    import cv2

    solid = (mask > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(solid, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    points = np.concatenate([c.reshape(-1, 2) for c in contours]).astype(np.float64)
    # pixel corners, so the hull holds whole pixels
    corners = np.concatenate([points + offset for offset in ((0, 0), (1, 0), (0, 1), (1, 1))])
    hull = cv2.convexHull(corners.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    rays = camera.unproject(hull[:, 0], hull[:, 1], np.ones(len(hull)))
    normals = np.cross(rays, np.roll(rays, -1, axis=0))
    inside = camera.unproject(*hull.mean(axis=0), 1.0)
    normals *= np.where(normals @ inside > 0, -1.0, 1.0)[:, None]
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return normals[np.linalg.norm(np.roll(hull, -1, axis=0) - hull, axis=1) > 1e-9]
