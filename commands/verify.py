"""``genvfx verify DIR``: recompute every frame's pixel hash and every ledger's chain,
compare every frame's provenance header with its ledger record and, with ``--trust
KEY.pub.pem``, check the studio's signatures; ``--new-key KEY.pem`` makes a signing key.

Without a trusted key a passing folder is *consistent, not authenticated*: anyone able
to edit the folder could have rewritten frames, ledger and headers to agree. With one,
it is *authenticated by* that key: the ledger's tip and every frame's entry carry its
signature (:mod:`genvfx.backend.provenance.signing`).
"""

from __future__ import annotations

import json
import sys

from ..backend.provenance import ledger, signing
from ..errors import BadInput

NOT_AUTHENTICATED = "consistent, not authenticated"


def _new_key(path: str) -> None:
    private, public, fingerprint = signing.new_key(path)
    print(f"signing key {fingerprint}\n"
          f"  private: {private} (keep it to the accounts that generate; give it as --sign-key, "
          f"GENVFX_SIGNING_KEY or the add-on's Signing Key preference)\n"
          f"  public:  {public} (for whoever checks: genvfx verify DIR --trust {public})")


def _signature_json(check: ledger.FolderCheck, checked: bool) -> dict | None:
    content = check.signature
    if content is None:
        return None
    return {"key": content.get("key"), "entries": content.get("entries"), "tip": content.get("tip"),
            "checked": checked}


def _status(check: ledger.FolderCheck, trusted) -> str:
    if check.problems:
        return f"{len(check.problems)} problem(s)"
    if trusted is not None:
        return f"ok, authenticated by {check.signed_by}"
    signed = (f"; it carries a signature by {check.signature.get('key')}, unchecked without --trust"
              if check.signature else "")
    return f"ok ({NOT_AUTHENTICATED}{signed})"


def main(args) -> int:
    if getattr(args, "new_key", None):
        _new_key(args.new_key)
        if not args.dir:
            return 0
    if not args.dir:
        raise BadInput("Give the folder to verify", "genvfx verify DIR [--trust KEY.pub.pem]")
    trusted = [signing.load_trusted(path) for path in args.trust] if getattr(args, "trust", None) else None
    folders = ledger.ledger_folders(args.dir)
    if not folders:
        print(f"genvfx: no genvfx frames or ledger under {args.dir}", file=sys.stderr)
        return 1
    checks = [ledger.check_folder(folder, trusted) for folder in folders]
    problems = sum(len(check.problems) for check in checks)
    authenticated = trusted is not None and all(check.authenticated for check in checks)
    if args.json:
        print(json.dumps({
            "verified": not problems, "authenticated": authenticated,
            "trusted_keys": [key.fingerprint for key in trusted or []],
            "folders": [{"folder": str(check.folder), "frames": check.frames, "entries": check.entries,
                         "problems": [vars(problem) for problem in check.problems],
                         "authenticated": check.authenticated, "signed_by": check.signed_by,
                         "signature": _signature_json(check, trusted is not None)} for check in checks]}, indent=2))
        return 1 if problems else 0
    for check in checks:
        print(f"{check.folder}: {check.frames} frame(s), {check.entries} ledger "
              f"entr{'y' if check.entries == 1 else 'ies'}: {_status(check, trusted)}")
        for problem in check.problems:
            print(f"  {problem}")
    if problems:
        print(f"genvfx: verify failed: {problems} problem(s)", file=sys.stderr)
        return 1
    whole = "verified: every frame's pixels and header match its ledger entry and every chain is whole"
    if trusted is None:
        print(f"{whole}; {NOT_AUTHENTICATED} (give --trust KEY.pub.pem to check the studio's signature)")
    else:
        print(f"{whole}; authenticated by {', '.join(sorted({check.signed_by for check in checks}))}")
    return 0
