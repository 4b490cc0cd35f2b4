"""``genvfx verify DIR``: recompute every frame's pixel hash and every ledger's chain."""

from __future__ import annotations

import sys

from ..backend import ledger


def main(args) -> int:
    folders = ledger.ledger_folders(args.dir)
    if not folders:
        print(f"genvfx: no genvfx frames or ledger under {args.dir}", file=sys.stderr)
        return 1
    problems = 0
    for folder in folders:
        check = ledger.check_folder(folder)
        status = "ok" if not check.problems else f"{len(check.problems)} problem(s)"
        print(f"{folder}: {check.frames} frame(s), {check.entries} ledger entr{'y' if check.entries == 1 else 'ies'}: "
              f"{status}")
        for problem in check.problems:
            print(f"  {problem}")
        problems += len(check.problems)
    if problems:
        print(f"genvfx: verify failed: {problems} problem(s)", file=sys.stderr)
        return 1
    print("verified: every frame matches its ledger entry and every chain is whole")
    return 0
