"""The report as one self-contained HTML page: inline CSS, inline SVG plots and PNG
thumbnails as data URIs; no script, no fonts or files fetched, so it opens anywhere and
can be mailed to a client as it is."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

from .report import thumbnails

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:16px 0 6px}
.muted{color:#5b6475}.status{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:600;margin:10px 0}
.ok{background:#dff3e4;color:#14592a}.bad{background:#fde2e1;color:#8a1c17}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:14px 0}
.card{background:#fff;border-radius:6px;padding:10px 12px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:20px}.card span{color:#5b6475;font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0001;margin:6px 0}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e6e8ec;vertical-align:top}
th{background:#eef0f3;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
section.shot{background:#fff;border-radius:6px;padding:12px 16px;margin:14px 0;box-shadow:0 1px 2px #0001}
.thumbs{display:flex;flex-wrap:wrap;gap:14px}.pair{display:flex;gap:4px;align-items:flex-start}
figure{margin:0}figcaption{font-size:12px;color:#5b6475}img{display:block;border-radius:3px}
code{font-size:12px;background:#eef0f3;padding:1px 4px;border-radius:3px}
"""


def _number(value: float, digits: int = 2) -> str:
    if value and abs(value) < 10 ** -digits:
        return f"{value:.2e}"
    return f"{value:,.{digits}f}"


def _energy(kwh: float) -> str:
    """kWh; small figures in Wh (a preview's frames cost fractions of a Wh)."""
    return f"{kwh * 1000:.3g} Wh" if 0 < kwh < 0.01 else f"{_number(kwh, 4)} kWh"


def _percent(value: float) -> str:
    return f"{100.0 * value:.1f} %"


def share_plot(shares: list[dict], width: int = 640, height: int = 180) -> str:
    """An SVG line of the generated share per frame (percent of the frame's area)."""
    if not shares:
        return ""
    left, right, top, bottom = 48, 12, 10, 30
    frames = [s["frame"] for s in shares]
    values = [100.0 * s["share"] for s in shares]
    ceiling = max(10.0, math.ceil(max(values) / 10.0) * 10.0)
    first, last = min(frames), max(frames)
    span = max(1, last - first)

    def x(frame):
        return left + (frame - first) / span * (width - left - right)

    def y(value):
        return top + (1.0 - value / ceiling) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="generated share per frame">']
    for tick in range(0, int(ceiling) + 1, max(10, int(ceiling) // 5 // 10 * 10 or 10)):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e6e8ec"/>'
                     f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" '
                     f'fill="#5b6475">{tick} %</text>')
    for frame in sorted({first, last, *frames[:: max(1, len(frames) // 8)]}):
        parts.append(f'<text x="{x(frame):.1f}" y="{height - 10}" font-size="11" text-anchor="middle" '
                     f'fill="#5b6475">{frame}</text>')
    points = " ".join(f"{x(f):.1f},{y(v):.1f}" for f, v in zip(frames, values))
    parts.append(f'<polyline points="{points}" fill="none" stroke="#2f6fdb" stroke-width="2"/>')
    parts += [f'<circle cx="{x(f):.1f}" cy="{y(v):.1f}" r="2.5" fill="#2f6fdb"><title>frame {f}: {v:.1f} %'
              f'</title></circle>' for f, v in zip(frames, values)]
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height}" font-size="11" text-anchor="middle" '
                 f'fill="#5b6475">frame</text></svg>')
    return "".join(parts)


def _cards(totals: dict, grid: float) -> str:
    cards = [("frames generated", f"{totals['frames']}"),
             ("generated share of the screen, over all frames", _percent(totals["share_mean"])),
             ("energy", _energy(totals["energy_kwh"])),
             (f"emissions at {grid:g} g CO2e/kWh", f"{_number(totals['emissions_g'], 2)} g"),
             ("CPU seconds", _number(totals["cpu_seconds"], 1)),
             ("GPU seconds", _number(totals["gpu_seconds"], 1))]
    return '<div class="cards">' + "".join(f"<div class=card><b>{escape(value)}</b><span>{escape(label)}</span></div>"
                                           for label, value in cards) + "</div>"


def _generator_table(report: dict) -> str:
    rows = []
    for name, group in report["generators"].items():
        models = "<br>".join(f"{escape(m['id'])} <span class=muted>({escape(m['licence'])})</span>"
                             for m in group["models"])
        rows.append(f"<tr><td>{escape(name)}</td><td class=n>{group['shots']}</td><td class=n>{group['frames']}</td>"
                    f"<td class=n>{_percent(group['share_mean'])}</td><td>{models}</td>"
                    f"<td>{escape(', '.join(map(str, group['seeds'])))}</td>"
                    f"<td class=n>{_number(group['cpu_seconds'], 1)}</td><td class=n>{_number(group['gpu_seconds'], 1)}</td>"
                    f"<td class=n>{_number(group['energy_kwh'], 4)}</td><td class=n>{_number(group['emissions_g'], 2)}</td></tr>")
    return ("<table><tr><th>generator</th><th>shots</th><th>frames</th><th>generated share</th><th>models (licence)</th>"
            "<th>seeds</th><th>CPU s</th><th>GPU s</th><th>kWh</th><th>g CO2e</th></tr>" + "".join(rows) + "</table>")


def _thumbs(shot: dict, root: Path) -> str:
    figures = []
    for pair in thumbnails(shot, root):
        images = "".join(
            f'<figure><img src="{pair[side]}" width="240" alt="{side}, frame {pair["frame"]}">'
            f"<figcaption>{side}</figcaption></figure>" for side in ("before", "after") if pair[side])
        figures.append(f'<div><div class="pair">{images}</div><figcaption>frame {pair["frame"]}: '
                       f'{_percent(pair["share"])} generated</figcaption></div>')
    return '<div class="thumbs">' + "".join(figures) + "</div>" if figures else ""


def _shot(shot: dict, root: Path) -> str:
    models = ", ".join(f"{escape(m['id'])} ({escape(m['licence'])}, sha256 <code>{m['sha256'][:16]}…</code>)"
                       for m in shot["models"])
    facts = [("generator", escape(shot["label"])), ("frames", f"{shot['frames']} ({shot['entries']} ledger entries)"),
             ("models", models), ("seeds", escape(", ".join(map(str, shot["seeds"])))),
             ("generated share", f"{_percent(shot['share_mean'])} of the screen over the shot; counted as "
                                 f"{escape('; '.join(shot['generated_basis']))}"),
             ("compute", f"{_number(shot['wall_seconds'], 1)} s wall, {_number(shot['cpu_seconds'], 1)} CPU s, "
                         f"{_number(shot['gpu_seconds'], 1)} GPU s on {escape('; '.join(shot['devices']))}"),
             ("energy", f"{_energy(shot['energy_kwh'])}, {_number(shot['emissions_g'], 2)} g CO2e "
                        f"({escape('; '.join(shot['energy_methods']))})")]
    rows = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in facts)
    title = root.name if shot["folder"] == "." else shot["folder"]
    return (f'<section class="shot"><h3>{escape(title)}</h3><table>{rows}</table>'
            f"<h3>Generated share per frame</h3>{share_plot(shot['share_per_frame'])}"
            f"{_thumbs(shot, root)}</section>")


def render(report: dict) -> str:
    root = Path(report["folder"])
    grid = report["grid_intensity_g_per_kwh"]
    if report["verified"]:
        status = '<div class="status ok">Verified: every frame matches its ledger entry; every chain is whole.</div>'
    else:
        items = "".join(f"<li>{escape(problem)}</li>" for problem in report["problems"])
        status = f'<div class="status bad">Verification failed</div><ul>{items}</ul>'
    methods = "".join(f"<li>{escape(method)}</li>" for method in report["energy_methods"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>genvfx report — {escape(root.name)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style></head>
<body><main>
<h1>AI-use and compute report</h1>
<div class="muted">{escape(str(root))} · made {escape(report["created"])} by genvfx {escape(report["genvfx"])}</div>
{status}
{_cards(report["totals"], grid)}
<h2>Per generator</h2>
{_generator_table(report)}
<h2>Per shot</h2>
{"".join(_shot(shot, root) for shot in report["shots"])}
<h2>How these figures were made</h2>
<ul><li>Each frame's record, pixel hash and cost come from the ledger beside it (<code>ledger.jsonl</code>);
<code>genvfx verify</code> checks them. A frame counts once; compute and energy count every entry, frames made
again included.</li>
<li>Energy: {len(report["energy_methods"])} method(s) used:<ul>{methods}</ul></li>
<li>Emissions: energy × {grid:g} g CO2e/kWh. {escape(report["grid_intensity_note"])}</li></ul>
</main></body></html>
"""
