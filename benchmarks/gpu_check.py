"""Every CUDA path of genvfx in one run, printed as one table: path, device used, seconds,
ok / fail / skipped (with the reason), and what was measured. Run it through
``benchmarks/gpu_check.sh`` (which makes the environment); by hand:

    python benchmarks/gpu_check.py                  # every check, one table
    python benchmarks/gpu_check.py --only onnx-relight --only warp-raycast

Each check runs in a Python process of its own (a CUDA fault or a hang ends that check,
not the run) under its own time limit. Where a GPU is seen (``nvidia-smi -L`` lists one,
or torch sees CUDA) every path is asked for ``cuda`` explicitly, so a silent fallback to
the CPU is a failure; where none is, the same paths run on the CPU, the CUDA-only row
(NVML) says ``skipped``, and a line says so. Exit status: 0 when no row failed.

What each row proves (tiny models are built on the spot, as the tests do):

- ``torch``: the torch build and the device it sees;
- ``fill-patchmatch``: Debris Fill's embedded default (torch PatchMatch) on a photograph;
- ``onnx-relight``: Relight's embedded NormalNet through ``runtime.onnx_session``: the
  provider it got, seconds a frame, and its output against the CPU provider's;
- ``iobinding-relight`` / ``iobinding-fill-onnx``: the same sessions run with ONNX
  Runtime's IOBinding (inputs and outputs in device memory; CPU memory without a GPU)
  against ``session.run``, outputs compared: genvfx's adapters call ``session.run``, so
  this row measures what binding would save;
- ``fill-onnx``: the LaMa-style ONNX fill adapter on a tiny identity net;
- ``fill-diffusers-fp16``: the diffusers inpainting adapter on a tiny random SD pipeline
  in fp16 (the CPU runs fp32 whatever is asked);
- ``warp-raycast``: Collapse Sim's Warp ray-cast of the fragments, against the CPU's;
- ``nvml-energy``: the NVML energy counter that the provenance record reads, under load;
- ``bench-fill-adapters`` / ``bench-collapse``: the benchmarks' own figures, small sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

RESULT_TAG = "GPU_CHECK_RESULT "


class Skip(Exception):
    """The check does not apply here (the reason says why)."""


def gpu_present() -> bool:
    """A GPU is there when the driver lists one, or when torch sees CUDA."""
    if shutil.which("nvidia-smi"):
        try:
            listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
            if listed.returncode == 0 and "GPU" in listed.stdout:
                return True
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def require(module: str, extra: str):
    """``module`` imported, or a failure that names how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise RuntimeError(f"{module} is not installed ({extra}): {exc}") from exc


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


# --------------------------------------------------------------------------- checks
# Each takes the device to ask for ("cuda" or "cpu") and returns
# (device actually used, seconds of the measured step, detail).


def check_torch(device):
    torch = require("torch", "pip install torch")
    if device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"torch {torch.__version__} sees no CUDA device (a CPU-only torch build?)")
        x = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
        (x @ x).sum().item()

        def products():
            for _ in range(10):
                x @ x
            torch.cuda.synchronize()

        _, seconds = timed(products)
        tflops = 10 * 2 * 4096 ** 3 / seconds / 1e12
        name = torch.cuda.get_device_name(0)
        return f"cuda: {name}", seconds, f"torch {torch.__version__}, CUDA {torch.version.cuda}, fp16 matmul {tflops:.0f} TFLOP/s"
    return "cpu", 0.0, f"torch {torch.__version__} (CUDA build: {torch.version.cuda or 'no'}), {torch.get_num_threads()} threads"


def _plate(width, height):
    from photos import photo_linear, rect_mask

    return photo_linear("coffee", (width, height)), rect_mask(height, width, (0.35, 0.40, 0.70, 0.70))


def check_fill_patchmatch(device):
    import numpy as np
    require("torch", "pip install 'genvfx[torch]'")
    from genvfx.models.fill import fill
    from genvfx.models.runtime import torch_device

    width, height = (960, 540) if device == "cuda" else (320, 180)
    plate, mask = _plate(width, height)
    used = torch_device(device)
    fill(plate[:64, :96].copy(), mask[:64, :96].copy(), seed=0, device=device)  # warm-up (kernels, allocator)
    sync(device)
    out, seconds = timed(fill, plate, mask, seed=0, device=device)
    sync(device)
    combined = out["Combined"]
    outside = mask <= 0.5
    if not np.isfinite(combined).all():
        raise RuntimeError("non-finite pixels in the fill")
    if not np.array_equal(combined[outside], plate[outside]):
        raise RuntimeError("pixels outside the hole changed")
    return str(used), seconds, f"{width}x{height}, hole 10%: {seconds:.2f} s/frame"


def _iobinding(session, feeds: dict, device: str, repeats: int = 20):
    """Seconds per run of ``session.run`` and of the same run through IOBinding (inputs
    copied to the device once, outputs left there), and the largest difference."""
    import numpy as np
    import onnxruntime as ort

    outputs = [o.name for o in session.get_outputs()]
    plain = session.run(outputs, feeds)
    _, t_plain = timed(lambda: [session.run(outputs, feeds) for _ in range(repeats)])
    binding = session.io_binding()
    kind = "cuda" if device == "cuda" else "cpu"
    for name, value in feeds.items():
        binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(value), kind, 0))
    for name in outputs:
        binding.bind_output(name, kind, 0)

    def run_bound():
        session.run_with_iobinding(binding)
        binding.synchronize_outputs()

    run_bound()
    _, t_bound = timed(lambda: [run_bound() for _ in range(repeats)])
    bound = binding.copy_outputs_to_cpu()
    diff = max(float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).max()) for a, b in zip(plain, bound))
    return t_plain / repeats, t_bound / repeats, diff


def _relight_estimator(device):
    from genvfx.models import registry, relight

    return relight.load(registry.find_model("genvfx.relight.normalnet"), device)


def _relight_feed(estimator):
    import numpy as np
    from genvfx.models.relight import network

    size = int(getattr(estimator, "working_size", network.WORKING_SIZE))
    height, width = size, size * 16 // 9 // network.MULTIPLE * network.MULTIPLE
    session = estimator.model.session
    name = session.get_inputs()[0].name
    rng = np.random.default_rng(0)
    return {name: rng.standard_normal((1, network.IN_CHANNELS, height, width)).astype(np.float32)}


def _provider_device(provider: str) -> str:
    return {"CUDAExecutionProvider": "cuda", "CPUExecutionProvider": "cpu"}.get(provider, provider)


def _expect_provider(model, device):
    if device == "cuda" and model.provider != "CUDAExecutionProvider":
        import onnxruntime as ort

        raise RuntimeError(f"asked for CUDA, got {model.provider} (onnxruntime {ort.__version__}, available "
                           f"{ort.get_available_providers()}: onnxruntime-gpu missing, or its CUDA/cuDNN libraries not found)")


def check_onnx_relight(device):
    import numpy as np
    require("onnxruntime", "pip install onnxruntime-gpu")
    from photos import photo_linear

    estimator = _relight_estimator(device)
    _expect_provider(estimator.model, device)
    image = photo_linear("astronaut", (1920, 1080))
    estimator(image[:256, :256].copy())  # warm-up
    estimate, seconds = timed(estimator, image)
    if not np.isfinite(estimate.normal).all():
        raise RuntimeError("non-finite normals")
    detail = f"1920x1080 plate: {seconds:.3f} s/frame (working size {estimator.working_size})"
    if device == "cuda":
        cpu = _relight_estimator("cpu")
        diff = float(np.abs(cpu(image).normal - estimate.normal).max())
        if diff > 1e-2:
            raise RuntimeError(f"CUDA normals differ from the CPU's by up to {diff:.3g}")
        detail += f", max |CUDA - CPU| normal {diff:.1e}"
    return _provider_device(estimator.model.provider), seconds, detail


def check_iobinding_relight(device):
    require("onnxruntime", "pip install onnxruntime-gpu")
    estimator = _relight_estimator(device)
    _expect_provider(estimator.model, device)
    feeds = _relight_feed(estimator)
    plain, bound, diff = _iobinding(estimator.model.session, feeds, device)
    shape = "x".join(str(v) for v in next(iter(feeds.values())).shape)
    if diff > 1e-4:
        raise RuntimeError(f"bound outputs differ from session.run's by {diff:.3g}")
    return (_provider_device(estimator.model.provider), bound,
            f"input {shape}: run {plain * 1e3:.2f} ms, IOBinding {bound * 1e3:.2f} ms ({plain / bound:.2f}x)"
            + ("" if device == "cuda" else "; CPU memory (the CUDA figure needs a GPU)"))


def _onnx_filler(folder, device):
    require("onnx", "pip install onnx (the dev extra)")
    from tiny_models import onnx_folder
    from genvfx.models import fill, registry

    return fill.load(registry.read_manifest(onnx_folder(folder, size=None)), device)


def check_fill_onnx(device):
    import numpy as np
    require("onnxruntime", "pip install onnxruntime-gpu")

    with tempfile.TemporaryDirectory() as folder:
        filler = _onnx_filler(Path(folder) / "identity", device)
        _expect_provider(filler.model, device)
        plate, mask = _plate(1920, 1080)
        filler(plate[:128, :128].copy(), mask[:128, :128].copy(), seed=0)  # warm-up
        out, seconds = timed(filler, plate, mask, seed=0)
    if not np.isfinite(out["Combined"]).all():
        raise RuntimeError("non-finite pixels")
    if not np.array_equal(out["Combined"][mask <= 0.5], plate[mask <= 0.5]):
        raise RuntimeError("pixels outside the hole changed")
    return _provider_device(filler.model.provider), seconds, f"1920x1080, identity net: {seconds:.3f} s/frame (crop, colour, seam)"


def check_iobinding_fill_onnx(device):
    import numpy as np
    require("onnxruntime", "pip install onnxruntime-gpu")
    with tempfile.TemporaryDirectory() as folder:
        filler = _onnx_filler(Path(folder) / "identity", device)
        _expect_provider(filler.model, device)
        rng = np.random.default_rng(0)
        feeds = {filler.image_input.name: rng.random((1, 3, 512, 512), np.float32),
                 filler.mask_input.name: (rng.random((1, 1, 512, 512)) > 0.8).astype(np.float32)}
        plain, bound, diff = _iobinding(filler.model.session, feeds, device)
    if diff > 1e-5:
        raise RuntimeError(f"bound outputs differ from session.run's by {diff:.3g}")
    return (_provider_device(filler.model.provider), bound,
            f"512x512 crop: run {plain * 1e3:.2f} ms, IOBinding {bound * 1e3:.2f} ms ({plain / bound:.2f}x)"
            + ("" if device == "cuda" else "; CPU memory (the CUDA figure needs a GPU)"))


def check_fill_diffusers_fp16(device):
    import numpy as np
    torch = require("torch", "pip install 'genvfx[torch]'")
    require("diffusers", "pip install 'genvfx[diffusers]'")
    from tiny_models import tiny_sd_inpaint_folder
    from genvfx.models import fill, registry

    embeds = {"prompt_embeds": np.full((1, 4, 32), 0.1, np.float32),
              "negative_prompt_embeds": np.zeros((1, 4, 32), np.float32)}
    with tempfile.TemporaryDirectory() as folder:
        manifest_folder = tiny_sd_inpaint_folder(Path(folder) / "sd")
        data = json.loads((manifest_folder / "manifest.json").read_text())
        data["options"]["precision"] = "fp16"
        (manifest_folder / "manifest.json").write_text(json.dumps(data))
        filler = fill.load(registry.read_manifest(manifest_folder), device)
        plate, mask = _plate(512, 288)
        filler(plate, mask, seed=0, **embeds)  # warm-up
        sync(device)
        out, seconds = timed(filler, plate, mask, seed=1, **embeds)
        sync(device)
    if device == "cuda" and filler.dtype != torch.float16:
        raise RuntimeError(f"asked for fp16 on CUDA, the pipeline runs {filler.dtype}")
    if not np.isfinite(out["Combined"]).all():
        raise RuntimeError("non-finite pixels (fp16 overflow?)")
    used = f"{filler.device.type} {str(filler.dtype).replace('torch.', '')}"
    return used, seconds, f"512x288, tiny SD, 2 steps: {seconds:.3f} s/frame"


def check_warp_raycast(device):
    import numpy as np
    require("warp", "pip install warp-lang")
    require("mujoco", "pip install mujoco")
    from genvfx.backend.generators.collapse import warp_device
    from genvfx.models.collapse import CollapseOptions, shot
    from genvfx.models.collapse.render import render_fragments

    from bench_collapse import tower

    width, height = (960, 640) if device == "cuda" else (320, 212)
    plate, mask = tower(width, height)
    wp_device = warp_device(device)
    collapse = shot.CollapseShot.prepare(plate, mask, CollapseOptions(start=1, fragments=80, height=40.0), 6,
                                         device=wp_device)
    pose = collapse.simulation.pose(6)
    opacity = collapse.simulation.fragment_opacity(6)

    def render(on):
        return render_fragments(collapse.scene, collapse.camera, *pose, opacity, collapse.supersample, on)

    render(wp_device)  # compiles the kernel once per machine (cached in ~/.cache/warp)
    image, seconds = timed(render, wp_device)
    detail = f"{width}x{height}, {len(collapse.fracture.fragments)} fragments, x{collapse.supersample} samples: {seconds * 1e3:.1f} ms/frame"
    if device == "cuda":
        if not wp_device.startswith("cuda"):
            raise RuntimeError(f"Warp ray-casts on {wp_device}, not CUDA")
        cpu, cpu_seconds = timed(render, "cpu")
        agree = float((cpu.fragment_id == image.fragment_id).mean())
        if agree < 0.99:
            raise RuntimeError(f"CUDA fragment IDs agree with the CPU's on only {agree:.1%} of pixels")
        detail += f"; CPU {cpu_seconds * 1e3:.0f} ms ({cpu_seconds / seconds:.0f}x), IDs agree {agree:.2%}"
    if not np.isfinite(image.depth).all():
        raise RuntimeError("non-finite depth")
    return wp_device, seconds, detail


def check_nvml_energy(device):
    require("pynvml", "pip install nvidia-ml-py")
    from genvfx.backend.provenance.energy import EnergyMeter, NvmlCounters

    if device != "cuda":
        raise Skip("no GPU: NVML counts a GPU's energy")
    if not NvmlCounters():
        raise RuntimeError("NVML gives no total-energy counter (no driver library, or a GPU without the counter)")
    torch = require("torch", "pip install torch")
    meter = EnergyMeter(on_gpu=True)
    x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    started = time.perf_counter()
    while time.perf_counter() - started < 3.0:
        for _ in range(20):
            x @ x
        torch.cuda.synchronize()
    usage = meter.lap()
    if usage.energy_joules <= 0:
        raise RuntimeError(f"NVML counted {usage.energy_joules} J over {usage.wall_seconds:.1f} s of load")
    watts = usage.energy_joules / usage.wall_seconds
    return meter.device, usage.wall_seconds, f"{usage.energy_joules:.0f} J in {usage.wall_seconds:.1f} s of bf16 matmuls ({watts:.0f} W); {usage.method}"


def _bench(script: str, arguments: list[str], device: str, keep) -> tuple[str, float, str]:
    command = [sys.executable, str(ROOT / "benchmarks" / script), *arguments]
    run, seconds = timed(subprocess.run, command, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONUNBUFFERED="1"))
    if run.returncode != 0:
        raise RuntimeError(f"exit {run.returncode}: {(run.stderr or run.stdout).strip().splitlines()[-1:]}")
    lines = [" ".join(line.split()) for line in run.stdout.splitlines() if keep(line)]
    return device, seconds, " | ".join(lines)


def check_bench_fill_adapters(device):
    size = "1920x1080" if device == "cuda" else "480x270"
    # the benchmark loads its models on 'auto': CUDA where there is a GPU
    return _bench("bench_fill_adapters.py", ["--size", size, "--repeats", "1"], device,
                  lambda line: "s/frame" in line)


def check_bench_collapse(device):
    size, frames = ("960x640", "12") if device == "cuda" else ("320x212", "4")
    return _bench("bench_collapse.py", ["--size", size, "--frames", frames, "--fragments", "80", "--device", device],
                  device, lambda line: line.strip().startswith(("per frame", "whole job")))


CHECKS = {
    "torch": ("torch device", check_torch, 120),
    "fill-patchmatch": ("Debris Fill: PatchMatch (torch)", check_fill_patchmatch, 180),
    "onnx-relight": ("Relight: NormalNet (ONNX Runtime)", check_onnx_relight, 120),
    "iobinding-relight": ("Relight: ONNX Runtime IOBinding", check_iobinding_relight, 120),
    "fill-onnx": ("Debris Fill: ONNX adapter", check_fill_onnx, 120),
    "iobinding-fill-onnx": ("Debris Fill: ONNX IOBinding", check_iobinding_fill_onnx, 120),
    "fill-diffusers-fp16": ("Debris Fill: diffusers adapter fp16", check_fill_diffusers_fp16, 180),
    "warp-raycast": ("Collapse Sim: Warp ray-cast", check_warp_raycast, 180),
    "nvml-energy": ("Provenance: NVML energy", check_nvml_energy, 60),
    "bench-fill-adapters": ("bench_fill_adapters.py (auto)", check_bench_fill_adapters, 270),
    "bench-collapse": ("bench_collapse.py", check_bench_collapse, 270),
}


# --------------------------------------------------------------------------- running


def run_one(name: str, device: str) -> dict:
    label, check, _ = CHECKS[name]
    started = time.perf_counter()
    try:
        used, seconds, detail = check(device)
        row = {"status": "ok", "device": used, "seconds": seconds, "detail": detail}
    except Skip as why:
        row = {"status": "skipped", "device": "-", "seconds": None, "detail": str(why)}
    except Exception as exc:  # every failure becomes a row, with where it happened
        frames = traceback.extract_tb(exc.__traceback__)
        where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames)
                      if "genvfx" in f.filename or str(ROOT) in f.filename), "")
        row = {"status": "fail", "device": device, "seconds": None,
               "detail": f"{type(exc).__name__}: {exc}" + (f" ({where})" if where else ""),
               "traceback": traceback.format_exc()}
    row.update(name=name, label=label, wall=time.perf_counter() - started)
    return row


def run_isolated(name: str, device: str, log, limit: float) -> dict:
    """``name`` in a process of its own (and its own process group, so that a benchmark it
    started ends with it), under ``limit`` seconds."""
    import signal

    command = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--device", device]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=dict(os.environ, PYTHONUNBUFFERED="1"), start_new_session=True)
    try:
        output, _ = child.communicate(timeout=limit)
        code = child.returncode
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        output, _ = child.communicate()
        code = f"timed out after {limit:.0f} s"
    log.write(f"===== {name} ({device})\n{output}\n")
    log.flush()
    for line in reversed(output.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = [line for line in output.strip().splitlines() if line.strip()][-1:] or [""]
    return {"name": name, "label": CHECKS[name][0], "status": "fail", "device": device, "seconds": None,
            "wall": time.perf_counter() - started, "detail": f"process ended ({code}) without a result: {tail[0][:200]}"}


def print_table(rows: list[dict]) -> None:
    headers = ("path", "device used", "time", "result", "detail")
    table = []
    for row in rows:
        seconds = row.get("seconds")
        shown = "-" if seconds is None else (f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s")
        result = row["status"] if row["status"] == "ok" else f"{row['status']}"
        table.append((row["label"], row["device"], shown, result, row["detail"]))
    widths = [max(len(headers[i]), *(len(str(r[i])) for r in table)) for i in range(4)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers[:4], widths)) + "  " + headers[4]
    print(line)
    print("-" * min(len(line) + 60, 160))
    for r in table:
        print("  ".join(str(v).ljust(w) for v, w in zip(r[:4], widths)) + "  " + str(r[4]))


def environment_line() -> str:
    parts = [f"Python {sys.version.split()[0]}"]
    for module, name in (("numpy", "numpy"), ("torch", "torch"), ("onnxruntime", "onnxruntime"),
                         ("warp", "warp"), ("diffusers", "diffusers")):
        try:
            version = __import__(module).__version__
        except Exception:
            version = "absent"
        parts.append(f"{name} {version}")
    try:
        import onnxruntime as ort

        parts.append("ORT providers " + ",".join(p.replace("ExecutionProvider", "") for p in ort.get_available_providers()))
    except Exception:
        pass
    return ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(CHECKS), help="run only these checks (repeatable)")
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--one", choices=sorted(CHECKS), help=argparse.SUPPRESS)
    parser.add_argument("--log", default=None, help="where the checks' own output goes (default: a temporary file)")
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for all the checks (default 480)")
    args = parser.parse_args()
    if args.one:
        row = run_one(args.one, args.device)
        if row.get("traceback"):
            print(row["traceback"], file=sys.stderr)
        print(RESULT_TAG + json.dumps({k: v for k, v in row.items() if k != "traceback"}), flush=True)
        return 0
    device = args.device
    has_gpu = gpu_present()
    if device == "auto":
        device = "cuda" if has_gpu else "cpu"
    started = time.perf_counter()
    log_path = Path(args.log) if args.log else Path(tempfile.mkstemp(prefix="genvfx-gpu-check-", suffix=".log")[1])
    print(f"genvfx GPU check: {environment_line()}", flush=True)
    if device == "cpu":
        print("no GPU: CUDA paths skipped; the same paths run on the CPU" if not has_gpu
              else "--device cpu: CUDA paths skipped; the same paths run on the CPU", flush=True)
    rows = []
    with open(log_path, "w") as log:
        for name in args.only or list(CHECKS):
            left = args.budget - (time.perf_counter() - started)
            if left < 20:
                row = {"name": name, "label": CHECKS[name][0], "status": "skipped", "device": "-", "seconds": None,
                       "wall": 0.0, "detail": f"the {args.budget:.0f} s budget is spent"}
            else:
                row = run_isolated(name, device, log, min(CHECKS[name][2], left))
            print(f"  {row['status']:7s} {name} ({row['wall']:.0f} s)", flush=True)
            rows.append(row)
    print()
    print_table(rows)
    failed = [row["name"] for row in rows if row["status"] == "fail"]
    print()
    print(f"{sum(r['status'] == 'ok' for r in rows)} ok, {len(failed)} failed, "
          f"{sum(r['status'] == 'skipped' for r in rows)} skipped on {device} in {time.perf_counter() - started:.0f} s"
          f"; the checks' own output: {log_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
