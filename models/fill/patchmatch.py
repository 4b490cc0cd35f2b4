"""Debris Fill's embedded default: exemplar-based image completion in torch.

The method is the Wexler / Barnes family ("Space-time completion of video",
Wexler et al. 2007; "PatchMatch", Barnes et al. 2009), coarse to fine:

* an image pyramid is built until the hole is a few patches across;
* at each level an EM loop alternates
  (1) a nearest-neighbour field (NNF): for every patch that overlaps the hole, the
      centre of a *valid* source patch (one lying wholly outside the hole, or
      anywhere in a given exemplar) that looks most alike, found by PatchMatch —
      random (coarsest level) or upsampled (finer levels) initialisation,
      propagation of the neighbours' offsets at several jump lengths (vectorised,
      in the manner of jump flooding) and random search in shrinking windows;
  (2) voting: each hole pixel becomes the weighted mean of what the patches that
      cover it propose, weights ``exp(-d / sigma)``;
* the finer level starts from the coarse NNF, upsampled, and votes once with it.

EM started from a smooth fill does not carry structure across a large hole: on a facade the
shop glass, its base line, the paving and the kerb meet the hole and the middle becomes a grey
blend of them. So, with the plate as the source, the pyramid stops where the hole is a few
patches across (``_INIT_RADIUS``) and that level is filled greedily in the priority order of
Criminisi et al. (2004): front patches that are mostly known and that a strong isophote enters
first, each from the source patch that best matches its known part. Lines are thus continued
into the hole; the EM then starts from that fill (its NNF from where each pixel was copied) and
cleans its seams.

Left alone, EM happily fills a large hole in a photograph with whatever region of the
frame is most self-similar (a flat wall, a table top) however little it has to do with
the hole's surroundings, and copies from a brighter or darker part of a gradient show as
flat rectangles. So the search also compares a smooth colour *guide*: the local mean of
the plate around each source patch against, for a target, a smooth interpolation of the
plate's local means over the hole (pull-push). Its weight fades with the depth into the
hole (a few patches), so the fill continues what surrounds it and matches its low
frequencies at the edge, while the middle of a large hole stays free to take whatever
texture fits. At the level filled in priority order, the guide over the part of the hole no
known pixel reaches is the local mean of that fill rather than the pull-push, which would pull
the EM back towards the blend. The votes are weighed by the same energy (patch distance plus
guide).

Distances are measured in a perceptual space (a display-like encoding of the
linear values that compresses HDR highlights with a log) and on PCA-reduced patch
descriptors, so one candidate costs ``k`` (~16-24) numbers instead of
``patch² × 4``; the votes average the *linear* premultiplied RGBA values. Alpha is a
feature and is voted like the colours. Everything is vectorised torch (gathers with
precomputed offsets, ``conv2d`` for the source descriptors); the only Python loops
run over levels, iterations, candidate kinds and the ``patch²`` offsets.

Same inputs and seed give the same bytes on the same machine and device, whatever the
number of CPU threads (a seeded ``torch.Generator``; gathers, no scatter-adds with atomics;
the operations whose bits depend on how threads split the work run on one,
:func:`~genvfx.models.runtime.one_thread`).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ...errors import BadInput
from ..runtime import one_thread, torch_device
from . import structure as planar
from .params import STRUCTURES
from .rays import fill_along_rays
from .hole import hole as hole_of

#: Bump whenever the output for the same inputs changes (it is part of the cache key).
GENERATOR_VERSION = "7"  # 5: streets filled along their vanishing rays; 6: with the facades' vertical lines; 7: ray samples rounded half up from their offsets

# Tuning. Kept together so a change here reminds one to bump GENERATOR_VERSION.
_PCA_DIMS_MAX = 24          # descriptor length, at most
_PCA_DIMS_MIN = 8
_PCA_ENERGY = 0.97          # keep enough components for this share of the variance
_PCA_SAMPLES = 8192         # source patches sampled to estimate the basis
_COARSE_RADIUS = 0.5  # stop downsampling once the hole's inner radius <= this × patch
_INIT_RADIUS = 2.5    # with the plate as the source: stop at this × patch instead, and fill that level
                      # in priority order (see _priority_fill)
_PRIORITY_EPS = 0.01  # the data term's floor, so flat fronts still get filled, confidence first
_PRIORITY_SOURCES = 16384  # candidate source patches in the priority fill's exhaustive search, at most
_MIN_LEVEL_SIDE_PATCHES = 3  # a level is at least this many patches on its short side
_EM_COARSEST = 8            # EM iterations at the coarsest level ...
_EM_FINEST = 4              # ... and at the finest; levels between interpolate
_PM_FIRST = 5               # PatchMatch iterations in a level's first EM iteration
_PM_NEXT = 2                # ... and in the later ones
_JUMPS = (8, 4, 2, 1)       # propagation jump lengths (largest first, jump flooding)
_SIGMA_QUANTILE = 0.05  # vote weights exp(-d / quantile(d))
_FINAL_SHARPNESS = 4.0      # the last vote of the finest level uses sigma / this
_TEXTURE_WEIGHT = 1.0       # weight of the texture features in the distances
_GUIDE_WEIGHT = 2.0         # weight of the colour guide, per pixel of a patch, at the hole's edge
_GUIDE_DEPTH = 1.0          # ... falling as exp(-depth into the hole / (this × patch))
_GUIDE_WINDOW = 1           # the guide is a local mean over a window this many patches across
_CHUNK = 1 << 16            # targets per chunk when gathering whole patches
_RECTIFIED_PLANES = (planar.GROUND,)  # facades too made collages on the truth shots (see fill's note)
_PART_STEPS = 20            # progress steps per plane when the planes are filled one by one


def fill(plate: np.ndarray, mask: np.ndarray, *, seed: int = 0, source: np.ndarray | None = None,
         device: str = "auto", patch_size: int = 7,
         on_step: Callable[[int, int], None] | None = None, structure: str = STRUCTURES[0]) -> dict[str, np.ndarray]:
    """Fill the masked part of ``plate`` with texture taken from the rest of it (or from ``source``).

    plate: H×W×4 float32 scene-linear premultiplied RGBA (values may exceed 1.0, HDR).
    mask: H×W float32 in [0, 1]; > 0.5 means hole to fill (soft edges are allowed: > 0.5 is hole).
    source: optional H2×W2×4 (or ×3) exemplar to take patches from instead of the plate outside
        the mask.
    device: ``auto``, ``cuda`` or ``cpu``.
    patch_size: odd patch side in pixels (3 or more).
    on_step(step, of): called after each step (steps 1..of), so the caller can show progress
        and cancel by raising; the exception propagates.
    structure: with the plate as the source, how a street's structure is carried across the
        hole. The plate's vanishing point is looked for (:mod:`.structure`); where one is
        found, ``rays`` (the default) fills each hole pixel from what its ray from that point
        shows either side of the hole (:mod:`.rays`), so kerbs, shop bands and window rows
        continue at their slope; ``planes`` (experimental) fills the ground's part of the
        hole by exemplars in its rectified space, then the rest with the plain fill;
        ``none`` never looks. Where no vanishing point is found (a photograph of grass), or
        with a ``source``, the plain fill.

    Returns ``{"Combined": H×W×4 (the plate, hole filled; pixels outside the hole are the
    plate's own bits), "Fill": Combined × mask (alpha = mask where the plate is opaque),
    "Mask": H×W float32}``.
    """
    plate, mask, source = _check_inputs(plate, mask, source, patch_size)
    if structure not in STRUCTURES:
        raise BadInput(f"Unknown structure '{structure}'", f"Use one of: {', '.join(STRUCTURES)}.")
    hole = hole_of(mask)
    combined = plate.copy()
    if source is None and hole.any():
        _require_whole_source_patch(hole, patch_size)
    if hole.any():
        found = planar.find(plate, hole) if structure != "none" and source is None else None
        if found is not None and structure == "rays":  # numpy and OpenCV: no torch needed
            combined = fill_along_rays(plate, hole, found.vanishing_point, facade=found.labels != planar.GROUND)
            if on_step is not None:
                on_step(1, 1)
        elif found is not None:
            _fill_planes(combined, hole, found, int(seed), torch_device(device), int(patch_size), on_step)
        else:
            filled = _complete(plate, hole, source, int(seed), torch_device(device), int(patch_size), on_step)
            combined[hole] = filled[hole]
    elif on_step is not None:
        on_step(1, 1)
    fill_layer = (combined * mask[..., None]).astype(np.float32, copy=False)
    return {"Combined": combined, "Fill": fill_layer, "Mask": mask.copy()}


def _fill_planes(combined, hole, found, seed, device, patch, on_step):
    """Fill ``combined``'s hole plane by plane, each in its rectified space (see :mod:`.structure`);
    what no plane could take (no room for sources in its window) gets the plain fill last, with
    the planes' fills known around it."""
    width = hole.shape[1]
    parts = [r for r in (planar.rectify(combined, hole, found, plane, patch)
                         for plane in _RECTIFIED_PLANES) if r is not None]
    progress = _Progress(on_step, len(parts) + 1)
    done = np.zeros(hole.size, bool)
    out = combined.reshape(-1, combined.shape[2])
    for k, part in enumerate(parts):
        if not _has_source(part.hole | part.forbid, patch):
            progress.part(k)
            continue
        rect = _complete(part.image, part.hole, None, seed + 7919 * part.plane, device, patch,
                         progress.part(k), forbid=part.forbid)
        out[part.targets] = planar.unrectify(part, rect, width)
        done[part.targets] = True
    rest = hole & ~done.reshape(hole.shape)
    if rest.any():
        filled = _complete(combined, rest, None, seed, device, patch, progress.part(len(parts)))
        combined[rest] = filled[rest]
    progress.finish()


def _has_source(blocked, patch):
    """Whether a whole patch lies clear of ``blocked`` and of the frame's edge."""
    import cv2

    kernel = np.ones((patch, patch), np.uint8)
    touched = cv2.dilate(blocked.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1)
    return not touched.all()


class _Progress:
    """Several syntheses reported as one count: each part gets ``_PART_STEPS`` steps of the whole."""

    def __init__(self, on_step, parts):
        self.on_step, self.total, self.sent = on_step, _PART_STEPS * parts, 0

    def _reach(self, step):
        while self.on_step is not None and self.sent < step:
            self.sent += 1
            self.on_step(self.sent, self.total)

    def part(self, k):
        self._reach(_PART_STEPS * k)
        return lambda step, of: self._reach(_PART_STEPS * k + (_PART_STEPS * step) // max(of, 1))

    def finish(self):
        self._reach(self.total)


# --------------------------------------------------------------------------- inputs


def _check_inputs(plate, mask, source, patch_size):
    plate = np.asarray(plate)
    mask = np.asarray(mask)
    if plate.ndim != 3 or plate.shape[2] != 4:
        raise BadInput(f"The plate must be an H×W×4 RGBA image, got an array of shape {plate.shape}",
                       "Give the plate as RGBA.")
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise BadInput(f"The mask must be a single-channel H×W image, got an array of shape {mask.shape}",
                       "Give the mask as one channel (e.g. its alpha or value).")
    if plate.shape[:2] != mask.shape:
        raise BadInput(
            f"Plate is {plate.shape[1]}×{plate.shape[0]} but the mask is {mask.shape[1]}×{mask.shape[0]}",
            "Give a mask the size of the plate.")
    if isinstance(patch_size, bool) or int(patch_size) != patch_size or patch_size < 3 or patch_size % 2 == 0:
        raise BadInput(f"The patch size must be an odd whole number of 3 or more, got {patch_size}",
                       "Use e.g. 5, 7 or 9.")
    plate = np.ascontiguousarray(plate, dtype=np.float32)
    mask = np.ascontiguousarray(mask, dtype=np.float32)
    if not np.isfinite(plate).all():
        bad = int((~np.isfinite(plate)).any(axis=-1).sum())
        raise BadInput(f"The plate has {bad} NaN or infinite pixel(s)",
                       "Clamp or fix the plate upstream and generate again.")
    if not np.isfinite(mask).all():
        raise BadInput("The mask has NaN or infinite pixel(s)", "Fix the mask upstream and generate again.")
    height, width = mask.shape
    if min(height, width) < patch_size:
        raise BadInput(f"The plate ({width}×{height}) is smaller than one patch ({patch_size} px)",
                       "Use a larger plate or a smaller patch size.")
    if source is not None:
        source = np.asarray(source)
        if source.ndim == 2:
            source = np.repeat(source[..., None], 3, axis=2)
        if source.ndim != 3 or source.shape[2] not in (3, 4):
            raise BadInput(f"The source image must be H×W×4 RGBA, got an array of shape {source.shape}",
                           "Give the source/exemplar as RGBA.")
        source = np.ascontiguousarray(source, dtype=np.float32)
        if source.shape[2] == 3:
            source = np.concatenate([source, np.ones_like(source[..., :1])], axis=2)
        if not np.isfinite(source).all():
            raise BadInput("The source image has NaN or infinite pixel(s)",
                           "Clamp or fix the source image upstream and generate again.")
        if min(source.shape[:2]) < patch_size:
            raise BadInput(f"The source image ({source.shape[1]}×{source.shape[0]}) is smaller than one "
                           f"patch ({patch_size} px)", "Give a larger source image.")
    return plate, mask, source


def _require_whole_source_patch(hole: np.ndarray, patch_size: int) -> None:
    """Without an exemplar, at least one whole patch must lie outside the hole."""
    import cv2

    kernel = np.ones((patch_size, patch_size), np.uint8)
    touched = cv2.dilate(hole.astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1)
    if touched.all():
        raise BadInput("The mask covers the whole frame: there is nothing to sample from",
                       "Shrink the mask, or give a source/exemplar image (--source) to take texture from.")


# --------------------------------------------------------------------------- helpers

def _encode(x):
    """Display-like encoding of linear values for distances: a 1/2.2 power up to 1.0, then a log
    (matched in value and slope at 1.0) so HDR highlights do not dominate."""
    import torch

    x = x.clamp_min(0.0)
    with one_thread(x.device):  # pow's bits depend on the thread count (see one_thread)
        low = x.clamp_max(1.0).pow(1.0 / 2.2)
        high = 1.0 + torch.log(x.clamp_min(1.0)) / 2.2
    return torch.where(x > 1.0, high, low)


def _perceptual(x):
    """The distance features of a level image [6,H,W] (linear RGBA + texture): encoded RGB,
    alpha, and the texture features weighted by ``_TEXTURE_WEIGHT``."""
    import torch

    return torch.cat([_encode(x[:3]), x[3:4].clamp(0.0, 1.0), _TEXTURE_WEIGHT * x[4:]], dim=0)


def _texture(img, known, window):
    """Newson et al.'s texture features: local means over a ``window`` of |d/dx Y| and |d/dy Y|
    (Y the encoded luma), over the known pixels only. Computed at full resolution and pooled
    down the pyramid, they tell a coarse level where there is fine texture, which keeps the
    EM from settling on flat patches."""
    import torch
    import torch.nn.functional as F

    encoded = _encode(img[:3])
    with one_thread(img.device):
        luma = torch.tensordot(torch.tensor([0.2126, 0.7152, 0.0722], device=img.device), encoded, 1)
    k = known.to(luma.dtype)
    gx = torch.zeros_like(luma)
    gy = torch.zeros_like(luma)
    vx = torch.zeros_like(luma)
    vy = torch.zeros_like(luma)
    gx[:, :-1] = (luma[:, 1:] - luma[:, :-1]).abs()
    vx[:, :-1] = k[:, 1:] * k[:, :-1]
    gy[:-1] = (luma[1:] - luma[:-1]).abs()
    vy[:-1] = k[1:] * k[:-1]
    stack = torch.stack([gx * vx, gy * vy, vx, vy])[None]
    half = window // 2
    stack = F.avg_pool2d(stack, (1, 2 * half + 1), stride=1, padding=(0, half), count_include_pad=True)
    stack = F.avg_pool2d(stack, (2 * half + 1, 1), stride=1, padding=(half, 0), count_include_pad=True)[0]
    tex = stack[:2] / stack[2:].clamp_min(1e-6)
    return torch.where(stack[2:] > 1e-6, tex, torch.zeros_like(tex))


def _halve(img, known, coverage):
    """Halve an image [C,H,W] averaging its known pixels only. A coarse pixel is known when
    the share of its four fine pixels that are known exceeds ``coverage``."""
    import torch
    import torch.nn.functional as F

    height, width = known.shape
    pad = (0, width % 2, 0, height % 2)
    weight = known.to(img.dtype)[None, None]
    values = (img * weight[0])[None]
    if pad[1] or pad[3]:
        weight = F.pad(weight, pad, mode="replicate")
        values = F.pad(values, pad, mode="replicate")
    num = F.avg_pool2d(values, 2)[0]
    den = F.avg_pool2d(weight, 2)[0, 0]
    coarse_known = den > coverage
    coarse = torch.where(coarse_known[None], num / den.clamp_min(1e-12)[None], torch.zeros_like(num))
    return coarse.contiguous(), coarse_known


def _down(img, known):
    """One pyramid step: a coarse pixel is known when all four fine pixels are (the coarse
    hole is the max-pooled fine hole)."""
    return _halve(img, known, 1.0 - 1e-6)


def _pull_push(img, known):
    """A smooth fill of the unknown pixels (pull-push): the start of the coarsest level, and the
    colour guide over the hole."""
    import torch
    import torch.nn.functional as F

    if bool(known.all()) or not bool(known.any()):
        return img
    height, width = known.shape
    coarse, coarse_known = _halve(img, known, 0.0)
    coarse = _pull_push(coarse, coarse_known)
    with one_thread(img.device):  # threads change its bits (see one_thread)
        up = F.interpolate(coarse[None], scale_factor=2, mode="bilinear", align_corners=False)[0]
    up = up[:, :height, :width]
    return torch.where(known[None], img, up)


def _dilate(hole, patch):
    import torch.nn.functional as F

    return F.max_pool2d(hole.float()[None, None], patch, stride=1, padding=patch // 2)[0, 0] > 0


def _interior(height, width, radius, device):
    import torch

    inside = torch.zeros(height, width, dtype=torch.bool, device=device)
    inside[radius:height - radius, radius:width - radius] = True
    return inside


def _nearest_valid(valid_np: np.ndarray) -> np.ndarray:
    """For every pixel, the flat index of the nearest valid pixel (an L2 distance transform)."""
    import cv2

    height, width = valid_np.shape
    flat = np.arange(height * width, dtype=np.int64).reshape(height, width)
    if valid_np.all():
        return flat.ravel()
    _, labels = cv2.distanceTransformWithLabels((~valid_np).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    lut = np.zeros(int(labels.max()) + 1, dtype=np.int64)
    lut[labels[valid_np]] = flat[valid_np]
    return lut[labels].ravel()


def _patch_offsets(width, radius, device):
    import torch

    d = torch.arange(-radius, radius + 1, device=device)
    dy, dx = torch.meshgrid(d, d, indexing="ij")
    return (dy * width + dx).reshape(-1)


def _gather_patches(features_flat, centres, offsets):
    """Patch vectors [N, C*p*p] (order: channel, row, column) at flat ``centres``."""
    idx = (centres[:, None] + offsets[None, :]).reshape(-1)
    vals = features_flat.index_select(1, idx).view(features_flat.shape[0], centres.shape[0], -1)  # C, N, p*p
    return vals.permute(1, 0, 2).reshape(centres.shape[0], -1)


# --------------------------------------------------------------------------- levels

class _Source:
    """One level's source: linear image, valid patch centres and their descriptors."""

    def __init__(self, img, valid, radius):
        import torch

        self.img = img                      # C,Hs,Ws linear
        self.height, self.width = valid.shape
        self.valid = valid                  # Hs,Ws bool: whole patch valid
        dev = img.device
        self.valid_idx = torch.nonzero(valid.reshape(-1)).reshape(-1)
        # int32 (half the bytes of a random gather; a frame has fewer than 2**31 pixels)
        self.nearest = torch.from_numpy(_nearest_valid(valid.cpu().numpy()).astype(np.int32)).to(dev)
        self.lin_rows = img.reshape(img.shape[0], -1).t().contiguous()  # Hs*Ws, C
        self.features = _perceptual(img)
        self.radius = radius
        self.guide = None                   # Hs*Ws, 3: colour guide (plate as the source only)
        self.table = None                   # Hs*Ws, k+3: desc and guide side by side (views into it)

    def basis(self, generator):
        """PCA basis [C*p*p, k] of the source patches (perceptual features)."""
        import torch

        count = self.valid_idx.shape[0]
        take = min(count, _PCA_SAMPLES)
        pick = torch.randint(0, count, (take,), generator=generator, device=self.img.device)
        offsets = _patch_offsets(self.width, self.radius, self.img.device)
        vecs = _gather_patches(self.features.reshape(self.features.shape[0], -1),
                               self.valid_idx[pick], offsets).double()
        vecs = vecs - vecs.mean(0, keepdim=True)
        with one_thread(vecs.device):
            cov = vecs.t() @ vecs / max(1, take - 1)
        with one_thread("cpu"):
            evals, evecs = torch.linalg.eigh(cov.cpu())
        evals = evals.flip(0).clamp_min(0)
        evecs = evecs.flip(1)
        total = float(evals.sum())
        if total <= 0:
            k = _PCA_DIMS_MIN
        else:
            share = torch.cumsum(evals, 0) / total
            k = int((share < _PCA_ENERGY).sum()) + 1
        k = max(_PCA_DIMS_MIN, min(_PCA_DIMS_MAX, k, evecs.shape[1]))
        # Fix each vector's sign so the basis does not depend on the eigen solver's whims.
        vecs_k = evecs[:, :k]
        signs = torch.sign(vecs_k[vecs_k.abs().argmax(0), torch.arange(k)])
        signs[signs == 0] = 1
        return (vecs_k * signs).to(torch.float32).to(self.img.device)

    def describe(self, basis, patch):
        """Descriptors of every source patch centre, [Hs*Ws, k] (zeros where no whole patch fits)."""
        import torch
        import torch.nn.functional as F

        k = basis.shape[1]
        channels = self.features.shape[0]
        weight = basis.t().reshape(k, channels, patch, patch).contiguous()
        out = torch.zeros(self.height, self.width, k, dtype=torch.float32, device=self.img.device)
        r = self.radius
        rows = max(8, (1 << 18) // max(1, self.width))  # bound conv2d's scratch memory
        for y0 in range(r, self.height - r, rows):
            y1 = min(self.height - r, y0 + rows)
            strip = self.features[:, y0 - r:y1 + r][None]
            res = F.conv2d(strip, weight)[0]  # k, y1-y0, Ws-2r
            out[y0:y1, r:self.width - r] = res.permute(1, 2, 0)
        self.desc = out.reshape(-1, k).contiguous()
        return self.desc


class _Level:
    def __init__(self, img, hole, radius, forbid=None):
        import torch

        self.img = img.clone()          # C,H,W linear; hole pixels get filled
        self.hole = hole
        self.height, self.width = hole.shape
        dev = img.device
        interior = _interior(self.height, self.width, radius, dev)
        self.dilated = _dilate(hole, 2 * radius + 1)
        self.targets = torch.nonzero((self.dilated & interior).reshape(-1)).reshape(-1)
        self.ty = torch.div(self.targets, self.width, rounding_mode="floor")
        self.tx = self.targets % self.width
        self.target_in_hole = hole.reshape(-1)[self.targets]
        self.holes = torch.nonzero(hole.reshape(-1)).reshape(-1)
        self.hy = torch.div(self.holes, self.width, rounding_mode="floor")
        self.hx = self.holes % self.width
        self.own_valid = (~self.dilated) & interior   # valid centres when the plate is the source
        self.forbid = forbid        # known pixels that are no source (another plane), or None
        self.trusted = ~hole if forbid is None else ~hole & ~forbid
        if forbid is not None:
            self.own_valid &= ~_dilate(forbid, 2 * radius + 1)
        self.guide = None           # targets' colour guide [T,3] and its weight [T] (see _set_guide)
        self.guide_weight = None


def _set_guide(level, src, patch, from_fill=False):
    """The colour guide of a level whose source is the plate itself: the local mean of the encoded
    known pixels (in a window ``_GUIDE_WINDOW`` patches across) for every pixel; over the part of
    the hole that no known pixel reaches, either a pull-push of those means or, with ``from_fill``
    (the level filled in priority order), the local mean of that fill, so that the EM keeps the
    structure it carried across instead of pulling the middle of the hole towards a blend of its
    borders. Sources look it up at their centres, targets at theirs, with a weight that fades with
    the target's depth into the hole."""
    import cv2
    import torch
    import torch.nn.functional as F

    known = level.trusted
    if not bool(known.any()):
        return
    window = 2 * (_GUIDE_WINDOW * patch // 2) + 1
    weight = known.to(level.img.dtype)[None, None]
    num = F.avg_pool2d((_encode(level.img[:3]) * weight[0])[None], window, stride=1, padding=window // 2,
                       count_include_pad=False)[0]
    den = F.avg_pool2d(weight, window, stride=1, padding=window // 2, count_include_pad=False)[0]
    reached = den[0] > 1e-6
    local = torch.where(reached[None], num / den.clamp_min(1e-6), torch.zeros_like(num))
    if from_fill:
        filled = F.avg_pool2d(_encode(level.img[:3])[None], window, stride=1, padding=window // 2,
                              count_include_pad=False)[0]
        guide = torch.where(reached[None], local, filled)
    else:
        guide = _pull_push(local, reached)
    guide = guide.reshape(3, -1).t().contiguous()
    depth = cv2.distanceTransform(level.hole.cpu().numpy().astype(np.uint8), cv2.DIST_L2, 5)
    depth = torch.from_numpy(depth).to(guide.device).reshape(-1).index_select(0, level.targets)
    # One table [Hs*Ws, k+3] of descriptors and guide, so the search gathers each candidate once.
    k = src.desc.shape[1]
    src.table = torch.cat([src.desc, guide], 1)
    src.desc, src.guide = src.table[:, :k], src.table[:, k:]
    level.guide = guide.index_select(0, level.targets)
    with one_thread(depth.device):
        level.guide_weight = _GUIDE_WEIGHT * patch * patch * torch.exp(-depth / (_GUIDE_DEPTH * patch))


def _front_priority(known, confidence, luma, radius):
    """Criminisi's priority ``confidence × (data + eps)`` on the fill front of a (crop of a) level
    (-1 elsewhere), and the confidence term alone. The data term: the strongest known gradient in a
    pixel's patch, turned into an isophote, against the normal of the front."""
    import torch
    import torch.nn.functional as F

    size = 2 * radius + 1
    k = known.to(luma.dtype)
    front = ~known & (F.max_pool2d(k[None, None], 3, stride=1, padding=1)[0, 0] > 0)
    gx = torch.zeros_like(luma)
    gy = torch.zeros_like(luma)
    gx[:, 1:-1] = (luma[:, 2:] - luma[:, :-2]) * 0.5 * k[:, 2:] * k[:, :-2]
    gy[1:-1] = (luma[2:] - luma[:-2]) * 0.5 * k[2:] * k[:-2]
    _, where = F.max_pool2d((gx.square() + gy.square())[None, None], size, stride=1, padding=radius,
                            return_indices=True)
    where = where.reshape(luma.shape)
    iso_x, iso_y = -gy.reshape(-1)[where], gx.reshape(-1)[where]
    smooth = F.avg_pool2d(k[None, None], 3, stride=1, padding=1, count_include_pad=False)[0, 0]
    nx = torch.zeros_like(smooth)
    ny = torch.zeros_like(smooth)
    nx[:, 1:-1] = smooth[:, 2:] - smooth[:, :-2]
    ny[1:-1] = smooth[2:] - smooth[:-2]
    norm = (nx.square() + ny.square()).sqrt().clamp_min(1e-6)
    data = (iso_x * nx + iso_y * ny).abs() / norm
    conf = F.avg_pool2d(confidence[None, None], size, stride=1, padding=radius, count_include_pad=True)[0, 0]
    return torch.where(front, conf * (data + _PRIORITY_EPS), torch.full_like(conf, -1.0)), conf


def _priority_fill(level, src, radius):
    """Fill ``level``'s hole patch by patch in the order of Criminisi et al. ("Region filling and
    object removal by exemplar-based image inpainting", 2004): the front pixel first whose patch
    is most known (confidence) and where a strong isophote runs into the hole (data term), with
    the source patch that best matches the target's known pixels. Lines and edges that meet the
    hole are thereby carried across it, which the EM alone, started from a smooth fill, does not
    do. The search is exhaustive over at most ``_PRIORITY_SOURCES`` centres on a lattice, then
    refined around the best one; the priorities are updated around each filled patch only.
    Writes ``level.img`` and returns, for every pixel, the flat index of the source pixel it came
    from (its own index where it was known)."""
    import torch

    dev = level.img.device
    height, width = level.height, level.width
    size = 2 * radius + 1
    channels = level.img.shape[0]
    img = level.img.reshape(channels, -1)
    feats = _perceptual(level.img).reshape(-1, height * width).clone()
    n_feat = feats.shape[0]
    src_feats = src.features.reshape(n_feat, -1)
    src_offsets = _patch_offsets(src.width, radius, dev)
    offsets = _patch_offsets(width, radius, dev)
    valid = src.valid
    stride = max(1, math.ceil(math.sqrt(int(src.valid_idx.shape[0]) / _PRIORITY_SOURCES)))
    lattice = torch.zeros_like(valid)
    lattice[::stride, ::stride] = True
    candidates = torch.nonzero((valid & lattice).reshape(-1)).reshape(-1)
    if candidates.shape[0] == 0:
        candidates = src.valid_idx
    patches = _gather_patches(src_feats, candidates, src_offsets)           # N, F*p*p
    squares = patches.square().reshape(-1, n_feat, size * size).sum(1)     # N, p*p
    near = torch.arange(-(stride - 1), stride, device=dev)
    near_y, near_x = torch.meshgrid(near, near, indexing="ij")
    near_y, near_x = near_y.reshape(-1), near_x.reshape(-1)
    luma_w = torch.tensor([0.2126, 0.7152, 0.0722], device=dev)

    known = (~level.hole).clone()
    trusted = level.trusted.clone()  # known, and a source's plane: what matches and priorities look at
    confidence = trusted.to(torch.float32)
    luma = torch.tensordot(luma_w, feats[:3].reshape(3, height, width), 1)
    priority, conf = _front_priority(known, confidence, luma, radius)
    origin = torch.arange(height * width, device=dev)
    known_flat, conf_flat, luma_flat = known.reshape(-1), confidence.reshape(-1), luma.reshape(-1)
    trusted_flat = trusted.reshape(-1)
    reach = 2 * radius + 2          # how far a filled patch changes the priorities
    margin = radius + 2             # what those need around them
    while bool((~known).any()):
        best = int(torch.argmax(priority))
        by, bx = divmod(best, width)
        cy = min(max(by, radius), height - 1 - radius)
        cx = min(max(bx, radius), width - 1 - radius)
        idx = cy * width + cx + offsets
        have = trusted_flat.index_select(0, idx).to(torch.float32)           # p*p
        target = feats[:, idx] * have                                         # F, p*p
        dist = squares @ have - 2.0 * (patches @ target.reshape(-1))
        choice = candidates[int(torch.argmin(dist))]
        if stride > 1:  # refine around the lattice's best
            sy = torch.div(choice, src.width, rounding_mode="floor") + near_y
            sx = choice % src.width + near_x
            inside = (sy >= 0) & (sy < src.height) & (sx >= 0) & (sx < src.width)
            around = (sy.clamp(0, src.height - 1) * src.width + sx.clamp(0, src.width - 1))[inside]
            around = around[valid.reshape(-1)[around]]
            vecs = _gather_patches(src_feats, around, src_offsets).reshape(-1, n_feat, size * size)
            local = ((vecs - feats[:, idx][None]).square().sum(1) * have).sum(1)
            choice = around[int(torch.argmin(local))]
        todo = ~known_flat.index_select(0, idx)
        dst = idx[todo]
        taken = choice + src_offsets[todo]
        img[:, dst] = src.lin_rows.index_select(0, taken).t()
        feats[:, dst] = src_feats[:, taken]
        luma_flat[dst] = luma_w @ src_feats[:3, taken]
        origin[dst] = taken
        conf_flat[dst] = conf[by, bx]
        known_flat[dst] = True
        trusted_flat[dst] = True
        y0, y1 = max(0, cy - reach), min(height, cy + reach + 1)
        x0, x1 = max(0, cx - reach), min(width, cx + reach + 1)
        Y0, Y1 = max(0, y0 - margin), min(height, y1 + margin)
        X0, X1 = max(0, x0 - margin), min(width, x1 + margin)
        sub_p, sub_c = _front_priority(known[Y0:Y1, X0:X1], confidence[Y0:Y1, X0:X1], luma[Y0:Y1, X0:X1],
                                       radius)
        priority[y0:y1, x0:x1] = sub_p[y0 - Y0:y1 - Y0, x0 - X0:x1 - X0]
        conf[y0:y1, x0:x1] = sub_c[y0 - Y0:y1 - Y0, x0 - X0:x1 - X0]
    return origin


# --------------------------------------------------------------------------- the algorithm

def _complete(plate, hole_np, source_np, seed, device, patch, on_step, forbid=None):
    """The completed image (H×W×4). ``forbid`` (H×W bool, plate as the source only): known pixels
    that may be compared but never copied (another plane, outside the frame)."""
    import torch

    radius = patch // 2
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)

    img = torch.from_numpy(plate).to(device).permute(2, 0, 1).contiguous()
    hole = torch.from_numpy(hole_np).to(device)
    img = torch.where(hole[None], torch.zeros_like(img), img)
    no_source = None if forbid is None else torch.from_numpy(np.ascontiguousarray(forbid)).to(device)

    src_img = None
    if source_np is not None:
        src_img = torch.from_numpy(source_np).to(device).permute(2, 0, 1).contiguous()

    # --- the pyramid
    import cv2

    if hole_np.all():  # only with an exemplar: the frame's own extent sets the pyramid
        inner = min(hole_np.shape) / 2.0
    else:
        inner = float(cv2.distanceTransform(hole_np.astype(np.uint8), cv2.DIST_L2, 5).max())
    min_side = _MIN_LEVEL_SIDE_PATCHES * patch
    window = 2 * max(1, int(round(inner / (_COARSE_RADIUS * patch)))) + 1
    img = torch.cat([img, _texture(img, ~hole if no_source is None else ~hole & ~no_source, window)], 0)
    if src_img is not None:
        sh, sw = src_img.shape[1:]
        src_img = torch.cat([src_img, _texture(src_img, torch.ones(sh, sw, dtype=torch.bool, device=device),
                                               window)], 0)
    levels = [(img, hole, src_img)]
    forbids = [no_source]
    by_priority = src_img is None and not bool(hole_np.all())
    stop_radius = (_INIT_RADIUS if by_priority else _COARSE_RADIUS) * patch
    while inner / (2 ** (len(levels) - 1)) > stop_radius or (by_priority and len(levels) < 2):
        cur_img, cur_hole, cur_src = levels[-1]
        h, w = cur_hole.shape
        if min((h + 1) // 2, (w + 1) // 2) < min_side:
            break
        next_src = None
        if cur_src is not None:
            sh, sw = cur_src.shape[1:]
            if min((sh + 1) // 2, (sw + 1) // 2) < min_side:
                break
            next_src, _ = _down(cur_src, torch.ones(sh, sw, dtype=torch.bool, device=device))
        next_img, next_known = _down(cur_img, ~cur_hole)
        next_hole = ~next_known
        next_forbid = None
        if forbids[-1] is not None:  # a coarse pixel is no source when any of its fine pixels is not
            next_forbid = ~_down(forbids[-1][None].float(), ~forbids[-1])[1] & ~next_hole
        if next_src is None:
            nh, nw = next_hole.shape
            ok = (~_dilate(next_hole, patch)) & _interior(nh, nw, radius, device)
            if next_forbid is not None:
                ok &= ~_dilate(next_forbid, patch)
            if not bool(ok.any()):
                break
        levels.append((next_img, next_hole, next_src))
        forbids.append(next_forbid)

    count = len(levels)
    em_counts = []
    for i in range(count):  # i = 0 is the finest
        t = i / (count - 1) if count > 1 else 1.0
        em_counts.append(int(round(_EM_FINEST + (_EM_COARSEST - _EM_FINEST) * t)))
    total = sum(em_counts)
    step = 0

    prev = None  # (level, source, nnf_grid) of the coarser level
    for li in range(count - 1, -1, -1):
        l_img, l_hole, l_src = levels[li]
        level = _Level(l_img, l_hole, radius, forbids[li])
        if l_src is None:
            src = _Source(level.img, level.own_valid, radius)
        else:
            sh, sw = l_src.shape[1:]
            src = _Source(l_src, _interior(sh, sw, radius, device), radius)
        basis = src.basis(generator)
        src.describe(basis, patch)

        if prev is None:
            if by_priority:
                # one thread: its loop of small products gains little from more, and keeps its bits
                with one_thread(device):
                    origin = _priority_fill(level, src, radius)
                o = origin.index_select(0, level.targets)
                nnf = _snap(src, torch.div(o, level.width, rounding_mode="floor"), o % level.width)
            else:
                nnf = src.valid_idx[torch.randint(0, src.valid_idx.shape[0], level.targets.shape,
                                                  generator=generator, device=device)]
                if bool(level.hole.all()):
                    _vote(level, src, nnf, None, radius)
                else:
                    level.img = _pull_push(level.img, ~level.hole)
        else:
            nnf = _upsample_nnf(prev, level, src, generator)
            _vote(level, src, nnf, None, radius)
        if l_src is None:
            _set_guide(level, src, patch, from_fill=by_priority and prev is None)

        n_em = em_counts[li]
        for em in range(n_em):
            desc_t = _target_descriptors(level, basis, radius)
            energy = _energy(level, src, desc_t, nnf)
            n_pm = _PM_FIRST if em == 0 else _PM_NEXT
            for _ in range(n_pm):
                nnf, energy = _patchmatch_pass(level, src, desc_t, nnf, energy, generator)
            inner_e = energy[level.target_in_hole] if bool(level.target_in_hole.any()) else energy
            sigma = float(torch.quantile(inner_e[:1 << 24], _SIGMA_QUANTILE))
            if li == 0 and em == n_em - 1:
                sigma /= _FINAL_SHARPNESS
            sigma = max(sigma, 1e-8)
            _vote(level, src, nnf, energy / sigma, radius)
            step += 1
            if on_step is not None:
                on_step(step, total)
        prev = (level, src, nnf)

    out = prev[0].img[:4].permute(1, 2, 0).contiguous().cpu().numpy()
    return out


def _distance(desc_t, desc_s, candidates):
    return (desc_t - desc_s.index_select(0, candidates)).square_().sum(1)


def _energy(level, src, desc_t, candidates):
    """What the search minimises: the patch distance plus, with the plate as the source, the
    weighted difference of the colour guides at the target and the candidate."""
    if level.guide is None:
        return _distance(desc_t, src.desc, candidates)
    if src.table is not None:
        rows = src.table.index_select(0, candidates)
        k = desc_t.shape[1]
        energy = (desc_t - rows[:, :k]).square_().sum(1)
        apart = (level.guide - rows[:, k:]).square_().sum(1)
    else:
        energy = _distance(desc_t, src.desc, candidates)
        apart = (level.guide - src.guide.index_select(0, candidates)).square_().sum(1)
    return energy + level.guide_weight * apart


def _target_descriptors(level, basis, radius):
    import torch

    features = _perceptual(level.img).reshape(level.img.shape[0], -1)
    offsets = _patch_offsets(level.width, radius, level.img.device)
    n = level.targets.shape[0]
    out = torch.empty(n, basis.shape[1], dtype=torch.float32, device=level.img.device)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        patches = _gather_patches(features, level.targets[start:stop], offsets)
        with one_thread(patches.device):  # threads change a matrix product's bits (see one_thread)
            out[start:stop] = patches @ basis
    return out


def _snap(src, sy, sx):
    """Clamp source coordinates into the frame and move them onto the nearest valid centre."""
    sy = sy.clamp(0, src.height - 1)
    sx = sx.clamp(0, src.width - 1)
    return src.nearest.index_select(0, (sy * src.width + sx).reshape(-1)).view(sy.shape).long()


def _patchmatch_pass(level, src, desc_t, nnf, energy, generator):
    import torch

    dev = nnf.device
    height, width = level.height, level.width
    grid = torch.full((height * width,), -1, dtype=torch.long, device=dev)
    ty, tx = level.ty, level.tx
    n = nnf.shape[0]

    def consider(cand):
        nonlocal nnf, energy
        e = _energy(level, src, desc_t, cand)
        better = e < energy
        nnf = torch.where(better, cand, nnf)
        energy = torch.where(better, e, energy)

    # Propagation: neighbour q = p + delta maps to s(q); p tries s(q) - delta.
    for jump in _JUMPS:
        if jump >= max(height, width):
            continue
        for dy, dx in ((0, jump), (0, -jump), (jump, 0), (-jump, 0)):
            grid[level.targets] = nnf
            ny, nx = ty + dy, tx + dx
            inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
            neighbour = grid.index_select(0, ny.clamp(0, height - 1) * width + nx.clamp(0, width - 1))
            usable = inside & (neighbour >= 0)
            sy = torch.div(neighbour, src.width, rounding_mode="floor") - dy
            sx = neighbour % src.width - dx
            cand = torch.where(usable, _snap(src, sy, sx), nnf)
            consider(cand)

    # Random search around the current best in windows halving from the whole source.
    reach = max(src.height, src.width)
    while reach >= 1:
        sy = torch.div(nnf, src.width, rounding_mode="floor")
        sx = nnf % src.width
        oy = torch.randint(-reach, reach + 1, (n,), generator=generator, device=dev)
        ox = torch.randint(-reach, reach + 1, (n,), generator=generator, device=dev)
        consider(_snap(src, sy + oy, sx + ox))
        reach //= 2
    return nnf, energy


def _upsample_nnf(prev, level, src, generator):
    """The finer level's NNF from the coarser one: s_fine = 2·s_coarse + (p − 2·p_coarse)."""
    import torch

    c_level, c_src, c_nnf = prev
    dev = c_nnf.device
    grid = torch.full((c_level.height * c_level.width,), -1, dtype=torch.long, device=dev)
    grid[c_level.targets] = c_nnf
    cy = torch.div(level.ty, 2, rounding_mode="floor").clamp_max(c_level.height - 1)
    cx = torch.div(level.tx, 2, rounding_mode="floor").clamp_max(c_level.width - 1)
    s = grid[cy * c_level.width + cx]
    sy = torch.div(s, c_src.width, rounding_mode="floor") * 2 + (level.ty - 2 * cy)
    sx = (s % c_src.width) * 2 + (level.tx - 2 * cx)
    cand = _snap(src, sy, sx)
    rand = src.valid_idx[torch.randint(0, src.valid_idx.shape[0], level.targets.shape,
                                       generator=generator, device=dev)]
    return torch.where(s >= 0, cand, rand)


def _vote(level, src, nnf, energies, radius):
    """Each hole pixel = weighted mean of the source pixels the covering patches propose, with
    weights ``exp(-(e - e_min))`` where ``e`` is a patch's distance over sigma and ``e_min`` the
    least among the patches covering that pixel (``energies=None``: plain mean). A gather over
    the p² offsets (no scatter-add), so the result is deterministic."""
    import torch

    dev = nnf.device
    height, width = level.height, level.width
    # The NNF and energies on a grid padded by ``radius`` (-1 / inf there and off the targets, which
    # all lie ``radius`` or more from the frame's edge), so the patch centred at hole pixel - (dy, dx)
    # is one constant step away in the flat padded grid, with no bounds checks.
    pad_w = width + 2 * radius
    pad_idx = (level.hy + radius) * pad_w + (level.hx + radius)
    t_idx = (level.ty + radius) * pad_w + (level.tx + radius)
    grid_s = torch.full(((height + 2 * radius) * pad_w,), -1, dtype=torch.long, device=dev)
    grid_s[t_idx] = nnf
    grid_e = torch.full(((height + 2 * radius) * pad_w,), math.inf, dtype=torch.float32, device=dev)
    grid_e[t_idx] = 0.0 if energies is None else energies
    channels = level.img.shape[0]
    offsets = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]

    least = torch.full(pad_idx.shape, math.inf, dtype=torch.float32, device=dev)
    if energies is not None:
        for dy, dx in offsets:
            least = torch.minimum(least, grid_e.index_select(0, pad_idx - (dy * pad_w + dx)))
    least = torch.where(torch.isfinite(least), least, torch.zeros_like(least))
    num = torch.zeros(pad_idx.shape[0], channels, dtype=torch.float32, device=dev)
    den = torch.zeros(pad_idx.shape[0], dtype=torch.float32, device=dev)
    last = src.height * src.width - 1
    for dy, dx in offsets:
        centre = pad_idx - (dy * pad_w + dx)
        s = grid_s.index_select(0, centre)
        e = grid_e.index_select(0, centre)
        with one_thread(dev):
            w = torch.exp(-(e - least))  # inf -> 0
        pixel = (s + (dy * src.width + dx)).clamp(0, last)
        num.addcmul_(src.lin_rows.index_select(0, pixel), w[:, None])
        den.add_(w)
    good = den > 0
    values = num / den.clamp_min(1e-30)[:, None]
    flat = level.img.reshape(channels, -1)
    current = flat[:, level.holes].t()
    values = torch.where(good[:, None], values, current)
    flat[:, level.holes] = values.t()
