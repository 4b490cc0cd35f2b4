"""Where the genvfx nodes are: the compositor trees a scene evaluates, a node by name (or
the active one), the scene whose compositor evaluates a node."""

from __future__ import annotations

import bpy

from .node_base import GenVFXNodeBase


def is_genvfx_node(node) -> bool:
    return isinstance(node, GenVFXNodeBase)


def compositor_trees(scene) -> list:
    """The scene's compositor tree and every group it uses (recursively)."""
    root = scene.compositing_node_group
    found, stack = [], [root] if root else []
    while stack:
        tree = stack.pop()
        if tree in found:
            continue
        found.append(tree)
        stack.extend(node.node_tree for node in tree.nodes
                     if getattr(node, "node_tree", None) is not None)
    return found


def genvfx_nodes(scene) -> list:
    """Every genvfx node the scene's compositor evaluates (groups included), upstream first."""
    found = []
    for tree in reversed(compositor_trees(scene)):
        found += [node for node in tree.nodes if is_genvfx_node(node) and not node.mute]
    return found


def find_node(context, node_name: str = "", tree_name: str = ""):
    """A genvfx node by name (in ``tree_name``, else the scene's compositor and its
    groups, else any compositor tree); without a name, the active node."""
    scene = context.scene
    if tree_name:
        tree = bpy.data.node_groups.get(tree_name)
        trees = [tree] if tree is not None else []
    else:
        trees = compositor_trees(scene) if scene else []
        space = getattr(context, "space_data", None)
        edit_tree = getattr(space, "edit_tree", None)
        if edit_tree is not None and edit_tree not in trees:
            trees.insert(0, edit_tree)
        trees += [group for group in bpy.data.node_groups
                  if group.bl_idname == "CompositorNodeTree" and group not in trees]
    for tree in trees:
        if node_name:
            node = tree.nodes.get(node_name)
        else:
            node = tree.nodes.active
        if node is not None and is_genvfx_node(node):
            return node
    return None


def scene_of(context, node):
    """The scene whose compositor evaluates ``node``'s tree (the context's first)."""
    scenes = [context.scene] + [scene for scene in bpy.data.scenes if scene != context.scene]
    for scene in scenes:
        if scene is not None and node.id_data in compositor_trees(scene):
            return scene
    return context.scene
