"""`genvfx report`: numbers that add up against the ledgers, and a page a browser renders."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from browser import rendered_dom, screenshot
from genvfx import cli
from genvfx.backend.provenance import ledger
from genvfx.backend.run.executor import run_job
from genvfx.backend.run.jobs import Job


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A cache with two Debris Fill shots of a photograph (seeds 0 and 1); one frame of
    the first was lost and made again, so its ledger has a superseded entry."""
    from conftest import small_shot as make_shot

    shot = make_shot.__wrapped__(tmp_path_factory.mktemp("shot"))
    cache = tmp_path_factory.mktemp("cache")
    for seed in (0, 1):
        job = Job(generator="fill", frames=[1, 2, 3], device="cpu", cache_dir=str(cache), seed=seed,
                  inputs={"plate": str(shot / "plate.####.exr"), "mask": str(shot / "mask.####.png")},
                  params={"temporal": "off"})
        result = run_job(job)
    (cache / "fill" / result["key"] / "DebrisFill.0002.exr").unlink()
    assert run_job(job)["computed"] == [2]
    return cache


def test_report_numbers_add_up_against_the_ledgers(cache, capsys):
    assert cli.main(["report", str(cache), "--grid-intensity", "250"]) == 0
    assert "6 frame(s) in 2 shot(s)" in capsys.readouterr().out
    report = json.loads((cache / "report.json").read_text())
    assert report["verified"] and report["grid_intensity_g_per_kwh"] == 250
    assert "475" in report["grid_intensity_note"]  # the default is stated
    shots = report["shots"]
    assert len(shots) == 2 and sorted(s["seeds"][0] for s in shots) == [0, 1]
    for shot in shots:
        entries = ledger.read(cache / shot["folder"])
        current = ledger.current_entries(entries)
        assert shot["frames"] == len(current) == 3 and shot["entries"] == len(entries)
        assert shot["energy_kwh"] == pytest.approx(sum(e["record"]["energy_kwh"] for e in entries))
        assert shot["cpu_seconds"] == pytest.approx(sum(e["record"]["cpu_seconds"] for e in entries))
        assert shot["emissions_g"] == pytest.approx(250 * shot["energy_kwh"])
        shares = {e["record"]["frame"]: e["record"]["generated_share"] for e in current.values()}
        assert {s["frame"]: s["share"] for s in shot["share_per_frame"]} == shares
        assert shot["share_mean"] == pytest.approx(np.mean(list(shares.values())))
        assert shot["models"] == [{"id": "genvfx.fill.patchmatch", "licence": "GPL-3.0-or-later",
                                   "sha256": entries[0]["record"]["model_sha256"]}]
    assert [s["entries"] for s in shots].count(4) == 1  # the frame made again counts its compute twice
    fill, totals = report["generators"]["fill"], report["totals"]
    assert fill["frames"] == totals["frames"] == 6 and fill["shots"] == 2 and fill["seeds"] == [0, 1]
    for name in ("energy_kwh", "cpu_seconds", "wall_seconds", "emissions_g"):
        assert fill[name] == pytest.approx(sum(shot[name] for shot in shots)) == pytest.approx(totals[name])
    assert totals["share_mean"] == pytest.approx(np.mean([s["share_mean"] for s in shots]))
    assert report["energy_methods"] and all("CPU" in method for method in report["energy_methods"])


def test_report_html_is_self_contained_and_renders_in_chromium(cache, tmp_path):
    assert cli.main(["report", str(cache)]) == 0
    page = cache / "report.html"
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", html), "the page must not load anything"
    assert "<script" not in html and html.count("data:image/png;base64,") >= 4  # before/after thumbnails
    assert html.count("<polyline") == 2  # one share plot per shot
    dom = rendered_dom(page, tmp_path / "profile")
    assert "AI-use and compute report" in dom and "Verified" in dom and "genvfx.fill.patchmatch" in dom
    png = screenshot(page, tmp_path / "report.png")
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[:2] == (1500, 1100)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 1000  # text, plots and photographs, not a blank page
    thumbnails = (np.abs(image.astype(int) - image.mean(axis=2, keepdims=True)) > 40).any(axis=2)
    assert thumbnails.mean() > 0.01  # the astronaut's colours are on the page


def test_a_failed_verification_shows_in_the_report(cache, tmp_path):
    folder = next(cache.rglob("ledger.jsonl")).parent
    lines = (folder / "ledger.jsonl").read_text()
    try:
        (folder / "ledger.jsonl").write_text("\n".join(reversed(lines.splitlines())) + "\n")
        assert cli.main(["report", str(cache)]) == 0
        report = json.loads((cache / "report.json").read_text())
        assert not report["verified"] and any("chain" in problem for problem in report["problems"])
        assert "Verification failed" in (cache / "report.html").read_text()
    finally:
        (folder / "ledger.jsonl").write_text(lines)


def test_report_of_a_folder_without_ledgers_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "No genvfx ledger" in capsys.readouterr().err
