"""A job: what to generate, from which inputs, for which frames — and its key.

The key is a hash of everything that decides the output bytes: generator and its
version, model id and hash, parameters, seed, proxy scale, and the content of every
input frame (not the signing key: who signs does not change the pixels). Frames are cached under ``<cache>/<generator>/<key>/<Layer>.<frame:04d>.exr``.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from ..files import sequences
from ...errors import BadInput, GenVFXError
from ..generators import generator_spec
from ..files.hashing import file_sha256, json_sha256

PROXY_SCALES = (0.25, 0.5, 1.0)


@dataclass
class Job:
    generator: str
    inputs: dict[str, str]
    frames: list[int]
    cache_dir: str = ""
    params: dict = field(default_factory=dict)
    seed: int = 0
    model: str = ""
    proxy: float = 1.0
    device: str = "auto"
    output_dir_override: str = ""  # write here instead of the cache (the CLI's --out)
    # the studio's signing key (a PEM file; empty: GENVFX_SIGNING_KEY, or unsigned); not in
    # the key, the record or the output: who signs does not change the frames
    sign_key: str = ""
    # the frames this run computes (empty: every frame); the job, its key and what the
    # generator sees of the shot stay ``frames``: a farm task computes its chunk this way
    compute: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Job":
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    @property
    def spec(self):
        return generator_spec(self.generator)

    @property
    def frames_to_compute(self) -> list[int]:
        """The frames this run makes (``compute``, in the job's order), else every frame."""
        chosen = set(self.compute)
        return [frame for frame in self.frames if frame in chosen] if chosen else list(self.frames)

    @property
    def layer(self) -> str:
        return self.spec.layer

    @property
    def model_id(self) -> str:
        return self.model or self.spec.default_model

    def validate(self) -> None:
        spec = self.spec
        missing = [name for name in spec.required_inputs if not self.inputs.get(name)]
        if missing:
            raise BadInput(f"{spec.label} needs the input(s): {', '.join(missing)}", "Connect or pass them.")
        if float(self.proxy) not in PROXY_SCALES:
            raise BadInput(f"Proxy scale {self.proxy} is not supported", "Use 0.25, 0.5 or 1.0.")
        if not self.frames:
            raise BadInput("The job has no frames", "Give a frame range such as 1-24.")
        if not self.cache_dir and not self.output_dir_override:
            raise BadInput("The job has no cache directory", "Set the cache directory in the genvfx preferences.")
        for name, folder in (("cache directory", self.cache_dir), ("output folder", self.output_dir_override)):
            if folder and not Path(folder).is_absolute():
                raise BadInput(f"The job's {name} '{folder}' is relative, so it would depend on where the worker runs",
                               "Give an absolute path (the caller resolves it against its .blend or its folder).")
        outside = sorted(set(self.compute) - set(self.frames))
        if outside:
            raise BadInput(f"Frame {outside[0]} to compute is not among the job's frames "
                           f"{min(self.frames)}-{max(self.frames)}", "Give frames to compute inside the job's range.")
        if self.sign_key and not Path(self.sign_key).expanduser().is_absolute():
            raise BadInput(f"The job's signing key '{self.sign_key}' is a relative path",
                           "Give an absolute path (the caller resolves it against its .blend or its folder).")

    def frame_input_path(self, role: str, frame: int) -> Path:
        """The file ``role`` reads for ``frame`` (a single file stands for every frame)."""
        pattern = self.inputs[role]
        return sequences.input_path(pattern, frame if sequences.is_sequence(pattern) else 1, role)

    def input_files(self) -> list[Path]:
        """Every file this job reads, one per input and frame (a single file once)."""
        return [self.frame_input_path(role, frame) for role, pattern in sorted(self.inputs.items()) if pattern
                for frame in (self.frames if sequences.is_sequence(pattern) else self.frames[:1])]

    def input_hashes(self) -> dict[str, dict[int, str]]:
        """``{input: {frame: sha256}}`` of the files this job reads (missing files raise)."""
        hashes: dict[str, dict[int, str]] = {}
        for role, pattern in sorted(self.inputs.items()):
            if not pattern:
                continue
            frames = self.frames if sequences.is_sequence(pattern) else [self.frames[0]]
            hashes[role] = {frame: file_sha256(sequences.input_path(pattern, frame, role)) for frame in frames}
        return hashes

    def key(self, model_hash: str = "", input_hashes: dict | None = None) -> str:
        content = {
            "generator": self.generator,
            "version": self.spec.version,
            "model": self.model_id,
            "model_hash": model_hash,
            "params": self.params,
            "seed": int(self.seed),
            "proxy": float(self.proxy),
            "inputs": input_hashes if input_hashes is not None else self.input_hashes(),
        }
        return json_sha256(content)[:20]

    def output_dir(self, key: str) -> Path:
        if self.output_dir_override:
            return Path(self.output_dir_override)
        return Path(self.cache_dir) / self.generator / key

    def shared_dir(self) -> Path | None:
        """The generator's folder in the cache, for files kept across keys (e.g. Collapse
        Sim's clean plates); None when the job writes to a folder of the user's."""
        return None if self.output_dir_override else Path(self.cache_dir) / self.generator

    def frame_path(self, key: str, frame: int) -> Path:
        return sequences.frame_path(str(self.sequence_pattern(key)), frame)

    def sequence_pattern(self, key: str) -> Path:
        return self.output_dir(key) / f"{self.layer}.{'#' * sequences.FRAME_DIGITS}.exr"


# Field types of a job sent as JSON (the worker's requests) --------------------------
_FIELD_TYPES = {"generator": str, "inputs": dict, "frames": list, "cache_dir": str, "params": dict,
                "seed": int, "model": str, "proxy": (int, float), "device": str, "output_dir_override": str,
                "sign_key": str, "compute": list}
_TYPE_WORDS = {str: "text", dict: "an object", list: "a list", int: "a whole number", (int, float): "a number"}


def check_field_types(data: dict) -> None:
    """Refuse a job whose fields are missing or of the wrong JSON type, naming the field
    (kind ``bad_request``: the caller's mistake, not a genvfx bug). Values are judged later,
    by :meth:`Job.validate` and the generator."""
    def refuse(field_name: str, expected: str):
        value = data[field_name]
        raise GenVFXError("bad_request", f"The job's '{field_name}' must be {expected}, not {type(value).__name__} "
                          f"{repr(value)[:60]}", "Fix the request that sent this job.")

    missing = [f.name for f in fields(Job) if f.name not in data
               and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise GenVFXError("bad_request", f"The job lacks the field(s) {', '.join(map(repr, missing))}",
                          "Fix the request that sent this job.")
    for name, kind in _FIELD_TYPES.items():
        if name in data and (not isinstance(data[name], kind) or isinstance(data[name], bool)):
            refuse(name, _TYPE_WORDS[kind])
    if not all(isinstance(pattern, str) for pattern in data["inputs"].values()):
        refuse("inputs", "an object of file paths (text)")
    for name in ("frames", "compute"):
        if not all(isinstance(frame, int) and not isinstance(frame, bool) for frame in data.get(name, [])):
            refuse(name, "a list of whole numbers")
    try:
        sequences.check_frames(data["frames"])
    except BadInput as error:
        raise GenVFXError("bad_request", f"The job's 'frames': {error.message}", error.hint) from None
