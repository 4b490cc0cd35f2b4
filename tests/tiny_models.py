"""Tiny randomly initialised inpainting models built on the spot (no download), for the
adapter tests and benchmark: they prove the plumbing, not the art."""

from __future__ import annotations

import json

from genvfx.models import registry


def write_manifest(folder, model_id, framework, **fields):
    manifest = {"id": model_id, "slot": "fill", "framework": framework, "licence": "CC0-1.0",
                "files": registry.folder_files(folder), "input_colour_space": "srgb",
                "description": "tiny test model", **fields}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return folder


def onnx_folder(folder, model_id="test.fill.onnx", gain=1.0, offset=0.0, size=None, **fields):
    """A LaMa-signature ONNX model: output = image × gain + offset (the mask is read and ignored)."""
    from onnx import TensorProto, helper, save

    folder.mkdir(parents=True, exist_ok=True)
    height, width = size or ("height", "width")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["image", "gain"], ["scaled"]),
         helper.make_node("Add", ["scaled", "offset"], ["shifted"]),
         helper.make_node("Mul", ["mask", "zero"], ["unused"]),
         helper.make_node("Add", ["shifted", "unused"], ["output"])],
        "tiny_inpaint",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, height, width]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, height, width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, height, width])],
        [helper.make_tensor("gain", TensorProto.FLOAT, [], [gain]),
         helper.make_tensor("offset", TensorProto.FLOAT, [], [offset]),
         helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    save(model, str(folder / "model.onnx"))
    return write_manifest(folder, model_id, "onnx", **fields)


def tiny_sd_inpaint_folder(folder):
    """A randomly initialised Stable Diffusion inpainting pipeline, 32 px, no text encoder."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=9, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32)
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2)
    pipe = StableDiffusionInpaintPipeline(vae=vae, text_encoder=None, tokenizer=None, unet=unet, scheduler=DDIMScheduler(steps_offset=1),
                                          safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    return write_manifest(folder, "test.fill.sd", "diffusers",
                          options={"defaults": {"steps": 2, "guidance": 2.0}})
