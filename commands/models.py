"""``genvfx models list``: the models on the search path.

One line per usable model on stdout (id, slot, framework, licence, folder). A folder
whose manifest cannot be used (invalid JSON, a missing key, a value of the wrong type,
a file it may not name) is skipped, and said so on stderr, one line each::

    genvfx: skipped model folder /path/to/folder: manifest.json: 'id' must be a string, not a list

The exit status is 0 when at least one model is usable (the shipped ones normally
are), skipped folders or not: they are warnings, and every other model still works.
It is 1 only when no model at all is usable.
"""

from __future__ import annotations

import sys

from ..models import registry


def main(args) -> int:
    models, skipped = registry.scan_models(args.model_path)
    for manifest in models:
        print(f"{manifest.id:32} {manifest.slot:10} {manifest.framework:10} {manifest.licence:20} {manifest.folder}")
    for entry in skipped:
        print(f"genvfx: skipped model folder {entry.folder}: {entry.reason}", file=sys.stderr)
    return 0 if models else 1
