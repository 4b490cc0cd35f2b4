"""Where models run: ONNX Runtime sessions and torch devices, with precision.

``device`` is always one of ``"auto"``, ``"cuda"`` or ``"cpu"``. ``auto`` takes CUDA
when it is there and falls back to the CPU; asking for ``cuda`` where there is none
is an error rather than a silent fallback, so a farm node without a GPU says so.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import GenVFXError

# ONNX Runtime (1.29 on, outside Windows) starts its telemetry when it is imported: it writes
# a device id and an event store under ~/.cache/Microsoft/DeveloperTools/.onnxruntime (or
# $XDG_CACHE_HOME) and uploads events. Nothing may leave a render node or be written outside
# the cache, so it is turned off before anything here imports onnxruntime (a user who sets
# the variable keeps their choice). Every module that makes ONNX sessions imports this one.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

DEVICES = ("auto", "cuda", "cpu")
PRECISIONS = ("fp32", "fp16", "bf16")


def _check_device(device: str) -> None:
    if device not in DEVICES:
        raise GenVFXError("config", f"Unknown device '{device}'", f"Use one of {', '.join(DEVICES)}.")


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def cpu_threads() -> int | None:
    """The CPU threads a model may use: ``GENVFX_THREADS`` when set (a farm node whose
    cores are shared; intra-op threads slow down many times over when they compete for
    cores), else the library's own default."""
    value = os.environ.get("GENVFX_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise GenVFXError("config", f"GENVFX_THREADS must be a whole number of 1 or more, got '{value}'",
                          "Unset it to use every core.")
    return int(value)


def torch_device(device: str = "auto"):
    """The torch device to run on: CUDA when asked for or (``auto``) available, else CPU."""
    _check_device(device)
    try:
        import torch
    except ImportError as exc:
        raise GenVFXError(
            "dependency", "PyTorch is not installed in the backend's Python",
            "Install it with: pip install 'genvfx[torch]' (or use the add-on's 'Set up backend').",
        ) from exc
    threads = cpu_threads()
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise GenVFXError("device", "CUDA was asked for but no CUDA device is available",
                          "Set the device to Auto or CPU in the genvfx preferences.")
    return torch.device("cuda" if device in ("auto", "cuda") and has_cuda else "cpu")


@contextmanager
def one_thread(device="cpu"):
    """Inside, torch on the CPU computes with one thread. For the operations whose result
    depends on how many threads share the work (measured with torch 2.13: matrix products,
    ``pow``, LAPACK's ``eigh``, bilinear upsampling; others split their work but not their
    arithmetic), so that a frame has the same bytes on a workstation and on a farm node
    with another core count or ``GENVFX_THREADS``. Nothing changes on a GPU."""
    import torch

    threads = torch.get_num_threads()
    if getattr(device, "type", str(device)) != "cpu" or threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def torch_dtype(precision: str, device):
    """float32 on the CPU whatever is asked (half precision is slow there); the asked
    precision on CUDA."""
    import torch

    if precision not in PRECISIONS:
        raise GenVFXError("config", f"Unknown precision '{precision}'", f"Use one of {', '.join(PRECISIONS)}.")
    if getattr(device, "type", str(device)) != "cuda":
        return torch.float32
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def torch_generator(seed: int, device):
    """A ``torch.Generator`` on ``device`` seeded with ``seed`` (a frame's seed): the only
    source of randomness a torch model may use, so a frame repeats."""
    import torch

    return torch.Generator(device=device).manual_seed(int(seed))


def onnx_providers(device: str = "auto") -> list[str]:
    """Execution providers in order of preference for ``device``."""
    _check_device(device)
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise GenVFXError("device", "CUDA was asked for but ONNX Runtime has no CUDA provider",
                          "Install onnxruntime-gpu (pip install 'genvfx[gpu]') or set the device to CPU.")
    providers = []
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        providers.append("CUDAExecutionProvider")
    providers.append("CPUExecutionProvider")
    return providers


@dataclass
class OnnxModel:
    """An ONNX Runtime session and the provider it really got."""

    session: object
    provider: str

    def run(self, feeds: dict) -> list:
        return self.session.run(None, feeds)


def onnx_session(path: str, device: str = "auto", threads: int | None = None) -> OnnxModel:
    import onnxruntime as ort

    options = ort.SessionOptions()
    threads = threads or cpu_threads()
    if threads:
        options.intra_op_num_threads = threads
    providers = onnx_providers(device)  # its own clear error when CUDA is asked for and absent
    if "CUDAExecutionProvider" in providers and hasattr(ort, "preload_dlls"):
        ort.preload_dlls()  # the CUDA libraries from pip wheels, else the session falls back to the CPU
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise GenVFXError("model", f"Could not load the ONNX model {path}: {exc}",
                          "Check the model folder's files against its manifest.") from exc
    return OnnxModel(session, session.get_providers()[0])


def import_diffusers():
    """diffusers, or a clear error naming the extra to install."""
    try:
        import diffusers
    except ImportError as exc:
        raise GenVFXError("dependency", "diffusers is not installed in the backend's Python, so diffusers models cannot run",
                          "Install it with: pip install 'genvfx[diffusers]'") from exc
    return diffusers


def diffusers_dtype_keyword() -> str:
    """``dtype`` where this diffusers takes it (0.36 on), ``torch_dtype`` before."""
    try:
        from diffusers.utils.deprecation_utils import _resolve_dtype  # noqa: F401
    except ImportError:
        return "torch_dtype"
    return "dtype"
