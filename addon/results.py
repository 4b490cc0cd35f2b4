"""A node's generated result: the internal Image node pointed at the cached EXR sequence,
the group switched from pass-through to the generated layers, scaled back from the proxy
scale and limited to the frames generated."""

from __future__ import annotations

import os

import bpy
from bpy.props import FloatProperty, IntProperty, StringProperty

from ..backend.files import sequences
from .frame_range import set_frame_range
from .group_nodes import RESULT_NODE, scale_proxies, set_switches

#: Custom property on a node's result image: whose it is (:meth:`NodeResult.image_owner_tag`).
OWNER = "genvfx_owner"


class NodeResult:
    """Mixin: the loaded result of a genvfx node. A node gives ``layer`` and
    ``link_result(tree, image_node)``."""

    job_key: StringProperty(name="Job Key", default="", description="Content hash of the loaded result")
    result_pattern: StringProperty(name="Result", subtype="FILE_PATH", default="",
                                   description="The EXR sequence the node shows ('#' = frame number)")
    result_first: IntProperty(name="First Frame", default=1)
    result_last: IntProperty(name="Last Frame", default=1)
    result_proxy: FloatProperty(name="Result Proxy", default=1.0)

    def link_result(self, tree, image_node) -> None:  # pragma: no cover - subclasses link
        """Wire the result Image node's pass sockets into the group (they exist only
        once an image is loaded, so this runs on every load)."""
        raise NotImplementedError

    @property
    def result_frames(self) -> list[int]:
        if not self.result_pattern:
            return []
        return list(range(self.result_first, self.result_last + 1))

    def result_node(self):
        tree = self.node_tree
        return tree.nodes.get(RESULT_NODE) if tree is not None else None

    def image_owner_tag(self) -> str:
        return f"{self.id_data.name}/{self.name}"

    def set_generated(self, generated: bool) -> None:
        set_switches(self.node_tree, generated)

    def load_result(self, pattern: str, frames: list[int], proxy: float = 1.0, key: str = "") -> None:
        """Point the internal Image node at ``pattern`` (a '#'-numbered EXR sequence)
        for ``frames`` and switch the node from pass-through to the generated layers."""
        frames = sorted(frames)
        first, last = frames[0], frames[-1]
        first_file = str(sequences.frame_path(pattern, first))
        image_node = self.result_node()
        image = image_node.image
        if image is None or image.get(OWNER) != self.image_owner_tag():
            image = bpy.data.images.load(first_file, check_existing=False)
            image.name = f".{self.layer} {self.name}"
            image[OWNER] = self.image_owner_tag()
        elif bpy.path.abspath(image.filepath) != first_file:
            image.filepath = first_file
        image.source = "SEQUENCE" if len(frames) > 1 or sequences.is_sequence(pattern) else "FILE"
        image.reload()
        image_node.image = image
        # Scene frame F shows file frame F: frame_start = first, offset = first - 1.
        image_node.frame_start = first
        image_node.frame_offset = first - 1
        image_node.frame_duration = last - first + 1
        image_node.use_cyclic = False
        image_node.use_auto_refresh = True
        self.link_result(self.node_tree, image_node)
        self.set_proxy_scale(proxy)
        set_frame_range(self.node_tree, first, last)
        self.set_generated(True)
        self.result_pattern = pattern
        self.result_first, self.result_last = first, last
        self.result_proxy = proxy
        if key:
            self.job_key = key

    def set_proxy_scale(self, proxy: float) -> None:
        """The result was generated at ``proxy`` × the plate size: scale it back up."""
        scale_proxies(self.node_tree, 1.0 / proxy if proxy > 0 else 1.0)

    def clear_result(self) -> None:
        """Back to pass-through (the generated files stay in the cache)."""
        image_node = self.result_node()
        if image_node is not None:
            image_node.image = None
        self.set_generated(False)
        self.result_pattern = ""
        self.job_key = ""
        self.state = "IDLE"
        self.progress = 0.0
        self.message = ""

    def frames_on_disk(self, frames: list[int]) -> bool:
        if not self.result_pattern:
            return False
        return all(os.path.isfile(sequences.frame_path(self.result_pattern, frame)) for frame in frames)
