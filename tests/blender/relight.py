"""The Relight node in Blender (tests/test_blender_relight.py reads what this leaves):
generated headless, relit live in its group, reset to the plate, kept by the .blend."""

from __future__ import annotations

import json
import os

import bpy

from prelude import draw_node, module, preferences, render, run


def main(config: dict, results: dict) -> None:
    out = config["out"]
    headless = module("addon.headless")
    results["menu"] = [label for _, label in module("ui.menu").GENERATIVE_NODES]
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    preferences().cache_dir = config["cache"]
    scene = bpy.context.scene
    scene.frame_start = scene.frame_end = 1
    tree = bpy.data.node_groups.new("Compositing", "CompositorNodeTree")
    scene.compositing_node_group = tree
    tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    plate = headless.image_node(tree, "Plate", config["plate"], [1])
    node = tree.nodes.new("GenVFXRelightNode")
    node.name = "Relight"
    output = tree.nodes.new("NodeGroupOutput")
    tree.links.new(plate.outputs["Image"], node.inputs["Image"])
    tree.links.new(node.outputs["Image"], output.inputs["Image"])
    scene.render.resolution_x, scene.render.resolution_y = plate.image.size[:]
    scene.render.resolution_percentage = 100
    scene.render.use_compositing = True
    results["sockets"] = {"in": [s.name for s in node.inputs], "out": [s.name for s in node.outputs]}
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out, "relight.blend"))
    render(scene, out, "before")
    results["generate"] = sorted(bpy.ops.genvfx.generate(node_name="Relight", wait=True))
    results["node"] = {"state": node.state, "message": node.message, "pattern": node.result_pattern}
    results["neutral"] = json.loads(node.neutral_light)["light"]
    results["drawn"] = draw_node(node, module("ui.nodes").GenVFXRelightNode, bpy.context, "draw_buttons")
    render(scene, out, "neutral")
    node.inputs["Azimuth"].default_value = -70.0
    node.inputs["Elevation"].default_value = 15.0
    node.inputs["Colour"].default_value = (1.0, 0.7, 0.5, 1.0)
    node.inputs["Intensity"].default_value = results["neutral"]["intensity"] * 1.5
    results["moved"] = {name: node.inputs[name].default_value
                        for name in ("Azimuth", "Elevation", "Intensity", "Ambient", "Wrap")}
    render(scene, out, "moved")
    node.inputs["Ratio Mode"].default_value = 1.0
    render(scene, out, "moved_ratio")
    node.inputs["Ratio Mode"].default_value = 0.0
    node.inputs["Intensity 2"].default_value = 0.5
    node.inputs["Colour 2"].default_value = (0.4, 0.6, 1.0, 1.0)
    render(scene, out, "two_lights")
    node.inputs["Intensity 2"].default_value = 0.0
    results["reset"] = sorted(bpy.ops.genvfx.relight_reset_light(node_name="Relight"))
    render(scene, out, "reset")
    node.inputs["Azimuth"].default_value = 10.0
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath)
    node = bpy.context.scene.compositing_node_group.nodes["Relight"]
    results["reopened"] = {"azimuth": node.inputs["Azimuth"].default_value, "neutral": bool(node.neutral_light),
                           "state": node.state}


if __name__ == "__main__":
    run(main)
