#!/usr/bin/env python
"""Train the embedded Relight network on scenes from ``make_relight_dataset.py`` and
export it as the shipped ONNX model.

    .venv/bin/python scripts/train_relight.py --data data/relight/train \\
        --eval data/relight/eval --steps 5000 --out models/weights/relight-normalnet

Views are brought to the working size (``--size``, long side, default 96) and used
whole (or as ``--crop`` squares, with their true frame coordinates), with horizontal
flips (the normal's X flips with them) and white-point and colour jitter. Loss: 1 - cos
and L1 on the normal over surface pixels, scale-invariant log-depth error, and binary cross-entropy of the
surface confidence against the render's surface mask. AdamW with a cosine schedule,
seeded; the folder is re-read every ``--rescan`` steps so training can start while the
dataset is still being rendered. At the end the network is exported to ONNX (opset 17,
dynamic height and width), checked against torch, and the model folder's manifest is
written with the file's sha256.

The shipped model was made in three stages (each starts from the previous one's weights):

    train_relight.py --size 256 --crop 128 --batch 16 --steps 2200 --stop-after 900 \\
        --checkpoint data/relight/stage1.safetensors --out data/relight/stage1
    train_relight.py --size 96 --batch 16 --steps 5000 --eval-every 500 \\
        --resume data/relight/stage1.safetensors --checkpoint data/relight/stage2.safetensors
    (then 35 more scenes: make_relight_dataset.py --split train-more --first 100 --scenes 35)
    train_relight.py --size 96 --batch 16 --steps 2000 --lr 1e-3 --seed 1 --eval-every 500 \\
        --resume data/relight/stage2.safetensors
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np


def _network():
    from genvfx.models.relight import network

    return network


def _resized(item: dict, long_side: int) -> dict:
    """A view brought to the network's working size (the scale it runs at): image and
    normals by area averaging (normals renormalised), depth by nearest (the sky stays inf)."""
    import cv2

    height, width = item["normal"].shape[:2]
    scale = long_side / max(height, width)
    if scale >= 1.0:
        return item
    size = (round(width * scale), round(height * scale))
    normal = cv2.resize(item["normal"].astype(np.float32), size, interpolation=cv2.INTER_AREA)
    length = np.linalg.norm(normal, axis=-1, keepdims=True)
    normal = np.where(length > 0.5, normal / np.maximum(length, 1e-6), 0.0)
    return {"image": cv2.resize(item["image"].astype(np.float32), size, interpolation=cv2.INTER_AREA),
            "normal": normal, "depth": cv2.resize(item["depth"].astype(np.float32), size,
                                                  interpolation=cv2.INTER_NEAREST)}


class Views:
    """The rendered views of a folder at the working size, kept in memory as float16."""

    def __init__(self, folder: Path, long_side: int):
        self.folder, self.long_side, self.items, self.names = folder, long_side, [], set()
        self.rescan()

    def rescan(self):
        for path in sorted(self.folder.glob("*.npz")):
            if path.name in self.names:
                continue
            try:
                with np.load(path) as data:
                    item = {k: data[k] for k in ("image", "normal", "depth")}
            except (OSError, ValueError, KeyError):
                continue            # a view being written right now
            network = _network()
            item = _resized(item, self.long_side)
            item["encoded"] = network.exposure_normalised(item.pop("image").astype(np.float32)).astype(np.float16)
            item["normal"], item["depth"] = item["normal"].astype(np.float16), item["depth"].astype(np.float16)
            self.items.append(item)
            self.names.add(path.name)
        return len(self.items)


def batch(views: Views, rng: np.random.Generator, size: int, crop: int):
    network = _network()
    inputs, normals, depths = [], [], []
    for _ in range(size):
        item = views.items[rng.integers(len(views.items))]
        h, w = item["encoded"].shape[:2]
        crop_h, crop_w = (h, w) if crop <= 0 else (crop, crop)
        top, left = int(rng.integers(0, h - crop_h + 1)), int(rng.integers(0, w - crop_w + 1))
        window = (slice(top, top + crop_h), slice(left, left + crop_w))
        encoded = item["encoded"][window].astype(np.float32)
        normal = item["normal"][window].astype(np.float32)
        depth = item["depth"][window].astype(np.float32)
        coords = network.coordinate_channels(h, w, (top, left, crop_h, crop_w))
        encoded = np.clip(encoded * rng.uniform(0.75, 1.35) * rng.uniform(0.9, 1.1, 3), 0.0, 1.0)
        if rng.random() < 0.5:
            encoded, normal, depth = encoded[:, ::-1], normal[:, ::-1] * [-1.0, 1.0, 1.0], depth[:, ::-1]
            coords = coords[:, :, ::-1] * np.array([-1.0, 1.0], dtype=np.float32)[:, None, None]
        inputs.append(network.network_input(encoded, coords)[0])
        normals.append(np.transpose(normal, (2, 0, 1)))
        depths.append(depth)
    import torch

    return (torch.from_numpy(np.stack(inputs)), torch.from_numpy(np.stack(normals).astype(np.float32)),
            torch.from_numpy(np.stack(depths)))


def losses(output, normal, depth):
    import torch
    from torch.nn import functional as F

    surface = torch.isfinite(depth) & (normal.abs().sum(1) > 0.5)
    weight = surface.float()
    count = weight.sum().clamp(min=1.0)
    cos = (output[:, :3] * normal).sum(1)
    normal_loss = (((1.0 - cos) + 0.5 * (output[:, :3] - normal).abs().sum(1)) * weight).sum() / count
    log_depth = torch.log(torch.where(surface, depth, torch.ones_like(depth)).clamp(min=1e-3))
    diff = (output[:, 3] - log_depth) * weight
    per_image = weight.sum((1, 2)).clamp(min=1.0)
    mean = diff.sum((1, 2)) / per_image
    depth_loss = ((((diff - mean[:, None, None]) * weight) ** 2).sum((1, 2)) / per_image).mean()
    confidence_loss = F.binary_cross_entropy_with_logits(output[:, 4], weight)
    return normal_loss + 0.3 * depth_loss + 0.1 * confidence_loss, normal_loss


def angular_errors(model, folder: Path, long_side: int, limit: int | None = None):
    """Per-view mean angular error (degrees) and the share of surface pixels under 22.5
    degrees: the network run on whole frames at the working size, its normals brought
    back to the render's size as at run time, compared there."""
    import cv2
    import torch

    network = _network()
    means, under, pixels = [], 0, 0
    for path in sorted(folder.glob("*.npz"))[:limit]:
        with np.load(path) as data:
            image, truth = data["image"].astype(np.float32), data["normal"].astype(np.float32)
        small = _resized({"image": image, "normal": truth, "depth": np.zeros(truth.shape[:2], np.float32)},
                         long_side)["image"]
        h, w = small.shape[:2]
        x = network.network_input(network.exposure_normalised(small), network.coordinate_channels(h, w))
        with torch.no_grad():
            predicted = model(torch.from_numpy(x))[0, :3].numpy().transpose(1, 2, 0)
        predicted = cv2.resize(predicted, truth.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        predicted /= np.maximum(np.linalg.norm(predicted, axis=-1, keepdims=True), 1e-6)
        surface = np.abs(truth).sum(-1) > 0.5
        cos = np.clip((predicted * truth).sum(-1), -1.0, 1.0)[surface]
        degrees = np.degrees(np.arccos(cos))
        means.append(float(degrees.mean()))
        under += int((degrees < 22.5).sum())
        pixels += degrees.size
    return float(np.median(means)), under / max(pixels, 1)


def export(model, out: Path, meta: dict, long_side: int):
    import onnxruntime as ort
    import torch

    from genvfx.models import registry

    network = _network()
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "normalnet.onnx"
    example = torch.randn(1, network.IN_CHANNELS, 96, 128)
    torch.onnx.export(model, (example,), str(onnx_path), input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {2: "height", 3: "width"}, "output": {2: "height", 3: "width"}},
                      opset_version=17, dynamo=False)
    check = torch.randn(1, network.IN_CHANNELS, 192, 256)
    with torch.no_grad():
        expected = model(check).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": check.numpy()})[0]
    print(f"ONNX vs torch: max abs difference {np.abs(got - expected).max():.2e}", flush=True)
    manifest = {
        "id": "genvfx.relight.normalnet",
        "slot": "relight",
        "framework": "onnx",
        "licence": "GPL-3.0-or-later",
        "files": registry.folder_files(out),
        "input_colour_space": "linear",
        "description": ("Camera-space normals, relative depth and surface confidence from a plate: "
                        f"a {meta['parameters'] / 1e6:.1f} M-parameter U-Net trained by genvfx on "
                        f"{meta['views']} Cycles renders of procedural streets "
                        "(scripts/make_relight_dataset.py, scripts/train_relight.py)."),
        "options": {"kind": "normalnet", "working_size": long_side},
        "training": meta,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/relight/train")
    parser.add_argument("--eval", default="data/relight/eval")
    parser.add_argument("--out", default="models/weights/relight-normalnet")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=0, help="square crops of this size (0: whole views)")
    parser.add_argument("--size", type=int, default=96, help="long side the network works at")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rescan", type=int, default=150)
    parser.add_argument("--eval-every", type=int, default=300)
    parser.add_argument("--stop-after", type=int, default=None,
                        help="stop after this many steps (the schedule still spans --steps), save, export")
    parser.add_argument("--checkpoint", default="data/relight/normalnet.safetensors")
    parser.add_argument("--resume", default=None, help="start from these weights (safetensors) instead of scratch")
    args = parser.parse_args(argv)

    import torch
    from safetensors.torch import load_file, save_file

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    views = Views(Path(args.data), args.size)
    model = _network().build_network()
    if args.resume:
        model.load_state_dict(load_file(args.resume))
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    parameters = sum(p.numel() for p in model.parameters())
    print(f"{parameters / 1e6:.2f} M parameters, {len(views.items)} views", flush=True)
    started, running = time.time(), None
    for step in range(min(args.steps, args.stop_after or args.steps)):
        if step and step % args.rescan == 0:
            views.rescan()
        lr = args.lr * 0.5 * (1.0 + math.cos(math.pi * step / args.steps))
        warm = min(1.0, (step + 1) / 50)
        for group in optimiser.param_groups:
            group["lr"] = lr * warm
        inputs, normal, depth = batch(views, rng, args.batch, args.crop)
        loss, normal_loss = losses(model(inputs), normal, depth)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        running = normal_loss.item() if running is None else 0.95 * running + 0.05 * normal_loss.item()
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.4f} normal {running:.4f} views {len(views.items)} "
                  f"{time.time() - started:.0f}s", flush=True)
        if step % args.eval_every == args.eval_every - 1:
            save_file(model.state_dict(), args.checkpoint)
            model.eval()
            print("eval (20 views): median mean error %.1f deg, %.1f %% under 22.5" %
                  (lambda r: (r[0], 100 * r[1]))(angular_errors(model, Path(args.eval), args.size, 20)), flush=True)
            model.train()
    save_file(model.state_dict(), args.checkpoint)
    model.eval()
    median, share = angular_errors(model, Path(args.eval), args.size)
    print(f"eval: median mean angular error {median:.1f} deg, {100 * share:.1f} % of pixels under 22.5 deg",
          flush=True)
    meta = {"views": len(views.items), "steps": args.steps, "resumed_from": args.resume, "batch": args.batch,
            "crop": args.crop, "working_size": args.size,
            "seed": args.seed, "parameters": parameters, "minutes": round((time.time() - started) / 60, 1),
            "eval_median_mean_angular_error_deg": round(median, 2),
            "eval_share_under_22_5_deg": round(share, 4)}
    export(model, Path(args.out), meta, args.size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
