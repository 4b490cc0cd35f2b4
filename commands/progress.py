"""Running a job through the worker with a progress bar on the terminal."""

from __future__ import annotations

from ..backend.process import protocol
from ..backend.process.client import WorkerClient
from ..backend.run.jobs import Job


def run_with_progress(client: WorkerClient, job: Job, label: str) -> dict:
    from tqdm import tqdm

    total = len(job.frames)
    with tqdm(total=total, desc=label, unit="frame", leave=True, dynamic_ncols=True,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total} frames [{elapsed}<{remaining}]") as bar:
        def on_event(event: dict) -> None:
            if event.get("type") == "progress":
                bar.update(round(protocol.overall_fraction(event) * total, 2) - bar.n)
                bar.set_postfix_str(f"frame {event['frame']}", refresh=False)
            elif event.get("type") == "frame_done":
                bar.set_postfix_str(f"frame {event['frame']}{' (cached)' if event.get('cached') else ''}", refresh=False)

        result = client.run(job, on_event=on_event)
        bar.update(total - bar.n)
    return result


def run_and_report(job: Job, label: str, python: str | None, model_folders: list[str]) -> dict:
    """Run ``job`` through a worker of its own with a progress bar, then print where the
    frames went and how many were computed; returns the job's result."""
    client = WorkerClient(python=python, model_folders=model_folders)
    try:
        result = run_with_progress(client, job, label)
    finally:
        client.close()
    computed = len(result["computed"])
    energy = f", {1000 * result['energy_kwh']:.3g} Wh ({result['energy_method']})" if computed else ""
    print(f"{result['pattern']}: {len(job.frames)} frame(s), {computed} computed, "
          f"{len(job.frames) - computed} up to date, {result['seconds']:.1f} s{energy}")
    return result
