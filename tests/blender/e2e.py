"""Debris Fill end to end in Blender (tests/test_blender_e2e.py reads what this leaves):
the node in a scene built by ``headless.build_demo_scene``, generated through the
operator, rendered, reopened and rendered headless, generated through the timer and
cancelled, fed by an input that must be baked, failing clearly, making Variants, and
drawing its buttons and the Provenance panel."""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import bpy

from prelude import ADDON_ID, draw_node, Layout, module, preferences, render, run


def main(config: dict, results: dict) -> None:
    out = config["out"]
    genvfx = module()
    headless = module("addon.headless")
    jobs = module("addon.jobs")
    session = module("addon.session")
    nodes = module("ui.nodes")
    results["enabled"] = ADDON_ID in bpy.context.preferences.addons
    results["prefs"] = type(preferences()).__name__

    # Scene: plate file -> Debris Fill <- mask file; Debris Fill -> Group Output.
    blend = headless.build_demo_scene(config["plate"], config["mask"], [1], os.path.join(out, "scene.blend"))
    preferences().cache_dir = config["cache"]
    scene = bpy.context.scene
    tree = scene.compositing_node_group
    node = tree.nodes["Debris Fill"]
    results["resolution"] = [scene.render.resolution_x, scene.render.resolution_y]
    results["sockets"] = {"in": [s.name for s in node.inputs], "out": [s.name for s in node.outputs]}
    render(scene, out, "before")  # nothing generated yet: pass-through

    results["generate"] = sorted(bpy.ops.genvfx.generate(node_name=node.name, wait=True))
    results["node"] = {"state": node.state, "message": node.message, "key": node.job_key,
                       "pattern": node.result_pattern}
    results["inputs"] = jobs.build_job(bpy.context, node, [1]).inputs
    results["params"] = jobs.build_job(bpy.context, node, [1]).params
    default_mode = node.temporal
    node.temporal, node.key_frames = "propagate", "1, 5"
    results["params_keys"] = jobs.build_job(bpy.context, node, [1]).params
    node.temporal, node.key_frames = default_mode, ""
    results["bakes_after_files"] = os.path.exists(os.path.join(config["cache"], "bakes"))

    # The Provenance panel's facts for the active node, and its report button.
    provenance = module("addon.provenance")
    results["provenance"] = provenance.node_provenance(node, 1)
    results["provenance_panel"] = getattr(bpy.types, "NODE_PT_genvfx_provenance", None) is not None
    results["write_report"] = sorted(bpy.ops.genvfx.write_report())
    panel = module("ui.provenance_panel").NODE_PT_genvfx_provenance
    drawn = {}
    for name, active in (("node", node), ("none", None)):
        drawn[name] = []
        panel.draw(SimpleNamespace(layout=Layout(drawn[name]), draw_facts=panel.draw_facts),
                   SimpleNamespace(active_node=active, scene=scene))
    results["panel_lines"] = drawn
    render(scene, out, "filled")
    results["result_sockets"] = [s.name for s in node.node_tree.nodes["GenVFX Result"].outputs]

    # A refinement control: Mix = 0 gives the plate back.
    node.inputs["Mix"].default_value = 0.0
    render(scene, out, "mix0")
    node.inputs["Mix"].default_value = 1.0
    bpy.ops.wm.save_mainfile()

    # The same file, reopened headless: up to date, so it renders without generating.
    log = []
    written = headless.render_blend(blend, frames=[1], out_dir=os.path.join(out, "farm"), log=log.append)
    results["farm"] = {"written": written, "log": log}
    scene = bpy.context.scene
    tree = scene.compositing_node_group
    preferences().cache_dir = config["cache"]

    # Interactive path: submit without waiting, the timer callback routes the events.
    node = tree.nodes["Debris Fill"]

    def pump(limit=90):
        deadline = time.monotonic() + limit
        while session.running_jobs() and time.monotonic() < deadline:
            session.poll()
            time.sleep(0.05)

    session.submit(node, jobs.build_job(bpy.context, node, [1]))
    results["async_running"] = node.state
    pump()
    results["async"] = {"state": node.state, "message": node.message}
    node.seed = 99  # a new key: real work, cancelled at once
    session.submit(node, jobs.build_job(bpy.context, node, [1]))
    session.cancel()
    pump()
    results["cancelled"] = {"state": node.state, "message": node.message, "key_kept": node.job_key}

    # An input that is not a file: plate -> RGB Curves -> Debris Fill gets baked.
    plate = tree.nodes["Plate"]
    mask = tree.nodes["Mask"]
    curves = tree.nodes.new("CompositorNodeCurveRGB")
    baked = tree.nodes.new("GenVFXDebrisFillNode")
    baked.name = "Debris Fill Baked"
    baked.seed = 7
    tree.links.new(plate.outputs["Image"], curves.inputs["Image"])
    tree.links.new(curves.outputs["Image"], baked.inputs["Image"])
    tree.links.new(mask.outputs["Image"], baked.inputs["Mask"])
    tree.links.new(baked.outputs["Image"], tree.nodes["Group Output"].inputs["Image"])
    results["baked_inputs"] = jobs.build_job(bpy.context, baked, [1]).inputs
    results["generate_baked"] = sorted(bpy.ops.genvfx.generate(node_name=baked.name, wait=True))
    results["baked_node"] = {"state": baked.state, "message": baked.message}
    render(scene, out, "baked")
    results["output_nodes_left"] = [n.name for n in tree.nodes if n.bl_idname == "CompositorNodeOutputFile"]

    # A node with nothing connected: a clear error on the node and from the operator.
    lonely = tree.nodes.new("GenVFXDebrisFillNode")
    lonely.name = "Lonely"
    try:
        bpy.ops.genvfx.generate(node_name="Lonely", wait=True)
        results["lonely_error"] = ""
    except RuntimeError as exc:
        results["lonely_error"] = str(exc)
    results["lonely_node"] = {"state": lonely.state, "message": lonely.message}
    results["lonely_drawn"] = draw_node(lonely, nodes.GenVFXDebrisFillNode, bpy.context, "draw_buttons")

    # A mask of another size: the worker refuses the job, the wait ends with its message on the node.
    mismatch = tree.nodes.new("GenVFXDebrisFillNode")
    mismatch.name = "Mismatch"
    small_mask = headless.image_node(tree, "Small Mask", config["small_mask"], [1], non_color=True)
    tree.links.new(tree.nodes["Plate"].outputs["Image"], mismatch.inputs["Image"])
    tree.links.new(small_mask.outputs["Image"], mismatch.inputs["Mask"])
    try:
        bpy.ops.genvfx.generate(node_name="Mismatch", wait=True)
        results["mismatch_error"] = ""
    except RuntimeError as exc:
        results["mismatch_error"] = str(exc)
    results["mismatch_node"] = {"state": mismatch.state, "message": mismatch.message, "job": mismatch.job_id}

    # Variants: two seeds at 25 % on the current frame, thumbnails on the node; "Use" picks one.
    node = tree.nodes["Debris Fill"]
    node.seed, node.variant_count = 5, 2
    key_before = node.job_key
    results["variants_op"] = sorted(bpy.ops.genvfx.variants(node_name=node.name, wait=True))
    results["variants"] = {"seeds": node.variant_seeds, "state": node.state, "message": node.message,
                           "images": {str(seed): image.filepath for seed, image in node.variant_images().items()},
                           "key_kept": node.job_key == key_before}
    results["use_variant"] = sorted(bpy.ops.genvfx.use_variant(node_name=node.name, seed=6))
    results["picked_seed"] = node.seed
    results["picked_params"] = jobs.build_job(bpy.context, node, [1]).seed
    # The node and its sidebar (N), Variants box included, as drawn headless.
    results["drawn"] = draw_node(node, nodes.GenVFXDebrisFillNode, bpy.context, "draw_buttons", "draw_buttons_ext")
    results["label"] = node.draw_label()
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=bpy.data.filepath)
    node = bpy.context.scene.compositing_node_group.nodes["Debris Fill"]
    results["variants_reopened"] = {"seed": node.seed, "seeds": node.variant_seeds,
                                    "images": sorted(node.variant_images())}

    genvfx.unregister()  # shuts the worker down
    results["unregistered"] = bpy.types.Node.bl_rna_get_subclass("GenVFXDebrisFillNode") is None


if __name__ == "__main__":
    run(main)
