"""Headless Chromium (Debian's ``chromium`` package) for tests of HTML the project writes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# No background networking: the machine may have no network, and the page needs none.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--allow-file-access-from-files"]


def chromium() -> str:
    """The browser's path; skips the test where none is installed, except in CI (which installs it)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("CI must have Debian's chromium (the .ci/run script installs it)")
    pytest.skip("no headless Chromium here: apt-get install chromium")


def _run(page: Path, profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *arguments, page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)


def screenshot(page: Path, png: Path, size: tuple[int, int] = (1100, 1500)) -> Path:
    run = _run(page, png.parent / "chromium-profile", f"--window-size={size[0]},{size[1]}", f"--screenshot={png}")
    assert png.is_file(), run.stderr[-2000:]
    return png


def rendered_dom(page: Path, profile: Path) -> str:
    """The page's DOM after Chromium parsed and laid it out."""
    run = _run(page, profile, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout
