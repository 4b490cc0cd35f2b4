"""Debris Fill node preview latency in Blender (the ``bpy`` module): press Generate on a
node at 50 % proxy on a 1920×1080 plate, until the node's internal Image node shows the
new layer. Prints figures; asserts nothing.

    python benchmarks/bench_node_preview.py [--size 1920x1080] [--repeats 3]

The first press starts the worker (Python, torch) and is reported apart ("cold");
later presses change the seed, so each one computes (a warm worker, as an artist
iterating sees it). Full resolution on the same plate is the baseline of the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from photos import photo_linear, rect_mask, write_mask_png, write_plate  # noqa: E402

HOLE = (0.35, 0.40, 0.70, 0.70)  # ~10% of the frame


def press_generate(node, seed: int) -> float:
    """Seconds from Generate to the node's Image node pointing at the new result."""
    from genvfx.addon import headless

    import bpy

    node.seed = seed
    started = time.perf_counter()
    generated = headless.generate_stale(bpy.context.scene, [1], log=lambda text: None)
    seconds = time.perf_counter() - started
    assert generated == [node.name] and node.state == "DONE", (generated, node.state, node.message)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    from genvfx import registration
    from genvfx.addon import headless, session

    registration.ensure_registered()

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_plate(root / "plate.0001.exr", photo_linear("coffee", (width, height)))
        write_mask_png(root / "mask.0001.png", rect_mask(height, width, HOLE))
        headless.build_demo_scene(str(root / "plate.0001.exr"), str(root / "mask.0001.png"), [1],
                                  str(root / "shot.blend"), proxy=0.5)
        import bpy

        node = bpy.context.scene.compositing_node_group.nodes["Debris Fill"]
        try:
            cold = press_generate(node, 1000)
            warm = [press_generate(node, 1001 + i) for i in range(args.repeats)]
            node.proxy = "100"
            full = press_generate(node, 2000)
        finally:
            session.shutdown()
    preview = statistics.median(warm)
    print(f"plate {width}x{height}, hole {100 * (HOLE[2] - HOLE[0]) * (HOLE[3] - HOLE[1]):.0f}% of the frame")
    print(f"node preview at 50% proxy, cold (starts the worker): {cold:.2f} s")
    print(f"node preview at 50% proxy, warm worker: median {preview:.2f} s of {args.repeats} "
          f"({', '.join(f'{s:.2f}' for s in warm)})")
    print(f"node at 100% (baseline): {full:.2f} s; preview / full = {preview / full:.2f}")


if __name__ == "__main__":
    main()
