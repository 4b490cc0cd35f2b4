"""Debris Fill quality against classical inpainting, on real photographs with holes of
realistic shapes. Prints a table; asserts nothing.

    python benchmarks/bench_fill_quality.py [--size 320x240] [--seeds 2] [--no-blender]

Plates: scikit-image photographs and textures, and Blender's bundled HDRIs (scene-linear,
values above 1.0). Masks, seeded: a building-sized rectangle and thick brush strokes,
each covering 4–15 % of the frame. The hidden truth is the photograph itself.

Methods: the genvfx default (the fill function alone), OpenCV Telea and Navier–Stokes
(8-bit, display-encoded, as OpenCV takes them) and Blender's own Inpaint compositor node
(run through ``bpy`` on the scene-linear plate).

Scores, all inside the hole unless said otherwise, on display-encoded pixels (sRGB,
clipped to [0, 1]):

- ``grad``: mean gradient magnitude / the truth's (texture kept: 1.0 is right; a
  smear is well below);
- ``PSNR``: dB against the truth (the method's, and its difference to Telea's);
- ``seam``: mean gradient magnitude on the mask's border (a 3-pixel band across it)
  / the truth's (1.0: no visible seam);
- ``outside``: max |result − plate| outside the mask, on the linear values.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from photos import photo_linear  # noqa: E402

from genvfx.backend.files import images  # noqa: E402
from genvfx.models import colour  # noqa: E402
from genvfx.models.fill import fill  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel")
HDRIS = ("city", "courtyard", "forest")


# --------------------------------------------------------------------------- plates and masks

def hdri_linear(name: str, size: tuple[int, int]) -> np.ndarray:
    """The lower middle of a bundled HDRI (below the horizon: texture, not sky), resized."""
    import cv2
    import bpy

    folder = Path(bpy.utils.resource_path("LOCAL")) / "datafiles" / "studiolights" / "world"
    image = images.as_rgba(images.read_image(folder / f"{name}.exr"))
    height, width = image.shape[:2]
    aspect = size[0] / size[1]
    crop_h = height // 3
    crop_w = min(width, int(crop_h * aspect))
    top, left = height // 2, (width - crop_w) // 2
    crop = np.ascontiguousarray(image[top:top + crop_h, left:left + crop_w])
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA)


def rectangle_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A building-sized rectangle: 4–15 % of the frame, taller than wide or about square."""
    area = rng.uniform(0.04, 0.15) * height * width
    aspect = rng.uniform(0.5, 1.5)
    h = int(min(height - 8, np.sqrt(area / aspect)))
    w = int(min(width - 8, area / max(h, 1)))
    top, left = rng.integers(4, height - h - 3), rng.integers(4, width - w - 3)
    mask = np.zeros((height, width), np.float32)
    mask[top:top + h, left:left + w] = 1.0
    return mask


def strokes_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Thick brush strokes (random polylines) until 4–15 % of the frame is covered."""
    import cv2

    target = rng.uniform(0.04, 0.15)
    mask = np.zeros((height, width), np.uint8)
    thickness = max(6, int(min(height, width) * rng.uniform(0.05, 0.09)))
    while mask.mean() / 255.0 < target:
        points = [(int(rng.integers(0, width)), int(rng.integers(0, height)))]
        for _ in range(int(rng.integers(2, 5))):
            x, y = points[-1]
            angle = rng.uniform(0, 2 * np.pi)
            step = rng.uniform(0.1, 0.3) * min(height, width)
            points.append((int(np.clip(x + step * np.cos(angle), 0, width - 1)),
                           int(np.clip(y + step * np.sin(angle), 0, height - 1))))
        cv2.polylines(mask, [np.array(points, np.int32)], False, 255, thickness, lineType=cv2.LINE_AA)
    return (mask > 127).astype(np.float32)


# --------------------------------------------------------------------------- methods

def display(rgba: np.ndarray) -> np.ndarray:
    return np.clip(colour.linear_to_srgb(np.clip(rgba[..., :3], 0.0, 1.0)), 0.0, 1.0)


def opencv_inpaint(plate: np.ndarray, hole: np.ndarray, method: int) -> np.ndarray:
    """OpenCV works on 8-bit display pixels: encode, inpaint, decode; outside the hole the plate."""
    import cv2

    encoded = (display(plate) * 255.0 + 0.5).astype(np.uint8)
    radius = 5
    filled = cv2.inpaint(encoded[..., ::-1].copy(), hole.astype(np.uint8), radius, method)[..., ::-1]
    linear = colour.srgb_to_linear(filled.astype(np.float32) / 255.0)
    out = plate.copy()
    out[hole, :3] = linear[hole]
    return out


class BlenderInpaint:
    """Blender's Inpaint compositor node on the scene-linear plate (alpha 0 marks the hole)."""

    def __init__(self, folder: Path):
        import bpy

        self.bpy = bpy
        self.folder = folder
        bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
        scene = bpy.context.scene
        scene.render.use_compositing = True
        scene.render.use_sequencer = False
        scene.render.image_settings.file_format = "OPEN_EXR"
        scene.render.image_settings.color_depth = "32"
        scene.render.image_settings.color_mode = "RGBA"
        scene.view_settings.view_transform = "Standard"
        tree = bpy.data.node_groups.new("Compositing", "CompositorNodeTree")
        tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        scene.compositing_node_group = tree
        self.image_node = tree.nodes.new("CompositorNodeImage")
        self.inpaint = tree.nodes.new("CompositorNodeInpaint")
        output = tree.nodes.new("NodeGroupOutput")
        tree.links.new(self.image_node.outputs["Image"], self.inpaint.inputs["Image"])
        tree.links.new(self.inpaint.outputs["Image"], output.inputs[0])
        self.scene = scene
        self.count = 0

    def __call__(self, plate: np.ndarray, hole: np.ndarray) -> np.ndarray:
        import cv2

        from photos import write_plate

        self.count += 1
        source = self.folder / f"blender_in_{self.count}.exr"
        holed = plate.copy()
        holed[hole] = 0.0
        write_plate(source, holed)
        image = self.bpy.data.images.load(str(source))
        self.image_node.image = image
        depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5).max()
        self.inpaint.inputs["Size"].default_value = int(np.ceil(depth)) + 2
        height, width = hole.shape
        self.scene.render.resolution_x, self.scene.render.resolution_y = width, height
        self.scene.render.resolution_percentage = 100
        target = self.folder / f"blender_out_{self.count}.exr"
        self.scene.render.filepath = str(target)
        self.bpy.ops.render.render(write_still=True)
        self.bpy.data.images.remove(image)
        result = images.as_rgba(images.read_image(target))
        out = plate.copy()
        out[hole, :3] = result[hole, :3]
        return out


# --------------------------------------------------------------------------- scores

def gradient(display_rgb: np.ndarray) -> np.ndarray:
    import cv2

    luma = display_rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt(gx * gx + gy * gy)


def scores(result: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict:
    import cv2

    shown, true = display(result), display(truth)
    inside = cv2.erode(hole.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # Sobel stays inside
    band = (cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8))
            - cv2.erode(hole.astype(np.uint8), np.ones((3, 3), np.uint8))).astype(bool)
    g_result, g_truth = gradient(shown), gradient(true)
    mse = float(np.mean((shown[hole] - true[hole]) ** 2))
    return {
        "grad": float(g_result[inside].mean() / max(g_truth[inside].mean(), 1e-6)),
        "psnr": 10.0 * np.log10(1.0 / max(mse, 1e-12)),
        "seam": float(g_result[band].mean() / max(g_truth[band].mean(), 1e-6)),
        "outside": float(np.abs(result[~hole] - truth[~hole]).max()),
    }


# --------------------------------------------------------------------------- the run

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--seeds", type=int, default=2, help="masks of each shape per plate")
    parser.add_argument("--no-blender", action="store_true", help="leave out Blender's Inpaint node")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    plates = [(name, photo_linear(name, (width, height))) for name in PHOTOS]
    plates += [(f"hdri:{name}", hdri_linear(name, (width, height))) for name in HDRIS]

    with tempfile.TemporaryDirectory() as folder:
        import cv2

        methods = {
            "genvfx": lambda plate, hole: fill(plate, hole.astype(np.float32), seed=0)["Combined"],
            "telea": lambda plate, hole: opencv_inpaint(plate, hole, cv2.INPAINT_TELEA),
            "ns": lambda plate, hole: opencv_inpaint(plate, hole, cv2.INPAINT_NS),
        }
        if not args.no_blender:
            methods["blender"] = BlenderInpaint(Path(folder))
        rows = {name: [] for name in methods}
        seconds = {name: 0.0 for name in methods}
        for index, (plate_name, plate) in enumerate(plates):
            for seed in range(args.seeds):
                for shape, make in (("rect", rectangle_mask), ("strokes", strokes_mask)):
                    rng = np.random.default_rng(1000 * index + 10 * seed + (shape == "strokes"))
                    hole = make(rng, height, width) > 0.5
                    for name, method in methods.items():
                        started = time.perf_counter()
                        result = method(plate, hole)
                        seconds[name] += time.perf_counter() - started
                        rows[name].append({"plate": plate_name, "shape": shape, **scores(result, plate, hole)})

    cases = len(rows["telea"])
    print(f"{cases} holes ({len(plates)} plates × {args.seeds} seeds × rectangle/strokes, 4–15 % of "
          f"{width}×{height}); display-encoded scores inside the hole")
    print(f"{'method':<9} {'grad/truth':>11} {'PSNR dB':>8} {'vs Telea':>9} {'seam/truth':>11} "
          f"{'outside max':>12} {'s/hole':>7}")
    telea_psnr = np.array([row["psnr"] for row in rows["telea"]])
    for name, results in rows.items():
        grad = np.array([row["grad"] for row in results])
        psnr = np.array([row["psnr"] for row in results])
        seam = np.array([row["seam"] for row in results])
        outside = max(row["outside"] for row in results)
        print(f"{name:<9} {np.median(grad):>11.2f} {psnr.mean():>8.2f} {np.mean(psnr - telea_psnr):>+9.2f} "
              f"{np.median(seam):>11.2f} {outside:>12.2e} {seconds[name] / cases:>7.2f}")
    print("grad and seam: medians over the holes (target 0.7–1.3 and 0.75–1.3); PSNR: mean; "
          "vs Telea: mean of the per-hole difference (target ≥ −1 dB)")
    genvfx = rows["genvfx"]
    for shape in ("rect", "strokes"):
        chosen = [row for row in genvfx if row["shape"] == shape]
        telea = [row for row in rows["telea"] if row["shape"] == shape]
        print(f"genvfx on {shape:<7}: grad {np.median([r['grad'] for r in chosen]):.2f}, "
              f"PSNR vs Telea {np.mean([a['psnr'] - b['psnr'] for a, b in zip(chosen, telea)]):+.2f} dB, "
              f"seam {np.median([r['seam'] for r in chosen]):.2f}")


if __name__ == "__main__":
    main()
