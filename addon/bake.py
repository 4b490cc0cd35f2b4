"""Hand a node's input sockets to the backend as files.

An input that comes straight from an Image node showing a file (or a numbered file
sequence) is passed as that file's path, with the frame number written as '#'.
Anything else — a grade, a blur, a render layer, a file the backend would read
differently from Blender (an odd colour space, a multilayer pass, a shifted
sequence) — is *baked*: a temporary File Output node is connected to the upstream
socket and the compositor alone renders the frames asked, into the cache
(``<cache>/bakes/…``), never next to the user's files. Everything touched is put
back afterwards.

Measured on Blender 5.0: a still render (``bpy.ops.render.render()`` without
``write_still``) runs the compositor and every File Output node writes, at the
size of its input, without the scene's own output being written; a tree without
Render Layers nodes renders no 3D at all.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile

import bpy

from ..backend.files import sequences
from ..errors import GenVFXError
from . import compat
from .scene_nodes import compositor_trees

# Colour spaces the backend reads the same way Blender does.
LINEAR_SPACES = {"Linear Rec.709", "scene_linear"}
DIGITS = re.compile(r"\d+")
#: Render settings that write metadata into every file a render saves.
STAMP_SETTINGS = ("use_stamp_date", "use_stamp_time", "use_stamp_render_time", "use_stamp_frame",
                  "use_stamp_frame_range", "use_stamp_memory", "use_stamp_hostname", "use_stamp_camera",
                  "use_stamp_lens", "use_stamp_scene", "use_stamp_marker", "use_stamp_filename",
                  "use_stamp_sequencer_strip", "use_stamp_note")


def upstream_socket(socket):
    """The output socket feeding ``socket``, through reroutes; None when unlinked."""
    seen = 0
    while socket.is_linked and seen < 64:
        link = socket.links[0]
        if not link.is_valid or link.is_muted:
            return None
        source = link.from_socket
        if link.from_node.bl_idname == "NodeReroute":
            socket = link.from_node.inputs["Input"]
            seen += 1
            continue
        return source
    return None


def _sequence_pattern(path: str) -> str | None:
    """``/a/plate.0012.exr`` → ``/a/plate.####.exr`` (the last digits of the name)."""
    head, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    runs = list(DIGITS.finditer(stem))
    if not runs:
        return None
    run = runs[-1]
    return os.path.join(head, stem[: run.start()] + "#" * len(run.group()) + stem[run.end():] + ext)


def _colour_space_matches(image, role: str) -> bool:
    space = image.colorspace_settings.name
    if image.is_float or image.file_format in {"OPEN_EXR", "OPEN_EXR_MULTILAYER", "HDR"}:
        return space in LINEAR_SPACES
    if role == "mask":
        # The backend reads 8/16-bit masks as coverage (no sRGB decoding).
        return space == "Non-Color"
    return space == "sRGB"


def file_pattern(socket, role: str, frames: list[int]) -> str | None:
    """The file path (or '#' pattern) the compositor reads for ``socket`` on
    ``frames`` when that is exactly what the backend would read; else None."""
    node = socket.node
    if node.bl_idname != "CompositorNodeImage" or node.mute or socket.identifier != "Image":
        return None
    image = node.image
    if image is None or image.packed_file is not None or getattr(node, "has_layers", False):
        return None
    if image.alpha_mode not in {"STRAIGHT", "PREMUL"} or not _colour_space_matches(image, role):
        return None
    path = bpy.path.abspath(image.filepath, library=image.library)
    path = os.path.normpath(path)
    if image.source == "FILE":
        return path if os.path.isfile(path) else None
    if image.source != "SEQUENCE":
        return None  # movies, UDIM tiles, generated images: bake
    pattern = _sequence_pattern(path)
    if pattern is None:
        return None
    # Scene frame F shows file frame F - frame_start + 1 + frame_offset (within the
    # node's duration). Use the files only when that is F itself.
    start, offset, duration = node.frame_start, node.frame_offset, node.frame_duration
    if offset != start - 1:
        return None
    if not node.use_cyclic and any(frame < start or frame >= start + duration for frame in frames):
        return None
    if not all(os.path.isfile(sequences.frame_path(pattern, frame)) for frame in frames):
        return None
    return pattern


def bake_dir(cache_dir: str, node) -> str:
    """Where a node's baked inputs go: one folder per node, in the cache."""
    ident = f"{bpy.data.filepath}|{node.id_data.name}|{node.name}"
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", node.name).strip("_") or "node"
    return os.path.join(cache_dir, "bakes", f"{slug}-{hashlib.sha1(ident.encode()).hexdigest()[:8]}")


class _RenderState:
    """Scene and tree settings a bake changes, put back on exit."""

    def __init__(self, scene):
        self.scene = scene

    def __enter__(self):
        scene, render = self.scene, self.scene.render
        self.saved = {
            "frame": scene.frame_current,
            "use_compositing": render.use_compositing,
            "use_sequencer": render.use_sequencer,
            "resolution_percentage": render.resolution_percentage,
        }
        # No metadata in the baked files: Blender stamps the date, the render time and the
        # .blend's path into each EXR, so the same pixels baked twice (or from a copy of the
        # file on another machine) would hash apart, and the job's key with them.
        self.stamps = {name: getattr(render, name) for name in STAMP_SETTINGS if hasattr(render, name)}
        for name in self.stamps:
            setattr(render, name, False)
        # No file the user set up is written while baking.
        self.muted = []
        for tree in compositor_trees(scene):
            for node in tree.nodes:
                if node.bl_idname == "CompositorNodeOutputFile" and not node.mute:
                    node.mute = True
                    self.muted.append((tree.name, node.name))
        render.use_compositing = True
        render.use_sequencer = False
        render.resolution_percentage = 100
        return self

    def __exit__(self, *exc):
        scene, render = self.scene, self.scene.render
        for tree_name, node_name in self.muted:
            tree = bpy.data.node_groups.get(tree_name)
            node = tree.nodes.get(node_name) if tree else None
            if node is not None:
                node.mute = False
        render.use_compositing = self.saved["use_compositing"]
        render.use_sequencer = self.saved["use_sequencer"]
        render.resolution_percentage = self.saved["resolution_percentage"]
        for name, value in self.stamps.items():
            setattr(render, name, value)
        scene.frame_set(self.saved["frame"])
        return False


def bake_socket(scene, socket, frames: list[int], directory: str, name: str,
                is_float: bool = False, on_frame=None) -> str:
    """Render ``socket`` (an output socket in ``scene``'s compositor) to
    ``<directory>/<name>.####.exr`` (scene-linear float RGBA) for ``frames``;
    returns that pattern."""
    tree = socket.id_data
    if tree != scene.compositing_node_group:
        # Measured: File Output nodes inside node groups write nothing (Blender 5.0).
        raise GenVFXError(
            "bake", f"The {name} input comes from inside the node group '{tree.name}', which cannot be baked",
            "Move the node to the top level of the compositor, or feed it from an Image node with a file.")
    os.makedirs(directory, exist_ok=True)
    pattern = os.path.join(directory, f"{name}.####.exr")
    scratch = tempfile.mkdtemp(prefix=f".{name}-", dir=directory)
    with _RenderState(scene):  # mutes the user's File Output nodes: add ours after
        output = tree.nodes.new("CompositorNodeOutputFile")
        output.name = output.label = "GenVFX Bake"
        try:
            output.directory = scratch + os.sep
            output.file_name = name
            output.save_as_render = False
            fmt = output.format
            fmt.media_type = "IMAGE"
            fmt.file_format = "OPEN_EXR"
            fmt.color_depth = "32"
            fmt.color_mode = "RGBA"
            fmt.exr_codec = "ZIP"
            for setting, value in compat.file_output_settings().items():
                setattr(output, setting, value)
            output.file_output_items.new("FLOAT" if is_float else "RGBA", name)
            tree.links.new(socket, output.inputs[name])
            for index, frame in enumerate(frames):
                scene.frame_set(frame)
                bpy.ops.render.render(scene=scene.name)
                written = [entry for entry in os.listdir(scratch) if entry.endswith(".exr")]
                if len(written) != 1:
                    raise GenVFXError(
                        "bake", f"Baking the {name} input wrote nothing for frame {frame}",
                        "Check that the input is connected to something the compositor can evaluate.", frame)
                os.replace(os.path.join(scratch, written[0]), sequences.frame_path(pattern, frame))
                if on_frame is not None:
                    on_frame(index + 1, len(frames))
        finally:
            tree.nodes.remove(output)
            shutil.rmtree(scratch, ignore_errors=True)
    return pattern


def input_pattern(scene, node, socket_name: str, role: str, frames: list[int], cache_dir: str,
                  on_frame=None) -> str | None:
    """The file pattern the backend reads for ``node.inputs[socket_name]``: the
    upstream file when it is one, else a fresh bake. None when nothing is connected."""
    source = upstream_socket(node.inputs[socket_name])
    if source is None:
        return None
    direct = file_pattern(source, role, frames)
    if direct is not None:
        return direct
    is_float = node.inputs[socket_name].type == "VALUE"
    return bake_socket(scene, source, frames, bake_dir(cache_dir, node), role, is_float=is_float,
                       on_frame=on_frame)
