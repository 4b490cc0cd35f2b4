"""Debris: the small pieces a collapse throws out, as ballistic particles.

Every fragment that shatters on a strike or is pulverised in the failing storeys
sheds pieces (their count grows with the fragment's size; their sizes follow a power
law, many small and a few large), thrown out with the fragment's own velocity plus a
spray along the ground. They fall under gravity, bounce on the ground losing most of
their speed, slide to rest, and are drawn as small lit chunks: each carries the
facade's colour where it came from or the inner material, and a facet that tumbles
through the light, so they glint as they turn. Seeded and run once per shot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Camera

PER_FRAGMENT = 28          # pieces from a fragment of the mean volume (more from larger ones)
MAX_PIECES = 6000
SIZES = (0.003, 0.016)     # piece radius, as a share of the building's height (power law between)
RESTITUTION = 0.3
FRICTION = 0.55            # share of the horizontal speed a bounce keeps is 1 - this
SUBSTEPS = 2
GRIP = 5.0                 # 1/s: how fast sliding on the ground stops a piece


@dataclass
class DebrisFrames:
    frames: list[int]
    positions: np.ndarray      # F×P×3
    alive: np.ndarray          # F×P bool (born)
    radius: np.ndarray         # P metres
    colour: np.ndarray         # P×3 (lit as the facade at rest)
    axis: np.ndarray           # P×3 tumbling axis (unit)
    spin: np.ndarray           # P rad/s
    facet: np.ndarray          # P×3 facet normal at birth (unit)
    born: np.ndarray           # P frame of birth
    fps: float

    def index(self, frame: int) -> int:
        return min(max(frame - self.frames[0], 0), len(self.frames) - 1)


def simulate_debris(events, volumes: np.ndarray, colours: np.ndarray, frames: list[int], fps: float,
                    ground: float, tall: float, gravity: float, amount: float, seed: int) -> DebrisFrames:
    """``events`` [(frame, fragment, centre, velocity)]: fragments breaking up;
    ``volumes``/``colours``: every fragment's volume and its pieces' colours
    (N×2×3: facade, inner)."""
    rng = np.random.default_rng([int(seed), 0xDEB1])
    mean_volume = float(np.mean(volumes)) if len(volumes) else 1.0
    births, starts, velocities, radii, tones = [], [], [], [], []
    spray = 0.25 * np.sqrt(9.81 * tall)
    for frame, fragment, centre, velocity in events:
        count = int(rng.poisson(PER_FRAGMENT * amount * (volumes[fragment] / mean_volume) ** (2 / 3)))
        if count == 0:
            continue
        extent = 0.45 * np.cbrt(volumes[fragment])
        births.append(np.full(count, frame))
        start = centre + rng.uniform(-extent, extent, (count, 3))
        start[:, 1] = np.maximum(start[:, 1], ground)
        starts.append(start)
        angle = rng.uniform(0, 2 * np.pi, count)
        out = spray * rng.gamma(2.0, 0.5, count)
        throw = np.stack([np.cos(angle) * out, np.abs(rng.normal(0.5, 0.6, count)) * spray, np.sin(angle) * out], -1)
        velocities.append(0.6 * np.asarray(velocity) + throw)
        # power law: many small pieces, a few large ones
        low, high = SIZES
        radii.append(tall * low * (high / low) ** (rng.random(count) ** 2.2))
        facade = rng.random(count) < 0.45
        tones.append(np.where(facade[:, None], colours[fragment, 0], colours[fragment, 1])
                     * rng.uniform(0.75, 1.2, (count, 1)))
    if births:
        born = np.concatenate(births)[:MAX_PIECES]
        position = np.concatenate(starts)[:MAX_PIECES]
        velocity = np.concatenate(velocities)[:MAX_PIECES]
        radius = np.concatenate(radii)[:MAX_PIECES]
        colour = np.concatenate(tones)[:MAX_PIECES]
    else:
        born, position, velocity = np.zeros(0, int), np.zeros((0, 3)), np.zeros((0, 3))
        radius, colour = np.zeros(0), np.zeros((0, 3))
    count = len(born)
    axis = rng.normal(size=(count, 3))
    axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-9)
    facet = rng.normal(size=(count, 3))
    facet /= np.maximum(np.linalg.norm(facet, axis=1, keepdims=True), 1e-9)
    spin = rng.uniform(3.0, 14.0, count)
    positions = np.zeros((len(frames), count, 3), np.float32)
    alive = np.zeros((len(frames), count), bool)
    dt = 1.0 / (fps * SUBSTEPS)
    g = 9.81 * gravity
    resting = np.zeros(count, bool)
    for i, frame in enumerate(frames):
        moving = (born <= frame) & ~resting
        for _ in range(SUBSTEPS):
            velocity[moving, 1] -= g * dt
            position[moving] += velocity[moving] * dt
            below = moving & (position[:, 1] - radius < ground)
            position[below, 1] = ground + radius[below]
            velocity[below, 1] = -velocity[below, 1] * RESTITUTION
            velocity[below, 0] *= 1.0 - FRICTION
            velocity[below, 2] *= 1.0 - FRICTION
            sliding = moving & (position[:, 1] - radius < ground + 1e-3)     # on the ground: friction slows it
            velocity[sliding, 0] *= np.exp(-GRIP * dt)
            velocity[sliding, 2] *= np.exp(-GRIP * dt)
            resting |= below & (np.linalg.norm(velocity, axis=1) < 0.5)
        positions[i] = position
        alive[i] = born <= frame
    return DebrisFrames(list(frames), positions, alive, radius, colour.astype(np.float32), axis, spin, facet,
                        born, fps)


def _rotate(vectors: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues' rotation of each vector about its axis."""
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    return vectors * cos + np.cross(axis, vectors) * sin + axis * (axis * vectors).sum(1, keepdims=True) * (1 - cos)


def render_debris(debris: DebrisFrames, frame: int, camera: Camera, light: np.ndarray, ambient: float,
                  depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pieces alive at ``frame`` as premultiplied RGBA (H×W×4) and their depth
    (H×W, 1e10 where none), drawn only where they are nearer than ``depth``."""
    height, width = camera.height, camera.width
    colour = np.zeros((height, width, 4), np.float32)
    nearest = np.full((height, width), 1.0e10, np.float32)
    i = debris.index(frame)
    live = np.nonzero(debris.alive[i])[0]
    if len(live) == 0:
        return colour, nearest
    xy, distance = camera.project(debris.positions[i, live].astype(np.float64))
    radius_px = camera.focal * debris.radius[live] / distance
    age = (frame - debris.born[live]) / debris.fps
    normal = _rotate(debris.facet[live], debris.axis[live], debris.spin[live] * age)
    lit = (ambient + np.abs(normal @ light)) / (ambient + max(float(light[2]), 0.0))
    tone = debris.colour[live] * lit[:, None]
    order = np.argsort(-distance, kind="stable")          # far to near: the nearest is drawn last
    xy, distance, radius_px, tone = xy[order], distance[order], radius_px[order], tone[order]
    reach = int(np.clip(np.ceil(radius_px.max()), 0, 6))
    column0, row0 = np.floor(xy[:, 0]).astype(int), np.floor(xy[:, 1]).astype(int)
    # each chunk's outline and facets: a per-piece random reach in each direction and a lit and a shaded side
    rng = np.random.default_rng(0xC4)
    jag = rng.uniform(0.55, 1.0, (len(debris.radius), 4))[live][order]
    side = (normal[order][:, :2] / np.maximum(np.linalg.norm(normal[order][:, :2], axis=1, keepdims=True), 1e-6))
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            # an irregular blob within the piece's radius; below a pixel, partial coverage
            quadrant = (0 if dx >= 0 else 1) + (0 if dy >= 0 else 2)
            cover = np.clip(radius_px * jag[:, quadrant] + 0.5 - 0.8 * np.hypot(dx, dy), 0.0, 1.0)
            cover *= np.clip(2.0 * radius_px, 0.0, 1.0) if (dx, dy) == (0, 0) else 1.0
            facet = 1.0 + 0.25 * np.clip(side[:, 0] * dx - side[:, 1] * dy, -1.0, 1.0) if (dx, dy) != (0, 0) else 1.0
            row, column = row0 + dy, column0 + dx
            inside = (cover > 0.05) & (row >= 0) & (row < height) & (column >= 0) & (column < width)
            inside[inside] &= distance[inside] < depth[row[inside], column[inside]]
            rows, columns, a = row[inside], column[inside], cover[inside]
            shaded = tone[inside] * (facet[inside][:, None] if np.ndim(facet) else facet)
            colour[rows, columns, :3] = shaded * a[:, None] + colour[rows, columns, :3] * (1 - a[:, None])
            colour[rows, columns, 3] = a + colour[rows, columns, 3] * (1 - a)
            nearest[rows, columns] = np.minimum(nearest[rows, columns], distance[inside])
    return colour, nearest
