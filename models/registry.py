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

Models load only what was hashed. Adapters reach a file through
:meth:`ModelManifest.path`, which takes only a listed name that stays inside the folder
once symlinks are followed (no absolute path, no ``..``); ``options.file`` (and any
option in :data:`FILE_OPTIONS`) must name a listed file, or the manifest is refused. An
ONNX model's external data (tensors kept in side files it names by ``location``) is
listed too, as every file of an ``onnx`` folder must be, so its hash is in the model's
:attr:`~ModelManifest.sha256` and every cache key; ONNX Runtime itself refuses a
location outside the model's folder. :func:`verify`, run
before a job loads a model, checks each listed file's sha256 and walks the folder,
following symlinked subfolders: a link leading outside the folder is refused, and so is
a file the manifest does not list that a loader could pick up unchecked: a weight file
(``.safetensors``, ``.onnx``), or, for ``onnx``, ``diffusers`` and ``transformers``
folders (whose loaders read files the adapter does not name), any file but documentation (README, LICENSE, ``*.md``)
and dotfiles. Weights load from ONNX or safetensors only: a manifest listing a
pickle-based file (``.pt``, ``.pth``, ``.ckpt``, ``.bin``, ``.pkl``) is refused.

Folders are searched in order: the shipped ``models/weights/``, the user's folders
(preferences or ``--model-path``), then ``GENVFX_MODEL_PATH`` (``os.pathsep``-separated).
A search folder may be a model folder itself or hold model folders. The first folder
with a given id wins. A folder whose manifest cannot be used (invalid JSON, a missing
key, a value of the wrong type…) is skipped and reported by :func:`scan_models`, and
costs only itself: other models still resolve, and asking for its id (when that much of
its manifest is readable) gives its own error, naming the folder; so does an unknown id
while such folders exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from ..errors import GenVFXError

SHIPPED = Path(__file__).parent / "weights"
PICKLE_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle"}
FRAMEWORKS = {"torch", "onnx", "diffusers", "transformers", "builtin"}
REQUIRED_KEYS = ("id", "slot", "framework", "licence")
WEIGHT_SUFFIXES = {".safetensors", ".onnx"}
#: Frameworks whose loaders may read files the adapter never names: ``from_pretrained``
#: reads whatever configuration it finds in the folder, and ONNX Runtime reads the side
#: files an ONNX model keeps tensors in (external data, named inside the model and
#: refused by ONNX Runtime when outside the model's folder). Every file must be listed.
WHOLE_FOLDER_FRAMEWORKS = {"diffusers", "transformers", "onnx"}
#: Options that name a file in the model folder (resolved through ``files``).
FILE_OPTIONS = ("file",)
#: Files a whole-folder library does not read: documentation.
DOC_STEMS = {"readme", "license", "licence", "notice", "copying", "authors"}
DOC_SUFFIXES = {".md", ".rst"}
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
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
        """The path of the file ``name`` of this model, for an adapter to load: only a
        name listed in ``files`` that stays inside the folder once symlinks are followed.
        Anything else is a ``model`` error naming the folder and the file. (Hashes are checked by
        :func:`verify`, before a job loads the model.)"""
        return self._listed(name)

    def _refuse(self, what: str, hint: str) -> GenVFXError:
        return GenVFXError("model", f"Model '{self.id}' in {self.folder}: {what}", hint)

    def _listed(self, name: str) -> Path:
        problem = _name_problem(name)
        if problem:
            raise self._refuse(f"the file '{name}' {problem}", "Name files by their path inside the model folder.")
        if name not in self.files:
            raise self._refuse(f"the file '{name}' is not listed in its manifest, so it is not hashed",
                               "List it in manifest.json's files with its sha256 "
                               "(see the README, 'Adding a model folder').")
        path = self.folder / name
        real, root = _real(path), _real(self.folder)
        if not real.is_relative_to(root):
            raise self._refuse(f"the file '{name}' leads outside the folder (to {real})",
                               "Copy the file into the model folder instead of linking to it.")
        return path


class BadManifest(GenVFXError):
    """A model folder whose manifest cannot be used; ``why`` without the folder."""

    def __init__(self, folder: Path, why: str, hint: str = ""):
        super().__init__("model", f"The model folder {folder} is not usable: {why}",
                         hint or "Fix its manifest.json (see the README, 'Adding a model folder').")
        self.folder = folder
        self.why = why


def _invalid(folder: Path, why: str) -> GenVFXError:
    return BadManifest(folder, why)


def _real(path: Path) -> Path:
    """``path`` with every symlink followed (``os.path.realpath``: a loop or a missing
    target gives a path rather than an error)."""
    return Path(os.path.realpath(path))


def _name_problem(name, allow_dot: bool = False) -> str | None:
    """Why ``name`` is not a plain ``/``-separated path inside a folder, or None."""
    if not isinstance(name, str) or not name:
        return "is not a file name"
    if "\\" in name:
        return "uses \\ (write paths inside the folder with /)"
    if name.startswith("/") or PureWindowsPath(name).drive or Path(name).is_absolute():
        return "is an absolute path (it must lie inside the model folder)"
    parts = name.split("/")
    if ".." in parts:
        return "leads out of the folder (..)"
    if any(part == "" or (part == "." and not allow_dot) for part in parts):
        return "is not a plain path inside the folder (empty or '.' parts)"
    return None


def _type_name(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def read_manifest(folder: str | os.PathLike) -> ModelManifest:
    """The manifest of the model folder ``folder``; a :class:`BadManifest` (a ``model``
    error naming the folder) when it cannot be read or a value is missing, of the wrong
    type or not allowed."""
    folder = Path(folder)
    try:
        data = json.loads((folder / "manifest.json").read_bytes())
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: bad JSON or encoding
        raise _invalid(folder, f"manifest.json cannot be read ({exc})") from exc
    if not isinstance(data, dict):
        raise _invalid(folder, f"manifest.json must hold one JSON object, not {_type_name(data)}")
    missing = [key for key in REQUIRED_KEYS if key not in data or data[key] in ("", None)]
    if missing:
        raise _invalid(folder, f"manifest.json lacks {', '.join(missing)}")
    for key in (*REQUIRED_KEYS, "description", "input_colour_space"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise _invalid(folder, f"manifest.json: '{key}' must be a string, not {_type_name(data[key])}")
    if data["framework"] not in FRAMEWORKS:
        raise _invalid(folder, f"unknown framework '{data['framework']}'")
    files = data.get("files", {})
    if not isinstance(files, dict):
        raise _invalid(folder, "'files' must map file names to their sha256")
    outside = [f"{name} {problem}" for name, problem in ((name, _name_problem(name)) for name in files) if problem]
    if outside:
        raise _invalid(folder, f"files must lie inside the folder, as plain paths with / ({'; '.join(outside)})")
    not_hashes = [name for name, sha in files.items() if not (isinstance(sha, str) and _SHA256.fullmatch(sha))]
    if not_hashes:
        raise _invalid(folder, "'files' must give each file's sha256 as 64 hex digits "
                       f"(not so for {', '.join(not_hashes)})")
    pickles = [name for name in files if Path(name).suffix.lower() in PICKLE_SUFFIXES]
    if pickles:
        raise BadManifest(folder, f"it lists pickle files ({', '.join(pickles)}), which genvfx never loads",
                          "Convert the weights to safetensors or ONNX.")
    default_space = "linear" if data["framework"] in ("builtin", "torch") else "srgb"
    space = (data.get("input_colour_space") or default_space).lower()
    if space not in COLOUR_SPACES:
        raise _invalid(folder, f"unknown input_colour_space '{data['input_colour_space']}' (use srgb or linear)")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise _invalid(folder, "'options' must be an object")
    for key in FILE_OPTIONS:
        if key not in options:
            continue
        name = options[key]
        problem = _name_problem(name)
        if problem:
            raise _invalid(folder, f"options.{key} {name!r} {problem}")
        if name not in files:
            raise _invalid(folder, f"options.{key} names '{name}', which 'files' does not list (so it is not hashed)")
        if data["framework"] == "onnx" and not name.lower().endswith(".onnx"):
            raise _invalid(folder, f"options.{key} names '{name}', not an .onnx file")
    return ModelManifest(id=data["id"], slot=data["slot"], framework=data["framework"],
                         licence=data["licence"], folder=folder, files=files,
                         input_colour_space=COLOUR_SPACES[space],
                         description=data.get("description") or "", options=options)


def _claimed_id(folder: Path) -> str | None:
    """The id a folder's manifest claims, when that much of it is readable."""
    try:
        data = json.loads((folder / "manifest.json").read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    model_id = data.get("id") if isinstance(data, dict) else None
    return model_id if isinstance(model_id, str) and model_id else None


def search_path(user_folders: list[str] | None = None) -> list[Path]:
    folders = [SHIPPED] + [Path(p) for p in (user_folders or []) if p]
    folders += [Path(p) for p in os.environ.get("GENVFX_MODEL_PATH", "").split(os.pathsep) if p]
    return folders


def _model_folders(root: Path) -> list[Path]:
    """The model folders ``root`` is or holds (``OSError`` when it cannot be listed)."""
    if (root / "manifest.json").is_file():
        return [root]
    if not root.is_dir():
        return []
    return [child for child in sorted(root.iterdir()) if (child / "manifest.json").is_file()]


@dataclass(frozen=True)
class BadModelFolder:
    """A folder on the search path that was skipped: its manifest cannot be used (or,
    for a search folder, it cannot be listed). ``id`` is the id its manifest claims, when
    that much is readable."""

    folder: Path
    error: GenVFXError
    id: str | None = None

    @property
    def reason(self) -> str:
        return getattr(self.error, "why", self.error.message)


def _entries(user_folders: list[str] | None):
    """Each model folder on the search path, in order: its manifest or a BadModelFolder."""
    for root in search_path(user_folders):
        try:
            folders = _model_folders(root)
        except OSError as exc:
            yield BadModelFolder(root, BadManifest(root, f"the search folder cannot be listed ({exc})",
                                                   "Check its permissions, or take it off the model search path."))
            continue
        for folder in folders:
            try:
                yield read_manifest(folder)
            except GenVFXError as error:
                yield BadModelFolder(folder, error, _claimed_id(folder))


def scan_models(user_folders: list[str] | None = None) -> tuple[list[ModelManifest], list[BadModelFolder]]:
    """The usable models on the search path and the folders skipped, each in search
    order. The first folder claiming an id takes it, a bad one included: a later folder
    with that id is shadowed, as :func:`find_model` would never reach it."""
    models: list[ModelManifest] = []
    bad: list[BadModelFolder] = []
    claimed: set[str] = set()
    for entry in _entries(user_folders):
        if isinstance(entry, BadModelFolder):
            bad.append(entry)
            if entry.id:
                claimed.add(entry.id)
        elif entry.id not in claimed:
            claimed.add(entry.id)
            models.append(entry)
    return models, bad


def list_models(user_folders: list[str] | None = None, slot: str | None = None) -> list[ModelManifest]:
    """Every usable model on the search path (first id wins); folders whose manifest
    cannot be used are skipped (:func:`scan_models` says which and why)."""
    return [manifest for manifest in scan_models(user_folders)[0] if slot is None or manifest.slot == slot]


def find_model(model_id: str, user_folders: list[str] | None = None, slot: str | None = None) -> ModelManifest:
    """The first model on the search path with id ``model_id``. Folders whose manifest
    cannot be used are passed over, unless one claims this id: then its error (naming
    it) is raised. An unknown id names the folders passed over."""
    skipped: list[BadModelFolder] = []
    for entry in _entries(user_folders):
        if isinstance(entry, BadModelFolder):
            if entry.id == model_id:
                raise entry.error
            skipped.append(entry)
        elif entry.id == model_id:
            if slot and entry.slot != slot:
                raise GenVFXError("model", f"Model '{model_id}' is a {entry.slot} model, not a {slot} model",
                                  "Pick a model made for this node.")
            return entry
    known = ", ".join(m.id for m in list_models(user_folders, slot)) or "none"
    message = f"Unknown model '{model_id}'"
    if skipped:
        message += (" (model folders skipped because they are not usable: "
                    + "; ".join(f"{entry.folder}: {entry.reason}" for entry in skipped) + ")")
    raise GenVFXError("model", message,
                      f"Models found for this node: {known}. Add folders with GENVFX_MODEL_PATH or the preferences.")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _walk(folder: Path) -> tuple[list[str], list[tuple[str, Path]]]:
    """Every file in ``folder`` by each ``/`` path a loader could open it by, symlinked
    subfolders followed (not into a folder that holds the link, so a link loop ends; a
    dangling link is no file), and the links that lead outside the folder with where
    they lead (neither followed nor listed)."""
    root = _real(folder)
    files: list[str] = []
    outside: list[tuple[str, Path]] = []

    def visit(directory: Path, prefix: str, above: frozenset) -> None:
        real = _real(directory)
        if real in above:
            return
        above = above | {real}
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            name = prefix + entry.name
            if entry.is_symlink():
                target = _real(entry.path)
                if not target.is_relative_to(root):
                    outside.append((name, target))
                    continue
            try:
                is_dir, is_file = entry.is_dir(), entry.is_file()
            except OSError:  # a link loop
                continue
            if is_dir:
                visit(Path(entry.path), name + "/", above)
            elif is_file:
                files.append(name)

    visit(folder, "", frozenset())
    return files, outside


def folder_files(folder: str | os.PathLike) -> dict[str, str]:
    """``{path inside the folder: sha256}`` for every file in ``folder`` but the manifest
    (symlinked subfolders followed): the ``files`` table of a new model folder. A link
    leading outside the folder is an error: copy what it points to in."""
    folder = Path(folder)
    files, outside = _walk(folder)
    if outside:
        raise GenVFXError("model", f"{folder} has links leading outside it: "
                          + ", ".join(f"{name} (to {target})" for name, target in outside),
                          "Copy the files into the model folder instead of linking to them.")
    return {name: sha256_file(folder / name) for name in files if name != "manifest.json"}


def _is_doc(name: str) -> bool:
    """Documentation or a dotfile, which no loader reads."""
    parts = name.split("/")
    path = PurePosixPath(name)
    return (any(part.startswith(".") for part in parts) or path.suffix.lower() in DOC_SUFFIXES
            or path.name.split(".")[0].lower() in DOC_STEMS)


def verify(manifest: ModelManifest) -> None:
    """Check the folder against its manifest before the model loads: no link in it leads
    outside; it holds no file a loader could pick up unchecked that the manifest does not
    list (a weight file; for a whole-folder framework, any file but documentation); every
    listed file is inside the folder once symlinks are followed and matches its sha256."""
    try:
        present, outside = _walk(manifest.folder)
    except OSError as exc:
        raise manifest._refuse(f"the folder cannot be read ({exc})", "Check the folder and its permissions.") from exc
    if outside:
        raise manifest._refuse("links lead outside the folder: "
                               + ", ".join(f"{name} (to {target})" for name, target in outside),
                               "Copy the files into the model folder instead of linking to them.")
    listed = set(manifest.files)
    if manifest.framework in WHOLE_FOLDER_FRAMEWORKS:
        unlisted = [name for name in present if name not in listed and name != "manifest.json" and not _is_doc(name)]
        kind = "files"
    else:
        unlisted = [name for name in present
                    if PurePosixPath(name).suffix.lower() in WEIGHT_SUFFIXES and name not in listed]
        kind = "weight files"
    if unlisted:
        raise manifest._refuse(f"it has {kind} its manifest does not list: {', '.join(unlisted)}",
                               "List them in manifest.json with their sha256, or remove them from the folder.")
    for name, expected in manifest.files.items():
        path = manifest._listed(name)
        if not path.is_file():
            raise manifest._refuse(f"its file {name} is missing", f"Copy the file into {manifest.folder}.")
        if sha256_file(path) != expected.lower():
            raise manifest._refuse(f"{name} does not match its sha256",
                                   "The file is damaged or was replaced; copy it again or update the manifest.")
