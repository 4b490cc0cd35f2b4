"""Tamper evidence that an editor of the folder cannot fake: a folder written with the
studio's signing key verifies as "authenticated by" that key under `genvfx verify
--trust`, and each forgery that keeps a folder self-consistent (the hash chain recomputed)
is caught and named there; header attributes are compared with the ledger record with or
without a key."""

from __future__ import annotations

import json

import pytest

from genvfx import cli
from genvfx.backend.files import layers
from genvfx.backend.provenance import ledger, signing
from genvfx.backend.provenance.record import channels_sha256, frame_header
from genvfx.backend.run.executor import run_job
from genvfx.backend.run.jobs import Job, check_field_types
from genvfx.errors import BadInput, GenVFXError
from test_hardening_cache import _fill


@pytest.fixture(scope="module")
def studio_key(tmp_path_factory):
    """The studio's key pair: (private key path, public key path, fingerprint)."""
    return signing.new_key(tmp_path_factory.mktemp("keys") / "studio.pem")


@pytest.fixture
def signed(small_shot, tmp_path, studio_key, monkeypatch):
    """A three-frame Debris Fill written with the studio's key."""
    monkeypatch.delenv(signing.ENV_KEY, raising=False)
    out = tmp_path / "signed"
    assert run_job(_fill(small_shot, out, sign_key=str(studio_key[0])))["computed"] == [1, 2, 3]
    return out


def _verify(capsys, folder, *options) -> tuple[int, str]:
    code = cli.main(["verify", str(folder), *options])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _trust(studio_key) -> tuple[str, str]:
    return "--trust", str(studio_key[1])


def _genvfx_header(path) -> dict[str, str]:
    return {name: str(value) for name, value in layers.read_header(path).items() if str(name).startswith("genvfx.")}


def _rewrite(path, channels=None, **attributes) -> None:
    """Write the frame again with other pixels and/or header attributes (what a retoucher
    or a forger with write access does); ``None`` drops an attribute."""
    header = _genvfx_header(path)
    for name, value in attributes.items():
        header.pop(name, None) if value is None else header.__setitem__(name, value)
    layers.write_channels(path, channels if channels is not None else layers.read_channels(path), header)


def _write_ledger(folder, entries) -> None:
    (folder / ledger.LEDGER_NAME).write_text("".join(json.dumps(entry, sort_keys=True) + "\n" for entry in entries))


def _rechain(entries) -> list[dict]:
    """The entries with every seq, prev and hash recomputed: a chain anyone can make."""
    previous = ledger.GENESIS
    for position, entry in enumerate(entries):
        entry["seq"], entry["prev"] = position, previous
        entry["hash"] = ledger.entry_hash(entry)
        previous = entry["hash"]
    return entries


def _consistent_but_not_authentic(capsys, folder):
    code, output = _verify(capsys, folder)
    assert code == 0, output  # a self-consistent forgery: the chain alone cannot tell
    assert "consistent, not authenticated" in output


# -- a genuine folder ----------------------------------------------------------------------

def test_a_signed_folder_is_authenticated_by_its_key(signed, studio_key, capsys):
    private, public, fingerprint = studio_key
    code, output = _verify(capsys, signed, *_trust(studio_key))
    assert code == 0, output
    assert f"authenticated by {fingerprint}" in output
    signature = json.loads((signed / signing.SIGNATURE_NAME).read_text())
    entries = ledger.read(signed)
    assert (signature["entries"], signature["tip"], signature["file"]) == (3, entries[-1]["hash"], "DebrisFill.0003.exr")
    assert str(private) not in signature.values() and "PRIVATE" not in (signed / signing.SIGNATURE_NAME).read_text()
    for entry in entries:  # each frame signs its own entry; the key stays out of the record
        header = layers.read_header(signed / entry["record"]["file"])
        assert signing.entry_signature(header, entry["hash"])[0] == "valid"
        assert "sign_key" not in json.dumps(entry["record"]) and str(private) not in json.dumps(entry["record"])

    # without a trusted key the folder is only shown to be consistent
    code, output = _verify(capsys, signed)
    assert code == 0 and "consistent, not authenticated" in output and "authenticated by" not in output

    assert cli.main(["verify", "--json", str(signed), *_trust(studio_key)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verified"] and result["authenticated"] and result["trusted_keys"] == [fingerprint]
    folder = result["folders"][0]
    assert folder["authenticated"] and folder["signed_by"] == fingerprint
    assert folder["signature"] == {"key": fingerprint, "entries": 3, "tip": entries[-1]["hash"], "checked": True}
    assert cli.main(["verify", "--json", str(signed)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verified"] and not result["authenticated"] and result["folders"][0]["signed_by"] is None


def test_an_unsigned_folder_fails_under_trust(small_shot, tmp_path, studio_key, capsys, monkeypatch):
    monkeypatch.delenv(signing.ENV_KEY, raising=False)
    out = tmp_path / "unsigned"
    run_job(_fill(small_shot, out, frames=[1]))
    _consistent_but_not_authentic(capsys, out)
    code, output = _verify(capsys, out, *_trust(studio_key))
    assert code == 1 and "signature: ledger.sig: the folder has no signature" in output


# -- the forgeries a self-consistent chain let through ---------------------------------------

def test_a_repainted_frame_with_an_appended_entry_is_caught(signed, studio_key, capsys):
    path = signed / "DebrisFill.0002.exr"
    channels = layers.read_channels(path)
    channels["DebrisFill.Combined.R"] = channels["DebrisFill.Combined.R"] * 0.5  # repainted
    record = dict(ledger.current_entries(ledger.read(signed))["DebrisFill.0002.exr"]["record"],
                  pixels_sha256=channels_sha256(channels))
    entry = ledger.append(signed, record)  # recomputed hashes, chained like a real entry
    header = frame_header(record, entry["hash"])
    header.update({name: value for name, value in _genvfx_header(path).items() if name in signing.SIGNATURE_HEADERS})
    layers.write_channels(path, channels, header)
    _consistent_but_not_authentic(capsys, signed)

    code, output = _verify(capsys, signed, *_trust(studio_key))
    assert code == 1
    assert "signature: DebrisFill.0002.exr: ledger line 4 was added after the ledger was last signed" in output
    assert "signature: DebrisFill.0002.exr: its signature does not match its ledger entry" in output
    assert "DebrisFill.0001.exr" not in output and "DebrisFill.0003.exr" not in output


def test_a_record_edited_and_the_whole_chain_rehashed_is_caught(signed, studio_key, capsys):
    entries = ledger.read(signed)
    entries[1]["record"]["licence"] = "CC0-1.0"  # a licence the model does not have
    entries[1]["record"]["seed"] = 7
    _write_ledger(signed, _rechain(entries))
    for entry in entries:  # every header made to agree with the rewritten ledger
        path = signed / entry["record"]["file"]
        _rewrite(path, **{name: value for name, value in frame_header(entry["record"], entry["hash"]).items()})
    _consistent_but_not_authentic(capsys, signed)

    code, output = _verify(capsys, signed, *_trust(studio_key))
    assert code == 1
    assert "signature: DebrisFill.0002.exr: its signature does not match its ledger entry" in output
    assert "signature: DebrisFill.0003.exr: ledger line 3, the last one signed, is not the entry that was signed" in output
    assert "signature: DebrisFill.0001.exr" not in output  # the frame before the edit still answers to its signature


def test_the_last_frame_deleted_with_its_line_is_caught(signed, studio_key, capsys):
    (signed / "DebrisFill.0003.exr").unlink()
    _write_ledger(signed, ledger.read(signed)[:2])
    _consistent_but_not_authentic(capsys, signed)

    code, output = _verify(capsys, signed, *_trust(studio_key))
    assert code == 1
    assert ("signature: DebrisFill.0003.exr: the ledger was signed with 3 entries and has 2: line(s) 3-3 were "
            "removed") in output


def test_a_folder_signed_again_by_another_key_is_not_trusted(signed, studio_key, tmp_path, capsys):
    forger = signing.load_signer(signing.new_key(tmp_path / "forger.pem")[0])
    entries = ledger.read(signed)
    forger.sign_folder(signed, len(entries), entries[-1]["hash"], entries[-1]["record"]["file"])
    for entry in entries:
        _rewrite(signed / entry["record"]["file"], **forger.entry_header(entry["hash"]))
    code, output = _verify(capsys, signed, *_trust(studio_key))
    assert code == 1
    assert f"signature: ledger.sig: it is signed by key {forger.fingerprint}, which is not trusted" in output
    assert output.count(f"signed by key {forger.fingerprint}") == 4
    # the forger's key, given as trusted, authenticates it: trust is in the key, not the folder
    public = tmp_path / "forger.pub.pem"
    assert _verify(capsys, signed, "--trust", str(public))[0] == 0


def test_an_edited_ledger_signature_is_caught(signed, studio_key, capsys):
    path = signed / signing.SIGNATURE_NAME
    signature = json.loads(path.read_text())
    signature["entries"] = 2  # claims a shorter ledger, to hide lines added after it
    path.write_text(json.dumps(signature))
    code, output = _verify(capsys, signed, *_trust(studio_key))
    assert code == 1 and "signature: ledger.sig: it is not a valid signature" in output


# -- header attributes, with or without a key ------------------------------------------------

def test_a_header_attribute_edited_is_caught_without_a_key(signed, studio_key, capsys):
    _rewrite(signed / "DebrisFill.0002.exr", **{"genvfx.licence": "CC0-1.0"})
    code, output = _verify(capsys, signed)
    assert code == 1
    assert ("header: DebrisFill.0002.exr: its genvfx.licence attribute is 'CC0-1.0' but the ledger records "
            "'GPL-3.0-or-later'") in output
    _rewrite(signed / "DebrisFill.0002.exr", **{"genvfx.licence": "GPL-3.0-or-later", "genvfx.seed": None,
                                                "genvfx.note": "approved"})
    code, output = _verify(capsys, signed)
    assert code == 1
    assert "header: DebrisFill.0002.exr: its header lacks the genvfx.seed attribute" in output
    assert "its genvfx.note attribute is not in the ledger record" in output
    assert "DebrisFill.0001.exr" not in output


def test_a_generators_own_attributes_are_recorded_and_compared():
    record = {"file": "Relight.0001.exr", "generator": "relight", "version": "v", "model": "m",
              "model_sha256": "0" * 64, "licence": "MIT", "params": {}, "seed": 0, "frame": 1, "inputs": {},
              "key": "k", "generated_share": 1.0, "created": "now",
              "header": {"genvfx.relight.light": '{"direction": [0, 0, 1]}'}}
    entry = {"record": record, "hash": "h"}
    header = frame_header(record, "h")
    assert header["genvfx.relight.light"] == '{"direction": [0, 0, 1]}' and not ledger.header_problems(header, entry)
    header["genvfx.relight.light"] = '{"direction": [1, 0, 0]}'
    assert ledger.header_problems(header, entry) == [
        "its genvfx.relight.light attribute is '{\"direction\": [1, 0, 0]}' but the ledger records "
        "'{\"direction\": [0, 0, 1]}'"]


# -- the signer: jobs, the command line, keys ---------------------------------------------------

def test_a_signing_job_makes_unsigned_frames_again_and_an_unsigned_one_keeps_signed_ones(
        small_shot, tmp_path, studio_key, capsys, monkeypatch):
    monkeypatch.delenv(signing.ENV_KEY, raising=False)
    out = tmp_path / "out"
    run_job(_fill(small_shot, out, frames=[1, 2]))
    job = _fill(small_shot, out, frames=[1, 2], sign_key=str(studio_key[0]))
    assert job.key() == _fill(small_shot, out, frames=[1, 2]).key()  # the key is not in the cache key
    assert run_job(job)["computed"] == [1, 2]  # unsigned frames are not this signer's: made again
    assert _verify(capsys, out, *_trust(studio_key))[0] == 0
    assert run_job(job)["computed"] == []
    assert run_job(_fill(small_shot, out, frames=[1, 2]))["computed"] == []


def test_the_signing_key_comes_from_the_environment_as_a_path_or_its_text(small_shot, tmp_path, studio_key,
                                                                          capsys, monkeypatch):
    monkeypatch.setenv(signing.ENV_KEY, str(studio_key[0]))
    run_job(_fill(small_shot, tmp_path / "by_path", frames=[1]))
    assert _verify(capsys, tmp_path / "by_path", *_trust(studio_key))[0] == 0
    monkeypatch.setenv(signing.ENV_KEY, studio_key[0].read_text())  # a CI secret holding the PEM itself
    run_job(_fill(small_shot, tmp_path / "by_text", frames=[1]))
    assert _verify(capsys, tmp_path / "by_text", *_trust(studio_key))[0] == 0


def test_fill_signs_with_sign_key(small_shot, tmp_path, studio_key, capsys, monkeypatch):
    monkeypatch.setenv(signing.ENV_KEY, "")  # restored after the test: --sign-key sets it for the worker
    out = tmp_path / "out"
    assert cli.main(["fill", "--plate", str(small_shot / "plate.####.exr"), "--mask", str(small_shot / "mask.####.png"),
                     "--out", str(out), "--frames", "1", "--proxy", "0.25", "--sign-key", str(studio_key[0])]) == 0
    capsys.readouterr()
    code, output = _verify(capsys, out, *_trust(studio_key))
    assert code == 0 and f"authenticated by {studio_key[2]}" in output


def test_bad_keys_are_refused_clearly(tmp_path, studio_key, capsys, monkeypatch):
    with pytest.raises(BadInput, match="exists already"):
        signing.new_key(studio_key[0])
    with pytest.raises(BadInput, match="private key: --trust takes the public key"):
        signing.load_trusted(studio_key[0])
    with pytest.raises(BadInput, match="public key, not a signing key"):
        signing.load_signer(studio_key[1])
    with pytest.raises(BadInput, match="does not exist"):
        signing.load_signer(tmp_path / "nowhere.pem")
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(BadInput, match="Cannot read the signing key"):
        signing.load_signer(tmp_path / "junk.pem")
    assert cli.main(["verify", str(tmp_path), "--trust", str(studio_key[0])]) == 2
    assert "--trust takes the public key" in capsys.readouterr().err
    assert oct(studio_key[0].stat().st_mode & 0o777) == "0o600"
    # the job's key travels as a job field, checked like the others
    job = {"generator": "fill", "inputs": {"plate": "/p.exr", "mask": "/m.png"}, "frames": [1], "cache_dir": "/c"}
    check_field_types({**job, "sign_key": "/keys/studio.pem"})
    with pytest.raises(GenVFXError, match="'sign_key' must be text") as info:
        check_field_types({**job, "sign_key": 5})
    assert info.value.kind == "bad_request"
    with pytest.raises(BadInput, match="relative path"):
        Job.from_dict({**job, "sign_key": "studio.pem"}).validate()


def test_new_key_from_the_command_line(tmp_path, capsys):
    assert cli.main(["verify", "--new-key", str(tmp_path / "k.pem")]) == 0
    output = capsys.readouterr().out
    trusted = signing.load_trusted(tmp_path / "k.pub.pem")
    assert f"signing key {trusted.fingerprint}" in output and str(tmp_path / "k.pub.pem") in output
    assert signing.load_signer(tmp_path / "k.pem").fingerprint == trusted.fingerprint
