"""A job: what to generate, from which inputs, for which frames — and its key.

The key is a hash of everything that decides the output bytes: generator and its
version, model id and hash, parameters, seed, proxy scale, and the content of every
input frame. Frames are cached under ``<cache>/<generator>/<key>/<Layer>.<frame:04d>.exr``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..files import sequences
from ...errors import BadInput
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

    def frame_input_path(self, role: str, frame: int) -> Path:
        """The file ``role`` reads for ``frame`` (a single file stands for every frame)."""
        pattern = self.inputs[role]
        return sequences.input_path(pattern, frame if sequences.is_sequence(pattern) else 1, role)

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
        return self.output_dir(key) / f"{self.layer}.{frame:04d}.exr"

    def sequence_pattern(self, key: str) -> Path:
        return self.output_dir(key) / f"{self.layer}.####.exr"
