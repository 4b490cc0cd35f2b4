"""Headless use of the nodes: render a .blend on a farm or from the CLI, and build
the demo scene.

:func:`render_blend` opens a file, generates every genvfx node whose loaded result
is stale for the frames asked (its job key differs, or frames are missing), then
renders the compositor result; :func:`generate_stale` with :func:`nodes_for` is the
first half alone (``genvfx generate``), and :func:`describe_blend` tells a farm what a
file holds (``genvfx farm``). :func:`build_demo_scene` makes a scene whose
compositor reads a plate and a mask sequence through a Debris Fill node,
:func:`build_collapse_scene` one through a Collapse Sim node.
Both need the ``bpy`` module (or ``blender -b``) with the genvfx classes registered:
the add-on enabled, or :func:`genvfx.registration.ensure_registered` called first (the
commands do, through :func:`genvfx.commands.blender.headless`).
"""

from __future__ import annotations

import os

import bpy

from ..backend.files import sequences
from ..errors import GenVFXError
from . import jobs, preferences, routing, session
from .collapse_node import OPTION_PROPERTIES, CollapseSimNode
from .debris_fill_node import DebrisFillNode
from .relight_node import RelightNode
from .scene_nodes import genvfx_nodes, upstream_genvfx_nodes


def generate_stale(scene, frames: list[int], log=print, nodes: list | None = None, run=None) -> list[str]:
    """Generate every genvfx node of ``scene`` (or of ``nodes``, upstream first) that is
    stale for ``frames``; returns the names of the nodes generated. ``run(node, job,
    model_folders)`` runs a stale node's job and shows its result on the node (default:
    through the session's worker, :func:`.session.run`)."""
    context = bpy.context
    folders = preferences.model_folders(context)
    generated = []
    for node in genvfx_nodes(scene) if nodes is None else nodes:
        job = jobs.build_job(context, node, frames)
        if not jobs.is_stale(node, job, folders):
            log(f"genvfx: {node.name} is up to date ({node.job_key})")
            continue
        log(f"genvfx: generating {node.name} for frames {frames[0]}-{frames[-1]}")
        if run is None:
            session.run(node, job, context)
        else:
            run(node, job, folders)
        generated.append(node.name)
    return generated


def show_result(node, job, result: dict) -> None:
    """Show a job run outside the session (its ``job_done`` fields) on ``node``, as the
    session's worker events do."""
    routing.apply_event(node, routing.Route.of(node, job), {"type": "job_done", **result})


def open_blend(blend_path: str):
    """Open ``blend_path``; its scene (which must have a compositor node tree)."""
    bpy.ops.wm.open_mainfile(filepath=os.path.abspath(blend_path))
    scene = bpy.context.scene
    if scene.compositing_node_group is None:
        raise GenVFXError("bad_input", f"{os.path.basename(blend_path)} has no compositor node tree",
                          "Open it in Blender and enable Use Nodes in the compositor.")
    return scene


def scene_frames(scene) -> list[int]:
    return list(range(scene.frame_start, scene.frame_end + 1, max(1, scene.frame_step)))


def nodes_for(scene, name: str = "") -> list:
    """The genvfx nodes to generate for ``name``: that node and the genvfx nodes upstream
    of it, upstream first (every genvfx node of the scene without a name)."""
    every = genvfx_nodes(scene)
    if not name:
        return every
    node = next((node for node in every if node.name == name), None)
    if node is None:
        names = ", ".join(node.name for node in every) or "none"
        raise GenVFXError("bad_input", f"The compositor has no genvfx node named '{name}'",
                          f"Its genvfx nodes: {names}.")
    upstream = upstream_genvfx_nodes(node)
    return [other for other in every if other in upstream] + [node]


def describe_blend(blend_path: str, frames: list[int] | None = None) -> dict:
    """What a farm needs to plan ``blend_path`` (plain data, see :mod:`genvfx.backend.farm.plan`):
    its frames (``frames`` or the scene's) and its genvfx nodes, upstream first, each with
    its generator, parameters and the genvfx nodes whose result it reads."""
    scene = open_blend(blend_path)
    return {"blend": os.path.abspath(blend_path), "frames": list(frames or scene_frames(scene)),
            "nodes": [{"name": node.name, "generator": node.generator, "params": node.job_params(),
                       "upstream": [source.name for source in upstream_genvfx_nodes(node)]}
                      for node in genvfx_nodes(scene)]}


def render_blend(blend_path: str, frames: list[int] | None = None, out_dir: str | None = None,
                 file_format: str = "OPEN_EXR", save: bool = False, log=print, after_generate=None,
                 run=None) -> list[str]:
    """Open ``blend_path``, bring its genvfx nodes up to date for ``frames`` (default:
    the scene's range) and render the compositor result of each frame to ``out_dir``
    (``composite.####.exr``; default: the scene's output path) as ``file_format``
    ('OPEN_EXR' or 'PNG').
    Returns the files written. ``save`` writes the updated node state back to the .blend;
    ``after_generate(scene)``, when given, runs between generating and rendering (e.g. to
    move a Relight node's light, which its result sets); ``run``: how a stale node's job
    runs (see :func:`generate_stale`)."""
    scene = open_blend(blend_path)
    frames = frames or scene_frames(scene)
    generate_stale(scene, frames, log, run=run)
    if after_generate is not None:
        after_generate(scene)

    render = scene.render
    render.use_compositing = True
    render.use_sequencer = False
    settings = render.image_settings
    settings.file_format = file_format
    if file_format == "OPEN_EXR":
        settings.color_depth = "32"
        settings.color_mode = "RGBA"
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        base = os.path.join(os.path.abspath(out_dir), "composite.")
    else:
        base = render.filepath
    written = []
    for frame in frames:
        scene.frame_set(frame)
        render.filepath = base
        path = render.frame_path(frame=frame)
        render.filepath = path
        bpy.ops.render.render(write_still=True, scene=scene.name)
        written.append(path)
        log(f"genvfx: wrote {path}")
    render.filepath = base
    if save:
        bpy.ops.wm.save_mainfile()
    return written


def build_demo_scene(plate_pattern: str, mask_pattern: str, frames: list[int], blend_out: str,
                     layers_dir: str | None = None, proxy: float = 1.0, relight: bool = False) -> str:
    """Make a scene: plate Image → Debris Fill (Image), mask Image → Debris Fill
    (Mask), Debris Fill → Group Output (and a Viewer); with ``relight``, Debris Fill →
    Relight → Group Output instead (the clean plate relit); frame range = ``frames``,
    resolution = the plate's; the node's proxy scale = ``proxy``. ``layers_dir``, when
    given, holds an already generated ``DebrisFill.####.exr`` sequence that the node
    shows at once. Saves to ``blend_out`` and returns its absolute path."""
    scene, tree, plate, mask = _plate_and_mask_scene(plate_pattern, mask_pattern, frames)
    fill = _add_genvfx_node(tree, DebrisFillNode.bl_idname, "Debris Fill", plate, mask, proxy)
    final = fill
    if relight:
        final = tree.nodes.new(RelightNode.bl_idname)
        final.name = "Relight"
        final.location = (150, 0)
        tree.links.new(fill.outputs["Image"], final.inputs["Image"])
    _show(tree, final)

    if layers_dir:
        pattern = os.path.join(os.path.abspath(layers_dir), f"{fill.layer}.####.exr")
        present = [frame for frame in frames if frame in set(sequences.existing_frames(pattern))]
        if present:
            fill.load_result(pattern, present, float(proxy))
            fill.state = "DONE"
    return _save_scene(scene, plate, blend_out)


def build_collapse_scene(plate_path: str, mask_path: str, frames: list[int], blend_out: str, proxy: float = 1.0,
                         start: int | None = None, params: dict | None = None) -> str:
    """Make a scene: plate Image → Collapse Sim (Image), mask Image → Collapse Sim (Mask),
    Collapse Sim → Group Output (and a Viewer), for ``frames``. A plate or mask that is a
    single file (a locked-off shot) is used for every frame. ``start``: the collapse's
    first frame (default: the first of ``frames``); ``params``: the node's properties by
    name (e.g. ``{"fragments": 150, "height": 40.0}``), or the job parameters' names
    (``CollapseOptions.to_params()``: ``start`` sets the start frame, ``fps`` the scene's
    frame rate, an ``origin`` turns ``use_origin`` on, ``None`` off; a ``light`` sets
    ``light_source``, and a direction ``light_direction``). Saves to
    ``blend_out`` and returns its absolute path; nothing is generated (:func:`render_blend`
    generates)."""
    scene, tree, plate, mask = _plate_and_mask_scene(plate_path, mask_path, frames)
    node = _add_genvfx_node(tree, CollapseSimNode.bl_idname, "Collapse Sim", plate, mask, proxy)
    node.start_frame = min(frames)
    params = dict(params or {})
    if "fps" in params:
        fps = float(params.pop("fps"))
        scene.render.fps = max(1, round(fps))
        scene.render.fps_base = scene.render.fps / fps
    if "origin" in params:
        params.setdefault("use_origin", params["origin"] is not None)
        if params["origin"] is None:
            del params["origin"]
    if "light" in params:
        light = params.pop("light")
        params.setdefault("light_source", "default" if light is None else "plate" if light == "plate" else "direction")
        if light not in (None, "plate"):
            params.setdefault("light_direction", tuple(light))
    for name, value in params.items():
        name = OPTION_PROPERTIES.get(name, name)
        if name in {"rna_type", "name"} or name not in node.bl_rna.properties:
            raise GenVFXError("bad_input", f"Collapse Sim has no setting '{name}'",
                              "Use the node's property names, e.g. fragments, height, dust, origin.")
        setattr(node, name, value)
    if start is not None:
        node.start_frame = int(start)
    _show(tree, node)
    return _save_scene(scene, plate, blend_out)


def _plate_and_mask_scene(plate_pattern: str, mask_pattern: str, frames: list[int]):
    """A new file whose scene has frame range ``frames`` and a compositor tree with a
    plate and a mask Image node; returns (scene, tree, plate node, mask node)."""
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    frames = sorted(frames)
    scene.frame_start, scene.frame_end = frames[0], frames[-1]
    scene.frame_set(frames[0])

    tree = bpy.data.node_groups.new("Compositing", "CompositorNodeTree")
    scene.compositing_node_group = tree
    tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")

    plate = image_node(tree, "Plate", plate_pattern, frames, non_color=False)
    plate.location = (-500, 100)
    mask = image_node(tree, "Mask", mask_pattern, frames, non_color=True)
    mask.location = (-500, -250)
    return scene, tree, plate, mask


def _add_genvfx_node(tree, idname: str, name: str, plate, mask, proxy: float):
    """A genvfx node fed by the plate (Image) and the mask (Mask) at proxy scale ``proxy``."""
    node = tree.nodes.new(idname)
    node.name = name
    node.location = (-150, 0)
    node.proxy = str(int(round(float(proxy) * 100)))
    tree.links.new(plate.outputs["Image"], node.inputs["Image"])
    tree.links.new(mask.outputs["Image"], node.inputs["Mask"])
    return node


def _show(tree, node) -> None:
    """``node``'s Image output to the tree's Group Output and a Viewer."""
    x = node.location[0] + 350
    output = tree.nodes.new("NodeGroupOutput")
    output.location = (x, 0)
    viewer = tree.nodes.new("CompositorNodeViewer")
    viewer.location = (x, -200)
    tree.links.new(node.outputs["Image"], output.inputs["Image"])
    tree.links.new(node.outputs["Image"], viewer.inputs["Image"])


def _save_scene(scene, plate, blend_out: str) -> str:
    """Resolution = the plate's, compositing on, the Standard view transform (a plate
    shown as it is, not tone-mapped); saved to ``blend_out`` (absolute path returned)."""
    width, height = plate.image.size[:]
    if width and height:
        scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.render.use_compositing = True
    scene.render.use_sequencer = False
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    blend_out = os.path.abspath(blend_out)
    os.makedirs(os.path.dirname(blend_out), exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=blend_out)
    return blend_out


def image_node(tree, name: str, pattern: str, frames: list[int], non_color: bool = False):
    """An Image node reading ``pattern`` (a '#' sequence or a single file) so that
    scene frame F shows file frame F."""
    path = os.path.abspath(pattern)
    is_sequence = sequences.is_sequence(path)
    first = str(sequences.frame_path(path, frames[0])) if is_sequence else path
    if not os.path.isfile(first):
        raise GenVFXError("bad_input", f"{name}: {first} does not exist", "Check the path and the frame range.")
    image = bpy.data.images.load(first, check_existing=False)
    image.name = name
    if non_color and not image.is_float:
        image.colorspace_settings.name = "Non-Color"
    node = tree.nodes.new("CompositorNodeImage")
    node.name = node.label = name
    node.image = image
    if is_sequence:
        image.source = "SEQUENCE"
        node.frame_start = frames[0]
        node.frame_offset = frames[0] - 1
        node.frame_duration = frames[-1] - frames[0] + 1
    return node

