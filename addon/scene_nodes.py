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
    return _trees_within(root) if root else []


def genvfx_nodes(scene) -> list:
    """Every genvfx node the scene's compositor evaluates (groups included), upstream first
    (a node after every genvfx node whose result reaches its inputs, whatever order the
    nodes were added in)."""
    found = []
    for tree in reversed(compositor_trees(scene)):
        found += [node for node in tree.nodes if is_genvfx_node(node) and not node.mute]
    ordered: list = []

    def place(node) -> None:
        if node in ordered:
            return
        for source in upstream_genvfx_nodes(node):
            if source in found:
                place(source)
        ordered.append(node)

    for node in found:
        place(node)
    return ordered


def upstream_genvfx_nodes(node) -> list:
    """The genvfx nodes whose output reaches ``node``'s inputs, through any nodes of its
    tree (a group node on the way brings the genvfx nodes inside it)."""
    found, seen = [], set()
    stack = [link.from_node for socket in node.inputs for link in socket.links
             if link.is_valid and not link.is_muted]
    while stack:
        source = stack.pop()
        if source.as_pointer() in seen:
            continue
        seen.add(source.as_pointer())
        if is_genvfx_node(source):
            if not source.mute:
                found.append(source)
        elif getattr(source, "node_tree", None) is not None:
            groups = _trees_within(source.node_tree, into_genvfx_nodes=False)
            found += [inner for tree in groups for inner in tree.nodes if is_genvfx_node(inner) and not inner.mute]
        stack.extend(link.from_node for socket in source.inputs for link in socket.links
                     if link.is_valid and not link.is_muted)
    return found


def _trees_within(tree, into_genvfx_nodes: bool = True) -> list:
    """``tree`` and the groups it uses, recursively (with ``into_genvfx_nodes`` false, not
    the internal groups of genvfx nodes)."""
    found, stack = [], [tree]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.append(current)
        stack.extend(node.node_tree for node in current.nodes
                     if getattr(node, "node_tree", None) is not None
                     and (into_genvfx_nodes or not is_genvfx_node(node)))
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
