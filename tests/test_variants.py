"""Variants: one frame filled with several seeds at a proxy scale, to pick a look."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from genvfx import cli
from genvfx.backend.files import layers

from photos import photo_linear, rect_mask, write_mask_png, write_plate

SIZE = (192, 128)  # width, height; a quarter is 48 × 32
HOLE = (0.3, 0.35, 0.7, 0.7)


@pytest.fixture
def shot(tmp_path):
    """Two frames of a photograph (the variants use the first) and a rectangular mask."""
    photo = photo_linear("astronaut", SIZE)
    for frame in (3, 4):
        write_plate(tmp_path / f"plate.{frame:04d}.exr", photo)
        write_mask_png(tmp_path / f"mask.{frame:04d}.png", rect_mask(SIZE[1], SIZE[0], HOLE))
    return tmp_path


def fill_args(shot, out, *extra):
    return ["fill", "--plate", str(shot / "plate.####.exr"), "--mask", str(shot / "mask.####.png"),
            "--out", str(out), "--device", "cpu", *extra]


def test_variants_differ_in_the_hole_only_and_come_with_a_contact_sheet(shot, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(fill_args(shot, out, "--seed", "7", "--variants", "3")) == 0
    printed = capsys.readouterr().out
    folders = sorted(path.name for path in (out / "variants").iterdir())
    assert folders == ["seed_0007", "seed_0008", "seed_0009"]
    assert "contact sheet" in printed and "--seed" in printed
    assert not list(out.glob("DebrisFill.*.exr")), "variants are not the full job"

    combined = {}
    for seed in (7, 8, 9):
        path = out / "variants" / f"seed_{seed:04d}" / "DebrisFill.0003.exr"
        assert f"seed {seed}: {path}" in printed
        header = layers.read_header(path)
        assert str(header["genvfx.seed"]) == str(seed)
        assert '"temporal": "off"' in str(header["genvfx.params"]).replace("'", '"')
        combined[seed] = layers.read_layers(path)["DebrisFill"]["Combined"]
        assert combined[seed].shape[:2] == (SIZE[1] // 4, SIZE[0] // 4)  # the default proxy: 25 %
        assert not (out / "variants" / f"seed_{seed:04d}" / "DebrisFill.0004.exr").exists()

    mask = layers.read_layers(out / "variants" / "seed_0007" / "DebrisFill.0003.exr")["DebrisFill"]["Mask"]
    hole = mask > 0.5
    assert hole.any() and (~hole).any()
    for a, b in ((7, 8), (7, 9), (8, 9)):
        assert np.array_equal(combined[a][~hole], combined[b][~hole]), "outside the mask is the plate"
        assert np.abs(combined[a][hole] - combined[b][hole]).mean() > 1e-3, f"seeds {a} and {b} gave the same fill"

    sheet = cv2.imread(str(out / "variants.png"))
    assert sheet is not None
    height, width = SIZE[1] // 4, SIZE[0] // 4
    assert sheet.shape[:2] == (height, 4 * width + 3 * 4)  # plate + 3 variants in one row, 4 px gaps

    # The same run again: every variant comes from what is already there.
    assert cli.main(fill_args(shot, out, "--seed", "7", "--variants", "3")) == 0
    capsys.readouterr()
    for seed in (7, 8, 9):
        again = layers.read_layers(out / "variants" / f"seed_{seed:04d}" / "DebrisFill.0003.exr")["DebrisFill"]
        assert np.array_equal(again["Combined"], combined[seed])


def test_second_identical_run_computes_nothing(shot, tmp_path):
    from genvfx.backend.process.client import WorkerClient
    from genvfx.backend.run.jobs import Job
    from genvfx.commands import variants

    out = tmp_path / "out"
    job = Job(generator="fill", frames=[3, 4], seed=2, device="cpu", params={"temporal": "propagate", "key_interval": 12},
              inputs={"plate": str(shot / "plate.####.exr"), "mask": str(shot / "mask.####.png")})
    client = WorkerClient()
    try:
        first = [client.run(job) for job in variants.variant_jobs(job, 2, 0.25, out)]
        second = [client.run(job) for job in variants.variant_jobs(job, 2, 0.25, out)]
    finally:
        client.close()
    assert [result["computed"] for result in first] == [[3], [3]]
    assert [result["computed"] for result in second] == [[], []]
    assert [result["key"] for result in second] == [result["key"] for result in first]


@pytest.mark.parametrize("count", ["0", "17"])
def test_a_bad_count_is_a_one_line_error(shot, tmp_path, capsys, count):
    assert cli.main(fill_args(shot, tmp_path / "out", "--variants", count)) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "1 to 16" in error, error
    assert not (tmp_path / "out" / "variants").exists()
