"""``genvfx worker``: the backend worker, JSON lines on stdin and stdout."""

from __future__ import annotations

from ..backend.process import worker


def main(args) -> int:
    return worker.main()
