"""A collapse over a shot: the building lifted, fractured and simulated once, then each
frame's passes rendered from the simulation.

:meth:`CollapseShot.prepare` does the work shared by every frame (geometry, fracture,
MuJoCo, debris, dust); :meth:`CollapseShot.frame_passes` renders one frame. Frames
before the start frame are the plate; from the start frame on, the fragments carry the
start frame's plate and, with the debris drawn into the Fragments pass, are laid over
the clean plate, shaded where the dust above them takes the light, with the dust over all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .debris import DebrisFrames, render_debris, simulate_debris
from .dust import DustGrid, render_dust, simulate_dust
from .fracture import Fracture, fracture
from .geometry import Building, Camera, lift_building, outline_planes
from .lighting import PlateLight
from .options import CollapseOptions
from .physics import Simulation, simulate
from .render import Scene, build_scene, motion_vectors, render_fragments, shadowed

FAILURE_TIME = 0.8      # seconds for the failure to run the building's height when no speed is given
REVEAL_GROW = 0.012     # of the frame's diagonal: the clean plate covers the mask grown by this (edge halo)
RING_FRAMES = 4         # frames over which the grown ring turns from plate to clean plate
SHADOW_STEP = 2         # shadows are traced at every SHADOW_STEP-th pixel and row
SHADOW_FLOOR = 1e-3     # shadows fainter than this are none (they would touch the whole frame)


def reveal_mask(mask: np.ndarray) -> np.ndarray:
    """The region the clean plate must cover: the mask grown past the building's edge
    halo, with a soft edge."""
    import cv2

    radius = max(1, int(round(REVEAL_GROW * float(np.hypot(*mask.shape)))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    grown = cv2.dilate((mask > 0.02).astype(np.float32), kernel)
    return np.maximum(cv2.blur(grown, (3, 3)), mask).astype(np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.2126, 0.7152, 0.0722])


def plate_materials(plate: np.ndarray, mask: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inner-face colours (the building's mean colour, darker, varied per fragment) and
    the dust's tint (that colour desaturated, as bright as the plate's average light)."""
    weights = (mask > 0.5).astype(np.float64)
    mean = (plate[..., :3] * weights[..., None]).sum((0, 1)) / max(weights.sum(), 1.0)
    rng = np.random.default_rng([int(seed), 0x1AAE])
    inner = np.clip(mean * 0.7 * rng.uniform(0.85, 1.15, (count, 1)), 0.0, None)
    grey = luminance(mean)
    tint = 0.4 * mean + 0.6 * grey
    target = max(float(luminance(plate[..., :3].reshape(-1, 3)).mean()), 1e-4)
    tint = tint * (target / max(float(luminance(tint)), 1e-6))
    return inner, tint


def debris_colours(fragments, plate: np.ndarray, mask: np.ndarray, camera: Camera, inner: np.ndarray) -> np.ndarray:
    """Each fragment's pieces' colours (N×2×3): the facade where its front face lies
    (the plate at its centre, or its inner colour where that is off the building),
    and its inner material."""
    centres = np.array([f.centroid for f in fragments])
    xy, _ = camera.project(centres)
    column = np.clip(xy[:, 0].astype(int), 0, camera.width - 1)
    row = np.clip(xy[:, 1].astype(int), 0, camera.height - 1)
    facade = np.where((mask[row, column] > 0.5)[:, None], plate[row, column, :3], inner)
    return np.stack([facade, inner], axis=1)


@dataclass
class CollapseShot:
    options: CollapseOptions
    camera: Camera
    building: Building
    fracture: Fracture
    simulation: Simulation
    dust: DustGrid
    debris: DebrisFrames
    scene: Scene
    light: PlateLight
    dust_tint: np.ndarray
    mask: np.ndarray
    reveal: np.ndarray
    supersample: int
    device: str
    warnings: list[str]
    _rest_ground: np.ndarray | None = None     # where the building at rest shades the ground (the plate has it)

    @classmethod
    def prepare(cls, plate: np.ndarray, mask: np.ndarray, options: CollapseOptions, last_frame: int,
                supersample: int = 2, device: str = "cpu", on_step=None,
                light: PlateLight = PlateLight()) -> "CollapseShot":
        """``plate``/``mask``: the start frame's (H×W×4 linear, H×W coverage); ``light``:
        the sun (the plate's own, :func:`.lighting.fit_to_plate`, in a job)."""
        height, width = mask.shape
        camera = Camera.for_frame(width, height)
        building = lift_building(mask, camera, options.height)
        warnings = list(building.warnings)
        origin = failure_origin(options, building, camera)
        bias = np.array([*options.direction_bias, 0.0])
        if np.linalg.norm(bias) > 1:
            bias /= np.linalg.norm(bias)
        pieces = fracture(building, options.fragments, origin, options.size_falloff, options.seed,
                          outline_planes(mask, camera))
        tall = float(building.size[1])
        speed = options.speed if options.speed > 0 else tall / FAILURE_TIME
        if on_step:
            on_step("simulating", 0, 1)
        simulation = simulate(pieces, building.ground, origin, bias, speed, options.gravity_scale, options.fps,
                              options.start, max(last_frame, options.start), options.seed,
                              on_frame=(lambda i, n: on_step("simulating", i, n)) if on_step else None)
        dust = simulate_dust(simulation.breaks, simulation.impacts, simulation.pulverised, simulation.frames, options.fps,
                             building, options.dust, options.seed)
        inner, tint = plate_materials(plate, mask, len(pieces.fragments), options.seed)
        debris = simulate_debris(simulation.shattered, np.array([f.volume for f in pieces.fragments]),
                                 debris_colours(pieces.fragments, plate, mask, camera, inner), simulation.frames,
                                 options.fps, building.ground, tall, options.gravity_scale, 1.0,
                                 options.seed)
        rest_positions, _ = simulation.pose(options.start)
        scene = build_scene(pieces.fragments, plate, mask, rest_positions, inner, light.vector, light.ambient)
        return cls(options, camera, building, pieces, simulation, dust, debris, scene, light, tint, mask,
                   reveal_mask(mask), supersample, device, warnings)

    def clean_plate(self, plate: np.ndarray, fill: np.ndarray) -> np.ndarray:
        """A frame's clean plate: its plate, with ``fill`` (the building's region filled,
        on the start frame) over :attr:`reveal`."""
        return plate + self.reveal[..., None] * (fill - plate)

    def revealed(self, frame: int) -> np.ndarray:
        """How much of the clean plate shows behind the fragments at ``frame`` (0-1): the
        mask's solid core, and the ring out to :attr:`reveal` growing in over the first frames."""
        ring = np.clip((frame - self.options.start) / RING_FRAMES, 0.0, 1.0)
        solid = (self.mask >= 0.999).astype(np.float32)
        return np.clip(solid + ring * (self.reveal - solid), 0.0, 1.0)

    def generated_share(self, frame: int, passes: dict[str, np.ndarray]) -> float:
        """The share of ``frame``'s pixels that genvfx made: fragments, dust and the clean
        plate they reveal (none before the start frame, which is the plate)."""
        if frame < self.options.start:
            return 0.0
        kept = (1.0 - passes["Fragments"][..., 3]) * (1.0 - passes["Dust"][..., 3]) * (1.0 - self.revealed(frame))
        return float(1.0 - np.clip(kept, 0.0, 1.0).mean())

    def standing(self, frame: int, tolerance: float = 0.05) -> np.ndarray:
        """Per pixel (H×W), the share of its ray-cast samples that still show the standing
        building: a fragment whose surface there, carried back to its rest pose, lies
        within ``tolerance`` × the building's height in pixels (at least 1) of where
        the sample looks. How much of the building is down is 1 - this over the mask."""
        pose_frame = max(frame, self.options.start)
        render = render_fragments(self.scene, self.camera, *self.simulation.pose(pose_frame),
                                  self.simulation.fragment_opacity(pose_frame), self.supersample, self.device)
        s, ids = self.supersample, render.sample_ids
        rows, columns = np.indices(ids.shape)
        xy, _ = self.camera.project(render.rest_points.astype(np.float64))
        _, top, _, bottom = self.building.box_pixels
        near = np.hypot(xy[..., 0] - (columns + 0.5) / s, xy[..., 1] - (rows + 0.5) / s) \
            < max(1.0, tolerance * (bottom - top))
        kept = ((ids > 0) & near).astype(np.float32)
        return kept.reshape(ids.shape[0] // s, s, ids.shape[1] // s, s).mean(axis=(1, 3))

    def shadows(self, frame: int, render) -> tuple[np.ndarray, np.ndarray]:
        """The shadows the fragments cast at ``frame`` (1 = shadowed), H×W each: on the
        fragments themselves (from the others), and on the ground where the building
        did not already cast its shadow in the plate (anywhere in the revealed region,
        whose clean plate has none). Traced at every other pixel and row (soft
        shadows of metres-big fragments need no more)."""
        height, width = self.mask.shape
        step = SHADOW_STEP
        rows, columns = np.mgrid[0:height:step, 0:width:step]
        x, y = columns + 0.5 * step, rows + 0.5 * step
        ids = render.fragment_id[rows, columns]
        on_fragment = ids > 0
        ray_y = -(y - self.camera.centre[1]) / self.camera.focal
        on_ground = ~on_fragment & (ray_y < -1e-4)
        depth = np.where(on_fragment, render.depth[rows, columns], self.building.ground / np.minimum(ray_y, -1e-4))
        points = self.camera.unproject(x, y, depth)
        reach = 4.0 * float(np.linalg.norm(self.building.size))
        own = ids.astype(np.int32) - 1
        chosen = on_fragment | on_ground
        pose_frame = max(frame, self.options.start)
        hit = np.zeros(rows.shape, np.float32)
        hit[chosen] = shadowed(self.scene, *self.simulation.pose(pose_frame), self.simulation.fragment_opacity(pose_frame),
                               points[chosen], own[chosen], reach, self.device)
        if self._rest_ground is None:
            rest = np.zeros(rows.shape, np.float32)
            rest[on_ground] = shadowed(self.scene, *self.simulation.pose(self.options.start),
                                       np.ones(len(self.fracture.fragments)), points[on_ground], own[on_ground], reach,
                                       self.device)
            self._rest_ground = rest * (1.0 - self.reveal[rows, columns])
        ground = np.where(on_ground, np.clip(hit - self._rest_ground, 0.0, 1.0), 0.0)
        fragments = np.where(on_fragment, hit, 0.0)

        def full(values):
            return np.repeat(np.repeat(values, step, axis=0), step, axis=1)[:height, :width].astype(np.float32)

        return full(fragments) * (render.fragment_id > 0), full(ground)

    def final_passes(self, frame: int, plate: np.ndarray, fill: np.ndarray, render: dict) -> dict[str, np.ndarray]:
        """The Collapse layer's passes of ``frame`` (after the start frame) from its
        Cycles render (``render``: the view layers of ``genvfx.addon.collapse_final``,
        Solid, Dust and Motion) laid over the revealed clean plate, as
        :meth:`frame_passes` lays the preview."""
        clean = self.clean_plate(plate, fill)
        background = plate + self.revealed(frame)[..., None] * (fill - plate)
        fragments = render["Solid"]["Combined"].astype(np.float32)
        dust = settled_alpha(render["Dust"]["Combined"].astype(np.float32))
        motion = render["Motion"]
        over_clean = fragments + (1.0 - fragments[..., 3:4]) * background
        combined = dust + (1.0 - dust[..., 3:4]) * over_clean
        # a fragment owns a pixel where it is at least half opaque (as in the preview) and its normal was
        # recorded (Cycles' index pass can name an object its one sample saw through)
        normal = camera_normals(motion["Normal"])
        opaque = (motion["Combined"][..., 3] >= 0.5) & (np.linalg.norm(normal, axis=-1) > 0.5)
        fragment_id = np.where(opaque, np.rint(motion["Object Index"].reshape(self.mask.shape)), 0.0)
        return {
            "Combined": combined.astype(np.float32),
            "Fragments": fragments,
            "Dust": dust,
            "CleanPlate": clean.astype(np.float32),
            "Depth": motion["Depth"].astype(np.float32).reshape(self.mask.shape),
            "Vector": motion["Vector"].astype(np.float32),
            "Normal": normal,
            "FragmentID": fragment_id.astype(np.float32),
        }

    def frame_passes(self, frame: int, plate: np.ndarray, fill: np.ndarray) -> dict[str, np.ndarray]:
        """The Collapse layer's passes of ``frame`` over that frame's ``plate`` (H×W×4,
        linear, premultiplied), with ``fill`` the start frame's plate filled over
        :attr:`reveal`. Outside the mask's solid core (its soft edge and the ring out to
        :attr:`reveal`, the building's halo) the plate turns into the clean plate over
        the first frames, so that the start frame is the plate."""
        start = self.options.start
        clean = self.clean_plate(plate, fill)
        background = plate + self.revealed(frame)[..., None] * (fill - plate)
        pose_frame = max(frame, start)
        current = self.simulation.pose(pose_frame)
        render = render_fragments(self.scene, self.camera, *current, self.simulation.fragment_opacity(pose_frame),
                                  self.supersample, self.device)
        if frame <= start:
            vectors = np.zeros(render.depth.shape + (4,), np.float32)
        else:
            vectors = motion_vectors(render, self.camera, self.scene.rest_positions,
                                     self.simulation.pose(pose_frame - 1), current,
                                     self.simulation.pose(pose_frame + 1), self.supersample)
        pieces, piece_depth = render_debris(self.debris, pose_frame, self.camera, self.light.vector,
                                          self.light.ambient, render.depth)
        depth = np.where(pieces[..., 3] > 0.5, np.minimum(piece_depth, render.depth), render.depth).astype(np.float32)
        dust, dust_shade = render_dust(self.dust, pose_frame, self.camera, self.dust_tint, self.light.vector, depth,
                                       self.building.ground)
        on_fragments, on_ground = self.shadows(frame, render) if frame > start else (0.0, 0.0)
        if frame <= start:
            dust, dust_shade = np.zeros_like(dust), np.ones_like(dust_shade)
        # the fragments, shaded by the others and by the dust toward the light, and the pieces over them
        lit = render.colour.copy()
        lit[..., :3] *= (dust_shade * (1.0 - self.light.shadow * on_fragments))[..., None]
        solid = pieces + (1.0 - pieces[..., 3:4]) * lit
        # the shadows on what lies behind, as a shadow catcher does it: black with the shadow's strength as
        # alpha, under the fragments in their pass (so that the node group's Fragments over Base keeps them)
        cast = 1.0 - dust_shade * (1.0 - self.light.shadow * on_ground)
        cast = np.where(cast < SHADOW_FLOOR, 0.0, cast)
        fragments = solid.copy()
        fragments[..., 3] = solid[..., 3] + (1.0 - solid[..., 3]) * cast
        fragments = fragments.astype(np.float32)
        over_clean = fragments + (1.0 - fragments[..., 3:4]) * background
        combined = dust + (1.0 - dust[..., 3:4]) * over_clean
        if frame < start:
            combined = plate
        return {
            "Combined": combined.astype(np.float32),
            "Fragments": fragments,
            "Dust": dust,
            "CleanPlate": clean.astype(np.float32),
            "Depth": depth,
            "Vector": vectors,
            "Normal": render.normal,
            "FragmentID": render.fragment_id,
        }


def settled_alpha(premultiplied: np.ndarray, radius: int = 3, eps: float = 1e-4) -> np.ndarray:
    """``premultiplied`` RGBA with its alpha smoothed by a guided filter (He, Sun and Tang)
    whose guide is the colour's luminance. Cycles denoises a render's colour but not its
    alpha, and a volume's alpha (its transmittance, estimated per sample) speckles where
    the dust is thin; the guide keeps the edges the colour has (a fragment cutting the
    dust out)."""
    import cv2

    guide = luminance(premultiplied[..., :3]).astype(np.float32)
    alpha = premultiplied[..., 3].astype(np.float32)
    size = (2 * radius + 1, 2 * radius + 1)
    mean_guide, mean_alpha = cv2.blur(guide, size), cv2.blur(alpha, size)
    covariance = cv2.blur(guide * alpha, size) - mean_guide * mean_alpha
    variance = cv2.blur(guide * guide, size) - mean_guide * mean_guide
    slope = covariance / (variance + eps)
    offset = mean_alpha - slope * mean_guide
    smoothed = np.clip(cv2.blur(slope, size) * guide + cv2.blur(offset, size), 0.0, 1.0)
    out = premultiplied.copy()
    out[..., 3] = np.where(alpha > 0.0, smoothed, 0.0)
    return out


def camera_normals(world: np.ndarray) -> np.ndarray:
    """Blender's world-space normals (x right, y forward, z up, as the final render's
    scene is built) in the camera space of the passes (x right, y up, z back)."""
    return np.stack([world[..., 0], world[..., 2], -world[..., 1]], axis=-1).astype(np.float32)


def failure_origin(options: CollapseOptions, building: Building, camera: Camera) -> np.ndarray:
    """The failure's origin on the slab's front face: the given point of the frame, or
    the middle of the mask's base."""
    left, top, right, bottom = building.box_pixels
    if options.origin is None:
        x, y = (left + right) / 2.0, float(bottom)
    else:
        x, y = options.origin[0] * camera.width, options.origin[1] * camera.height
    point = camera.unproject(x, y, building.distance)
    return np.clip(point, building.low, building.high)
