"""The AI-use and compute report of a folder: what was generated, by what, at what cost.

:func:`build_report` reads every ledger under a folder (one per shot: a job's output
folder) and sums it per shot, per generator and overall. A frame counts once, by its
last entry (what its pixels answer to now); compute and energy count every entry,
frames made again included, since that work was done. Emissions are energy × a grid
intensity given by the user, with a stated default; nothing is looked up online.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

from ..backend.files import images, layers
from ..backend.generators import generator_spec
from ..backend.provenance import ledger
from ..backend.provenance.energy import DEFAULT_GRID_INTENSITY, GRID_INTENSITY_NOTE
from ..backend.provenance.record import created
from ..errors import GenVFXError
from ..models.colour import to_display_8bit
from ..version import __version__

COST_FIELDS = ("wall_seconds", "cpu_seconds", "gpu_seconds", "energy_kwh")
THUMBNAIL_WIDTH = 240


def _costs(items: list[dict], grid_intensity: float) -> dict:
    """The cost fields summed over records (or over shots, which carry the same fields)."""
    costs = {name: float(sum(item.get(name, 0.0) for item in items)) for name in COST_FIELDS}
    costs["emissions_g"] = costs["energy_kwh"] * grid_intensity
    return costs


def _models(records: list[dict]) -> list[dict]:
    seen = {}
    for record in records:
        seen.setdefault((record["model"], record["model_sha256"]), record["licence"])
    return [{"id": model, "sha256": sha, "licence": licence} for (model, sha), licence in sorted(seen.items())]


def shot_summary(folder: Path, root: Path, grid_intensity: float) -> dict:
    entries = ledger.read(folder)
    every = [entry["record"] for entry in entries]
    current = [entry["record"] for entry in ledger.by_frame(entries)]
    generators = sorted({record["generator"] for record in current})
    shares = [{"frame": record["frame"], "share": record["generated_share"]} for record in current]
    return {
        "folder": str(folder.relative_to(root)) if folder != root else ".",
        "generator": generators[0] if len(generators) == 1 else "+".join(generators),
        "label": ", ".join(generator_spec(name).label for name in generators),
        "generated_basis": sorted({record.get("generated_basis", "") for record in current}),
        "frames": len(current),
        "entries": len(every),
        "frame_numbers": [record["frame"] for record in current],
        "share_per_frame": shares,
        "share_mean": float(np.mean([s["share"] for s in shares])) if shares else 0.0,
        "models": _models(current),
        "seeds": sorted({record["seed"] for record in current}),
        "devices": sorted({record.get("device", "") for record in every}),
        "energy_methods": sorted({record.get("energy_method", "") for record in every}),
        **_costs(every, grid_intensity),
        "_current": current,
    }


def _group(shots: list[dict], grid_intensity: float) -> dict:
    frames = sum(shot["frames"] for shot in shots)
    share_frames = sum(shot["share_mean"] * shot["frames"] for shot in shots)
    group = {"shots": len(shots), "frames": frames, "entries": sum(shot["entries"] for shot in shots),
             "share_mean": share_frames / frames if frames else 0.0, **_costs(shots, grid_intensity)}
    group["models"] = sorted({(m["id"], m["licence"]) for shot in shots for m in shot["models"]})
    group["models"] = [{"id": model, "licence": licence} for model, licence in group["models"]]
    group["seeds"] = sorted({seed for shot in shots for seed in shot["seeds"]})
    return group


def build_report(root: str | Path, grid_intensity: float = DEFAULT_GRID_INTENSITY) -> dict:
    """The report of every ledger under ``root`` (see the module's docstring)."""
    root = Path(root).resolve()
    checks = [ledger.check_folder(folder) for folder in ledger.ledger_folders(root)]
    shots = [shot_summary(check.folder, root, grid_intensity) for check in checks
             if (check.folder / ledger.LEDGER_NAME).is_file() and check.entries]
    by_generator = {}
    for name in sorted({shot["generator"] for shot in shots}):
        by_generator[name] = _group([shot for shot in shots if shot["generator"] == name], grid_intensity)
    problems = [f"{check.folder.relative_to(root) if check.folder != root else '.'}: {problem}"
                for check in checks for problem in check.problems]
    return {
        "genvfx": __version__,
        "created": created(),
        "folder": str(root),
        "grid_intensity_g_per_kwh": grid_intensity,
        "grid_intensity_note": GRID_INTENSITY_NOTE,
        "verified": not problems,
        "problems": problems,
        "energy_methods": sorted({method for shot in shots for method in shot["energy_methods"]}),
        "shots": shots,
        "generators": by_generator,
        "totals": _group(shots, grid_intensity),
    }


def public(report: dict) -> dict:
    """The report as written to report.json (without the per-frame records it was built from)."""
    return {**report, "shots": [{k: v for k, v in shot.items() if not k.startswith("_")} for shot in report["shots"]]}


def png_data_uri(rgb: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _thumbnail(rgba: np.ndarray) -> np.ndarray:
    import cv2

    height, width = rgba.shape[:2]
    size = (THUMBNAIL_WIDTH, max(1, round(height * THUMBNAIL_WIDTH / width)))
    return to_display_8bit(cv2.resize(np.ascontiguousarray(rgba, np.float32), size, interpolation=cv2.INTER_AREA))


def thumbnails(shot: dict, root: Path, count: int = 3) -> list[dict]:
    """Before (the plate) and after (the frame's Combined) of the first frame, the frame
    with the largest generated share and the last frame, as PNG data URIs."""
    current = shot["_current"]
    if not current:
        return []
    picks = [current[0], max(current, key=lambda r: r["generated_share"]), current[-1]]
    chosen = list({record["frame"]: record for record in picks}.values())[:count]
    folder = root / shot["folder"]
    pairs = []
    for record in chosen:
        pair = {"frame": record["frame"], "share": record["generated_share"], "before": None, "after": None}
        plate = record.get("input_files", {}).get("plate")
        try:
            if plate and Path(plate).is_file():
                pair["before"] = png_data_uri(_thumbnail(images.as_rgba(images.read_image(plate))))
            frame_layers = layers.read_layers(folder / record["file"])
            combined = next(iter(frame_layers.values())).get("Combined")
            if combined is not None:
                pair["after"] = png_data_uri(_thumbnail(combined))
        except (GenVFXError, OSError, ValueError):  # damaged or moved: verify names it, the report goes on
            pass
        pairs.append(pair)
    return pairs
