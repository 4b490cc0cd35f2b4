"""``genvfx models list``: the models on the search path."""

from __future__ import annotations

from ..models import registry


def main(args) -> int:
    for manifest in registry.list_models(args.model_path):
        print(f"{manifest.id:32} {manifest.slot:10} {manifest.framework:10} {manifest.licence:20} {manifest.folder}")
    return 0
