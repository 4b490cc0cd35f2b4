"""The embedded Relight network: a small U-Net that reads a plate and predicts, per
pixel, the camera-space surface normal, the relative (log) depth and the confidence that
the pixel is a surface at all (sky and glare are not).

The network is defined in torch (for training, ``scripts/train_relight.py``) and ships
as ONNX (``models/weights/relight-normalnet``), run by ONNX Runtime. Both see the same
input, made by :func:`network_input`: the plate exposure-normalised and display-encoded,
plus two channels of pixel coordinates in the frame (so a crop seen in training and the
whole frame seen at run time agree on where the horizon can be).
"""

from __future__ import annotations

import numpy as np

#: Channels in: RGB + x, y coordinates.  Channels out: normal XYZ, log depth, surface logit.
IN_CHANNELS = 5
OUT_CHANNELS = 5
#: Spatial sizes must divide by this (four 2x downsamplings).
MULTIPLE = 16
#: The long side of the frame the network runs at by default (the model folder's
#: ``options.working_size`` says what it was trained at): small, because the normals of
#: a street are mostly large planes whose orientation needs the whole frame's context,
#: and the guided upsampling puts the edges back at the plate's resolution.
WORKING_SIZE = 96
WIDTHS = (16, 32, 96, 160, 256)


def exposure_normalised(rgb: np.ndarray) -> np.ndarray:
    """Scene-linear RGB scaled so its bright end sits near 1, then gamma-encoded in [0, 1]:
    the same picture for a dim, a bright or an HDR plate."""
    rgb = np.nan_to_num(np.asarray(rgb, dtype=np.float32)[..., :3], nan=0.0, posinf=0.0, neginf=0.0)
    rgb = np.maximum(rgb, 0.0)
    luminance = rgb @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    white = float(np.percentile(luminance, 98)) if luminance.size else 0.0
    if white <= 1e-8:
        return np.zeros_like(rgb)
    return np.clip(rgb / white, 0.0, 1.0) ** (1.0 / 2.2)


def coordinate_channels(height: int, width: int, window=None) -> np.ndarray:
    """x and y in [-1, 1] over the whole frame (y up), for the window ``(top, left, h, w)``
    of it (default: all of it), as two H×W planes."""
    top, left, h, w = window or (0, 0, height, width)
    scale = 2.0 / max(height, width)
    ys = (height / 2.0 - (np.arange(top, top + h, dtype=np.float32) + 0.5)) * scale
    xs = ((np.arange(left, left + w, dtype=np.float32) + 0.5) - width / 2.0) * scale
    return np.stack([np.broadcast_to(xs[None, :], (h, w)), np.broadcast_to(ys[:, None], (h, w))])


def network_input(encoded: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
    """1×5×H×W float32: encoded RGB centred on 0 and the coordinate planes."""
    rgb = np.transpose(encoded, (2, 0, 1)) - 0.5
    return np.concatenate([rgb, coordinates], axis=0)[None].astype(np.float32)


def build_network():
    """The torch module (imported lazily: running the shipped ONNX needs no torch)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    def block(cin: int, cout: int):
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(8, cout), nn.SiLU(),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.GroupNorm(8, cout), nn.SiLU())

    class NormalNet(nn.Module):
        def __init__(self, widths=WIDTHS):
            super().__init__()
            self.down = nn.ModuleList()
            cin = IN_CHANNELS
            for width in widths:
                self.down.append(block(cin, width))
                cin = width
            self.up = nn.ModuleList()
            for skip, width in zip(reversed(widths[:-1]), reversed(widths[1:])):
                self.up.append(block(width + skip, skip))
            self.head = nn.Conv2d(widths[0], OUT_CHANNELS, 1)

        def forward(self, x):
            skips = []
            for i, stage in enumerate(self.down):
                x = stage(x if i == 0 else F.avg_pool2d(x, 2))
                skips.append(x)
            for stage, skip in zip(self.up, reversed(skips[:-1])):
                x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
                x = stage(torch.cat([x, skip], dim=1))
            out = self.head(x)
            normal = F.normalize(out[:, :3], dim=1, eps=1e-6)
            return torch.cat([normal, out[:, 3:]], dim=1)

    return NormalNet()
