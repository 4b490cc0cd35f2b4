"""Model folders: manifests, the search path, sha256 verification, no pickles.

A model is a folder holding ``manifest.json``::

    {"id": "genvfx.fill.patchmatch", "slot": "fill", "framework": "torch",
     "files": {"net.onnx": "<sha256>"}, "licence": "CC0-1.0",
     "input_colour_space": "linear", "description": "..."}

Folders are searched in order: the shipped ``models/weights/``, the user's folders
(preferences or ``--model-path``), then ``GENVFX_MODEL_PATH`` (``os.pathsep``-separated).
A search folder may be a model folder itself or hold model folders. The first folder
with a given id wins. Weights load from ONNX or safetensors only: a manifest listing a
pickle-based file (``.pt``, ``.pth``, ``.ckpt``, ``.bin``, ``.pkl``) is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..backend.errors import GenVFXError

SHIPPED = Path(__file__).parent / "weights"
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle"}
FRAMEWORKS = {"torch", "onnx", "diffusers", "builtin"}
REQUIRED_KEYS = ("id", "slot", "framework", "licence")


@dataclass(frozen=True)
class ModelManifest:
    id: str
    slot: str
    framework: str
    licence: str
    folder: Path
    files: dict[str, str] = field(default_factory=dict)
    input_colour_space: str = "linear"
    description: str = ""

    @property
    def hash(self) -> str:
        """One hash for the model: its manifest's file hashes, in order."""
        text = json.dumps([self.id, sorted(self.files.items())])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def path(self, name: str) -> Path:
        return self.folder / name


def _invalid(folder: Path, why: str) -> GenVFXError:
    return GenVFXError("model", f"The model folder {folder} is not usable: {why}",
                       "Fix its manifest.json (see the README, 'Adding a model folder').")


def read_manifest(folder: str | os.PathLike) -> ModelManifest:
    folder = Path(folder)
    try:
        data = json.loads((folder / "manifest.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise _invalid(folder, f"manifest.json cannot be read ({exc})") from exc
    missing = [key for key in REQUIRED_KEYS if not data.get(key)]
    if missing:
        raise _invalid(folder, f"manifest.json lacks {', '.join(missing)}")
    if data["framework"] not in FRAMEWORKS:
        raise _invalid(folder, f"unknown framework '{data['framework']}'")
    files = data.get("files", {})
    pickles = [name for name in files if Path(name).suffix.lower() in PICKLE_SUFFIXES]
    if pickles:
        raise GenVFXError("model", f"Model '{data['id']}' ships pickle files ({', '.join(pickles)}), which genvfx never loads",
                          "Convert the weights to safetensors or ONNX.")
    return ModelManifest(id=data["id"], slot=data["slot"], framework=data["framework"],
                         licence=data["licence"], folder=folder, files=files,
                         input_colour_space=data.get("input_colour_space", "linear"),
                         description=data.get("description", ""))


def search_path(user_folders: list[str] | None = None) -> list[Path]:
    folders = [SHIPPED] + [Path(p) for p in (user_folders or []) if p]
    folders += [Path(p) for p in os.environ.get("GENVFX_MODEL_PATH", "").split(os.pathsep) if p]
    return folders


def _model_folders(root: Path):
    if (root / "manifest.json").is_file():
        yield root
    elif root.is_dir():
        for child in sorted(root.iterdir()):
            if (child / "manifest.json").is_file():
                yield child


def list_models(user_folders: list[str] | None = None, slot: str | None = None) -> list[ModelManifest]:
    """Every model on the search path (first id wins); unreadable folders are skipped."""
    found: dict[str, ModelManifest] = {}
    for root in search_path(user_folders):
        for folder in _model_folders(root):
            try:
                manifest = read_manifest(folder)
            except GenVFXError:
                continue
            if manifest.id not in found and (slot is None or manifest.slot == slot):
                found[manifest.id] = manifest
    return list(found.values())


def find_model(model_id: str, user_folders: list[str] | None = None, slot: str | None = None) -> ModelManifest:
    for root in search_path(user_folders):
        for folder in _model_folders(root):
            manifest = read_manifest(folder)
            if manifest.id == model_id:
                if slot and manifest.slot != slot:
                    raise GenVFXError("model", f"Model '{model_id}' is a {manifest.slot} model, not a {slot} model",
                                      "Pick a model made for this node.")
                return manifest
    known = ", ".join(m.id for m in list_models(user_folders, slot)) or "none"
    raise GenVFXError("model", f"Unknown model '{model_id}'",
                      f"Models found for this node: {known}. Add folders with GENVFX_MODEL_PATH or the preferences.")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(manifest: ModelManifest) -> None:
    """Check every file against the sha256 in the manifest."""
    for name, expected in manifest.files.items():
        path = manifest.path(name)
        if not path.is_file():
            raise GenVFXError("model", f"Model '{manifest.id}' is missing its file {name}",
                              f"Copy the file into {manifest.folder}.")
        actual = sha256_file(path)
        if actual != expected:
            raise GenVFXError("model", f"Model '{manifest.id}': {name} does not match its sha256",
                              "The file is damaged or was replaced; copy it again or update the manifest.")
