"""Small helpers for building a genvfx node's internal compositor group, and the names
of the group's nodes that Python sets when a result loads.

Sockets are looked up by identifier (:func:`socket_by_id`) or by name, never by position:
what a position means depends on which sockets a node's mode hides, and reports of Blender
5.2 say hidden sockets leave the collection (names repeat, so identifiers: the Math node's
three inputs are all "Value", the Mix node has an "A" per data type).
"""

from __future__ import annotations

from . import compat

#: The group's CompositorNodeImage that reads the generated layers.
RESULT_NODE = "GenVFX Result"
#: Prefix of the Switch nodes between pass-through (off) and the generated layers (on).
GENERATED_SWITCH = "GenVFX Generated"
#: Prefix of the Scale nodes that bring a proxy-scale result back to the plate's size.
PROXY = "GenVFX Proxy "

#: Identifiers of the Math node's inputs, in order (all three are named "Value").
MATH_INPUTS = ("Value", "Value_001", "Value_002")
#: Identifiers of the Vector Math node's vector inputs, in order (all named "Vector").
VECTOR_MATH_INPUTS = ("Vector", "Vector_001", "Vector_002")
#: The channels of Separate/Combine Color (RGB mode), in order.
COLOR_CHANNELS = ("Red", "Green", "Blue", "Alpha")


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
    """A socket of ``sockets`` (a node's inputs or outputs) by identifier: ``sockets[name]``
    looks up by name, which repeats (the Math node's inputs, the Mix node's per-type
    sockets). Only the sockets the node's mode shows can be found from Blender 5.2, so set
    the mode (operation, data type) first."""
    for socket in sockets:
        if socket.identifier == identifier:
            return socket
    raise KeyError(f"no socket '{identifier}' among {[socket.identifier for socket in sockets]}")


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


def feed(tree, socket, value) -> None:
    """Link ``value`` into ``socket`` when it is a socket, else set it as the default (None:
    leave it)."""
    if hasattr(value, "is_output"):
        tree.links.new(value, socket)
    elif value is not None:
        socket.default_value = value


def math_node(tree, operation, a, b, name, location, clamp=False, label="", c=None):
    """A Math node computing ``operation`` of ``a``, ``b`` (and ``c``, for the three-input
    operations) (sockets to link, numbers to set, or None); returns its output socket."""
    node = add_node(tree, "ShaderNodeMath", name, location, label=label)
    node.operation = operation
    node.use_clamp = clamp
    for identifier, value in zip(MATH_INPUTS, (a, b, c)):
        if value is not None:
            feed(tree, socket_by_id(node.inputs, identifier), value)
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
        feed(tree, socket_by_id(node.inputs, identifier), value)
    result = socket_by_id(node.outputs, f"Result_{suffix}")
    if data_type == "RGBA" and compat.mix_mixes_alpha():
        result = keep_alpha(tree, name, location, result, a)
    return result


def keep_alpha(tree, name, location, image, alpha_of):
    """``image`` with the alpha of ``alpha_of`` (a colour socket or an RGBA value): what a
    colour Mix node gave before Blender 5.1, put back where the Mix node mixes alpha."""
    x, y = location
    keep = add_node(tree, "CompositorNodeSetAlpha", f"{name} Alpha", (x + 180, y), label="A's Alpha")
    keep.inputs["Type"].default_value = "Replace Alpha"
    tree.links.new(image, keep.inputs["Image"])
    if hasattr(alpha_of, "is_output"):
        channels = add_node(tree, "CompositorNodeSeparateColor", f"{name} A Channels", (x, y - 220), label="A")
        tree.links.new(alpha_of, channels.inputs["Image"])
        tree.links.new(channels.outputs["Alpha"], keep.inputs["Alpha"])
    else:
        rgba = tuple(alpha_of) if isinstance(alpha_of, (tuple, list)) else ()
        keep.inputs["Alpha"].default_value = rgba[3] if len(rgba) > 3 else 1.0
    return keep.outputs["Image"]


def clear_colour(tree, location):
    """A transparent black RGB node: what a pass output shows before anything is generated."""
    clear = add_node(tree, "CompositorNodeRGB", "GenVFX Clear", location, label="Nothing Yet")
    clear.outputs["Color"].default_value = (0.0, 0.0, 0.0, 0.0)
    return clear.outputs["Color"]


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
