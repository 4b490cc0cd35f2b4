"""The frame range inside a node's group: nodes giving 1 on the frames the result was
generated for and 0 elsewhere (Scene Time compared with the first and last frame), so
that scrubbing past them shows the plate rather than a result made for another frame."""

from __future__ import annotations

from .group_nodes import MATH_INPUTS, socket_by_id

AFTER_FIRST = "GenVFX After First"  # Frame > first - 0.5
BEFORE_LAST = "GenVFX Before Last"  # Frame < last + 0.5
UNBOUNDED = 1.0e9  # the bounds before anything is generated


def build_frame_range(tree, location):
    """The nodes in ``tree``; returns the socket that is 1 inside the range. Until
    :func:`set_frame_range` sets the bounds, every frame is inside."""
    x, y = location
    time = tree.nodes.new("CompositorNodeSceneTime")
    time.name, time.label, time.location = "GenVFX Scene Time", "Scene Time", (x, y)
    after = tree.nodes.new("ShaderNodeMath")
    after.name, after.label, after.location = AFTER_FIRST, "After First Frame", (x + 200, y)
    after.operation = "GREATER_THAN"
    before = tree.nodes.new("ShaderNodeMath")
    before.name, before.label, before.location = BEFORE_LAST, "Before Last Frame", (x + 200, y - 180)
    before.operation = "LESS_THAN"
    both = tree.nodes.new("ShaderNodeMath")
    both.name, both.label, both.location = "GenVFX In Range", "In Range", (x + 400, y - 90)
    both.operation = "MULTIPLY"
    first, second = MATH_INPUTS[:2]
    tree.links.new(time.outputs["Frame"], socket_by_id(after.inputs, first))
    tree.links.new(time.outputs["Frame"], socket_by_id(before.inputs, first))
    tree.links.new(after.outputs["Value"], socket_by_id(both.inputs, first))
    tree.links.new(before.outputs["Value"], socket_by_id(both.inputs, second))
    socket_by_id(after.inputs, second).default_value = -UNBOUNDED
    socket_by_id(before.inputs, second).default_value = UNBOUNDED
    return both.outputs["Value"]


def set_frame_range(tree, first: int, last: int) -> None:
    """Make the range of ``tree`` (built by :func:`build_frame_range`) ``first``…``last``."""
    after = tree.nodes.get(AFTER_FIRST)
    before = tree.nodes.get(BEFORE_LAST)
    if after is not None and before is not None:
        socket_by_id(after.inputs, MATH_INPUTS[1]).default_value = first - 0.5
        socket_by_id(before.inputs, MATH_INPUTS[1]).default_value = last + 0.5
