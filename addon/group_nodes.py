"""Small helpers for building a genvfx node's internal compositor group, and the names
of the group's nodes that Python sets when a result loads."""

from __future__ import annotations

#: The group's CompositorNodeImage that reads the generated layers.
RESULT_NODE = "GenVFX Result"
#: Prefix of the Switch nodes between pass-through (off) and the generated layers (on).
GENERATED_SWITCH = "GenVFX Generated"
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


def scale_proxies(tree, factor: float) -> None:
    """Set every proxy Scale node of ``tree`` to ``factor``."""
    for node in tree.nodes:
        if node.bl_idname == "CompositorNodeScale" and node.name.startswith(PROXY):
            node.inputs["X"].default_value = factor
            node.inputs["Y"].default_value = factor


def link_passes(tree, image_node, pass_names) -> None:
    """Wire the result Image node's pass sockets into the proxy Scale nodes."""
    for pass_name in pass_names:
        socket = image_node.outputs.get(pass_name)
        if socket is None and pass_name == "Combined":
            socket = image_node.outputs.get("Image")
        scale = tree.nodes.get(PROXY + pass_name)
        if socket is not None and scale is not None:
            tree.links.new(socket, scale.inputs["Image"])


def math_node(tree, operation, a, b, name, location, clamp=False):
    """A Math node computing ``operation`` of ``a`` and ``b`` (sockets to link, numbers
    to set, or None); returns its output socket."""
    node = add_node(tree, "ShaderNodeMath", name, location)
    node.operation = operation
    node.use_clamp = clamp
    for socket, value in zip(node.inputs, (a, b)):
        if hasattr(value, "is_output"):
            tree.links.new(value, socket)
        elif value is not None:
            socket.default_value = value
    return node.outputs["Value"]


def mix_node(tree, data_type, name, location, factor, a, b, blend_type="MIX", label=""):
    """A Mix node (``data_type`` 'FLOAT', 'VECTOR' or 'RGBA') of ``a`` and ``b`` by
    ``factor`` (each a socket to link or a value to set); returns its result socket."""
    node = add_node(tree, "ShaderNodeMix", name, location, label=label)
    node.data_type = data_type
    node.blend_type = blend_type
    node.clamp_factor = True
    suffix = {"FLOAT": "Float", "VECTOR": "Vector", "RGBA": "Color"}[data_type]
    for identifier, value in (("Factor_Float", factor), (f"A_{suffix}", a), (f"B_{suffix}", b)):
        socket = socket_by_id(node.inputs, identifier)
        if hasattr(value, "is_output"):
            tree.links.new(value, socket)
        else:
            socket.default_value = value
    return socket_by_id(node.outputs, f"Result_{suffix}")


def clear_colour(tree, location):
    """A transparent black RGB node: what a pass output shows before anything is generated."""
    clear = add_node(tree, "CompositorNodeRGB", "GenVFX Clear", location, label="Nothing Yet")
    clear.outputs[0].default_value = (0.0, 0.0, 0.0, 0.0)
    return clear.outputs[0]


def generated_switch(tree, name, off, on, to_socket, location):
    """A Switch node named for :data:`GENERATED_SWITCH`: ``off`` before a result is
    loaded, ``on`` after; its output goes to ``to_socket``."""
    switch = add_node(tree, "CompositorNodeSwitch", f"{GENERATED_SWITCH} {name}", location, label="Generated?")
    tree.links.new(off, switch.inputs["Off"])
    tree.links.new(on, switch.inputs["On"])
    tree.links.new(switch.outputs["Image"], to_socket)
    return switch


def set_switches(tree, generated: bool) -> None:
    """Switch the group between pass-through (False) and the generated layers (True)."""
    for node in tree.nodes:
        if node.name.startswith(GENERATED_SWITCH):
            node.inputs["Switch"].default_value = generated
