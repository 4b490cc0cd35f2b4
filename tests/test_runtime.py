"""ONNX Runtime sessions as genvfx makes them: the device error says what is missing."""

import onnxruntime as ort
import pytest

from genvfx.errors import GenVFXError
from genvfx.models.runtime import onnx_session


def test_cuda_without_a_cuda_provider_names_the_provider_not_the_model(monkeypatch, tmp_path):
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(GenVFXError) as caught:
        onnx_session(tmp_path / "missing.onnx", device="cuda")
    assert caught.value.kind == "device"
    assert "CUDA" in caught.value.message and "onnxruntime-gpu" in caught.value.hint


def test_a_file_that_is_no_model_is_a_model_error(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not an onnx model")
    with pytest.raises(GenVFXError) as caught:
        onnx_session(path, device="cpu")
    assert caught.value.kind == "model" and str(path) in caught.value.message
