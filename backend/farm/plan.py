"""A sequence planned as tasks: (shot, node, frame chunk) with what each must wait for.

A shot is what :func:`genvfx.addon.headless.describe_blend` says of a .blend: its frames
and its genvfx nodes, upstream first, each with its generator, parameters and the genvfx
nodes it reads from. The plan gives each node a chain of **generate** tasks and each shot
one **render** task:

* a node's first task waits for the last task of every genvfx node upstream of it (its
  input is their result, baked over the whole shot);
* a node's tasks run one after the other: they write into one output folder (one job, one
  key, one ledger), and one writer at a time keeps the ledger whole and lets each task
  read back the frames the one before wrote;
* a node's frames are cut into chunks only where the generator makes the same pixels as
  in one run (:func:`node_chunks`): a fill carried along the shot computes its key frames
  first, then whole windows between keys; Relight's smoothing reads each frame before a
  chunk back from the cache; a collapse is one simulation and stays whole;
* the render task of a shot waits for every node of the shot.

Every task's job spans the shot's frames (so its cache key is the one a single machine
gives); ``frames`` is the share it computes.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from ..generators import generator_spec
from ...errors import BadInput
from ...models.fill.temporal import TemporalOptions, windows
from . import DEFAULT_CHUNK

GENERATE, RENDER = "generate", "render"


@dataclass(frozen=True)
class NodeInfo:
    name: str
    generator: str
    params: dict = field(default_factory=dict)
    upstream: tuple[str, ...] = ()  # genvfx nodes whose result this node reads

    @classmethod
    def from_dict(cls, data: dict) -> "NodeInfo":
        return cls(data["name"], data["generator"], dict(data.get("params") or {}), tuple(data.get("upstream", ())))


@dataclass(frozen=True)
class ShotInfo:
    blend: str
    frames: tuple[int, ...]
    nodes: tuple[NodeInfo, ...] = ()  # upstream first

    @classmethod
    def from_dict(cls, data: dict) -> "ShotInfo":
        return cls(str(data["blend"]), tuple(int(f) for f in data["frames"]),
                   tuple(NodeInfo.from_dict(node) for node in data.get("nodes", ())))


@dataclass(frozen=True)
class Task:
    id: str
    kind: str                      # generate | render
    shot: str                      # a short name, unique in the sequence
    blend: str
    job_frames: tuple[int, ...]    # the frames of the job (the shot's): its key and how the shot is treated
    frames: tuple[int, ...]        # the frames this task computes (renders: every frame of the shot)
    node: str = ""
    generator: str = ""
    after: tuple[str, ...] = ()    # tasks that must be done first

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Task":
        return cls(**{**data, "job_frames": tuple(data["job_frames"]), "frames": tuple(data["frames"]),
                      "after": tuple(data.get("after", ()))})

    def label(self) -> str:
        what = f"{self.node} frames {frames_text(self.frames)}" if self.kind == GENERATE else \
            f"render frames {frames_text(self.frames)}"
        return f"{self.shot} · {what}"


def frames_text(frames) -> str:
    """``[1, 2, 3, 7, 9, 10]`` → ``"1-3,7,9-10"`` (what :func:`~genvfx.backend.files.sequences.parse_frames`
    reads back)."""
    frames = sorted(set(int(f) for f in frames))
    runs: list[list[int]] = []
    for frame in frames:
        if runs and frame == runs[-1][1] + 1:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _packed(groups: list[list[int]], size: int) -> list[list[int]]:
    """Consecutive groups joined while the result stays within ``size`` frames (a group
    longer than ``size`` stays whole)."""
    chunks: list[list[int]] = []
    for group in groups:
        if chunks and len(chunks[-1]) + len(group) <= size:
            chunks[-1] = chunks[-1] + group
        else:
            chunks.append(list(group))
    return chunks


def _runs(frames: list[int], size: int) -> list[list[int]]:
    return [frames[i:i + size] for i in range(0, len(frames), size)]


def node_chunks(generator: str, params: dict, frames, size: int = DEFAULT_CHUNK) -> list[list[int]]:
    """The frames of one node's job cut into chunks, in the order they must be computed,
    such that computing them one after the other (each reading what the ones before wrote
    back from the cache, as a resumed job does) gives the pixels of one run over ``frames``.

    * a generator made frame by frame (no ``run_frames``): chunks of ``size``;
    * Debris Fill: ``off`` — chunks of ``size`` (every frame on its own); ``carry`` —
      chunks of ``size`` in frame order (a frame reads the earlier ones back); ``hold`` — the
      key frame first, then the rest; ``propagate`` — the key frames (filled on their own)
      first, then whole windows between keys (each carried from both of its keys);
    * Relight: chunks of ``size`` in frame order (a frame is smoothed with the one before,
      which the chunk reads back from the cache);
    * anything else made over the whole shot (Collapse Sim: one simulation): whole.
    """
    frames = sorted(set(int(f) for f in frames))
    if size < 1:
        raise BadInput(f"A chunk must hold at least one frame, not {size}", "Use e.g. --chunk 12.")
    if not frames:
        return []
    spec = generator_spec(generator)
    if spec.run_frames is None:
        return _runs(frames, size)
    if generator == "fill":
        options, _ = TemporalOptions.split(params)
        if options.mode in ("off", "carry"):  # carry: in frame order, each chunk after the last
            return _runs(frames, size)
        keys = options.keys(frames)
        rest = [frame for frame in frames if frame not in set(keys)]
        if options.mode == "hold":
            return _runs(keys, size) + _runs(rest, size)
        between = [list(group) for _, group, _ in windows(frames, keys)]
        return _runs(keys, size) + _packed(between, size)
    if generator == "relight":
        return _runs(frames, size)
    return [frames]


def shot_names(blends: list[str]) -> list[str]:
    """Short names for the shots: the file name without ``.blend``, with its folder (then a
    number) where two would read the same."""
    stems = [os.path.splitext(os.path.basename(path))[0] for path in blends]
    names = [f"{os.path.basename(os.path.dirname(path))}/{stem}" if stems.count(stem) > 1 else stem
             for path, stem in zip(blends, stems)]
    return [f"{name}#{index + 1}" if names.count(name) > 1 else name for index, name in enumerate(names)]


def plan(shots: list[ShotInfo], chunk: int = DEFAULT_CHUNK) -> list[Task]:
    """The tasks of a sequence, each after the tasks it waits for."""
    blends = [os.path.normpath(shot.blend) for shot in shots]
    twice = sorted({blend for blend in blends if blends.count(blend) > 1})
    if twice:
        raise BadInput(f"{twice[0]} is listed more than once", "Give each shot once.")
    tasks: list[Task] = []

    def add(**fields) -> str:
        task = Task(id=f"t{len(tasks) + 1:03d}", **fields)
        tasks.append(task)
        return task.id

    for shot, name in zip(shots, shot_names(blends)):
        common = dict(shot=name, blend=shot.blend, job_frames=tuple(sorted(shot.frames)))
        last: dict[str, str] = {}  # node -> its last task
        for node in shot.nodes:
            unknown = [up for up in node.upstream if up not in last]
            if unknown:
                raise BadInput(f"{name}: {node.name} reads {unknown[0]}, which is not listed before it",
                               "List a shot's nodes upstream first.")
            after = tuple(sorted({last[up] for up in node.upstream}))
            for frames in node_chunks(node.generator, node.params, shot.frames, chunk):
                after = (add(kind=GENERATE, node=node.name, generator=node.generator, frames=tuple(frames),
                             after=after, **common),)
                last[node.name] = after[0]
        add(kind=RENDER, frames=tuple(sorted(shot.frames)), after=tuple(sorted(last.values())), **common)
    return tasks


def writers_in_turn(tasks: list[Task]) -> bool:
    """Whether every two generate tasks of one (shot, node) — one output folder — are
    ordered by the plan (one waits for the other), so a folder never has two writers at once."""
    by_id = {task.id: task for task in tasks}
    before: dict[str, set[str]] = {}
    for task in tasks:  # tasks come after what they wait for
        before[task.id] = set(task.after).union(*(before[up] for up in task.after if up in before))
    folders: dict[tuple, list[str]] = {}
    for task in tasks:
        if task.kind == GENERATE:
            folders.setdefault((task.blend, task.node), []).append(task.id)
    return all(a in before[b] or b in before[a]
               for ids in folders.values() for i, a in enumerate(ids) for b in ids[i + 1:]) and \
        all(up in by_id for task in tasks for up in task.after)
