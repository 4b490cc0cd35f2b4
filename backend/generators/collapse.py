"""Collapse Sim from files, over a job's frames: prepare the shot once, then render frame by frame.

The start frame's plate and mask set up the building, its fracture and the simulation
(:class:`genvfx.models.collapse.CollapseShot`); the clean plate is the start frame
filled over the building by the embedded Debris Fill (or the job's ``clean`` input),
kept beside the layers so that a new seed or fragment count does not fill again. The
simulation itself is written beside the layers as ``Collapse.sim.npz`` (fragment
meshes, per-frame transforms, camera), which Blender's "Import Collapse Simulation"
turns into keyframed objects.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from ...errors import BadInput
from ...models import collapse
from ...models.collapse import CollapseOptions, CollapseShot
from ...models.collapse.geometry import LENS_MM, SENSOR_MM
from .frames import FramePasses, SideFiles, read_plate, read_plate_and_mask, read_rgba
from .spec import GeneratorSpec

HEADER_WARNINGS = "genvfx.collapse.warnings"
HEADER_CAMERA = "genvfx.collapse.camera"
HEADER_CLEAN_PLATE = "genvfx.cleanplate"
HEADER_LIGHT = "genvfx.collapse.light"
SIMULATION_FILE = "Collapse.sim.npz"
# the final quality's files beside the layers, and the Blender-side module that renders them
FINAL_JOB, FINAL_LOG = "Collapse.final.json", "Collapse.final.log"
FINAL_PLATE, FINAL_MASK = "Collapse.final.plate.exr", "Collapse.final.mask.exr"
FINAL_RENDERS = "Collapse.render.####.exr"
FINAL_MODULE, FINAL_ANNOUNCE = "addon.collapse_final", "genvfx-final "


def warp_device(device: str) -> str:
    """Where Warp ray-casts: CUDA when asked for or, on 'auto', when Warp sees a GPU."""
    if device == "cpu":
        return "cpu"
    import warp as wp

    wp.config.quiet = True
    wp.init()
    if wp.get_cuda_device_count() > 0:
        return "cuda:0"
    if device == "cuda":
        raise BadInput("Collapse Sim was asked to run on CUDA, but Warp finds no CUDA device",
                       "Use --device cpu (or auto), or check the NVIDIA driver.")
    return "cpu"


def _clean_plate_path(side: SideFiles, content: str) -> Path:
    folder = side.shared / "cleanplates" if side.shared is not None else side.folder
    return folder / f"Collapse.cleanplate.{content[:16]}.exr"


def start_fill(read, job, shot, plate: np.ndarray, side: SideFiles, filler, on_step) -> np.ndarray:
    """The start frame filled over the building's region: the job's ``clean`` input
    when given, else the embedded Debris Fill, read back when it was made before."""
    start = shot.options.start
    if job.inputs.get("clean"):
        clean = read_rgba(read, job, "clean", start, "clean plate")
        if clean.shape != plate.shape:
            raise BadInput("The clean plate is not the size of the plate", "Give a clean plate the size of the plate.")
        return clean
    content = side.content(read, ("plate", "mask"), start, proxy=float(job.proxy),
                           fill=collapse.CLEAN_PLATE_FILL_VERSION, reveal=shot.reveal.shape)
    path = _clean_plate_path(side, content)
    made = side.read_layer(path, "CleanPlate", HEADER_CLEAN_PLATE, content)
    if made is not None:
        return made["Combined"]
    filled = filler(plate, shot.reveal, seed=shot.options.seed, on_step=on_step)["Combined"]
    side.write_layer(path, "CleanPlate", {"Combined": filled}, HEADER_CLEAN_PLATE, content)
    return filled


def write_simulation(path: Path, shot) -> Path:
    """The simulation as arrays (metres, camera space: +X right, +Y up, camera at the
    origin looking down -Z): every fragment's rest mesh relative to its body origin, and
    the body origins, rotations and opacities at every frame; the fragments' inner
    colours and the light; the debris pieces (``debris_*``: positions and whether born at
    every frame, radius, colour) and the dust grid (``dust_*``: density at every frame,
    the centre of cell 0, the cell size, extinction per metre per unit density, tint),
    which is what a renderer of the final frames needs."""
    fragments = shot.fracture.fragments
    sim = shot.simulation
    camera = shot.camera
    debris, dust = shot.debris, shot.dust
    temporary = SideFiles.partial(path, ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        temporary,
        vertices=np.concatenate([f.vertices for f in fragments]).astype(np.float32),
        vertex_counts=np.array([len(f.vertices) for f in fragments], np.int32),
        triangles=np.concatenate([f.triangles for f in fragments]).astype(np.int32),
        triangle_counts=np.array([len(f.triangles) for f in fragments], np.int32),
        front=np.concatenate([f.front for f in fragments]),
        frames=np.array(sim.frames, np.int32),
        positions=sim.positions.astype(np.float32),
        rotations=sim.rotations.astype(np.float32),
        opacity=sim.opacity.astype(np.float32),
        camera=np.array([camera.width, camera.height, camera.focal], np.float64),
        lens_mm=np.float64(LENS_MM), sensor_mm=np.float64(SENSOR_MM),
        ground=np.float64(shot.building.ground), fps=np.float64(shot.options.fps), start=np.int32(shot.options.start),
        inner=shot.scene.inner.astype(np.float32), light=np.asarray(shot.scene.light, np.float64),
        ambient=np.float64(shot.scene.ambient),
        debris_frames=np.array(debris.frames, np.int32), debris_positions=debris.positions.astype(np.float32),
        debris_alive=debris.alive, debris_radius=debris.radius.astype(np.float32),
        debris_colour=debris.colour.astype(np.float32),
        dust_frames=np.array(dust.frames, np.int32), dust_density=dust.density.astype(np.float16),
        dust_low=np.asarray(dust.low, np.float64), dust_cell=np.float64(dust.cell),
        dust_extinction=np.float64(dust.extinction), dust_wind=np.asarray(dust.wind, np.float64),
        dust_rise=np.float64(dust.rise), dust_tint=np.asarray(shot.dust_tint, np.float64),
    )
    os.replace(temporary, path)
    return path


def run_frames(read, job, todo: list[int], results, progress_for, models: collapse.CollapseModels,
               side: SideFiles) -> Iterator[tuple[int, dict]]:
    options, warnings = CollapseOptions.from_params(job.params)
    options, moved = options.clamp_start(job.frames)
    warnings += moved
    todo = sorted(todo)
    on_step = progress_for(todo[0])
    plate, mask = read_plate_and_mask(read, job, options.start)
    mask = np.clip(mask, 0.0, 1.0)
    # the first half of the first frame's progress is the simulation, the second the clean plate
    light = models.plate_light(plate, options)
    shot = CollapseShot.prepare(plate, mask, options, max(job.frames), device=warp_device(job.device),
                                on_step=lambda stage, step, of: on_step(step, 2 * of), light=light)
    warnings += shot.warnings
    fill = start_fill(read, job, shot, plate, side, models.fill, lambda step, of: on_step(of + step, 2 * of))
    write_simulation(side.folder / SIMULATION_FILE, shot)
    header = {HEADER_WARNINGS: json.dumps(warnings),
              HEADER_CAMERA: json.dumps({"lens_mm": LENS_MM, "sensor_mm": SENSOR_MM, "focal_px": shot.camera.focal,
                                         "ground_m": shot.building.ground, "distance_m": shot.building.distance,
                                         "height_m": float(shot.building.size[1])}),
              HEADER_LIGHT: json.dumps({"direction": light.direction, "ambient": light.ambient,
                                        "fitted": light.fitted})}
    rendered = None
    if options.quality == "final" and any(frame > options.start for frame in todo):
        rendered = final_renders(side, shot, plate, mask, [frame for frame in todo if frame > options.start])
    try:
        for frame in todo:
            step = progress_for(frame)
            step(0, 1)
            current = plate if frame == options.start else read_plate(read, job, frame)
            if current.shape != plate.shape:
                raise BadInput("The plate changes size during the shot", "Give every frame the same size.", frame)
            if rendered is not None and frame > options.start:
                passes = shot.final_passes(frame, current, fill, side.read_render(next(rendered)))
            else:
                passes = shot.frame_passes(frame, current, fill)
            step(1, 1)
            yield frame, FramePasses(passes, header, generated=shot.generated_share(frame, passes))
    finally:
        if rendered is not None:
            rendered.close()


def final_renders(side: SideFiles, shot, plate: np.ndarray, mask: np.ndarray, frames: list[int]) -> Iterator[Path]:
    """Cycles' renders of ``frames`` (in order), made by a Blender process from the
    simulation beside the layers and the start frame's plate and mask; each path is
    given as soon as its frame is written. Blender's multilayer renders stay beside the
    layers (``Collapse.render.####.exr``, with Cryptomatte)."""
    job_file = write_final_job(side, plate, mask, frames, shot.options.samples, shot.options.motion_blur)
    for announcement in side.blender(FINAL_MODULE, [str(job_file)], FINAL_ANNOUNCE, FINAL_LOG):
        if "path" in announcement:
            yield Path(announcement["path"])


def write_final_job(side: SideFiles, plate: np.ndarray, mask: np.ndarray, frames: list[int], samples: int,
                    motion_blur: bool) -> Path:
    """The job file of :mod:`genvfx.addon.collapse_final` for ``frames`` of the
    simulation beside the layers, with the start frame's plate and mask written beside
    it for Blender to read."""
    folder = side.folder
    description = {
        "simulation": str(folder / SIMULATION_FILE),
        "plate": str(side.write_rgba(folder / FINAL_PLATE, plate)),
        "mask": str(side.write_rgba(folder / FINAL_MASK, mask)),
        "frames": frames, "pattern": str(folder / FINAL_RENDERS),
        "samples": samples, "motion_blur": motion_blur,
    }
    job_file = folder / FINAL_JOB
    temporary = SideFiles.partial(job_file)
    temporary.write_text(json.dumps(description, indent=1), encoding="utf-8")
    os.replace(temporary, job_file)
    return job_file


SPEC = GeneratorSpec(
    name="collapse", label="Collapse Sim", layer="Collapse",
    required_inputs=("plate", "mask"), optional_inputs=("clean",),
    default_model="genvfx.collapse.sim", version_of=lambda: collapse.GENERATOR_VERSION,
    load_model=collapse.load_models,
    run_frame=None, run_frames=run_frames,
    pass_channels={"Normal": ("X", "Y", "Z"), "Depth": ("Z",), "Vector": ("X", "Y", "Z", "W"),
                   "FragmentID": ("V",)},
    generated_basis="the fragments' and dust's alpha and the revealed clean plate",
)
