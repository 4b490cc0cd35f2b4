"""Model folders: manifests, the search path, sha256 verification, no pickles.

A model is a folder holding ``manifest.json``::

    {"id": "studio.fill.lama", "slot": "fill", "framework": "onnx",
     "files": {"model.onnx": "<sha256>"}, "licence": "Apache-2.0",
     "input_colour_space": "srgb", "description": "...",
     "options": {"output_scale": 255}}

``files`` names every file the model reads, by its path inside the folder (``/``
separated, e.g. ``unet/diffusion_pytorch_model.safetensors``), with its sha256;
:func:`folder_files` computes that table for a folder. ``options`` holds what one
framework's adapter needs to know (a diffusers pipeline class, a native resolution…;
see the README, "Adding a model folder"). ``input_colour_space`` is ``srgb`` (the
default for ``onnx`` and ``diffusers``: models trained on photographs) or ``linear``.

Folders are searched in order: the shipped ``models/weights/``, the user's folders
(preferences or ``--model-path``), then ``GENVFX_MODEL_PATH`` (``os.pathsep``-separated).
A search folder may be a model folder itself or hold model folders. The first folder
with a given id wins. Weights load from ONNX or safetensors only: a manifest listing a
pickle-based file (``.pt``, ``.pth``, ``.ckpt``, ``.bin``, ``.pkl``) is refused, and so is
a weight file (``.safetensors``, ``.onnx``) in the folder that the manifest does not list
(a loader could pick it up unchecked).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GenVFXError

SHIPPED = Path(__file__).parent / "weights"
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle"}
FRAMEWORKS = {"torch", "onnx", "diffusers", "transformers", "builtin"}
REQUIRED_KEYS = ("id", "slot", "framework", "licence")
WEIGHT_SUFFIXES = {".safetensors", ".onnx"}
COLOUR_SPACES = {"srgb": "srgb", "linear": "linear",
                 "srgb encoded rec.709 (srgb)": "srgb", "linear rec.709 (srgb)": "linear"}


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
    options: dict = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """One sha256 for the model: its id, its manifest's file hashes, in order (and its
        options, which change what it makes)."""
        content = [self.id, sorted(self.files.items())]
        if self.options:
            content.append(self.options)
        text = json.dumps(content, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def hash(self) -> str:
        """The short form of :attr:`sha256` that job keys use."""
        return self.sha256[:16]

    def option(self, name: str, default=None):
        return self.options.get(name, default)

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
    if not isinstance(files, dict):
        raise _invalid(folder, "'files' must map file names to their sha256")
    outside = [name for name in files if Path(name).is_absolute() or ".." in Path(name).parts]
    if outside:
        raise _invalid(folder, f"files must lie inside the folder ({', '.join(outside)})")
    pickles = [name for name in files if Path(name).suffix.lower() in PICKLE_SUFFIXES]
    if pickles:
        raise GenVFXError("model", f"Model '{data['id']}' ships pickle files ({', '.join(pickles)}), which genvfx never loads",
                          "Convert the weights to safetensors or ONNX.")
    default_space = "linear" if data["framework"] in ("builtin", "torch") else "srgb"
    space = str(data.get("input_colour_space", default_space)).lower()
    if space not in COLOUR_SPACES:
        raise _invalid(folder, f"unknown input_colour_space '{data['input_colour_space']}' (use srgb or linear)")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise _invalid(folder, "'options' must be an object")
    return ModelManifest(id=data["id"], slot=data["slot"], framework=data["framework"],
                         licence=data["licence"], folder=folder, files=files,
                         input_colour_space=COLOUR_SPACES[space],
                         description=data.get("description", ""), options=options)


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


def folder_files(folder: str | os.PathLike) -> dict[str, str]:
    """``{path inside the folder: sha256}`` for every file in ``folder`` but the manifest:
    the ``files`` table of a new model folder."""
    folder = Path(folder)
    return {path.relative_to(folder).as_posix(): sha256_file(path)
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != "manifest.json"}


def verify(manifest: ModelManifest) -> None:
    """Check every file against the sha256 in the manifest, and that the folder holds no
    weight file the manifest does not list."""
    listed = set(manifest.files)
    unlisted = sorted(path.relative_to(manifest.folder).as_posix() for path in manifest.folder.rglob("*")
                      if path.suffix.lower() in WEIGHT_SUFFIXES and path.is_file()
                      and path.relative_to(manifest.folder).as_posix() not in listed)
    if unlisted:
        raise GenVFXError("model", f"Model '{manifest.id}' has weight files its manifest does not list: {', '.join(unlisted)}",
                          "List them in manifest.json with their sha256, or remove them from the folder.")
    for name, expected in manifest.files.items():
        path = manifest.path(name)
        if not path.is_file():
            raise GenVFXError("model", f"Model '{manifest.id}' is missing its file {name}",
                              f"Copy the file into {manifest.folder}.")
        actual = sha256_file(path)
        if actual != expected:
            raise GenVFXError("model", f"Model '{manifest.id}': {name} does not match its sha256",
                              "The file is damaged or was replaced; copy it again or update the manifest.")
