"""Small helpers for building a genvfx node's internal compositor group."""

from __future__ import annotations

#: Prefix of the Scale nodes that bring a proxy-scale result back to the plate's size.
PROXY = "GenVFX Proxy "


def add_socket(tree, name, in_out, socket_type, default=None, min_value=None, max_value=None, description=""):
    item = tree.interface.new_socket(name, in_out=in_out, socket_type=socket_type, description=description)
    if default is not None:
        item.default_value = default
    if min_value is not None:
        item.min_value = min_value
    if max_value is not None:
        item.max_value = max_value
    return item


def socket_by_id(sockets, identifier):
    """A socket by identifier (``sockets[name]`` looks up by name, and ShaderNodeMix
    has several sockets of the same name, one per data type)."""
    return next(socket for socket in sockets if socket.identifier == identifier)


def add_node(tree, idname, name, location, label=""):
    node = tree.nodes.new(idname)
    node.name = name
    node.label = label or name.replace("GenVFX ", "")
    node.location = location
    return node


def proxy_scales(tree, pass_names, location):
    """One Relative Scale node per pass (set by the node when a result loads)."""
    x, y = location
    scales = {}
    for index, pass_name in enumerate(pass_names):
        scale = add_node(tree, "CompositorNodeScale", PROXY + pass_name, (x, y - 160 * index),
                         label=f"Proxy {pass_name}")
        scale.inputs["Type"].default_value = "Relative"
        scales[pass_name] = scale
    return scales


def link_passes(tree, image_node, pass_names) -> None:
    """Wire the result Image node's pass sockets into the proxy Scale nodes."""
    for pass_name in pass_names:
        socket = image_node.outputs.get(pass_name)
        if socket is None and pass_name == "Combined":
            socket = image_node.outputs.get("Image")
        scale = tree.nodes.get(PROXY + pass_name)
        if socket is not None and scale is not None:
            tree.links.new(socket, scale.inputs["Image"])
