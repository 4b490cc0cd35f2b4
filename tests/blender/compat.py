"""The version switches of ``addon/compat.py`` against the Blender that runs this
(tests/test_blender_compat.py reads what this leaves): whether a colour Mix node mixes
alpha and whether the File Output node has a File Extension toggle, measured here and
compared with what compat decides for this version; and that the add-on's colour mixes
give A's alpha on either path (Blender's own, or the alpha put back)."""

from __future__ import annotations

import bpy

from prelude import module, render, run

A = (0.2, 0.4, 0.6, 0.25)  # premultiplied, alpha 0.25
B = (0.9, 0.5, 0.1, 1.0)
FACTOR = 0.5


def scene_with_output():
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    scene = bpy.context.scene
    scene.frame_start = scene.frame_end = 1
    scene.render.resolution_x = scene.render.resolution_y = 4
    scene.render.resolution_percentage = 100
    scene.render.use_compositing = True
    tree = bpy.data.node_groups.new("Compositing", "CompositorNodeTree")
    scene.compositing_node_group = tree
    tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
    output = tree.nodes.new("NodeGroupOutput")
    return scene, tree, output.inputs["Image"]


def colour(tree, value):
    node = tree.nodes.new("CompositorNodeRGB")
    node.outputs["Color"].default_value = value
    return node.outputs["Color"]


def raw_mix(out: str, name: str) -> list[float]:
    """A plain colour Mix node of A and B (no add-on code): its first pixel."""
    scene, tree, output = scene_with_output()
    group_nodes = module("addon.group_nodes")
    mix = tree.nodes.new("ShaderNodeMix")
    mix.data_type, mix.blend_type = "RGBA", "MIX"
    group_nodes.socket_by_id(mix.inputs, "Factor_Float").default_value = FACTOR
    tree.links.new(colour(tree, A), group_nodes.socket_by_id(mix.inputs, "A_Color"))
    tree.links.new(colour(tree, B), group_nodes.socket_by_id(mix.inputs, "B_Color"))
    tree.links.new(group_nodes.socket_by_id(mix.outputs, "Result_Color"), output)
    return render(scene, out, name)[0, 0].tolist()


def addon_mix(out: str, name: str, a_is_value: bool = False) -> list[float]:
    """The add-on's colour mix (group_nodes.mix_node) of A and B: its first pixel."""
    scene, tree, output = scene_with_output()
    group_nodes = module("addon.group_nodes")
    a = A if a_is_value else colour(tree, A)
    tree.links.new(group_nodes.mix_node(tree, "RGBA", "Probe", (0, 0), FACTOR, a, colour(tree, B)), output)
    return render(scene, out, name)[0, 0].tolist()


def main(config: dict, results: dict) -> None:
    out = config["out"]
    compat = module("addon.compat")
    results["version"] = list(compat.running_version())

    # What this Blender does, and what compat decides for it.
    raw = raw_mix(out, "raw_mix")
    results["raw_mix"] = raw
    results["measured_mixes_alpha"] = abs(raw[3] - A[3]) > 1e-4
    results["decided_mixes_alpha"] = compat.mix_mixes_alpha()
    results["measured_extension_toggle"] = "use_file_extension" in bpy.types.CompositorNodeOutputFile.bl_rna.properties
    results["decided_file_output"] = compat.file_output_settings()

    # The add-on's mix on this Blender's own path, then with the alpha put back (the 5.1+ path).
    results["addon_mix"] = addon_mix(out, "addon_mix")
    saved = compat.MIX_MIXES_ALPHA
    try:
        compat.MIX_MIXES_ALPHA = (0, 0, 0)  # every version "mixes alpha": the groups put A's back
        results["addon_mix_alpha_put_back"] = addon_mix(out, "addon_mix_put_back")
        results["put_back_nodes"] = sorted(node.bl_idname for node in bpy.context.scene.compositing_node_group.nodes
                                           if node.name.startswith("Probe"))
        results["addon_mix_alpha_put_back_value"] = addon_mix(out, "addon_mix_put_back_value", a_is_value=True)
    finally:
        compat.MIX_MIXES_ALPHA = saved

    # A lookup by an identifier the node does not have names what it has.
    tree = bpy.data.node_groups.new("Probe", "CompositorNodeTree")
    sine = tree.nodes.new("ShaderNodeMath")
    sine.operation = "SINE"
    group_nodes = module("addon.group_nodes")
    try:
        group_nodes.socket_by_id(sine.inputs, "Nope")
        results["missing_identifier"] = ""
    except KeyError as exc:
        results["missing_identifier"] = str(exc)


if __name__ == "__main__":
    run(main)
