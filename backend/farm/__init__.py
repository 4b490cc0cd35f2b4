"""A sequence of shots on many machines: the work planned as tasks (:mod:`.plan`, plain
data), run on a Ray cluster (:mod:`.ray_run`) or written as an Open Job Description job
bundle for a render farm (:mod:`.openjd`), each task a share of a job (:mod:`.share`).

No bpy here: what a task does with a .blend is given by the caller (``commands/farm.py``
and ``commands/generate.py`` hold the Blender side, through ``addon/headless``).
"""

#: Frames a farm task generates at most (a node's frames are split into such chunks
#: where the generator's result stays the same; see :func:`.plan.node_chunks`).
DEFAULT_CHUNK = 12
