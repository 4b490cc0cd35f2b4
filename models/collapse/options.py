"""Collapse Sim's art direction: the parameters an artist sets, checked and clamped.

Values a user can mistype into absurdity (a million fragments, a start frame outside
the shot) are clamped with a warning, not refused: the warning text goes to the
command line, the node and each frame's EXR header.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from ...errors import BadInput
from .lighting import MIN_ELEVATION, PLATE, PlateLight

MIN_FRAGMENTS, MAX_FRAGMENTS = 8, 2000
QUALITIES = ("preview", "final")
MAX_SAMPLES = 4096


@dataclass(frozen=True)
class CollapseOptions:
    start: int = 1                       # first frame of the collapse (frames before it are the plate)
    fragments: int = 150
    seed: int = 0
    origin: tuple[float, float] | None = None   # where the failure starts, 0-1 of the frame (x right, y down);
                                                # default: the middle of the mask's base
    direction_bias: tuple[float, float] = (0.0, 0.0)  # screen direction the failure runs faster in (x right, y up)
    speed: float = 0.0                   # failure front, metres per second; 0 = the building's height per 0.8 s
    size_falloff: float = 0.6            # 0: even fragment sizes, 1: much finer near the origin
    height: float = 0.0                  # building height in metres; 0 = from the mask and a 50 mm camera
    gravity_scale: float = 1.0
    dust: float = 1.0                    # dust amount, 0 = none
    fps: float = 24.0
    quality: str = "preview"             # "preview": Warp ray-cast; "final": Cycles (needs Blender)
    samples: int = 64                    # Cycles samples a pixel (final)
    motion_blur: bool = True             # Cycles motion blur (final)
    light: tuple[float, float, float] | str | None = None   # toward the sun, camera space (x right, y up,
                                         # z toward the camera); "plate": the plate's own light, as Relight
                                         # fits it; None: lighting.DEFAULT_DIRECTION

    @classmethod
    def from_params(cls, params: dict) -> tuple["CollapseOptions", list[str]]:
        """Options from a job's parameters, and the warnings for values clamped."""
        names = {field.name for field in fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise BadInput(f"Collapse Sim takes no {', '.join(unknown)}", f"Known settings: {', '.join(sorted(names))}.")
        values = dict(params)
        warnings: list[str] = []

        def clamp(name: str, low: float, high: float, cast=float) -> None:
            if name not in values or values[name] is None:
                return
            try:
                value = cast(values[name])
            except (TypeError, ValueError):
                raise BadInput(f"Collapse Sim: {name} must be a number, got {values[name]!r}", "") from None
            clamped = min(max(value, cast(low)), cast(high))
            if clamped != value:
                warnings.append(f"{name} {value} is out of range, using {clamped}")
            values[name] = clamped

        clamp("fragments", MIN_FRAGMENTS, MAX_FRAGMENTS, int)
        clamp("size_falloff", 0.0, 1.0)
        clamp("gravity_scale", 0.05, 10.0)
        clamp("dust", 0.0, 4.0)
        clamp("fps", 1.0, 240.0)
        clamp("speed", 0.0, 10000.0)
        clamp("height", 0.0, 2000.0)
        clamp("samples", 1, MAX_SAMPLES, int)
        if values.get("quality", "preview") not in QUALITIES:
            raise BadInput(f"Collapse Sim: quality must be one of {', '.join(QUALITIES)}, got {values['quality']!r}",
                           "preview renders in seconds a frame; final renders with Cycles.")
        if "motion_blur" in values:
            values["motion_blur"] = bool(values["motion_blur"])
        for name in ("origin", "direction_bias"):
            if values.get(name) is not None:
                pair = tuple(float(v) for v in values[name])
                if len(pair) != 2:
                    raise BadInput(f"Collapse Sim: {name} takes two numbers, got {values[name]!r}", "e.g. 0.5,0.9")
                values[name] = pair
        if values.get("light") is not None and values["light"] != PLATE:
            if isinstance(values["light"], str):
                raise BadInput(f"Collapse Sim: light must be a direction or '{PLATE}', got {values['light']!r}",
                               "x right, y up, z toward the camera, e.g. -0.5,0.8,0.4")
            direction = tuple(float(v) for v in values["light"])
            if len(direction) != 3:
                raise BadInput(f"Collapse Sim: light takes three numbers, got {values['light']!r}",
                               "x right, y up, z toward the camera, e.g. -0.5,0.8,0.4")
            light = PlateLight(direction)   # checked (a direction), unit length, not too low
            given = np.asarray(direction) / np.linalg.norm(direction)
            if not np.allclose(given, light.direction, atol=1e-6):
                warnings.append(f"light {direction} is lower than {MIN_ELEVATION:.0f}° above the horizon, "
                                f"using {tuple(round(v, 3) for v in light.direction)}")
            values["light"] = light.direction
        if values.get("origin") is not None:
            clipped = tuple(min(max(v, 0.0), 1.0) for v in values["origin"])
            if clipped != values["origin"]:
                warnings.append(f"origin {values['origin']} lies outside the frame, using {clipped}")
            values["origin"] = clipped
        for name in ("start", "seed"):
            if name in values:
                values[name] = int(values[name])
        return cls(**values), warnings

    def clamp_start(self, frames: list[int]) -> tuple["CollapseOptions", list[str]]:
        """The start frame moved into the shot (with a warning) when it lies outside it."""
        first, last = min(frames), max(frames)
        if first <= self.start <= last:
            return self, []
        start = min(max(self.start, first), last)
        return (CollapseOptions(**{**asdict(self), "start": start}),
                [f"start frame {self.start} lies outside the frames {first}-{last}, using {start}"])

    def to_params(self) -> dict:
        return asdict(self)
