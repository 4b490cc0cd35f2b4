"""Rigid bodies in MuJoCo: the fragments fall, collide and settle on the ground.

Every fragment is a free body with a convex mesh geom (concrete, 2400 kg/m³), slightly
shrunk about its centroid so that welded neighbours do not touch at rest. Neighbours are
held by weld equality constraints, and fragments on the ground by welds to the world;
each weld breaks (``eq_active`` off) when the failure front, spreading from the origin
at ``speed`` metres per second (faster along the direction bias), reaches it. The
storeys at the origin turn to dust first, so the block above drops near free-fall;
where it strikes the ground or the pile fast, most fragments shatter (secondary
fracture: they vanish into the debris and dust they shed) and the rest pile up, so the
building comes down storey by storey instead of landing as a stack. Gravity is
-Y (camera space: the camera is level). The simulation is deterministic: the same
fracture and options give the same transforms, bit for bit, on one machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .fracture import Fracture

DENSITY = 2400.0
FRICTION = 0.7
SUBSTEPS = 4               # physics steps per frame (Newton solver; stable for fragments of a metre and up)
SHRINK = 0.004             # of a fragment's size, so welded neighbours do not touch
IMPACT_SPEED = 1.5         # m/s: contacts of bodies faster than this throw up dust
PULVERISE = 0.12           # of the building's height: half the storey band at the origin that turns to dust
FADE_TIME = 0.3            # seconds a pulverised fragment takes to vanish into its dust
SPIN = 0.15                # rad/s: random spin a fragment takes when it comes loose (a nudge; the
                           # tumbling comes from its strikes: a larger spin turns a falling block
                           # into a ball of chunks turning in place)
CRUSH = 0.7                # the share of fragments that shatter when they strike the ground or the pile fast
CRUSH_SPEED = 4.0          # m/s (× √(height / 30 m)): a strike at least this fast can shatter a fragment
CRUSH_FADE = 0.12          # seconds a shattered fragment takes to vanish into its debris and dust


@dataclass
class Simulation:
    """Transforms of every fragment at every frame, and what happened when."""

    frames: list[int]                    # start - 1 … last + 1
    positions: np.ndarray                # F×N×3 body origins (world)
    rotations: np.ndarray                # F×N×3×3 body rotations
    energy: np.ndarray                   # F (kinetic + potential, J)
    opacity: np.ndarray                  # F×N: 1, falling to 0 as a pulverised fragment turns to dust
    velocities: np.ndarray | None = None  # F×N×3 body origin velocities (m/s)
    breaks: list[tuple[int, np.ndarray]] = field(default_factory=list)          # (frame, point)
    pulverised: list[tuple[int, np.ndarray, float]] = field(default_factory=list)  # (frame, centre, volume)
    shattered: list[tuple[int, int, np.ndarray, np.ndarray]] = field(default_factory=list)
    # (frame, fragment, centre, velocity): every fragment turning to dust and debris (pulverised or struck)
    impacts: list[tuple[int, np.ndarray, float]] = field(default_factory=list)  # (frame, point, speed)

    def index(self, frame: int) -> int:
        return min(max(frame - self.frames[0], 0), len(self.frames) - 1)

    def pose(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        i = self.index(frame)
        return self.positions[i], self.rotations[i]

    def fragment_opacity(self, frame: int) -> np.ndarray:
        return self.opacity[self.index(frame)]


def _floats(values) -> str:
    return " ".join(f"{v:.9g}" for v in np.asarray(values).ravel())


def build_mjcf(fracture: Fracture, ground: float, gravity: float, timestep: float,
               anchored: np.ndarray) -> str:
    assets, bodies = [], []
    for i, fragment in enumerate(fracture.fragments):
        extent = np.ptp(fragment.vertices, axis=0).max()
        shrunk = fragment.vertices * (1.0 - SHRINK * extent / max(np.abs(fragment.vertices).max(), 1e-9))
        assets.append(f'<mesh name="m{i}" vertex="{_floats(shrunk)}"/>')
        bodies.append(f'<body name="f{i}" pos="{_floats(fragment.centroid)}"><freejoint/>'
                      f'<geom type="mesh" mesh="m{i}" density="{DENSITY}"/></body>')
    welds = [f'<weld body1="f{a}" body2="f{b}"/>' for a, b in fracture.welds]
    welds += [f'<weld body1="f{i}"/>' for i in np.nonzero(anchored)[0]]
    return (f'<mujoco model="genvfx collapse">'
            f'<compiler inertiafromgeom="true"/>'
            f'<option timestep="{timestep:.8g}" gravity="0 {-9.81 * gravity:.6g} 0" integrator="implicitfast">'
            f'<flag energy="enable"/></option>'
            f'<default><geom friction="{FRICTION} 0.01 0.001" condim="3" solref="0.004 1" solimp="0.95 0.99 0.001"/></default>'
            f'<asset>{"".join(assets)}</asset>'
            f'<worldbody><geom name="ground" type="plane" size="0 0 1" pos="0 {ground:.6g} 0" zaxis="0 1 0"/>'
            f'{"".join(bodies)}</worldbody>'
            f'<equality>{"".join(welds)}</equality></mujoco>')


def failure_distance(points: np.ndarray, origin: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """How far the failure front travels to reach ``points``: the distance from the
    origin, shortened by up to 60 % along the bias direction (a world vector, |b| ≤ 1)."""
    offset = points - origin
    return np.maximum(np.linalg.norm(offset, axis=-1) - 0.6 * offset @ bias, 0.0)


def _hold(model, data, fragment: int, held: dict) -> None:
    """Keep a vanished fragment still (no velocity, the pose it vanished in), so that it
    neither falls forever nor adds energy."""
    joint = model.body_jntadr[fragment + 1]
    position, velocity = model.jnt_qposadr[joint], model.jnt_dofadr[joint]
    pose = held.setdefault(fragment, data.qpos[position:position + 7].copy())
    data.qpos[position:position + 7] = pose
    data.qvel[velocity:velocity + 6] = 0.0


def simulate(fracture: Fracture, ground: float, origin: np.ndarray, bias: np.ndarray, speed: float,
             gravity: float, fps: float, start: int, last: int, seed: int = 0, on_frame=None) -> Simulation:
    """Run the collapse from ``start`` (rest) to ``last`` + 1 (for the next-frame vectors).

    The failure front breaks welds as it passes. Fragments in the storeys at the
    origin's height (a band :data:`PULVERISE` × height either side, kept above the
    ground) lose their collisions and fade into dust as the front reaches them: the
    failing storeys, which let the rest come down instead of standing as a wall of
    stacked blocks. Every other fragment takes a small random spin when its first weld
    breaks, and a share :data:`CRUSH` of them shatter when they strike something faster
    than :data:`CRUSH_SPEED` (scaled with the building): they stop, lose their collisions
    and fade out in :data:`CRUSH_FADE`, recorded in :attr:`Simulation.shattered` for the
    debris and (with the pulverised) in :attr:`Simulation.pulverised` for the dust."""
    import mujoco

    count = len(fracture.fragments)
    centroids = np.array([f.centroid for f in fracture.fragments])
    lowest = np.array([(f.centroid[1] + f.vertices[:, 1].min()) for f in fracture.fragments])
    tall = max(float(np.ptp(centroids[:, 1])), 1e-3)
    anchored = lowest < ground + 0.02 * tall
    model = mujoco.MjModel.from_xml_string(build_mjcf(fracture, ground, gravity, 1.0 / (fps * SUBSTEPS), anchored))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    rng = np.random.default_rng([int(seed), 0x51A])

    anchored_index = np.nonzero(anchored)[0]
    weld_points = np.concatenate([fracture.weld_points, centroids[anchored_index]]).reshape(-1, 3)
    weld_fragments = [tuple(pair) for pair in fracture.welds] + [(i,) for i in anchored_index]
    reach = failure_distance(weld_points, origin, bias)
    reach[len(fracture.welds):] *= 1.3              # foundations hold a little longer
    break_time = reach / max(speed, 1e-6)
    order = np.argsort(break_time, kind="stable")
    broken = 0
    band = PULVERISE * tall
    band_centre = max(float(origin[1]), ground + band)
    in_band = np.abs(centroids[:, 1] - band_centre) < band
    pulverise_time = np.where(in_band, failure_distance(centroids, origin, bias) / max(speed, 1e-6), np.inf)
    loose = np.zeros(count, bool)
    fade = np.full(count, FADE_TIME)
    frozen_from = np.full(count, np.inf)          # shattered fragments stay where they struck
    crushable = np.random.default_rng([int(seed), 0xC2054]).random(count) < CRUSH
    crush_speed = CRUSH_SPEED * np.sqrt(tall / 30.0)
    held: dict[int, np.ndarray] = {}
    geoms = [np.nonzero(model.geom_bodyid == i + 1)[0] for i in range(count)]

    frames = list(range(start - 1, last + 2))
    positions = np.empty((len(frames), count, 3))
    rotations = np.empty((len(frames), count, 3, 3))
    energy = np.empty(len(frames))
    opacity = np.ones((len(frames), count))
    velocities = np.zeros((len(frames), count, 3))
    simulation = Simulation(frames, positions, rotations, energy, opacity, velocities)
    body = slice(1, count + 1)
    linear = model.body_dofadr[1:count + 1][:, None] + np.arange(3)

    def record(i: int) -> None:
        positions[i] = data.xpos[body]
        rotations[i] = data.xmat[body].reshape(count, 3, 3)
        energy[i] = data.energy.sum()
        opacity[i] = np.clip(1.0 - (data.time - pulverise_time) / fade, 0.0, 1.0)
        velocities[i] = data.qvel[linear]

    def come_loose(fragment: int) -> None:
        if loose[fragment]:
            return
        loose[fragment] = True
        if np.isfinite(pulverise_time[fragment]):
            return
        address = model.body_dofadr[fragment + 1]
        data.qvel[address + 3:address + 6] += rng.normal(scale=SPIN, size=3)

    record(0)
    record(1)                                    # the start frame: at rest
    for i in range(2, len(frames)):
        frame = frames[i]
        for _ in range(SUBSTEPS):
            now = data.time
            while broken < len(order) and break_time[order[broken]] <= now:
                weld = order[broken]
                data.eq_active[weld] = 0
                simulation.breaks.append((frame, weld_points[weld]))
                for fragment in weld_fragments[weld]:
                    come_loose(fragment)
                broken += 1
            for fragment in np.nonzero((pulverise_time <= now) & (pulverise_time > now - model.opt.timestep))[0]:
                model.geom_contype[geoms[fragment]] = 0
                model.geom_conaffinity[geoms[fragment]] = 0
                data.eq_active[[w for w, pair in enumerate(weld_fragments) if fragment in pair]] = 0
                simulation.pulverised.append((frame, data.xpos[fragment + 1].copy(), fracture.fragments[fragment].volume))
                simulation.shattered.append((frame, int(fragment), data.xpos[fragment + 1].copy(),
                                             data.qvel[linear[fragment]].copy()))
            mujoco.mj_step(model, data)
            for fragment in np.nonzero((pulverise_time + fade <= data.time) | (frozen_from <= data.time))[0]:
                _hold(model, data, fragment, held)        # gone: it stays where it vanished
        record(i)
        speeds = np.linalg.norm(positions[i] - positions[i - 1], axis=1) * fps
        for contact in data.contact[:data.ncon]:
            bodies = [model.geom_bodyid[contact.geom1] - 1, model.geom_bodyid[contact.geom2] - 1]
            fast = max(speeds[b] for b in bodies if b >= 0)
            if fast > IMPACT_SPEED:
                simulation.impacts.append((frame, contact.pos.copy(), float(fast)))
            # secondary fracture: a fragment striking the ground or the pile fast shatters (how fast they
            # came together, so that neighbours falling side by side do not)
            came_in = [velocities[i - 1, b] if b >= 0 else np.zeros(3) for b in bodies]
            closing = float(np.linalg.norm(came_in[0] - came_in[1]))
            for b in bodies:
                if b >= 0 and crushable[b] and not np.isfinite(pulverise_time[b]) and closing > crush_speed:
                    pulverise_time[b] = frozen_from[b] = data.time
                    fade[b] = CRUSH_FADE
        if on_frame is not None:
            on_frame(i, len(frames))
    return simulation
