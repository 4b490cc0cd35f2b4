"""``genvfx proxy DIR --out PROXYDIR``: review proxies, optionally watermarked and signed;
``genvfx proxy --detect FILE``: read a proxy's watermark (and Content Credentials)."""

from __future__ import annotations

from pathlib import Path

from ..errors import BadInput, GenVFXError
from ..review import proxies, watermark
from ..review.content_credentials import CredentialSigner, read_credentials


def _signer(args):
    if not args.sign:
        return None
    certificate, key = (Path(p) for p in args.sign)
    return CredentialSigner(certificate, key)


def make(args) -> int:
    if not args.dir or not args.out:
        raise BadInput("genvfx proxy needs DIR and --out PROXYDIR", "e.g. genvfx proxy shot_out --out proxies")
    from tqdm import tqdm

    signer = _signer(args)
    with tqdm(desc="proxies", unit="frame", dynamic_ncols=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            written = proxies.make_proxies(args.dir, args.out, args.format, args.scale, args.watermark, signer,
                                           args.fps, progress)
        finally:
            if signer is not None:
                signer.close()
    extras = [name for name, on in (("watermarked", args.watermark), ("signed (C2PA)", signer)) if on]
    print(f"{len(written)} proxy file(s) in {Path(args.out).resolve()}" + (f", {' and '.join(extras)}" if extras else ""))
    return 0


def detect(args) -> int:
    found = watermark.detect(proxies.read_media(args.detect))
    print(found.describe())
    if found.tag is not None and args.ledger:
        for folder, entry in proxies.entries_tagged(args.ledger, found.tag):
            print(f"  {folder / entry['record']['file']} (ledger entry {entry['hash'][:16]}…)")
    credentials = _credentials(Path(args.detect), args.trust_anchors)
    if credentials:
        print(credentials)
    return 0 if found.found else 1


def _credentials(path: Path, trust_anchors: str | None) -> str:
    """A line on the file's Content Credentials, when it has any and c2pa is installed."""
    try:
        info = read_credentials(path, Path(trust_anchors) if trust_anchors else None)
    except GenVFXError as error:  # no manifest, or no c2pa: the watermark is the answer then
        return f"Content Credentials: none readable ({error.message})"
    trust = "trusted" if info["trusted"] else "not trusted (no trust anchor given, or a failure)"
    return (f"Content Credentials: signed by {info['signer']}, {trust}; source type "
            f"{info['digital_source_type'].rsplit('/', 1)[-1]}; ledger entry {info['genvfx'].get('ledger_entry', '')[:16]}…")


def main(args) -> int:
    return detect(args) if args.detect else make(args)
