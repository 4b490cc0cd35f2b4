"""Tiny randomly initialised models built on the spot (no download), for the adapter
tests and benchmarks: they prove the plumbing, not the art."""

from __future__ import annotations

import json

from genvfx.models import registry


def write_manifest(folder, model_id, framework, slot="fill", **fields):
    manifest = {"id": model_id, "slot": slot, "framework": framework, "licence": "CC0-1.0",
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


def _tiny_clip(folder):
    """A tiny CLIP text encoder and a tokenizer with a handful of tokens (Marigold encodes
    an empty prompt once)."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "a</w>": 2, "b</w>": 3}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=8)
    encoder = CLIPTextModel(CLIPTextConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=37,
                                           num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=8,
                                           bos_token_id=0, eos_token_id=1, pad_token_id=1))
    return tokenizer, encoder


def tiny_marigold_folder(folder, intrinsics=False):
    """A randomly initialised Marigold normals (or intrinsics: albedo, shading, residual)
    pipeline, 32 px processing, 2 steps."""
    import torch
    from diffusers import (AutoencoderKL, DDIMScheduler, MarigoldIntrinsicsPipeline, MarigoldNormalsPipeline,
                           UNet2DConditionModel)

    torch.manual_seed(0)
    targets = 3 if intrinsics else 1
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=4 + 4 * targets, out_channels=4 * targets, layers_per_block=1,
        block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32)
    vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2)
    tokenizer, encoder = _tiny_clip(folder / "_clip")
    scheduler = DDIMScheduler(steps_offset=1, prediction_type="v_prediction", timestep_spacing="trailing")
    common = dict(unet=unet, vae=vae, scheduler=scheduler, text_encoder=encoder, tokenizer=tokenizer,
                  prediction_type="normals" if not intrinsics else "intrinsics",
                  default_denoising_steps=2, default_processing_resolution=32)
    if intrinsics:
        properties = {"target_names": ["albedo", "shading", "residual"],
                      "albedo": {"prediction_space": "srgb"}, "shading": {"prediction_space": "linear"},
                      "residual": {"prediction_space": "linear"}}
        pipe = MarigoldIntrinsicsPipeline(target_properties=properties, **common)
    else:
        pipe = MarigoldNormalsPipeline(use_full_z_range=True, **common)
    import shutil

    shutil.rmtree(folder / "_clip")
    pipe.save_pretrained(folder, safe_serialization=True)
    kind = "marigold-intrinsics" if intrinsics else "marigold-normals"
    return write_manifest(folder, f"test.relight.{kind}", "diffusers", slot="relight",
                          options={"kind": kind, "steps": 2, "processing_resolution": 32})


def tiny_depth_folder(folder):
    """A randomly initialised DPT depth model (ViT backbone, 32 px) and its processor."""
    import torch
    from transformers import DPTConfig, DPTForDepthEstimation, DPTImageProcessor

    torch.manual_seed(0)
    config = DPTConfig(hidden_size=32, num_hidden_layers=4, num_attention_heads=4, intermediate_size=37,
                       image_size=32, patch_size=8, backbone_out_indices=[0, 1, 2, 3],
                       neck_hidden_sizes=[16, 16, 16, 16], fusion_hidden_size=16, reassemble_factors=[4, 2, 1, 0.5],
                       head_in_index=-1, is_hybrid=False)
    DPTForDepthEstimation(config).save_pretrained(folder, safe_serialization=True)
    DPTImageProcessor(size={"height": 32, "width": 32}, keep_aspect_ratio=False).save_pretrained(folder)
    return write_manifest(folder, "test.relight.depth", "transformers", slot="relight",
                          options={"kind": "depth"})
