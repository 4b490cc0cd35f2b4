#!/usr/bin/env python
"""Train the embedded Relight network on scenes from ``make_relight_dataset.py`` and
export it as the shipped ONNX model.

    .venv/bin/python scripts/train_relight.py --data data/relight/train \\
        --eval data/relight/eval-objects --eval data/relight/eval --steps 3000

Training continues from the checkpoint (``--checkpoint``, safetensors, kept in
``training/relight``) when one exists, and appends to its history (``history.json``
beside it: every run's steps, views, scene kinds and evaluation curve); ``--fresh``
starts from scratch, ``--from-onnx`` from the weights of an exported model. Each run is one learning-rate cycle (warm-up, then cosine decay):
stopping and running again restarts the cycle from the weights reached.

Each sample is a 192×144 window of a view seen at one of three scales: the whole view
brought to 192 on its long side (the whole frame's context), or a crop of it at 288 or
384 (the full render: edges at the working size), with the window's true frame
coordinates. Augmentation: horizontal flips (the normal's X flips with them), exposure
(over-exposed plates clip as real ones do), colour, sensor noise, blur. Loss: 1 - cos
and L1 on the normal over surface pixels, scale-invariant log-depth error, and binary
cross-entropy of the surface confidence against the render's surface mask. AdamW,
seeded; the data folder is re-read every ``--rescan`` steps so training can start while
the dataset is still being rendered. At the end the network is exported to ONNX (opset
17, dynamic height and width), checked against torch, and the model folder's manifest is
written with the file's sha256 and the history.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

WINDOW = (144, 192)
SCALES = (0.5, 0.75, 1.0)


def _network():
    from genvfx.models.relight import network

    return network


def _resized(item: dict, scale: float) -> dict:
    """A view scaled by ``scale``: image and normals by area averaging (normals
    renormalised), depth by nearest (the sky stays inf)."""
    import cv2

    if scale == 1.0:
        return dict(item)
    height, width = item["normal"].shape[:2]
    size = (round(width * scale), round(height * scale))
    normal = cv2.resize(item["normal"].astype(np.float32), size, interpolation=cv2.INTER_AREA)
    length = np.linalg.norm(normal, axis=-1, keepdims=True)
    normal = np.where(length > 0.5, normal / np.maximum(length, 1e-6), 0.0)
    return {"image": cv2.resize(item["image"].astype(np.float32), size, interpolation=cv2.INTER_AREA),
            "normal": normal, "depth": cv2.resize(item["depth"].astype(np.float32), size,
                                                  interpolation=cv2.INTER_NEAREST)}


def _kind(path: Path) -> str:
    parts = path.stem.split("_")
    return parts[2] if len(parts) > 2 else "street"


class Views:
    """The rendered views of a folder at the training scales, kept in memory as float16."""

    def __init__(self, folder: Path):
        self.folder, self.items, self.names, self.kinds = folder, [], set(), {}
        self.rescan()

    def rescan(self):
        network = _network()
        for path in sorted(self.folder.glob("*.npz")):
            if path.name in self.names:
                continue
            try:
                with np.load(path) as data:
                    item = {k: data[k].astype(np.float32) for k in ("image", "normal", "depth")}
            except (OSError, ValueError, KeyError, EOFError):
                continue            # a view being written right now
            encoded = network.exposure_normalised(item["image"])
            pyramid = []
            for scale in SCALES:
                level = _resized({**item, "image": encoded}, scale * 384 / max(encoded.shape[:2]))
                pyramid.append({k: level[k].astype(np.float16) for k in ("image", "normal", "depth")})
            self.items.append(pyramid)
            self.names.add(path.name)
            self.kinds[_kind(path)] = self.kinds.get(_kind(path), 0) + 1
        return len(self.items)


def _augment(encoded: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import cv2

    linear = encoded.astype(np.float32) ** 2.2
    linear *= math.exp(rng.uniform(math.log(0.6), math.log(2.5))) * rng.uniform(0.85, 1.15, 3)
    out = np.clip(linear, 0.0, 1.0) ** (1.0 / 2.2)
    if rng.random() < 0.2:
        length = int(rng.integers(3, 8))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2] = 1.0 / length
        rotation = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, rotation, (length, length))
        out = cv2.filter2D(out, -1, kernel / max(kernel.sum(), 1e-6))
    if rng.random() < 0.5:
        out = out + rng.normal(0.0, rng.uniform(0.0, 0.03), out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0)


def batch(views: Views, rng: np.random.Generator, size: int):
    network = _network()
    inputs, normals, depths = [], [], []
    wh, ww = WINDOW
    for _ in range(size):
        level = views.items[rng.integers(len(views.items))][rng.integers(len(SCALES))]
        h, w = level["image"].shape[:2]
        top, left = int(rng.integers(0, h - wh + 1)), int(rng.integers(0, w - ww + 1))
        window = (slice(top, top + wh), slice(left, left + ww))
        encoded = _augment(level["image"][window], rng)
        normal = level["normal"][window].astype(np.float32)
        depth = level["depth"][window].astype(np.float32)
        coords = network.coordinate_channels(h, w, (top, left, wh, ww))
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
    """Median over views of the mean angular error (degrees) and the share of surface
    pixels under 22.5 degrees: the network run on whole frames at the working size as at
    run time (padding, mirror averaging), its normals brought back to the render's size
    and compared there."""
    import torch

    from genvfx.models.relight.estimate import from_working_size, to_working_size
    from genvfx.models.relight.measures import angular_errors as errors

    network = _network()
    means, under, pixels = [], 0, 0
    for path in sorted(folder.glob("*.npz"))[:limit]:
        with np.load(path) as data:
            image, truth = data["image"].astype(np.float32), data["normal"].astype(np.float32)
        small, padding = to_working_size(image, long_side, network.MULTIPLE)
        h, w = small.shape[:2]
        inner = (h - padding[0], w - padding[1])
        x = torch.from_numpy(network.network_input(network.exposure_normalised(small),
                                                   network.coordinate_channels(*inner, (0, 0, h, w))))
        with torch.no_grad():
            out = model(x)[0].numpy()
            mirrored = x.flip(-1).clone()
            mirrored[:, 3] *= -1.0
            back = model(mirrored)[0].numpy()[..., ::-1]
        back[0] *= -1.0
        out = (0.5 * (out + back)).transpose(1, 2, 0)[: inner[0], : inner[1]]
        estimate = from_working_size(image, out[..., :3], out[..., 3], np.ones(inner, np.float32))
        degrees = errors(estimate.normal, truth)
        means.append(float(degrees.mean()))
        under += int((degrees < 22.5).sum())
        pixels += degrees.size
    return float(np.median(means)), under / max(pixels, 1)


def weights_from_onnx(model, path: Path):
    """Load ``model`` with the weights of a NormalNet exported to ONNX (e.g. the shipped
    one): convolutions by name, group-norm scales and shifts (which the export renames)
    in the order the graph uses them."""
    import onnx
    import torch
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    stored = {item.name: numpy_helper.to_array(item) for item in graph.initializer}
    state = model.state_dict()
    renamed = []
    for node in graph.node:
        renamed += [name for name in node.input if name in stored and name not in state and name not in renamed]
    unnamed = [key for key in state if key not in stored]
    if len(renamed) != len(unnamed):
        raise SystemExit(f"{path} does not hold this network's weights ({len(renamed)} unnamed, {len(unnamed)} expected)")
    loaded = {key: torch.from_numpy(stored[key].copy()) for key in state if key in stored}
    loaded.update({key: torch.from_numpy(stored[name].reshape(state[key].shape).copy())
                   for key, name in zip(unnamed, renamed)})
    model.load_state_dict(loaded)
    return model


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
    check = torch.randn(1, network.IN_CHANNELS, 288, 384)
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
                        f"{meta['views']} Cycles renders of streets, objects, rubble, terrain and yards "
                        "(scripts/make_relight_dataset.py, scripts/train_relight.py)."),
        "options": {"kind": "normalnet", "working_size": long_side},
        "training": meta,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _evaluate(model, folders, long_side, limit):
    model.eval()
    result = {}
    for folder in folders:
        if any(Path(folder).glob("*.npz")):
            median, share = angular_errors(model, Path(folder), long_side, limit)
            result[Path(folder).name] = {"median_mean_deg": round(median, 2), "under_22_5": round(share, 4)}
    model.train()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/relight/train")
    parser.add_argument("--eval", action="append", default=None,
                        help="a folder of held-out views (repeatable; default the three eval splits)")
    parser.add_argument("--out", default="models/weights/relight-normalnet")
    parser.add_argument("--steps", type=int, default=3000, help="steps in this run's learning-rate cycle")
    parser.add_argument("--stop-after", type=int, default=None,
                        help="stop after this many steps (the cycle still spans --steps), save, export")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=None, help="working size to export (long side)")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=None, help="default: the number of runs so far")
    parser.add_argument("--rescan", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--eval-limit", type=int, default=12, help="views per eval folder during training")
    parser.add_argument("--checkpoint", default="training/relight/normalnet.safetensors")
    parser.add_argument("--fresh", action="store_true", help="start from scratch, not from the checkpoint")
    parser.add_argument("--from-onnx", default=None,
                        help="start from the weights of this exported model (e.g. the shipped normalnet.onnx)")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--export-only", action="store_true",
                        help="no training: evaluate the checkpoint on all eval views and export it")
    args = parser.parse_args(argv)

    import torch
    from safetensors.torch import load_file, save_file

    network = _network()
    long_side = args.size or network.WORKING_SIZE
    evals = args.eval or [f"data/relight/{name}" for name in ("eval-objects", "eval-unseen", "eval")]
    checkpoint = Path(args.checkpoint)
    history_path = checkpoint.with_name("history.json")
    history = json.loads(history_path.read_text()) if history_path.exists() and not args.fresh else {"runs": []}
    seed = len(history["runs"]) if args.seed is None else args.seed
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = network.build_network()
    if args.from_onnx:
        weights_from_onnx(model, Path(args.from_onnx))
    elif checkpoint.exists() and not args.fresh:
        model.load_state_dict(load_file(str(checkpoint)))
    if args.export_only:
        done = sum(run["steps"] for run in history["runs"])
        last = history["runs"][-1] if history["runs"] else {}
        scores = _evaluate(model, evals, long_side, None)
        print(f"eval (all views): {scores}", flush=True)
        meta = {"views": last.get("views"), "kinds": last.get("kinds"), "working_size": long_side,
                "parameters": sum(p.numel() for p in model.parameters()), "steps": done, "eval": scores,
                "history": "training/relight/history.json"}
        export(model, Path(args.out), meta, long_side)
        return 0
    views = Views(Path(args.data))
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    parameters = sum(p.numel() for p in model.parameters())
    done_before = sum(run["steps"] for run in history["runs"])
    print(f"{parameters / 1e6:.2f} M parameters, {len(views.items)} views, {done_before} steps before", flush=True)
    run = {"started_at_step": done_before, "steps": 0, "cycle": args.steps, "batch": args.batch, "lr": args.lr,
           "seed": seed, "views": 0, "kinds": {}, "eval": [],
           "from": args.from_onnx or (str(checkpoint) if checkpoint.exists() and not args.fresh else "scratch")}
    history["runs"].append(run)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)

    def save():
        run.update(views=len(views.items), kinds=dict(views.kinds), minutes=round((time.time() - started) / 60, 1))
        save_file(model.state_dict(), str(checkpoint))
        history_path.write_text(json.dumps(history, indent=1) + "\n")

    started, running = time.time(), None
    for step in range(min(args.steps, args.stop_after or args.steps)):
        if step and step % args.rescan == 0:
            views.rescan()
        lr = args.lr * 0.5 * (1.0 + math.cos(math.pi * step / args.steps)) * min(1.0, (step + 1) / 100)
        for group in optimiser.param_groups:
            group["lr"] = lr
        inputs, normal, depth = batch(views, rng, args.batch)
        loss, normal_loss = losses(model(inputs), normal, depth)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        run["steps"] = step + 1
        running = normal_loss.item() if running is None else 0.95 * running + 0.05 * normal_loss.item()
        if step % 50 == 0:
            print(f"step {step} loss {loss.item():.4f} normal {running:.4f} views {len(views.items)} "
                  f"{time.time() - started:.0f}s", flush=True)
        if step % args.eval_every == args.eval_every - 1:
            scores = _evaluate(model, evals, long_side, args.eval_limit)
            run["eval"].append({"step": done_before + step + 1, "loss": round(running, 4), **scores})
            print(f"eval at {step + 1}: {scores}", flush=True)
            save()
    scores = _evaluate(model, evals, long_side, None)
    run["final"] = scores
    print(f"eval (all views): {scores}", flush=True)
    save()
    if not args.no_export:
        meta = {"views": len(views.items), "kinds": dict(views.kinds), "working_size": long_side,
                "parameters": parameters, "steps": done_before + run["steps"],
                "eval": scores, "history": "training/relight/history.json"}
        export(model, Path(args.out), meta, long_side)
    return 0


if __name__ == "__main__":
    sys.exit(main())
