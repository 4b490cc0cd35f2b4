"""Small shots for the farm tests and benchmark (tests/test_farm.py, benchmarks/bench_farm.py):
``python farm_shots.py config.json`` saves one .blend per entry of ``config["shots"]``
(``{"blend", "plate", "mask", "frames"}``), each plate → Debris Fill → Relight → Group
Output (:func:`genvfx.addon.headless.build_demo_scene`), both nodes at ``config["proxy"]``,
the fill propagating key frames, one every ``config["key_interval"]`` frames (the plan
that cuts a shot most finely). Nothing is generated.

It uses the genvfx package this Python imports (the one the ``genvfx`` command runs), not
an installed extension: the commands register the same node classes.
"""

from __future__ import annotations

import json
import sys

import bpy

from genvfx.commands import blender


def main(config: dict) -> None:
    headless = blender.headless()
    bpy.context.preferences.filepaths.save_version = 0  # no .blend1 beside the shots
    for shot in config["shots"]:
        headless.build_demo_scene(shot["plate"], shot["mask"], shot["frames"], shot["blend"],
                                  proxy=config["proxy"], relight=True)
        tree = bpy.context.scene.compositing_node_group
        fill = tree.nodes["Debris Fill"]
        fill.temporal, fill.key_interval = "propagate", int(config["key_interval"])
        tree.nodes["Relight"].proxy = str(int(round(float(config["proxy"]) * 100)))
        bpy.ops.wm.save_mainfile()


if __name__ == "__main__":
    main(json.load(open(sys.argv[1])))
