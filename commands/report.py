"""``genvfx report DIR``: DIR/report.json and a self-contained DIR/report.html."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..review import report_html
from ..review.report import build_report, public
from ..errors import BadInput


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_report(folder: str | Path, grid_intensity: float) -> tuple[Path, Path, dict]:
    if grid_intensity < 0:
        raise BadInput(f"Grid intensity {grid_intensity} is negative", "Give grams of CO2e per kWh, e.g. 250.")
    folder = Path(folder).resolve()
    report = build_report(folder, grid_intensity)
    if not report["shots"]:
        raise BadInput(f"No genvfx ledger under {folder}", "Give the output folder of a genvfx job, or a cache folder.")
    json_path, html_path = folder / "report.json", folder / "report.html"
    _write(json_path, json.dumps(public(report), indent=2, sort_keys=True))
    _write(html_path, report_html.render(report))
    return json_path, html_path, report


def main(args) -> int:
    json_path, html_path, report = write_report(args.dir, args.grid_intensity)
    totals = report["totals"]
    print(f"{totals['frames']} frame(s) in {totals['shots']} shot(s): {100 * totals['share_mean']:.1f} % of the "
          f"screen generated, {totals['energy_kwh']:.6f} kWh, {totals['emissions_g']:.2f} g CO2e")
    if not report["verified"]:
        print(f"warning: verification failed ({len(report['problems'])} problem(s)); see the report")
    print(f"report: {html_path}\n        {json_path}")
    return 0
