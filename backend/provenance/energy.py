"""Compute accounting: wall, CPU and GPU seconds and energy, frame by frame.

Energy is measured, never looked up online:

- GPU: NVML's total-energy counter (``nvidia-ml-py``), the delta over each frame, summed
  over the GPUs this process can see, when a job runs on a GPU;
- CPU: RAPL's package energy counters (``/sys/class/powercap/intel-rapl:N/energy_uj``,
  AMD too) where the kernel lets this user read them;
- else an estimate: this process's CPU seconds × the CPU's TDP shared among its
  hardware threads. Give the TDP of your CPU in ``GENVFX_CPU_TDP_WATTS`` (a datasheet
  figure); without it genvfx takes 10 W a thread (a typical desktop or server CPU at
  full load), and says so.

Every figure says which method made it. RAPL and NVML count the whole package or GPU, so
other work running at the same time is counted too; the estimate counts this process only.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

RAPL_ROOT = Path("/sys/class/powercap")
DEFAULT_GRID_INTENSITY = 475.0  # g CO2e per kWh, for emissions estimates
GRID_INTENSITY_NOTE = ("Default 475 g CO2e/kWh: about the world-average carbon intensity of electricity "
                       "generation in recent years. Pass --grid-intensity with your grid's or your supplier's figure.")
DEFAULT_WATTS_PER_THREAD = 10.0


def cpu_tdp() -> tuple[float, bool]:
    """(the CPU's TDP in watts, whether it was given rather than the default)."""
    threads = os.cpu_count() or 1
    try:
        given = float(os.environ["GENVFX_CPU_TDP_WATTS"])
        if given > 0:
            return given, True
    except (KeyError, ValueError):
        pass
    return DEFAULT_WATTS_PER_THREAD * threads, False


def watts_per_core() -> float:
    """The power one busy hardware thread is taken to draw: TDP / threads."""
    return cpu_tdp()[0] / (os.cpu_count() or 1)


def estimate_method() -> str:
    tdp, given = cpu_tdp()
    source = "GENVFX_CPU_TDP_WATTS" if given else f"default {DEFAULT_WATTS_PER_THREAD:g} W a thread"
    return (f"CPU: estimate, process CPU seconds × TDP {tdp:g} W ({source}) / {os.cpu_count() or 1} threads")


@dataclass
class Usage:
    """What one frame (or a whole job) cost."""

    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0
    gpu_seconds: float = 0.0
    energy_joules: float = 0.0
    method: str = ""

    def add(self, other: "Usage") -> None:
        self.wall_seconds += other.wall_seconds
        self.cpu_seconds += other.cpu_seconds
        self.gpu_seconds += other.gpu_seconds
        self.energy_joules += other.energy_joules
        self.method = other.method or self.method

    def to_record(self) -> dict:
        return {"wall_seconds": round(self.wall_seconds, 4), "cpu_seconds": round(self.cpu_seconds, 4),
                "gpu_seconds": round(self.gpu_seconds, 4), "energy_joules": round(self.energy_joules, 3),
                "energy_kwh": self.energy_joules / 3.6e6, "energy_method": self.method}


class RaplCounters:
    """The top-level RAPL domains (one per CPU package), read in joules with wrap-around."""

    def __init__(self, root: Path = RAPL_ROOT):
        self.domains = []
        for folder in sorted(root.glob("intel-rapl:*")) if root.is_dir() else []:
            if folder.name.count(":") != 1:  # intel-rapl:0:1 are sub-domains of package 0
                continue
            try:
                ceiling = int((folder / "max_energy_range_uj").read_text())
                int((folder / "energy_uj").read_text())
            except (OSError, ValueError):
                continue
            self.domains.append((folder / "energy_uj", ceiling))

    def __bool__(self) -> bool:
        return bool(self.domains)

    def read(self) -> list[int]:
        return [int(path.read_text()) for path, _ in self.domains]

    def joules_since(self, before: list[int], after: list[int]) -> float:
        total = 0
        for (_, ceiling), a, b in zip(self.domains, before, after):
            total += b - a if b >= a else b + ceiling - a
        return total / 1e6


class NvmlCounters:
    """NVML's total-energy counters (millijoules since the driver loaded) of every GPU."""

    def __init__(self):
        self.handles, self.names = [], []
        try:
            import pynvml

            pynvml.nvmlInit()
            for index in range(pynvml.nvmlDeviceGetCount()):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
                self.handles.append(handle)
                name = pynvml.nvmlDeviceGetName(handle)
                self.names.append(name.decode() if isinstance(name, bytes) else str(name))
            self._nvml = pynvml
        except Exception:  # no library, no driver, no GPU, or a GPU without the counter
            self.handles = []

    def __bool__(self) -> bool:
        return bool(self.handles)

    def read(self) -> list[int]:
        return [self._nvml.nvmlDeviceGetTotalEnergyConsumption(handle) for handle in self.handles]

    @staticmethod
    def joules_since(before: list[int], after: list[int]) -> float:
        return sum(b - a for a, b in zip(before, after)) / 1e3


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


class EnergyMeter:
    """Laps of a job: each :meth:`lap` returns the :class:`Usage` since the previous one.

    ``on_gpu`` says whether the job's work runs on a GPU (its GPU seconds are then its
    wall seconds, and NVML's counters are read)."""

    def __init__(self, on_gpu: bool = False, rapl_root: Path = RAPL_ROOT):
        self.rapl = RaplCounters(rapl_root)
        self.nvml = NvmlCounters() if on_gpu else None
        self.on_gpu = bool(self.nvml)
        parts = ["GPU: NVML energy counter"] if self.on_gpu else []
        parts.append("CPU: RAPL package counters" if self.rapl else estimate_method())
        self.method = "; ".join(parts)
        self._mark = self._read()

    @property
    def device(self) -> str:
        """What did the work, in words."""
        if self.on_gpu:
            return "cuda: " + ", ".join(self.nvml.names)
        return f"cpu: {cpu_name()} ({os.cpu_count()} threads)"

    def _read(self):
        return (time.perf_counter(), time.process_time(), self.rapl.read() if self.rapl else None,
                self.nvml.read() if self.on_gpu else None)

    def lap(self) -> Usage:
        (wall0, cpu0, rapl0, gpu0), now = self._mark, self._read()
        self._mark = now
        wall, cpu = now[0] - wall0, now[1] - cpu0
        joules = self.rapl.joules_since(rapl0, now[2]) if self.rapl else cpu * watts_per_core()
        if self.on_gpu:
            joules += self.nvml.joules_since(gpu0, now[3])
        return Usage(wall_seconds=wall, cpu_seconds=cpu, gpu_seconds=wall if self.on_gpu else 0.0,
                     energy_joules=joules, method=self.method)
