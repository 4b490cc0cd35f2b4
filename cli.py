"""The ``genvfx`` command: fill, relight, collapse, render, generate, farm, demo, verify, report, proxy, worker,
models."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from .backend.provenance.energy import DEFAULT_GRID_INTENSITY
from .errors import GenVFXError
from .backend.farm import DEFAULT_CHUNK
from .models.fill.params import STRUCTURES


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", help="frame range A-B (default: every frame of the plate sequence)")
    parser.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"), help="where models run")
    parser.add_argument("--python", help="backend Python interpreter (default: this one)")
    parser.add_argument("--model-path", action="append", default=[], metavar="DIR",
                        help="extra model folder (repeatable; GENVFX_MODEL_PATH works too)")

    parser.add_argument("--sign-key", type=lambda value: os.path.abspath(os.path.expanduser(value)), metavar="KEY.pem",
                        help="sign the output folder with this Ed25519 private key (PEM; GENVFX_SIGNING_KEY works "
                             "too); check it with 'genvfx verify OUT --trust KEY.pub.pem'")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genvfx", description="Generative VFX for Blender's compositor.")
    commands = parser.add_subparsers(dest="command", required=True)

    fill = commands.add_parser("fill", help="Debris Fill: fill the masked region of a plate",
                               description="Writes OUT/DebrisFill.<frame>.exr (passes Combined, Fill, Mask).")
    fill.add_argument("--plate", required=True, help="plate file or sequence (plate.####.exr; EXR/PNG/JPEG/TIFF)")
    fill.add_argument("--mask", required=True, help="mask file or sequence (white = fill)")
    fill.add_argument("--out", required=True, help="output folder")
    fill.add_argument("--seed", type=int, default=0)
    fill.add_argument("--model", default="", help="model id (see 'genvfx models list'); default: embedded")
    fill.add_argument("--source", help="exemplar image to take texture from instead of the plate")
    fill.add_argument("--proxy", type=float, default=1.0, choices=(0.25, 0.5, 1.0), help="resolution scale")
    fill.add_argument("--patch-size", type=int, help="embedded default: patch size in pixels (odd; default 7)")
    fill.add_argument("--structure", choices=STRUCTURES,
                      help="embedded default, on a street seen in one-point perspective: rays (default: each hole "
                           "pixel from what its ray from the vanishing point shows either side, so kerbs and shop "
                           "bands continue), planes (experimental: the ground by exemplars in its rectified plane) "
                           "or none")
    generative = fill.add_argument_group("generative models", "For diffusers inpainting models (--model).")
    generative.add_argument("--prompt", help="what to paint into the hole (default: rubble, debris, dust)")
    generative.add_argument("--negative-prompt", help="what to keep out of it")
    generative.add_argument("--strength", type=float, help="0-1: how far from the plate the hole may go (default 1)")
    generative.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    generative.add_argument("--guidance", type=float, help="prompt guidance scale (default: the model's)")
    temporal = fill.add_argument_group(
        "over a shot", "Key frames are filled, the frames between them get the fill carried along by optical flow.")
    keys = temporal.add_mutually_exclusive_group()
    keys.add_argument("--key-interval", type=int, metavar="N", help="a key frame every N frames (default: 12)")
    keys.add_argument("--key-frames", metavar="LIST", help="the key frames, e.g. 1,13,25")
    temporal.add_argument("--hold", action="store_true",
                          help="locked-off shot: one fill (the first key frame's) for every frame")
    temporal.add_argument("--temporal", choices=("propagate", "carry", "hold", "off"),
                          help="carry (default: what other frames show, the rest synthesised once and carried; "
                               "no key frames), propagate (key frames carried by the flow and blended), hold, or "
                               "off (every frame filled on its own)")
    variants = fill.add_argument_group(
        "variants", "Fill one frame (the first of --frames) with several seeds at a proxy scale, to pick one.")
    variants.add_argument("--variants", type=int, metavar="N",
                          help="write N variants (seeds SEED … SEED+N-1, 1-16) to OUT/variants/ and a contact "
                               "sheet OUT/variants.png; then run the full fill with --seed S")
    variants.add_argument("--variants-proxy", type=float, default=0.25, choices=(0.25, 0.5, 1.0),
                          help="resolution scale of the variants (default 0.25)")
    _add_common(fill)

    relight = commands.add_parser(
        "relight", help="Relight: normal, albedo, shading, residual and depth passes of a plate",
        description="Writes OUT/Relight.<frame>.exr (passes Combined, Normal, Albedo, Shading, Residual, Depth, "
                    "Confidence). Combined is the plate under the given light, or the plate itself when no light "
                    "option is given. Directions are in camera space: +X right, +Y up, +Z toward the camera.")
    relight.add_argument("--plate", required=True, help="plate file or sequence (plate.####.exr; EXR/PNG/JPEG/TIFF)")
    relight.add_argument("--out", required=True, help="output folder")
    relight.add_argument("--model", default="", help="model id (see 'genvfx models list'); default: embedded")
    relight.add_argument("--proxy", type=float, default=1.0, choices=(0.25, 0.5, 1.0), help="resolution scale")
    light = relight.add_argument_group("light", "The light of Combined (any one given sets a light).")
    light.add_argument("--light-dir", metavar="X,Y,Z", help="direction toward the light, camera space")
    light.add_argument("--light-color", metavar="R,G,B", help="light colour (default 1,1,1)")
    light.add_argument("--intensity", type=float, help="light intensity (default 1)")
    light.add_argument("--ambient", type=float, help="ambient light (default 0.2)")
    light.add_argument("--wrap", type=float, help="0-1: how far light wraps round the terminator (default 0.25)")
    relight.add_argument("--mode", default="recombine", choices=("recombine", "ratio"),
                         help="recombine: Albedo x Shading' + Residual; ratio: Image x Shading' / Shading")
    relight.add_argument("--temporal-strength", type=float, default=0.6,
                         help="0-0.99: smoothing of the passes along the shot's optical flow (0 = off)")
    _add_common(relight)

    collapse = commands.add_parser(
        "collapse", help="Collapse Sim: bring down the masked building (fracture, rigid bodies, dust)",
        description="Writes OUT/Collapse.<frame>.exr (passes Combined, Fragments, Dust, CleanPlate, Depth, Vector, "
                    "Normal, FragmentID) and OUT/Collapse.sim.npz (fragment meshes and per-frame transforms). "
                    "Frames before the start frame are the plate. The camera is taken as locked off, with a "
                    "50 mm-equivalent lens.")
    collapse.add_argument("--plate", required=True, help="plate file or sequence (plate.####.exr; EXR/PNG/JPEG/TIFF)")
    collapse.add_argument("--mask", required=True, help="building mask (white = building), file or sequence; "
                                                        "the start frame's is used")
    collapse.add_argument("--out", required=True, help="output folder")
    collapse.add_argument("--clean", help="clean plate to reveal (default: Debris Fill of the building's region)")
    collapse.add_argument("--start", type=int, help="first frame of the collapse (default: the first frame)")
    collapse.add_argument("--fragments", type=int, default=150, help="fragment count (8-2000, default 150)")
    collapse.add_argument("--seed", type=int, default=0)
    collapse.add_argument("--origin", metavar="X,Y", help="where the failure starts, 0-1 of the frame from the "
                                                          "top left (default: the middle of the mask's base)")
    collapse.add_argument("--direction-bias", metavar="X,Y", help="screen direction (x right, y up, length ≤ 1) "
                                                                  "the failure runs faster in")
    collapse.add_argument("--light-dir", metavar="X,Y,Z|plate",
                          help="direction toward the sun in camera space (x right, y up, z toward the camera), or "
                               "'plate': the plate's own light, fitted as Relight fits it (default: a sun high on "
                               "the left, in front)")
    collapse.add_argument("--height", type=float, default=0.0, metavar="METRES",
                          help="building height (sets the scale; default: from the mask's base and eye height)")
    collapse.add_argument("--speed", type=float, default=0.0, help="failure front speed in m/s (default: the "
                                                                   "building's height in 0.8 s)")
    collapse.add_argument("--size-falloff", type=float, default=0.6, help="0-1: how much finer fragments are near "
                                                                          "the origin (default 0.6)")
    collapse.add_argument("--gravity-scale", type=float, default=1.0)
    collapse.add_argument("--dust", type=float, default=1.0, help="dust amount (0 = none, default 1)")
    collapse.add_argument("--fps", type=float, default=24.0, help="frame rate of the plate (default 24)")
    collapse.add_argument("--quality", choices=("preview", "final"), default="preview",
                          help="preview: ray-cast in seconds a frame (default); final: rendered by Cycles (shadows on "
                               "the plate, motion blur, the dust as a lit volume), which needs Blender: the bpy "
                               "module or GENVFX_BLENDER naming Blender's binary")
    collapse.add_argument("--samples", type=int, default=64, help="Cycles samples a pixel for --quality final "
                                                                   "(default 64, denoised)")
    collapse.add_argument("--no-motion-blur", action="store_true", help="final quality without motion blur")
    collapse.add_argument("--proxy", type=float, default=1.0, choices=(0.25, 0.5, 1.0), help="resolution scale")
    collapse.add_argument("--preview", action="store_true", help="also write OUT/preview.gif of Combined")
    _add_common(collapse)

    render = commands.add_parser("render", help="generate stale genvfx nodes in a .blend and render its compositor")
    render.add_argument("blend", help="the .blend file")
    render.add_argument("--frames", help="frame range A-B (default: the scene's)")
    render.add_argument("--out", help="output folder (default: the scene's output path)")

    generate = commands.add_parser(
        "generate", help="generate the genvfx nodes of a .blend (upstream nodes first) without rendering",
        description="Brings the genvfx nodes of the scene's compositor up to date in the cache, as 'genvfx render' "
                    "does before it renders. A farm task computes a chunk of one node's frames: --node with --chunk.")
    generate.add_argument("blend", help="the .blend file")
    generate.add_argument("--node", help="only this node (and the genvfx nodes upstream of it)")
    generate.add_argument("--frames", help="frame range A-B of the job (default: the scene's)")
    generate.add_argument("--chunk", metavar="FRAMES",
                          help="with --node: compute only these frames of its job (e.g. 13-24 or 1,13,25), in this "
                               "process; the job, its cache key and how the shot is treated still span --frames")

    farm = commands.add_parser(
        "farm", help="a sequence of shots on a Ray cluster, or as an Open Job Description bundle for a render farm",
        description="Plans the sequence as tasks (shot, node, chunk of frames; upstream nodes first, a node's "
                    "chunks in turn), each making the frames 'genvfx render' would make on one machine, with the "
                    "same cache keys, into each shot's cache. See docs/farm.md.")
    farm_commands = farm.add_subparsers(dest="farm_command", required=True)
    farm_run = farm_commands.add_parser(
        "run", help="run the sequence on Ray (models kept warm in each worker), then render the composites")
    farm_bundle = farm_commands.add_parser(
        "openjd", help="write an Open Job Description job bundle (openjd run BUNDLE/template.json; AWS Deadline "
                       "Cloud)")
    for sequence in (farm_run, farm_bundle):
        sequence.add_argument("blends", nargs="+", metavar="SHOT.blend", help="the shots, in order")
        sequence.add_argument("--frames", help="frame range A-B of every shot (default: each scene's)")
        sequence.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, metavar="N",
                              help=f"frames a task generates at most (default {DEFAULT_CHUNK}; a shot-level "
                                   "generator is cut only where its result stays the same)")
    where = farm_run.add_mutually_exclusive_group(required=True)
    where.add_argument("--address", metavar="ray://HOST:PORT",
                       help="a running Ray cluster (ray://… through Ray Client, or HOST:PORT / auto on one of its "
                            "machines); genvfx and bpy must be installed on every machine, the shots and their "
                            "caches on storage they share")
    where.add_argument("--local", type=int, metavar="WORKERS", help="start a Ray cluster on this machine with WORKERS")
    farm_run.add_argument("--workers", type=int, help="with --address: workers to start (default: the cluster's "
                                                      "CPUs / --cpus-per-worker)")
    farm_run.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs each worker asks for (default 1)")
    farm_run.add_argument("--gpus-per-worker", type=float,
                          help="share of a GPU each worker asks for (default: the cluster's GPUs shared among the "
                               "workers, at most 1; 0 on a cluster without GPUs)")
    farm_run.add_argument("--threads", type=int, help="GENVFX_THREADS of the workers: CPU threads per model "
                                                      "(default: this shell's, else --cpus-per-worker)")
    farm_run.add_argument("--retries", type=int, default=2, help="times a failed task is run again (default 2)")
    farm_run.add_argument("--out", help="composites go to OUT/<shot>/ (default: each scene's output path)")
    farm_run.add_argument("--verbose", action="store_true", help="show the workers' own output")
    farm_bundle.add_argument("--out", required=True, metavar="BUNDLE", help="the bundle's folder")
    farm_bundle.add_argument("--composites", metavar="DIR",
                             help="composites go to DIR/<shot>/ (default: each scene's output path)")
    farm_bundle.add_argument("--genvfx", default="genvfx", metavar="COMMAND",
                             help="the genvfx command on the farm's machines (default: genvfx)")
    farm_bundle.add_argument("--name", help="the job's name (default: genvfx sequence)")

    demo = commands.add_parser("demo", help="build the demo shot, fill it, save shot.blend and a contact sheet")
    demo.add_argument("--out", default="demo", help="output folder (default: ./demo)")
    demo.add_argument("--proxy", type=float, default=1.0, choices=(0.25, 0.5, 1.0))
    demo.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))

    verify = commands.add_parser(
        "verify", help="check every frame under DIR against its ledger (pixel hashes, hash chain, headers, "
                       "signatures)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Exits 0 when every frame's pixels and provenance header match its ledger entry and every "
                    "ledger's chain is whole;\notherwise exits 1 naming each altered, missing or unrecorded "
                    "frame, header attribute or ledger line.\n\n"
                    "Without --trust a folder that passes is 'consistent, not authenticated': whoever can edit "
                    "the folder\ncan rewrite frames, ledger and headers so that they agree. With --trust "
                    "KEY.pub.pem it is also\n'authenticated by' that key: the jobs that wrote it signed the "
                    "ledger's tip (ledger.sig) and each\nframe's entry with the private key (--sign-key, "
                    "GENVFX_SIGNING_KEY or the add-on's Signing Key),\nso frames or lines added, edited or "
                    "removed since are caught and named, and a folder without\nsignature fails.\n\n"
                    "Make a key pair once:  genvfx verify --new-key studio.pem   (writes studio.pem and "
                    "studio.pub.pem)\n"
                    "  or:  openssl genpkey -algorithm ed25519 -out studio.pem && "
                    "openssl pkey -in studio.pem -pubout -out studio.pub.pem")
    verify.add_argument("dir", nargs="?", help="a job's output folder, or a cache folder (searched recursively)")
    verify.add_argument("--json", action="store_true", help="print the result as JSON (for pipelines)")
    verify.add_argument("--trust", action="append", metavar="KEY.pub.pem",
                        help="an Ed25519 public key (PEM or ssh-ed25519) whose signatures are trusted (repeatable); "
                             "the folder must be signed by one of them")
    verify.add_argument("--new-key", metavar="KEY.pem",
                        help="write a new signing key KEY.pem (private, mode 600) and KEY.pub.pem (public), then stop "
                             "(or verify DIR when given)")

    report = commands.add_parser(
        "report", help="write DIR/report.json and a self-contained DIR/report.html (AI use, compute, energy)",
        description="Per shot and per generator: frames generated, the share of the screen generated per frame "
                    "and over the shot, models and licences, seeds, CPU/GPU seconds, energy and emissions.")
    report.add_argument("dir", help="a job's output folder, or a cache folder (searched recursively)")
    report.add_argument("--grid-intensity", type=float, default=DEFAULT_GRID_INTENSITY, metavar="G",
                        help="grams of CO2e per kWh of your electricity (default 475, about the world average)")

    proxy = commands.add_parser(
        "proxy", help="review proxies (PNG or MP4) of the frames under DIR; --detect FILE reads a watermark",
        description="Writes the Combined pass of every frame recorded under DIR, display-encoded (sRGB), into "
                    "PROXYDIR: PNG frames, or one MP4 per shot. --watermark embeds an invisible mark (RivaGAN, "
                    "32 bits: genvfx + the ledger entry) that survives JPEG at quality 80 and a 10%% crop; --sign "
                    "embeds C2PA Content Credentials declaring AI-generated content, signed offline.")
    proxy.add_argument("dir", nargs="?", help="a job's output folder, or a cache folder")
    proxy.add_argument("--out", metavar="PROXYDIR", help="where the proxies go")
    proxy.add_argument("--format", default="png", choices=("png", "mp4"))
    proxy.add_argument("--scale", type=float, default=1.0, help="resolution scale (default 1)")
    proxy.add_argument("--fps", type=float, default=24.0, help="MP4 frame rate (default 24)")
    proxy.add_argument("--watermark", action="store_true", help="embed an invisible genvfx mark")
    proxy.add_argument("--sign", nargs=2, metavar=("CERT", "KEY"),
                       help="sign with C2PA: certificate chain (PEM, signing certificate first) and its private key")
    proxy.add_argument("--detect", metavar="FILE", help="read the watermark (and C2PA manifest) of a proxy")
    proxy.add_argument("--ledger", metavar="DIR", help="with --detect: name the frames of DIR the mark points to")
    proxy.add_argument("--trust-anchors", metavar="CA", help="with --detect: the CA (PEM) to trust signatures from")

    commands.add_parser("worker", help="run the backend worker (JSON lines on stdin/stdout)")

    models = commands.add_parser("models", help="model folders")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    listing = models_commands.add_parser("list", help="list the models on the search path")
    listing.add_argument("--model-path", action="append", default=[], metavar="DIR")
    return parser


#: Subcommands whose module ``commands/<name>.py`` has ``main(args)`` (imported when run,
#: so that ``genvfx --help`` loads none of them).
SUBCOMMANDS = ("fill", "relight", "collapse", "render", "demo", "verify", "report", "proxy", "worker",
               "models", "generate", "farm")


def _run(args) -> int:
    if args.command in SUBCOMMANDS:
        return importlib.import_module(f".commands.{args.command}", __package__).main(args)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = _run(args)
        sys.stdout.flush()  # here, so that a closed pipe is met inside the handlers below
        return code
    except GenVFXError as error:
        print(f"genvfx: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genvfx: cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:  # piped into head or a closed pager: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
