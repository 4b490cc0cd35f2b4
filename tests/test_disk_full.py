"""Disk full loses nothing: a ledger append is a whole line or nothing, a frame that cannot
be written leaves no partial file and takes its ledger entry back, both are reported as a
``disk_full`` error naming the folder, and a run of the job afterwards records every frame
so that `genvfx verify` passes. The full disk is simulated by making the writes fail with
ENOSPC (or EDQUOT); the real OpenEXR binding reports it as a RuntimeError naming strerror."""

from __future__ import annotations

import errno
import os

import pytest

from genvfx import cli
from genvfx.backend.files import layers
from genvfx.backend.provenance import ledger, signing
from genvfx.backend.run.cache import frames_recorded
from genvfx.backend.run.executor import run_job
from genvfx.errors import GenVFXError
from test_hardening_cache import _fill


def _ledger_fd(descriptor: int) -> bool:
    try:
        return os.readlink(f"/proc/self/fd/{descriptor}").endswith(ledger.LEDGER_NAME)
    except OSError:
        return False


class FullDisk:
    """Arms os.write / os.fsync on the ledger (and optionally on the signature's temporary
    file) to fail once the disk is 'full', after writing part of the data as a real full
    disk does."""

    def __init__(self, monkeypatch, code=errno.ENOSPC, on="write", target=_ledger_fd):
        self.code, self.on, self.target, self.armed = code, on, target, False
        real_write, real_fsync = os.write, os.fsync

        def write(descriptor, data):
            if self.armed and self.on == "write" and self.target(descriptor):
                real_write(descriptor, bytes(data)[:len(data) // 2])  # half a line reaches the disk
                raise OSError(self.code, os.strerror(self.code))
            return real_write(descriptor, data)

        def fsync(descriptor):
            if self.armed and self.on == "fsync" and self.target(descriptor):
                raise OSError(self.code, os.strerror(self.code))
            return real_fsync(descriptor)

        monkeypatch.setattr(os, "write", write)
        monkeypatch.setattr(os, "fsync", fsync)


def _record(name: str) -> dict:
    return {"file": name, "pixels_sha256": "0" * 64}


@pytest.mark.parametrize("on, code, words", [("write", errno.ENOSPC, "is full"),
                                             ("fsync", errno.ENOSPC, "is full"),
                                             ("write", errno.EDQUOT, "is over its quota")])
def test_a_ledger_append_on_a_full_disk_leaves_the_ledger_byte_for_byte(tmp_path, monkeypatch, on, code, words):
    for frame in (1, 2):
        ledger.append(tmp_path, _record(f"L.{frame:04d}.exr"))
    before = (tmp_path / ledger.LEDGER_NAME).read_bytes()
    disk = FullDisk(monkeypatch, code, on)
    disk.armed = True
    with pytest.raises(GenVFXError) as info:
        ledger.append(tmp_path, _record("L.0003.exr"))
    error = info.value
    assert error.kind == "disk_full"
    assert f"The disk holding {tmp_path} {words}" in error.message and "L.0003.exr" in error.message
    assert "Free at least" in error.hint and "another disk" in error.hint
    assert (tmp_path / ledger.LEDGER_NAME).read_bytes() == before
    disk.armed = False  # space freed: the next append chains to the last whole entry
    entry = ledger.append(tmp_path, _record("L.0003.exr"))
    entries = ledger.read(tmp_path)
    assert len(entries) == 3 and entries[-1] == entry and not ledger.check_chain(entries)


def test_a_signed_append_whose_signature_cannot_be_written_is_taken_back(tmp_path, monkeypatch):
    signer = signing.load_signer(signing.new_key(tmp_path / "keys" / "k.pem")[0])
    folder = tmp_path / "out"
    ledger.append(folder, _record("L.0001.exr"), signer)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    disk = FullDisk(monkeypatch, on="fsync", target=lambda fd: ".partial" in os.readlink(f"/proc/self/fd/{fd}"))
    disk.armed = True
    with pytest.raises(GenVFXError) as info:
        ledger.append(folder, _record("L.0002.exr"), signer)
    assert info.value.kind == "disk_full"
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before  # no partial, ledger as it was


def test_an_unfinished_last_line_is_removed_by_the_next_run(small_shot, tmp_path, capsys):
    """A crash in the middle of an append (a ledger from before whole-line appends, or a
    power cut) leaves a line without its newline: only its frame is made again."""
    out = tmp_path / "out"
    run_job(_fill(small_shot, out))
    (out / "DebrisFill.0003.exr").unlink()  # the ledger goes first: its frame was never written
    text = (out / ledger.LEDGER_NAME).read_text()
    (out / ledger.LEDGER_NAME).write_text(text[:-40])
    code = cli.main(["verify", str(out)])
    assert code == 1 and "an unfinished line" in capsys.readouterr().out
    assert run_job(_fill(small_shot, out))["computed"] == [3]
    assert len(ledger.read(out)) == 3
    assert cli.main(["verify", str(out)]) == 0, capsys.readouterr().out


class _FullExrFile:
    """OpenEXR.File whose write of ``failing`` frames stops half-way with the binding's
    own error for a full disk."""

    real = None
    failing = ()

    def __init__(self, *args, **kwargs):
        self._file = self.real(*args, **kwargs)

    def __enter__(self):
        self._file.__enter__()
        return self

    def __exit__(self, *exc):
        return self._file.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self._file, name)

    def write(self, path):
        if any(f".{name}." in os.path.basename(path) for name in self.failing):
            with open(path, "wb") as handle:
                handle.write(b"v/1\x01" + bytes(200))  # the start of a frame, never finished
            raise RuntimeError(f'Failed to write pixel data to image file "{path}". No space left on device.')
        return self._file.write(path)


@pytest.mark.parametrize("signed", [False, True])
def test_a_frame_on_a_full_disk_leaves_no_partial_and_the_rerun_verifies(small_shot, tmp_path, monkeypatch,
                                                                         capsys, signed):
    import OpenEXR

    monkeypatch.delenv(signing.ENV_KEY, raising=False)
    keys = signing.new_key(tmp_path / "keys" / "k.pem") if signed else None
    out = tmp_path / "out"
    job = _fill(small_shot, out, sign_key=str(keys[0]) if signed else "")
    monkeypatch.setattr(_FullExrFile, "real", OpenEXR.File)
    monkeypatch.setattr(_FullExrFile, "failing", ("DebrisFill.0002.exr",))
    monkeypatch.setattr(OpenEXR, "File", _FullExrFile)
    with pytest.raises(GenVFXError) as info:
        run_job(job)
    error = info.value
    assert error.kind == "disk_full" and error.frame == 2
    assert f"The disk holding {out} is full" in error.message and "frame 2 (DebrisFill.0002.exr)" in error.message
    assert "Free at least" in error.hint
    assert sorted(path.name for path in out.iterdir()) == (
        ["DebrisFill.0001.exr", "ledger.jsonl"] + (["ledger.sig"] if signed else []))  # no partial
    assert [entry["record"]["file"] for entry in ledger.read(out)] == ["DebrisFill.0001.exr"]  # frame 2 taken back
    trust = ["--trust", str(keys[1])] if signed else []
    assert cli.main(["verify", str(out), *trust]) == 0, capsys.readouterr().out

    monkeypatch.setattr(OpenEXR, "File", _FullExrFile.real)  # space freed
    assert run_job(job)["computed"] == [2, 3]
    assert cli.main(["verify", str(out), *trust]) == 0, capsys.readouterr().out


def test_the_ledger_moved_aside_after_a_full_disk_and_a_rerun_verifies(small_shot, tmp_path, monkeypatch, capsys):
    """Issue 14: the disk filled while frame 3 was being recorded; the ledger was moved
    aside as the old error said, leaving the frames on disk unrecorded. A run of the job
    records every frame again and the folder verifies."""
    out = tmp_path / "out"
    disk = FullDisk(monkeypatch)
    real_append = ledger.append

    def append(folder, record, signer=None):
        disk.armed = record["file"] == "DebrisFill.0003.exr"
        try:
            return real_append(folder, record, signer)
        finally:
            disk.armed = False

    monkeypatch.setattr(ledger, "append", append)
    job = _fill(small_shot, out)
    with pytest.raises(GenVFXError) as info:
        run_job(job)
    assert info.value.kind == "disk_full" and info.value.frame == 3
    lines = (out / ledger.LEDGER_NAME).read_text().splitlines()
    assert len(lines) == 2 and (out / ledger.LEDGER_NAME).read_text().endswith("\n")  # whole lines only
    assert cli.main(["verify", str(out)]) == 0, capsys.readouterr().out  # frames 1-2 written, nothing torn

    monkeypatch.setattr(ledger, "append", real_append)
    (out / ledger.LEDGER_NAME).rename(tmp_path / "ledger.kept")
    assert cli.main(["verify", str(out)]) == 1
    assert capsys.readouterr().out.count("unrecorded:") == 2
    key = run_job(job)["key"]
    assert not frames_recorded(_fill(small_shot, tmp_path / "elsewhere"), key)
    assert frames_recorded(job, key)
    assert cli.main(["verify", str(out)]) == 0, capsys.readouterr().out
    assert [entry["record"]["frame"] for entry in ledger.by_frame(ledger.read(out))] == [1, 2, 3]
    assert all(layers.read_header(out / f"DebrisFill.{f:04d}.exr")["genvfx.frame"] == str(f) for f in (1, 2, 3))
