"""Dust: particles thrown up where welds break and fragments strike, carried by drag
toward a turbulent wind (curl noise, so the flow swirls without sources or sinks),
lifted by buoyancy, and rendered as soft premultiplied splats whose light falls off
under the dust above them.

The particles live in the same metres as the fragments; the simulation runs once per
shot, seeded, so a frame's dust does not depend on which frames were rendered before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Camera

SUBSTEPS = 2
DRAG = 1.6              # 1/s: how fast a particle takes the wind's velocity
BUOYANCY = 0.35         # m/s² per metre of building height / 30 (warm dust rises a little)
LIFE = (2.5, 5.0)       # seconds
DENSITY_GAIN = 0.3      # optical depth at the centre of one fully opaque particle
SHADOW_REACH = 0.12     # of the frame's height: how far above a pixel dust shades it


@dataclass
class DustFrames:
    """Every particle's state at every frame of the shot (alive or not)."""

    frames: list[int]
    positions: np.ndarray     # F×P×3
    sizes: np.ndarray         # F×P (metres, radius)
    opacity: np.ndarray       # F×P (0 when not yet born or gone)

    def at(self, frame: int):
        i = min(max(frame - self.frames[0], 0), len(self.frames) - 1)
        return self.positions[i], self.sizes[i], self.opacity[i]


def curl_noise(points: np.ndarray, time: float, scale: float, seed: int) -> np.ndarray:
    """Divergence-free swirl: the curl of a smooth random vector potential (sums of
    sines), by central differences; unit-ish magnitude."""
    rng = np.random.default_rng([seed, 0xD057])
    waves = rng.normal(size=(3, 4, 3)) / scale
    phases = rng.uniform(0, 2 * np.pi, size=(3, 4))
    speeds = rng.uniform(0.2, 0.6, size=(3, 4))

    def potential(p):
        return np.stack([np.sin(p @ waves[c].T + phases[c] + speeds[c] * time).sum(-1) for c in range(3)], -1)

    h = 0.05 * scale
    grad = np.empty(points.shape + (3,))   # grad[..., c, axis] = d potential_c / d axis
    for axis in range(3):
        step = np.zeros(3)
        step[axis] = h
        grad[..., axis] = (potential(points + step) - potential(points - step)) / (2 * h)
    return np.stack([grad[..., 2, 1] - grad[..., 1, 2], grad[..., 0, 2] - grad[..., 2, 0],
                     grad[..., 1, 0] - grad[..., 0, 1]], -1) * scale / 4.0


def simulate_dust(breaks, impacts, pulverised, frames: list[int], fps: float, ground: float, height_m: float,
                  amount: float, seed: int, wind: np.ndarray | None = None) -> DustFrames:
    """Emit at ``breaks`` [(frame, point)], ``impacts`` [(frame, point, speed)] and
    ``pulverised`` fragments [(frame, centre, volume)] (a burst as big as the fragment);
    return the particles' states at ``frames``."""
    rng = np.random.default_rng([int(seed), 0xD0057])
    births, starts, velocities, sizes, lives = [], [], [], [], []
    scale = height_m / 30.0

    def emit(frame, point, count, speed):
        if count <= 0:
            return
        births.append(np.full(count, frame))
        starts.append(point + rng.normal(scale=0.4 * scale, size=(count, 3)))
        direction = rng.normal(size=(count, 3))
        direction[:, 1] = np.abs(direction[:, 1]) * 0.7
        velocities.append(direction * speed)
        sizes.append(rng.uniform(0.6, 1.4, count) * scale)
        lives.append(rng.uniform(*LIFE, count))

    for frame, point in breaks:
        emit(frame, point, int(rng.poisson(0.2 * amount)), 1.5 * scale)
    for frame, point, volume in pulverised:
        emit(frame, point, int(rng.poisson(4.0 * amount * np.cbrt(volume) / scale)), 2.5 * scale)
    for frame, point, speed in impacts:
        emit(frame, point, int(rng.poisson(min(speed, 12.0) * 0.25 * amount)), 0.35 * speed)
    count = sum(len(b) for b in births)
    frame_count = len(frames)
    out_positions = np.zeros((frame_count, count, 3), np.float32)
    out_sizes = np.zeros((frame_count, count), np.float32)
    out_opacity = np.zeros((frame_count, count), np.float32)
    if count == 0:
        return DustFrames(frames, out_positions, out_sizes, out_opacity)
    birth, position = np.concatenate(births), np.concatenate(starts)
    velocity, size0, life = np.concatenate(velocities), np.concatenate(sizes), np.concatenate(lives)
    position[:, 1] = np.maximum(position[:, 1], ground)
    wind = np.array([0.6, 0.0, 0.2]) * scale if wind is None else wind
    dt = 1.0 / (fps * SUBSTEPS)
    for i, frame in enumerate(frames):
        age = (frame - birth) / fps
        alive = age >= 0
        for step in range(SUBSTEPS):
            t = (frame + step / SUBSTEPS) / fps
            moving = alive
            flow = wind + 1.4 * scale * curl_noise(position[moving], t, 4.0 * scale, seed)
            velocity[moving] += (flow - velocity[moving]) * min(DRAG * dt, 1.0)
            velocity[moving, 1] += BUOYANCY * scale * dt
            position[moving] += velocity[moving] * dt
            below = position[:, 1] < ground
            position[below, 1] = ground
            velocity[below, 1] = np.abs(velocity[below, 1]) * 0.2
        out_positions[i] = position
        out_sizes[i] = size0 * (1.0 + 1.2 * np.maximum(age, 0))
        fade_in = np.clip(age / 0.12, 0, 1)
        out_opacity[i] = np.where(alive, fade_in * np.exp(-np.maximum(age, 0) / life), 0.0)
    return DustFrames(frames, out_positions, out_sizes, out_opacity)


def render_dust(dust: DustFrames, frame: int, camera: Camera, tint: np.ndarray, light: float,
                ambient: float, fragment_depth: np.ndarray | None = None) -> np.ndarray:
    """The dust of ``frame`` as premultiplied RGBA: Gaussian splats (grouped by size and
    blurred per group), hidden behind nearer fragments, shaded by the dust above."""
    import cv2

    positions, sizes, opacity = dust.at(frame)
    height, width = camera.height, camera.width
    density = np.zeros((height, width), np.float32)
    live = opacity > 1e-3
    if live.any():
        xy, depth = camera.project(positions[live].astype(np.float64))
        radius = camera.focal * sizes[live] / depth
        weight = opacity[live]
        visible = (positions[live][:, 2] < -0.1) & (xy[:, 0] > -radius) & (xy[:, 0] < width + radius) \
            & (xy[:, 1] > -radius) & (xy[:, 1] < height + radius)
        if fragment_depth is not None:
            column = np.clip(xy[:, 0].astype(int), 0, width - 1)
            row = np.clip(xy[:, 1].astype(int), 0, height - 1)
            visible &= depth < fragment_depth[row, column] + sizes[live]
        xy, radius, weight = xy[visible], np.maximum(radius[visible], 0.7), weight[visible]
        level = np.clip(np.round(2 * np.log2(radius)).astype(int), 0, 20)
        for band in np.unique(level):
            chosen = level == band
            sigma = 2 ** (band / 2.0)
            splats = np.zeros((height, width), np.float32)
            column = np.clip(np.round(xy[chosen, 0] - 0.5).astype(int), 0, width - 1)
            row = np.clip(np.round(xy[chosen, 1] - 0.5).astype(int), 0, height - 1)
            np.add.at(splats, (row, column), weight[chosen])
            size = int(2 * round(3 * sigma) + 1)
            # the blur keeps a splat's sum: scale its peak back to its opacity
            density += cv2.GaussianBlur(splats, (size, size), sigma) * (2 * np.pi * sigma ** 2) * DENSITY_GAIN
    alpha = 1.0 - np.exp(-density)
    reach = max(2, int(SHADOW_REACH * height))
    above = np.cumsum(np.pad(density, ((reach, 0), (0, 0))), axis=0)
    shade = np.exp(-0.5 * (above[reach:] - above[:-reach]))
    colour = tint[None, None, :] * (ambient + light * shade)[..., None]
    return np.concatenate([colour * alpha[..., None], alpha[..., None]], axis=-1).astype(np.float32)
