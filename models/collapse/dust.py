"""Dust as a volume: a density grid advected over the shot and ray-marched with
self-shadowing.

The grid is axis-aligned in camera space (metres; +Y up), over the building and the
street around it. Dust is emitted where welds break, where storeys are pulverised,
where fragments shatter and where they strike; every frame the density is carried
(semi-Lagrangian, trilinear) by a velocity field: the wind, curl noise (divergence-free
swirl), buoyancy, and the outflow of the collapse, which pushes dust outward along the
ground and lets it roll up at its front — the pyroclastic cloud of a demolition.

Rendering marches camera rays through the grid (a froxel grid at a fraction of the
frame's resolution): each sample's density is broken up by two octaves of noise carried
with the dust (detail finer than the grid), lit by the light's transmittance (optical
depth swept through the grid toward the light) and by sky light dimmed by the dust
around it, so the cloud is dark in its core and lit on its rims. The same optical
depth toward the light gives the shadow the dust casts on the ground, the fragments and
the plate. The simulation runs once per shot, seeded: a frame's dust does not depend
on which frames were rendered before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Camera

CELLS_TALL = 14          # grid cells over the building's height
MAX_CELLS = 96           # along any axis
EXTINCTION = 18.0        # optical depth per building height through density 1
DECAY = 7.0              # seconds for dust to thin out by e
RENDER_SCALE = 4         # froxel grid: one ray per RENDER_SCALE × RENDER_SCALE pixels
SHADOW = 0.7             # how much of a surface's light the dust above it can take away
SUN, SKY = 0.95, 0.42    # light on the dust from the light and from the sky
NOISE_SIZE = 32          # the tileable noise texture (cells a side)
ALPHA_FLOOR = 1e-3       # dust thinner than this is none
SWIRL_EVERY = 4          # frames between updates of the swirl


@dataclass
class DustGrid:
    """The density of every cell at every frame of the shot."""

    frames: list[int]
    low: np.ndarray           # world position of cell (0, 0, 0)'s centre
    cell: float               # metres
    density: np.ndarray       # F×NX×NY×NZ (float32)
    extinction: float         # per metre per unit density
    wind: np.ndarray          # m/s: what carries the detail noise
    rise: float               # m/s: the noise's upward drift
    noise: np.ndarray         # NOISE_SIZE³ tileable noise in [0, 1]
    fps: float

    def at(self, frame: int) -> np.ndarray:
        return self.density[min(max(frame - self.frames[0], 0), len(self.frames) - 1)]


def curl_noise(points: np.ndarray, time: float, scale: float, seed: int) -> np.ndarray:
    """Divergence-free swirl: the curl of a smooth random vector potential (sums of
    sines, differentiated exactly); unit-ish magnitude."""
    rng = np.random.default_rng([seed, 0xD057])
    waves = rng.normal(size=(3, 4, 3)) / scale
    phases = rng.uniform(0, 2 * np.pi, size=(3, 4))
    speeds = rng.uniform(0.2, 0.6, size=(3, 4))
    # grad[c][..., axis] = d potential_c / d axis
    flat = points.reshape(-1, 3)
    grad = [(np.cos(flat @ waves[c].T + phases[c] + speeds[c] * time) @ waves[c]).reshape(points.shape)
            for c in range(3)]
    return np.stack([grad[2][..., 1] - grad[1][..., 2], grad[0][..., 2] - grad[2][..., 0],
                     grad[1][..., 0] - grad[0][..., 1]], -1) * scale / 4.0


def _noise_texture(seed: int) -> np.ndarray:
    """Tileable smooth noise in [0, 1] (white noise low-passed by a wrapped Gaussian)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng([int(seed), 0x7E47])
    noise = gaussian_filter(rng.random((NOISE_SIZE,) * 3), 1.6, mode="wrap")
    noise -= noise.min()
    return (noise / max(float(noise.max()), 1e-9)).astype(np.float32)


def _splat(grid: np.ndarray, coords: np.ndarray, amounts: np.ndarray) -> None:
    """Add ``amounts`` at fractional cell ``coords`` (N×3), trilinearly."""
    base = np.floor(coords).astype(int)
    frac = coords - base
    shape = np.array(grid.shape)
    for corner in range(8):
        offset = np.array([(corner >> axis) & 1 for axis in range(3)])
        weight = np.prod(np.where(offset, frac, 1.0 - frac), axis=1) * amounts
        index = base + offset
        inside = np.all((index >= 0) & (index < shape), axis=1)
        np.add.at(grid, tuple(index[inside].T), weight[inside])


def simulate_dust(breaks, impacts, pulverised, frames: list[int], fps: float, building,
                  amount: float, seed: int, wind: np.ndarray | None = None) -> DustGrid:
    """The dust over ``frames``: emitted at ``breaks`` [(frame, point)], ``impacts``
    [(frame, point, speed)] and at fragments turning to dust, ``pulverised``
    [(frame, centre, volume)], carried by the wind, swirl,
    buoyancy and the collapse's outflow along the ground."""
    from scipy.ndimage import gaussian_filter, map_coordinates

    tall = float(building.size[1])
    ground = float(building.ground)
    cell = tall / CELLS_TALL
    spread = 1.2 * tall + 0.3 * float(building.size[0])
    near = min(1.0 * tall, 0.6 * float(building.distance))       # toward the camera, kept well away from it
    low = np.array([building.low[0] - spread, ground + 0.5 * cell, building.low[2] - 0.8 * tall])
    high = np.array([building.high[0] + spread, ground + 2.3 * tall, building.high[2] + near])
    cell = max(cell, float((high - low).max()) / MAX_CELLS)
    shape = tuple(int(n) for n in np.maximum(np.ceil((high - low) / cell), 4).astype(int))
    rng = np.random.default_rng([int(seed), 0xD0057])
    wind = np.array([0.05, 0.0, 0.02]) * np.sqrt(9.81 * tall) if wind is None else np.asarray(wind, float)
    rise = 0.04 * np.sqrt(9.81 * tall)

    # what each frame emits, as (point, amount); amounts are the dust's volume over a cell's volume
    emission: dict[int, list[tuple[np.ndarray, float]]] = {}

    def emit(frame, point, volume, burst):
        """``volume`` m³ of dust at ``point``, scattered over ``burst`` metres."""
        if volume <= 0:
            return
        count = 6
        points = np.asarray(point, float) + rng.normal(scale=burst, size=(count, 3))
        points[:, 1] = np.maximum(points[:, 1], ground + 0.3 * cell)
        for p in points:
            emission.setdefault(int(frame), []).append((p, volume / count / cell ** 3))

    yield_ = 0.9 * amount        # dust volume per volume of concrete turned to dust (it bulks up)
    for frame, point in breaks:
        emit(frame, point, 0.02 * amount * cell ** 3, 0.3 * cell)
    for frame, point, volume in pulverised:
        emit(frame, point, yield_ * volume, 0.35 * np.cbrt(volume) + 0.5 * cell)
    for frame, point, speed in impacts:
        emit(frame, point, 0.004 * amount * min(speed, 20.0) * cell ** 3, 0.5 * cell)

    axes = [low[a] + cell * np.arange(shape[a]) for a in range(3)]
    grid_points = np.stack(np.meshgrid(*axes, indexing="ij"), -1)
    height_above = grid_points[..., 1] - ground
    footprint = np.array([(building.low[0] + building.high[0]) / 2, (building.low[2] + building.high[2]) / 2])
    half = np.array([float(building.size[0]) / 2, float(building.size[2]) / 2])
    radial = np.stack([grid_points[..., 0] - footprint[0], grid_points[..., 2] - footprint[1]], -1)
    outside = np.maximum(np.abs(radial) - half, 0.0) * np.sign(radial)
    towards = radial / np.maximum(np.linalg.norm(radial, axis=-1, keepdims=True), 1e-6)
    reach = np.clip(np.linalg.norm(outside, axis=-1) / (0.3 * tall), 0.0, 1.0)
    # the outflow: along the ground, strongest low down and near the building, rolling up at its front
    hug = np.exp(-height_above / (0.18 * tall))
    outflow_speed = 0.7 * np.sqrt(9.81 * tall)
    first = min(emission) if emission else frames[0]
    density = np.zeros(shape, np.float32)
    out = np.zeros((len(frames),) + shape, np.float32)
    dt = 1.0 / fps
    index = np.indices(shape).astype(np.float32)
    swirl = None
    for i, frame in enumerate(frames):
        if frame in emission:
            added = np.zeros(shape, np.float32)
            points = np.array([p for p, _ in emission[frame]])
            _splat(added, (points - low) / cell, np.array([a for _, a in emission[frame]]))
            density += gaussian_filter(added, 0.8, mode="constant")
        if density.any():
            t = frame / fps
            since = max(frame - first, 0) / fps
            if swirl is None or i % SWIRL_EVERY == 0:      # the swirl changes slowly: update it now and then
                swirl = 0.35 * np.sqrt(9.81 * tall) * curl_noise(grid_points, t, 0.45 * tall, seed)
            velocity = wind + swirl
            push = outflow_speed * np.exp(-since / 3.0) * hug * (0.35 + 0.65 * reach)
            velocity[..., 0] += push * towards[..., 0]
            velocity[..., 2] += push * towards[..., 1]
            velocity[..., 1] += rise * (0.4 + 1.6 * reach * (1 - hug))
            velocity[..., 1] = np.where(height_above < cell, np.maximum(velocity[..., 1], 0.0), velocity[..., 1])
            back = index - np.moveaxis(velocity, -1, 0) * (dt / cell)
            back[1] = np.maximum(back[1], 0.0)              # the ground: dust does not come up through it
            density = map_coordinates(density, back, order=1, mode="constant", cval=0.0).astype(np.float32)
            density *= np.float32(np.exp(-dt / DECAY))
        out[i] = density
    return DustGrid(list(frames), low, cell, out, EXTINCTION / tall, wind, rise, _noise_texture(seed), fps)


def light_depth(grid: DustGrid, density: np.ndarray, light: np.ndarray) -> np.ndarray:
    """Optical depth from every cell toward the light (a unit vector with +Y up,
    coming from above), swept down through the grid layer by layer."""
    from scipy.ndimage import shift

    light = np.asarray(light, float) / np.linalg.norm(light)
    step = grid.cell / max(light[1], 0.2)                      # metres along the light ray per layer
    lateral = (light[0] / max(light[1], 0.2), light[2] / max(light[1], 0.2))
    depth = np.zeros_like(density)
    above = np.zeros((density.shape[0], density.shape[2]), np.float32)
    for y in range(density.shape[1] - 1, -1, -1):
        # the layer above, seen from this one: moved against the light's lateral run
        above = shift(above, (-lateral[0], -lateral[1]), order=1, mode="constant", cval=0.0)
        depth[:, y, :] = above + 0.5 * density[:, y, :] * grid.extinction * step
        above = above + density[:, y, :] * grid.extinction * step
    return depth


def _sample(volume: np.ndarray, coords: np.ndarray, mode: str = "constant") -> np.ndarray:
    from scipy.ndimage import map_coordinates

    return map_coordinates(volume, coords, order=1, mode=mode, cval=0.0)


def render_dust(grid: DustGrid, frame: int, camera: Camera, tint: np.ndarray, light: np.ndarray,
                surface_depth: np.ndarray, ground: float) -> tuple[np.ndarray, np.ndarray]:
    """The dust of ``frame`` as premultiplied RGBA (H×W×4), hidden behind nearer
    surfaces (``surface_depth``: H×W distance along the view axis, 1e10 where none),
    and the shade it casts (H×W, 1 = unshaded) on the surface each pixel shows: a
    fragment, else the ground plane at ``ground`` (none above the horizon)."""
    import cv2
    from scipy.ndimage import gaussian_filter

    height, width = camera.height, camera.width
    density = grid.at(frame)
    if not density.any():
        return np.zeros((height, width, 4), np.float32), np.ones((height, width), np.float32)
    light = np.asarray(light, float) / np.linalg.norm(light)
    to_light = light_depth(grid, density, light)
    # sky light reaches a cell less when dust surrounds it (a cheap ambient occlusion)
    around = gaussian_filter(density, 2.0, mode="constant") * grid.extinction * grid.cell * 5.0
    lit = SUN * np.exp(-to_light) + SKY * np.exp(-around)

    # rays at RENDER_SCALE× fewer pixels, through the grid's depth range
    scale = RENDER_SCALE
    small_h, small_w = max(1, -(-height // scale)), max(1, -(-width // scale))
    ys = (np.arange(small_h) + 0.5) * height / small_h
    xs = (np.arange(small_w) + 0.5) * width / small_w
    corners = grid.low + grid.cell * (np.array(density.shape) - 1)
    near, far = max(-corners[2], 0.5), -grid.low[2]
    count = int(np.clip(np.ceil((far - near) / grid.cell), 8, 96))
    depths = near + (np.arange(count) + 0.5) * (far - near) / count
    step = (far - near) / count
    cx, cy = camera.centre
    ray_x = (xs[None, :] - cx) / camera.focal
    ray_y = -(ys[:, None] - cy) / camera.focal
    points = np.empty((count, small_h, small_w, 3), np.float32)
    points[..., 0] = depths[:, None, None] * ray_x[None]
    points[..., 1] = depths[:, None, None] * ray_y[None]
    points[..., 2] = -depths[:, None, None]
    coords = np.moveaxis((points - grid.low) / grid.cell, -1, 0)
    rho = _sample(density, coords)
    shade = _sample(lit, coords)
    # detail finer than the grid: two octaves of noise carried by the wind and rising with the dust
    t = (frame - grid.frames[0]) / grid.fps
    drift = grid.wind * t + np.array([0.0, grid.rise * t, 0.0])
    detail = np.zeros_like(rho)
    for octave, (size, weight) in enumerate(((1.6, 0.6), (0.55, 0.4))):
        cells = (points - drift * (1.0 + 0.5 * octave)) / (grid.cell * size)
        detail += weight * _sample(grid.noise, np.moveaxis(np.mod(cells, NOISE_SIZE), -1, 0), "grid-wrap")
    rho = rho * np.clip(2.4 * detail - 0.55, 0.0, None)
    # a surface hides the dust behind it: march each ray twice, up to the surface its block shows
    # (the mean depth of the block's covered pixels) and through; each pixel takes the one it needs
    covered = surface_depth < 1e6
    share = cv2.resize(covered.astype(np.float32), (small_w, small_h), interpolation=cv2.INTER_AREA)
    summed = cv2.resize(np.where(covered, surface_depth, 0.0).astype(np.float32), (small_w, small_h),
                        interpolation=cv2.INTER_AREA)
    surface = np.where(share > 0, summed / np.maximum(share, 1e-6), 1e10)
    alpha = 1.0 - np.exp(-rho * grid.extinction * step)

    def march(visible):
        a = np.where(visible, alpha, 0.0)
        through = np.cumprod(1.0 - a, axis=0)
        before = np.concatenate([np.ones((1, small_h, small_w)), through[:-1]], axis=0)
        brightness = (before * a * shade).sum(0)
        small = np.concatenate([brightness[..., None] * tint[None, None, :], 1.0 - through[-1][..., None]], -1)
        return cv2.resize(small.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)

    dust = march(True)
    if covered.any():
        dust = np.where(covered[..., None], march(depths[:, None, None] < surface[None]), dust)
    dust = np.where(dust[..., 3:4] < ALPHA_FLOOR, 0.0, dust).astype(np.float32)     # no endless faint veil

    # the shade the dust casts: optical depth toward the light at the surface each pixel shows
    # (above the horizon, where no fragment is, the plate may be sky: nothing there takes a shadow)
    ground_depth = np.where(ray_y < -1e-4, ground / np.minimum(ray_y, -1e-4), np.inf) * np.ones((1, small_w))
    depth = np.where(share > 0.5, surface, np.minimum(ground_depth, 1e9))
    spots = np.stack([depth * ray_x, depth * ray_y, -depth], -1)
    cells = np.moveaxis((spots - grid.low) / grid.cell, -1, 0)
    cells[1] = np.maximum(cells[1], 0.0)              # the ground lies half a cell below the lowest cells
    cast = np.where(depth < 1e9, np.exp(-_sample(to_light, cells)), 1.0)
    shadow = cv2.resize((1.0 - SHADOW * (1.0 - cast)).astype(np.float32), (width, height),
                        interpolation=cv2.INTER_LINEAR)
    return dust, shadow
