"""Issue 14, "Models load only what was hashed": every file a model reads is listed in
its manifest and hashed (``options.file``, ONNX external data, files behind symlinks),
and one bad manifest on the search path costs that folder only, with its name.

Tiny ONNX models are built here (no download); the worker's path through a model folder
is read → verify → load, which :func:`usable` repeats."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

from genvfx.commands import models as models_command
from genvfx.errors import GenVFXError
from genvfx.models import fill, registry

from tiny_models import onnx_folder

onnx = pytest.importorskip("onnx")


def usable(folder):
    """What the worker does with a model folder: read the manifest, verify, load."""
    manifest = registry.read_manifest(folder)
    registry.verify(manifest)
    return fill.load(manifest, "cpu")


def refused(folder, *names, call=usable) -> GenVFXError:
    """``call(folder)`` fails with a model error naming the folder and each of ``names``."""
    with pytest.raises(GenVFXError) as caught:
        call(folder)
    error = caught.value
    assert error.kind == "model", error
    assert str(folder) in error.message, error.message
    for name in names:
        assert name in error.message, error.message
    return error


def edit_manifest(folder, **changes):
    data = json.loads((folder / "manifest.json").read_text())
    data.update(changes)
    (folder / "manifest.json").write_text(json.dumps(data))
    return folder


def filled_value(filler) -> float:
    """The value the model paints into a grey plate's hole (sRGB in, linear out)."""
    plate = np.full((24, 32, 4), 0.2, np.float32)
    plate[..., 3] = 1.0
    mask = np.zeros((24, 32), np.float32)
    mask[8:16, 10:22] = 1.0
    out = filler(plate, mask, match_colour=False, feather=0)
    return float(out["Combined"][12, 16, 0])


def external_folder(folder, offset=0.5, location="weights.data", list_side=True, model_id="test.fill.external"):
    """The LaMa-signature model of ``onnx_folder`` (gain 0: it paints ``offset``) with its
    tensors in the side file ``location`` (ONNX external data)."""
    onnx_folder(folder, model_id=model_id, gain=0.0, offset=offset)
    model = onnx.load(str(folder / "model.onnx"))
    for index, tensor in enumerate(model.graph.initializer):  # raw data: what onnx stores outside
        model.graph.initializer[index].CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(tensor),
                                                                            tensor.name))
    onnx.save_model(model, str(folder / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=location, size_threshold=0)
    files = {"model.onnx": registry.sha256_file(folder / "model.onnx")}
    if list_side:
        files[location] = registry.sha256_file(folder / location)
    return edit_manifest(folder, files=files)


def relocate_external_data(folder, location):
    """Point model.onnx's external tensors at ``location`` (written as is, unchecked)."""
    model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    return edit_manifest(folder, files={"model.onnx": registry.sha256_file(folder / "model.onnx")})


# --------------------------------------------------------------------------- options.file


def test_options_file_outside_the_folder_is_refused(tmp_path):
    onnx_folder(tmp_path / "elsewhere", gain=0.0, offset=0.9)  # a working model outside
    folder = onnx_folder(tmp_path / "m", options={"file": "../elsewhere/model.onnx"})
    refused(folder, "../elsewhere/model.onnx")
    edit_manifest(folder, options={"file": str(tmp_path / "elsewhere" / "model.onnx")})
    refused(folder, str(tmp_path / "elsewhere" / "model.onnx"))


def test_options_file_must_be_listed(tmp_path):
    folder = onnx_folder(tmp_path / "m", gain=0.0, offset=0.5)
    # the same net under a name no weight rule catches, not in the files table
    (folder / "swapped.net").write_bytes((folder / "model.onnx").read_bytes())
    edit_manifest(folder, options={"file": "swapped.net"})
    refused(folder, "swapped.net")
    # and the adapter itself refuses it (a caller that skipped verify)
    refused(folder, "swapped.net", call=lambda f: fill.load(registry.read_manifest(f), "cpu"))


def test_options_file_through_a_symlink_that_leaves_the_folder(tmp_path):
    onnx_folder(tmp_path / "elsewhere", gain=0.0, offset=0.9)
    folder = onnx_folder(tmp_path / "m")
    (folder / "model.onnx").unlink()
    (folder / "model.onnx").symlink_to(tmp_path / "elsewhere" / "model.onnx")
    # listed with the right sha256: only where it leads is wrong
    edit_manifest(folder, files={"model.onnx": registry.sha256_file(folder / "model.onnx")},
                  options={"file": "model.onnx"})
    refused(folder, "model.onnx")


@pytest.mark.parametrize("value", [5, "", ["model.onnx"], "./model.onnx", "sub\\model.onnx"])
def test_options_file_of_the_wrong_form_is_a_bad_manifest(tmp_path, value):
    folder = onnx_folder(tmp_path / "m", options={"file": value})
    refused(folder, "file", call=registry.read_manifest)


def test_listed_options_file_still_loads(tmp_path):
    folder = onnx_folder(tmp_path / "m", gain=0.0, offset=0.5)
    (folder / "sub").mkdir()
    (folder / "model.onnx").rename(folder / "sub" / "net.onnx")
    edit_manifest(folder, files=registry.folder_files(folder), options={"file": "sub/net.onnx"})
    assert filled_value(usable(folder)) == pytest.approx(0.214041, abs=1e-3)  # sRGB 0.5


# --------------------------------------------------------------------------- ONNX external data


def test_unlisted_external_data_is_refused(tmp_path):
    folder = external_folder(tmp_path / "m", list_side=False)
    refused(folder, "weights.data")


def test_listed_external_data_is_hashed_into_the_model(tmp_path):
    folder = external_folder(tmp_path / "m", offset=0.5)
    manifest = registry.read_manifest(folder)
    assert filled_value(usable(folder)) == pytest.approx(0.214041, abs=1e-3)
    # the same layout with other numbers in the side file is another model, by hash...
    other = registry.read_manifest(external_folder(tmp_path / "other", offset=0.8, model_id="test.fill.external"))
    assert other.hash != manifest.hash
    # ...and swapping the side file alone is caught
    (folder / "weights.data").write_bytes((tmp_path / "other" / "weights.data").read_bytes())
    refused(folder, "weights.data")


@pytest.mark.parametrize("where", ["parent", "absolute"])
def test_external_data_outside_the_folder_is_refused(tmp_path, where):
    folder = external_folder(tmp_path / "m", list_side=False)
    (folder / "weights.data").rename(tmp_path / "weights.data")
    location = "../weights.data" if where == "parent" else str(tmp_path / "weights.data")
    relocate_external_data(folder, location)
    # the folder itself is whole and listed; ONNX Runtime refuses to read outside it
    registry.verify(registry.read_manifest(folder))
    refused(folder, "model.onnx")


def test_external_data_through_a_symlink_that_leaves_the_folder(tmp_path):
    folder = external_folder(tmp_path / "m")
    (folder / "weights.data").rename(tmp_path / "weights.data")
    (folder / "weights.data").symlink_to(tmp_path / "weights.data")
    refused(folder, "weights.data", call=lambda f: registry.verify(registry.read_manifest(f)))


def test_a_damaged_onnx_file_is_a_model_error(tmp_path):
    folder = onnx_folder(tmp_path / "m")
    (folder / "model.onnx").write_bytes(b"\xff" * 64)
    edit_manifest(folder, files=registry.folder_files(folder))
    refused(folder, "model.onnx")


# --------------------------------------------------------------------------- symlinked subfolders


def test_symlinked_subfolders_are_walked(tmp_path):
    """A subfolder linked inside the model folder is walked like a real one: its files
    are listed by :func:`registry.folder_files` under the link's name, and an unlisted
    weight seen through it is refused."""
    folder = onnx_folder(tmp_path / "m", gain=0.0, offset=0.5)
    (folder / "versions" / "v2").mkdir(parents=True)
    (folder / "versions" / "v2" / "config.json").write_text("{}")
    (folder / "current").symlink_to(folder / "versions" / "v2", target_is_directory=True)
    assert {"current/config.json", "versions/v2/config.json", "model.onnx"} <= set(registry.folder_files(folder))
    edit_manifest(folder, files=registry.folder_files(folder))
    usable(folder)
    (folder / "versions" / "v2" / "extra.safetensors").write_bytes(b"{}")
    error = refused(folder, "current/extra.safetensors")
    assert "versions/v2/extra.safetensors" in error.message


def test_a_symlinked_subfolder_outside_the_folder_is_refused(tmp_path):
    folder = onnx_folder(tmp_path / "m")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "extra.safetensors").write_bytes(b"{}")
    (folder / "sub").symlink_to(tmp_path / "outside", target_is_directory=True)
    refused(folder, "sub")
    (tmp_path / "outside" / "extra.safetensors").unlink()  # even with nothing to load in it
    refused(folder, "sub")


def test_a_symlink_loop_inside_the_folder_ends(tmp_path):
    folder = onnx_folder(tmp_path / "m", gain=0.0, offset=0.5)
    (folder / "again").symlink_to(folder, target_is_directory=True)
    (folder / "self").symlink_to(folder / "self")  # dangling loop
    usable(folder)


# --------------------------------------------------------------------------- bad manifests


def _good_data(folder):
    return json.loads((folder / "manifest.json").read_text())


BAD_MANIFESTS = {
    "id a list": lambda d: {**d, "id": ["x"]},
    "slot a number": lambda d: {**d, "slot": 3},
    "framework a list": lambda d: {**d, "framework": ["onnx"]},
    "licence an object": lambda d: {**d, "licence": {"spdx": "MIT"}},
    "files a list": lambda d: {**d, "files": ["model.onnx"]},
    "sha256 a number": lambda d: {**d, "files": {"model.onnx": 12}},
    "sha256 not hex": lambda d: {**d, "files": {"model.onnx": "not a hash"}},
    "file name empty": lambda d: {**d, "files": {"": "0" * 64}},
    "options a list": lambda d: {**d, "options": ["file"]},
    "description a list": lambda d: {**d, "description": ["x"]},
    "colour space a number": lambda d: {**d, "input_colour_space": 1},
    "top level a list": lambda d: [d],
    "missing id": lambda d: {k: v for k, v in d.items() if k != "id"},
    "invalid json": None,
}


def _break(folder, how):
    if BAD_MANIFESTS[how] is None:
        (folder / "manifest.json").write_text("{\"id\": ")
    else:
        (folder / "manifest.json").write_text(json.dumps(BAD_MANIFESTS[how](_good_data(folder))))
    return folder


@pytest.mark.parametrize("how", sorted(BAD_MANIFESTS))
def test_a_bad_manifest_is_a_model_error_naming_its_folder(tmp_path, how):
    folder = _break(onnx_folder(tmp_path / "bad", model_id="test.bad"), how)
    refused(folder, call=registry.read_manifest)


@pytest.fixture
def bad_then_good(tmp_path, monkeypatch):
    """A search path where a folder with a broken manifest comes before a good one."""
    root = tmp_path / "models"
    _break(onnx_folder(root / "a_bad", model_id="test.bad"), "id a list")
    onnx_folder(root / "b_good", model_id="test.good")
    monkeypatch.setenv("GENVFX_MODEL_PATH", str(root))
    return root


def test_a_bad_folder_earlier_on_the_path_costs_only_itself(bad_then_good):
    assert registry.find_model("test.good", slot="fill").folder == bad_then_good / "b_good"
    ids = {m.id for m in registry.list_models()}
    assert {"test.good", "genvfx.fill.patchmatch"} <= ids
    # asking for a model no folder has names the folder that could not be read
    with pytest.raises(GenVFXError) as caught:
        registry.find_model("x", slot="fill")
    assert str(bad_then_good / "a_bad") in caught.value.message


def test_asking_for_a_bad_folders_model_names_that_folder(tmp_path, monkeypatch):
    root = tmp_path / "models"
    _break(onnx_folder(root / "a_bad", model_id="test.bad"), "slot a number")
    onnx_folder(root / "b_good", model_id="test.good")
    onnx_folder(root / "c_same_id", model_id="test.bad")  # later on the path: the bad one comes first
    monkeypatch.setenv("GENVFX_MODEL_PATH", str(root))
    error = refused(root / "a_bad", "slot", call=lambda f: registry.find_model("test.bad"))
    assert error.kind == "model"
    assert "test.bad" not in {m.id for m in registry.list_models()}  # what list shows, find gives
    models, bad = registry.scan_models()
    assert [b.folder for b in bad] == [root / "a_bad"] and bad[0].id == "test.bad"
    assert "test.good" in {m.id for m in models}


def test_models_list_lists_the_good_and_reports_the_bad(bad_then_good, tmp_path, capsys):
    _break(onnx_folder(bad_then_good / "c_bad", model_id="test.bad2"), "invalid json")
    code = models_command.main(SimpleNamespace(model_path=[]))
    out, err = capsys.readouterr()
    assert code == 0
    assert "test.good" in out and "genvfx.fill.patchmatch" in out
    assert str(bad_then_good / "a_bad") in err and str(bad_then_good / "c_bad") in err
    assert "'id'" in err and "manifest.json" in err
    assert str(bad_then_good / "a_bad") not in out


def test_models_list_through_the_command_line(bad_then_good, capsys):
    from genvfx import cli

    assert cli.main(["models", "list"]) == 0
    out, err = capsys.readouterr()
    assert "test.good" in out and str(bad_then_good / "a_bad") in err and "Traceback" not in err


def test_a_search_folder_that_cannot_be_listed_is_reported(tmp_path, monkeypatch, capsys):
    locked = tmp_path / "locked"
    onnx_folder(locked / "m", model_id="test.locked")
    onnx_folder(tmp_path / "open" / "m", model_id="test.open")
    listing = registry._model_folders

    def unreadable(root):  # what a folder without read permission does (tests may run as root)
        if root == locked:
            raise PermissionError(13, "Permission denied", str(root))
        return listing(root)

    monkeypatch.setattr(registry, "_model_folders", unreadable)
    monkeypatch.setenv("GENVFX_MODEL_PATH", os.pathsep.join([str(locked), str(tmp_path / "open")]))
    models, bad = registry.scan_models()
    assert [b.folder for b in bad] == [locked] and "cannot be listed" in bad[0].reason
    assert registry.find_model("test.open").folder == tmp_path / "open" / "m"
    assert models_command.main(SimpleNamespace(model_path=[])) == 0
    assert str(locked) in capsys.readouterr().err


def test_a_manifest_that_is_not_text_is_a_bad_manifest(tmp_path):
    folder = onnx_folder(tmp_path / "m")
    (folder / "manifest.json").write_bytes(b"\xff\xfe\x00{")
    refused(folder, "manifest.json", call=registry.read_manifest)


# --------------------------------------------------------------------------- whole-folder frameworks


def test_a_diffusers_folder_lists_every_file_its_loader_reads(tmp_path):
    """diffusers and transformers folders go whole to ``from_pretrained``, which reads
    every config it finds: an unlisted scheduler config would change pixels under the
    same hash. Documentation and dotfiles are not read, and need not be listed."""
    folder = tmp_path / "sd"
    (folder / "unet").mkdir(parents=True)
    (folder / "scheduler").mkdir()
    (folder / "model_index.json").write_text("{}")
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"{}")
    (folder / "README.md").write_text("# tiny")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "download.lock").write_text("")
    files = {name: sha for name, sha in registry.folder_files(folder).items() if not name.startswith(".")}
    (folder / "manifest.json").write_text(json.dumps({"id": "test.fill.sd", "slot": "fill", "framework": "diffusers",
                                                      "licence": "CC0-1.0", "files": files}))
    manifest = registry.read_manifest(folder)
    registry.verify(manifest)
    assert manifest.path("model_index.json") == folder / "model_index.json"
    (folder / "scheduler" / "scheduler_config.json").write_text("{\"steps_offset\": 1}")
    refused(folder, "scheduler/scheduler_config.json", call=lambda f: registry.verify(registry.read_manifest(f)))
    # any file, not only weights: the loader decides what it reads
    (folder / "scheduler" / "scheduler_config.json").unlink()
    (folder / "notes.txt").write_text("")
    refused(folder, "notes.txt", call=lambda f: registry.verify(registry.read_manifest(f)))
