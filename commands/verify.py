"""``genvfx verify DIR``: recompute every frame's pixel hash and every ledger's chain."""

from __future__ import annotations

import json
import sys

from ..backend.provenance import ledger


def main(args) -> int:
    folders = ledger.ledger_folders(args.dir)
    if not folders:
        print(f"genvfx: no genvfx frames or ledger under {args.dir}", file=sys.stderr)
        return 1
    checks = [ledger.check_folder(folder) for folder in folders]
    problems = sum(len(check.problems) for check in checks)
    if args.json:
        print(json.dumps({"verified": not problems, "folders": [
            {"folder": str(check.folder), "frames": check.frames, "entries": check.entries,
             "problems": [vars(problem) for problem in check.problems]} for check in checks]}, indent=2))
        return 1 if problems else 0
    for check in checks:
        status = "ok" if not check.problems else f"{len(check.problems)} problem(s)"
        print(f"{check.folder}: {check.frames} frame(s), {check.entries} ledger "
              f"entr{'y' if check.entries == 1 else 'ies'}: {status}")
        for problem in check.problems:
            print(f"  {problem}")
    if problems:
        print(f"genvfx: verify failed: {problems} problem(s)", file=sys.stderr)
        return 1
    print("verified: every frame matches its ledger entry and every chain is whole")
    return 0
