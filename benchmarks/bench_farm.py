"""genvfx farm on a local Ray cluster: wall time of a 4-shot sequence on 1 and on 2
workers, and what the farm costs per task against ``genvfx render`` on one machine.
Prints figures; checks that every run made the same frames.

    python benchmarks/bench_farm.py              # 4 shots × 6 frames, chunks of 3
    python benchmarks/bench_farm.py --frames 12 --chunk 4

Each shot is plate → Debris Fill (a key frame every 3 frames) → Relight at proxy 0.5 of a
96×64 photograph (``tests/farm_sequence.py``): 4 generate tasks and a render per shot at
the defaults. One machine is ``genvfx render`` on each shot in turn (a process each, as a
shell loop would); the farm is ``genvfx farm run --local N``, whose wall time includes
reading the shots, starting Ray and the workers (each imports Blender once). Every run
has GENVFX_THREADS=1 (one core a worker), so on a machine with fewer free cores than
workers the 2-worker figure shows the contention, not the farm.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from farm_sequence import build, differences, env, genvfx  # noqa: E402


def timed(command: list[str], root: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env(root), cwd=str(root))
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--chunk", type=int, default=3)
    parser.add_argument("--shots", type=int, default=4)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench_farm-"))
    blends = build(root, shots=args.shots, sides=("one", "w1", "w2"), frames=args.frames, key_interval=3)
    names = sorted({name for _, name in blends})

    one = 0.0
    for name in names:
        seconds, _ = timed(genvfx("render", str(blends["one", name]), "--out", str(root / "one" / "out" / name)), root)
        one += seconds
    print(f"one machine, genvfx render × {len(names)} shots of {args.frames} frames: {one:.1f} s")

    walls = {}
    for workers in (1, 2):
        side = f"w{workers}"
        seconds, output = timed(genvfx("farm", "run", *(str(blends[side, n]) for n in names), "--chunk",
                                       str(args.chunk), "--local", str(workers), "--out", str(root / side / "out")),
                                root)
        summary = re.search(r"(\d+) tasks done in ([\d.]+) s", output)
        tasks, scheduled = int(summary.group(1)), float(summary.group(2))
        task_seconds = sum(float(s) for s in re.findall(r"done .* in ([\d.]+) s", output))
        walls[workers] = seconds
        print(f"farm, {workers} worker(s): {seconds:.1f} s wall ({seconds - scheduled:.1f} s reading the shots and "
              f"starting Ray and the workers, {scheduled:.1f} s running {tasks} tasks; the tasks' own time "
              f"{task_seconds:.1f} s)")
        if workers == 1:
            print(f"  per-task overhead against one machine: {(seconds - one) / tasks:+.2f} s a task on the wall, "
                  f"{(task_seconds - one) / tasks:+.2f} s a task counting the tasks alone; Ray's own share "
                  f"{(scheduled - task_seconds) / tasks:.2f} s a task (handing out, returning)")
        for name in names:
            found = differences(blends["one", name], blends[side, name], root / "one" / "out" / name,
                                root / side / "out" / name)
            if found:
                raise SystemExit(f"{side} {name} differs from one machine: {found}")
    print(f"1 → 2 workers: {walls[1] / walls[2]:.2f}× faster on the wall; every frame, key and composite the "
          f"same as one machine's")
    print(f"(files in {root})")


if __name__ == "__main__":
    main()
