#!/usr/bin/env python
"""Cut the Debris Fill tests' ground-truth fixtures from rendered truth shots.

For a few shots of ``scripts/make_fill_truth.py`` (``data/fill_truth/<shot>/``), one frame's
plate and true clean plate (scene-linear RGBA, half float) and its hole go into
``tests/data/fill_truth/<shot>.npz``, so the tests score fills against rendered truth
without the whole set::

    .venv/bin/python scripts/make_fill_fixtures.py [--shots demo,van_shadow,crates_truck] [--frame 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from eval_fill_truth import load_shot  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "data" / "fill_truth"))
    parser.add_argument("--shots", default="demo,van_shadow,crates_truck")
    parser.add_argument("--frame", type=int, default=1)
    parser.add_argument("--out", default=str(ROOT / "tests" / "data" / "fill_truth"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.shots.split(","):
        shot = load_shot(Path(args.data) / name)
        i = shot["frames"].index(args.frame)
        np.savez_compressed(out / f"{name}.npz", plate=shot["plates"][i].astype(np.float16),
                            truth=shot["truths"][i].astype(np.float16), hole=shot["holes"][i],
                            info=np.array(f"{shot['info']['object']}; {shot['info']['camera']}; frame {args.frame}"))
        print(f"wrote {out / name}.npz")


if __name__ == "__main__":
    main()
