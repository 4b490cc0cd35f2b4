"""What every genvfx compositor node shares.

A genvfx node is a ``CompositorNodeCustomGroup``: Python cannot run during
compositing, so each node wraps its own node group (one per node, made in
``init``). That group reads the generated multilayer EXR sequence with a
``CompositorNodeImage`` and recombines its passes with ordinary compositor nodes
(the refinement controls are the group's inputs). Python only acts between
evaluations: it turns the node into a job, and when the job is done it points the
internal Image node at the cached sequence.

:class:`GenVFXNodeBase` gathers the concerns, each in its own module: the properties
(:mod:`.node_properties`), the loaded result (:mod:`.results`, with the group's frame
range from :mod:`.frame_range`) and the variant thumbnails (:mod:`.variant_thumbnails`).
A node (``debris_fill_node``, ``relight_node``, ``collapse_node``) gives ``generator``
(the backend generator name), ``layer`` (the EXR layer it writes), ``input_roles`` (node
input socket -> job input role), ``build_group(tree)`` and ``link_result``; the class
Blender registers adds its drawing (``ui/nodes.py``).
"""

from __future__ import annotations

import bpy

from .group_nodes import RESULT_NODE
from .node_properties import NodeProperties
from .results import NodeResult
from .variant_thumbnails import VariantThumbnails


class GenVFXNodeBase(NodeProperties, NodeResult, VariantThumbnails):
    """Mixin for the genvfx ``CompositorNodeCustomGroup`` nodes."""

    generator = ""
    layer = ""
    model_slot = ""
    input_roles: dict[str, str] = {}
    group_name = "GenVFX"
    supports_variants = False  # the node offers Variants (several seeds at a proxy, pick one)

    @classmethod
    def poll(cls, ntree):
        return ntree.bl_idname == "CompositorNodeTree"

    def init(self, context):
        tree = bpy.data.node_groups.new(f".{self.group_name}", "CompositorNodeTree")
        self.build_group(tree)
        self.node_tree = tree
        self.width = 220

    def copy(self, node):
        # Each node owns its group: the result image and switches are per node.
        if node.node_tree is not None:
            self.node_tree = node.node_tree.copy()
        self.variant_seeds = ""  # the thumbnails belong to the original

    def free(self):
        # The group is this node's own (a new datablock's user count is 2 here, so
        # ``users`` cannot tell): remove it unless another group node uses it too.
        self.clear_variants()
        tree = self.node_tree
        if tree is None:
            return
        shared = any(
            node != self and getattr(node, "node_tree", None) == tree
            for group in bpy.data.node_groups for node in group.nodes
        )
        if shared:
            return
        result = tree.nodes.get(RESULT_NODE)
        image = result.image if result is not None else None
        self.node_tree = None
        bpy.data.node_groups.remove(tree)
        if image is not None and image.users == 0:
            bpy.data.images.remove(image)

    def build_group(self, tree) -> None:  # pragma: no cover - subclasses build
        raise NotImplementedError

    def job_params(self) -> dict:
        """Generator parameters the node carries besides seed/model/proxy (e.g. how a
        shot is treated); none by default."""
        return {}
