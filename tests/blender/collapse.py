"""The Collapse Sim node in Blender (tests/test_blender_collapse.py reads what this
leaves): put in a scene by ``headless.build_collapse_scene``, generated and rendered by
``headless.render_blend``, recombined live in its group, drawn, imported as keyframed
objects, and kept by the .blend."""

from __future__ import annotations

import os

import bpy
from bpy_extras import anim_utils

from prelude import draw_node, module, preferences, render, run


def fcurves(obj):
    animation = obj.animation_data
    return anim_utils.action_get_channelbag_for_slot(animation.action, animation.action_slot).fcurves


def main(config: dict, results: dict) -> None:
    out = config["out"]
    headless = module("addon.headless")
    results["menu"] = [label for _, label in module("ui.menu").GENERATIVE_NODES]
    preferences().cache_dir = config["cache"]

    blend = headless.build_collapse_scene(config["plate"], config["mask"], config["frames"],
                                          os.path.join(out, "collapse.blend"), proxy=1.0, start=config["start"],
                                          params=config["params"])
    scene = bpy.context.scene
    node = scene.compositing_node_group.nodes["Collapse Sim"]
    results["sockets"] = {"in": [s.name for s in node.inputs], "out": [s.name for s in node.outputs]}
    results["scene"] = {"frames": [scene.frame_start, scene.frame_end],
                        "resolution": [scene.render.resolution_x, scene.render.resolution_y]}
    results["job_params"] = node.job_params()
    render(scene, out, "before", 4)

    written = headless.render_blend(blend, frames=config["frames"], out_dir=os.path.join(out, "render"),
                                    file_format="OPEN_EXR", save=True)
    results["written"] = written
    scene = bpy.context.scene
    node = scene.compositing_node_group.nodes["Collapse Sim"]
    results["node"] = {"state": node.state, "message": node.message, "pattern": node.result_pattern,
                       "warnings": node.warning_list(), "frames": [node.result_first, node.result_last]}
    results["drawn"] = draw_node(node, module("ui.nodes").GenVFXCollapseSimNode, bpy.context,
                                 "draw_buttons", "draw_buttons_ext")

    render(scene, out, "outside", 8)
    node.inputs["Motion Blur"].default_value = 0.0
    render(scene, out, "sharp", 6)
    node.inputs["Fragment Grade"].default_value = 0.5
    render(scene, out, "graded", 6)
    node.inputs["Fragment Grade"].default_value = 1.0
    node.inputs["Dust Opacity"].default_value = 0.0
    render(scene, out, "no_dust", 6)
    node.inputs["Dust Opacity"].default_value = 1.0
    node.inputs["Dust Tint"].default_value = (1.0, 0.5, 0.25, 1.0)
    render(scene, out, "tinted", 6)
    node.inputs["Dust Tint"].default_value = (1.0, 1.0, 1.0, 1.0)
    node.inputs["Motion Blur"].default_value = 1.0

    results["import"] = sorted(bpy.ops.genvfx.collapse_import_simulation(node_name="Collapse Sim"))
    collection = bpy.data.collections["Collapse Sim Simulation"]
    fragments = sorted(collection.children[0].objects, key=lambda obj: obj.name)
    camera = bpy.data.objects["Collapse Camera"]
    ground = bpy.data.objects["Collapse Ground"]
    results["imported"] = {
        "fragments": len(fragments),
        "keys": sorted({len(curve.keyframe_points) for obj in fragments for curve in fcurves(obj)
                        if curve.data_path in ("location", "rotation_quaternion")}),
        "hidden_keyed": sum(1 for obj in fragments for curve in fcurves(obj) if curve.data_path == "hide_render"),
        "camera": {"lens": camera.data.lens, "sensor": camera.data.sensor_width, "fit": camera.data.sensor_fit,
                   "location": list(camera.location), "rotation": list(camera.rotation_euler),
                   "scene_camera": scene.camera == camera},
        "ground_z": [list(ground.matrix_world @ v.co) for v in ground.data.vertices],
        "uv_layers": [layer.name for layer in fragments[0].data.uv_layers],
    }
    world = {}
    for frame in (2, 6):
        scene.frame_set(frame)
        world[frame] = [[list(obj.matrix_world @ obj.data.vertices[0].co) for obj in fragments]]
    results["imported"]["world_vertex_0"] = world

    node.start_frame = 3
    node.fragments = 42
    node.use_origin = True
    node.origin = (0.25, 0.75)
    node.direction_bias = (0.5, -0.25)
    node.speed = 12.0
    node.size_falloff = 0.3
    node.height = 40.0
    node.gravity_scale = 2.0
    node.dust = 0.5
    node.seed = 9
    node.light_source = "direction"
    node.light_direction = (0.6, 0.7, 0.2)
    node.inputs["Dust Opacity"].default_value = 0.7
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath)
    node = bpy.context.scene.compositing_node_group.nodes["Collapse Sim"]
    results["reopened"] = {name: (list(getattr(node, name)) if name in ("origin", "direction_bias")
                                  else getattr(node, name))
                           for name in ("start_frame", "fragments", "use_origin", "origin", "direction_bias", "speed",
                                        "size_falloff", "height", "gravity_scale", "dust", "seed", "state",
                                        "result_pattern")}
    results["reopened"]["dust_opacity"] = node.inputs["Dust Opacity"].default_value
    results["reopened"]["warnings"] = node.warning_list()
    results["reopened"]["job_params"] = node.job_params()


if __name__ == "__main__":
    run(main)
