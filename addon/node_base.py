"""What every genvfx compositor node shares: job properties, status, the internal
group's result Image node, and the buttons.

A genvfx node is a ``CompositorNodeCustomGroup``: Python cannot run during
compositing, so each node wraps its own node group (one per node, made in
``init``). That group reads the generated multilayer EXR sequence with a
``CompositorNodeImage`` and recombines its passes with ordinary compositor nodes
(the refinement controls are the group's inputs). Python only acts between
evaluations: it turns the node into a job, and when the job is done it points the
internal Image node at the cached sequence.

A subclass gives ``generator`` (the backend generator name), ``layer`` (the EXR
layer it writes), ``input_roles`` (node input socket -> job input role) and
``build_group(tree)``.
"""

from __future__ import annotations

import os

import bpy
from bpy.props import EnumProperty, FloatProperty, IntProperty, StringProperty

RESULT_NODE = "GenVFX Result"      # the internal CompositorNodeImage
GENERATED_SWITCH = "GenVFX Generated"  # internal Switch nodes carry this prefix
AFTER_FIRST = "GenVFX After First"  # Frame > first - 0.5
BEFORE_LAST = "GenVFX Before Last"  # Frame < last + 0.5

STATES = (
    ("IDLE", "Idle", "Nothing generated yet"),
    ("RUNNING", "Running", "The backend is generating"),
    ("DONE", "Done", "The generated layers are loaded"),
    ("ERROR", "Error", "The last job failed"),
)

PROXIES = (
    ("25", "25%", "Generate at a quarter of the resolution (fast previews)"),
    ("50", "50%", "Generate at half the resolution"),
    ("100", "100%", "Generate at full resolution"),
)

SCOPES = (
    ("FRAME", "Current Frame", "Generate the current frame only"),
    ("RANGE", "Frame Range", "Generate every frame of the scene's frame range"),
)

DEFAULT_MODEL = "DEFAULT"

VARIANT_PROXY = 0.25  # Variants are quick previews of a seed's look
MAX_VARIANTS = 16
VARIANT_OF = "genvfx_variant_of"  # custom property on a variant's image: its node's owner tag

# Blender keeps pointers into the items a dynamic enum returns: they must outlive the call.
_model_items_cache: dict[str, list] = {}


def _model_items(node, context):
    """The embedded default first, then every model for this node's slot on the search
    path (shipped weights, the preferences' folders, GENVFX_MODEL_PATH)."""
    slot = node.model_slot or node.generator
    items = [(DEFAULT_MODEL, "Embedded default", "The generator's built-in model (no download, runs on a CPU)")]
    try:
        from ..backend.generators import generator_spec
        from ..models import registry
        from . import preferences

        default = generator_spec(node.generator).default_model
        items[0] = (DEFAULT_MODEL, "Embedded default", f"{default}: no download, runs on a CPU")
        for manifest in registry.list_models(preferences.model_folders(), slot=slot):
            if manifest.id != default:
                items.append((manifest.id, manifest.id,
                              f"{manifest.description or manifest.id} (licence: {manifest.licence})"))
    except Exception:  # a broken model folder must not break drawing the node
        pass
    _model_items_cache[slot] = items
    return items


def _get_model(node) -> int:
    items = _model_items(node, None)
    for index, item in enumerate(items):
        if item[0] == (node.model_id or DEFAULT_MODEL):
            return index
    return 0


def _set_model(node, value: int) -> None:
    items = _model_items(node, None)
    identifier = items[value][0] if 0 <= value < len(items) else DEFAULT_MODEL
    node.model_id = "" if identifier == DEFAULT_MODEL else identifier


class GenVFXNodeBase:
    """Mixin for the genvfx ``CompositorNodeCustomGroup`` nodes."""

    generator = ""
    layer = ""
    model_slot = ""
    input_roles: dict[str, str] = {}
    group_name = "GenVFX"
    supports_variants = False  # the node offers Variants (several seeds at a proxy, pick one)

    # What the artist sets.
    seed: IntProperty(name="Seed", default=0, min=0, description="Random seed; each frame derives its own from it")
    model: EnumProperty(name="Model", items=_model_items, get=_get_model, set=_set_model,
                        description="The model that generates; the embedded default needs no download")
    model_id: StringProperty(name="Model ID", default="", description="Model id ('' = the embedded default)")
    proxy: EnumProperty(name="Proxy", items=PROXIES, default="100",
                        description="Generate at a fraction of the resolution; the result is scaled back up")
    source: StringProperty(name="Source", subtype="FILE_PATH", default="",
                           description="Optional exemplar image to take material from (e.g. a rubble photo)")
    scope: EnumProperty(name="Scope", items=SCOPES, default="FRAME", description="Which frames Generate computes")

    # What the node shows about its last job (set by Python, not by the artist).
    state: EnumProperty(name="State", items=STATES, default="IDLE")
    progress: FloatProperty(name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    message: StringProperty(name="Message", default="", description="The last error, or what is going on")
    job_id: StringProperty(name="Job", default="")
    job_key: StringProperty(name="Job Key", default="", description="Content hash of the loaded result")
    result_pattern: StringProperty(name="Result", subtype="FILE_PATH", default="",
                                   description="The EXR sequence the node shows ('#' = frame number)")
    result_first: IntProperty(name="First Frame", default=1)
    result_last: IntProperty(name="Last Frame", default=1)
    result_proxy: FloatProperty(name="Result Proxy", default=1.0)

    # Variants: the current frame with seeds seed … seed+N-1 at 25 %; "Use" sets the seed.
    variant_count: IntProperty(name="Variants", default=4, min=1, max=MAX_VARIANTS,
                               description="How many seeds Variants tries (from the node's seed up)")
    variant_seeds: StringProperty(name="Variant Seeds", default="",
                                  description="The seeds of the variants made, comma separated")
    variant_frame: IntProperty(name="Variant Frame", default=1, description="The frame the variants show")

    # ------------------------------------------------------------------ node API
    @classmethod
    def poll(cls, ntree):
        return ntree.bl_idname == "CompositorNodeTree"

    def init(self, context):
        tree = bpy.data.node_groups.new(f".{self.group_name}", "CompositorNodeTree")
        self.build_group(tree)
        self.node_tree = tree
        self.width = 220

    def copy(self, node):
        # Each node owns its group: the result image and switches are per node.
        if node.node_tree is not None:
            self.node_tree = node.node_tree.copy()
        self.variant_seeds = ""  # the thumbnails belong to the original

    def free(self):
        # The group is this node's own (a new datablock's user count is 2 here, so
        # ``users`` cannot tell): remove it unless another group node uses it too.
        self.clear_variants()
        tree = self.node_tree
        if tree is None:
            return
        shared = any(
            node != self and getattr(node, "node_tree", None) == tree
            for group in bpy.data.node_groups for node in group.nodes
        )
        if shared:
            return
        result = tree.nodes.get(RESULT_NODE)
        image = result.image if result is not None else None
        self.node_tree = None
        bpy.data.node_groups.remove(tree)
        if image is not None and image.users == 0:
            bpy.data.images.remove(image)

    def build_group(self, tree) -> None:  # pragma: no cover - subclasses build
        raise NotImplementedError

    @staticmethod
    def build_frame_range(tree, location):
        """Nodes giving 1 on the generated frames and 0 elsewhere; returns that socket.
        :meth:`load_result` sets the bounds."""
        x, y = location
        time = tree.nodes.new("CompositorNodeSceneTime")
        time.name, time.label, time.location = "GenVFX Scene Time", "Scene Time", (x, y)
        after = tree.nodes.new("ShaderNodeMath")
        after.name, after.label, after.location = AFTER_FIRST, "After First Frame", (x + 200, y)
        after.operation = "GREATER_THAN"
        before = tree.nodes.new("ShaderNodeMath")
        before.name, before.label, before.location = BEFORE_LAST, "Before Last Frame", (x + 200, y - 180)
        before.operation = "LESS_THAN"
        both = tree.nodes.new("ShaderNodeMath")
        both.name, both.label, both.location = "GenVFX In Range", "In Range", (x + 400, y - 90)
        both.operation = "MULTIPLY"
        tree.links.new(time.outputs["Frame"], after.inputs[0])
        tree.links.new(time.outputs["Frame"], before.inputs[0])
        tree.links.new(after.outputs["Value"], both.inputs[0])
        tree.links.new(before.outputs["Value"], both.inputs[1])
        after.inputs[1].default_value = -1.0e9
        before.inputs[1].default_value = 1.0e9
        return both.outputs["Value"]

    def set_frame_range(self, first: int, last: int) -> None:
        after = self.node_tree.nodes.get(AFTER_FIRST)
        before = self.node_tree.nodes.get(BEFORE_LAST)
        if after is not None and before is not None:
            after.inputs[1].default_value = first - 0.5
            before.inputs[1].default_value = last + 0.5

    def link_result(self, tree, image_node) -> None:  # pragma: no cover - subclasses link
        """Wire the result Image node's pass sockets into the group (they exist only
        once an image is loaded, so this runs on every load)."""
        raise NotImplementedError

    # --------------------------------------------------------------- the result
    @property
    def proxy_scale(self) -> float:
        return int(self.proxy) / 100.0

    @property
    def result_frames(self) -> list[int]:
        if not self.result_pattern:
            return []
        return list(range(self.result_first, self.result_last + 1))

    def result_node(self):
        tree = self.node_tree
        return tree.nodes.get(RESULT_NODE) if tree is not None else None

    def set_generated(self, generated: bool) -> None:
        self.set_switches(self.node_tree, generated)

    @staticmethod
    def set_switches(tree, generated: bool) -> None:
        """Switch the group between pass-through (False) and the generated layers."""
        for node in tree.nodes:
            if node.name.startswith(GENERATED_SWITCH):
                node.inputs["Switch"].default_value = generated

    def load_result(self, pattern: str, frames: list[int], proxy: float = 1.0, key: str = "") -> None:
        """Point the internal Image node at ``pattern`` (a '#'-numbered EXR sequence)
        for ``frames`` and switch the node from pass-through to the generated layers."""
        frames = sorted(frames)
        first, last = frames[0], frames[-1]
        first_file = _frame_file(pattern, first)
        image_node = self.result_node()
        image = image_node.image
        if image is None or image.get("genvfx_owner") != self.image_owner_tag():
            image = bpy.data.images.load(first_file, check_existing=False)
            image.name = f".{self.layer} {self.name}"
            image["genvfx_owner"] = self.image_owner_tag()
        elif bpy.path.abspath(image.filepath) != first_file:
            image.filepath = first_file
        image.source = "SEQUENCE" if len(frames) > 1 or "#" in os.path.basename(pattern) else "FILE"
        image.reload()
        image_node.image = image
        # Scene frame F shows file frame F: frame_start = first, offset = first - 1.
        image_node.frame_start = first
        image_node.frame_offset = first - 1
        image_node.frame_duration = last - first + 1
        image_node.use_cyclic = False
        image_node.use_auto_refresh = True
        self.link_result(self.node_tree, image_node)
        self.set_proxy_scale(proxy)
        self.set_frame_range(first, last)
        self.set_generated(True)
        self.result_pattern = pattern
        self.result_first, self.result_last = first, last
        self.result_proxy = proxy
        if key:
            self.job_key = key

    def set_proxy_scale(self, proxy: float) -> None:
        """The result was generated at ``proxy`` × the plate size: scale it back up."""
        factor = 1.0 / proxy if proxy > 0 else 1.0
        for node in self.node_tree.nodes:
            if node.bl_idname == "CompositorNodeScale" and node.name.startswith("GenVFX Proxy"):
                node.inputs["X"].default_value = factor
                node.inputs["Y"].default_value = factor

    def clear_result(self) -> None:
        """Back to pass-through (the generated files stay in the cache)."""
        image_node = self.result_node()
        if image_node is not None:
            image_node.image = None
        self.set_generated(False)
        self.result_pattern = ""
        self.job_key = ""
        self.state = "IDLE"
        self.progress = 0.0
        self.message = ""

    # ------------------------------------------------------------------ variants
    def variant_params(self) -> dict:
        """The job parameters of a variant (one frame on its own); subclasses drop their
        shot settings."""
        getter = getattr(self, "job_params", None)
        return dict(getter()) if callable(getter) else {}

    def variant_seed_list(self) -> list[int]:
        return [int(part) for part in self.variant_seeds.split(",") if part.strip().isdigit()]

    def variant_images(self) -> dict[int, object]:
        """``{seed: image}`` of this node's variant thumbnails."""
        tag = self.image_owner_tag()
        return {int(image["genvfx_seed"]): image for image in bpy.data.images
                if image.get(VARIANT_OF) == tag and "genvfx_seed" in image}

    def add_variant(self, seed: int, frame_file: str, frame: int) -> None:
        """Show the variant of ``seed`` (its layers in ``frame_file``) as a thumbnail. The
        image keeps a fake user so the thumbnails survive saving and reopening the file."""
        old = self.variant_images().get(int(seed))
        if old is not None:
            bpy.data.images.remove(old)
        image = bpy.data.images.load(frame_file, check_existing=False)
        image.name = f".{self.layer} {self.name} seed {seed}"
        image[VARIANT_OF] = self.image_owner_tag()
        image["genvfx_seed"] = int(seed)
        image.use_fake_user = True
        try:
            image.preview_ensure()
        except (AttributeError, RuntimeError):  # no previews in this build: the list still works
            pass
        self.variant_seeds = ",".join(str(value) for value in sorted({*self.variant_seed_list(), int(seed)}))
        self.variant_frame = int(frame)

    def clear_variants(self) -> None:
        for image in self.variant_images().values():
            bpy.data.images.remove(image)
        self.variant_seeds = ""

    def draw_variants(self, context, layout) -> None:
        """The sidebar's Variants box: how many, the button, a thumbnail and Use per seed."""
        box = layout.box()
        row = box.row(align=True)
        row.prop(self, "variant_count")
        op = row.operator("genvfx.variants", text="Variants", icon="IMGDISPLAY")
        op.node_name, op.tree_name = self.name, self.id_data.name
        seeds = self.variant_seed_list()
        if not seeds:
            box.label(text=f"Seeds {self.seed}–{self.seed + self.variant_count - 1} at 25 %, current frame")
            return
        box.label(text=f"Frame {self.variant_frame}, 25 %")
        images = self.variant_images()
        grid = box.grid_flow(row_major=True, columns=2, even_columns=True, align=True)
        for seed in seeds:
            cell = grid.column(align=True)
            image = images.get(seed)
            preview = None
            if image is not None:
                try:
                    preview = image.preview or image.preview_ensure()
                except (AttributeError, RuntimeError):
                    preview = None
            if preview is not None and preview.icon_id:
                cell.template_icon(icon_value=preview.icon_id, scale=5.0)
            elif image is None:
                cell.label(text="(missing)", icon="ERROR")
            picked = seed == self.seed
            op = cell.operator("genvfx.use_variant", text=f"Use {seed}", icon="CHECKMARK" if picked else "NONE",
                               depress=picked)
            op.node_name, op.tree_name, op.seed = self.name, self.id_data.name, seed

    def image_owner_tag(self) -> str:
        return f"{self.id_data.name}/{self.name}"

    def frames_on_disk(self, frames: list[int]) -> bool:
        if not self.result_pattern:
            return False
        return all(os.path.isfile(_frame_file(self.result_pattern, frame)) for frame in frames)

    # ------------------------------------------------------------------- drawing
    def draw_buttons(self, context, layout):
        col = layout.column(align=True)
        col.prop(self, "model", text="")
        row = col.row(align=True)
        row.prop(self, "seed")
        row.prop(self, "proxy", text="")
        col.prop(self, "scope", text="")
        self.draw_extra_buttons(context, layout)

        row = layout.row(align=True)
        if self.state == "RUNNING":
            row.progress(factor=self.progress, type="BAR", text=f"{self.progress * 100:.0f}%")
            op = row.operator("genvfx.cancel", text="", icon="CANCEL")
            op.node_name, op.tree_name = self.name, self.id_data.name
        else:
            op = row.operator("genvfx.generate", text="Generate", icon="PLAY")
            op.node_name, op.tree_name = self.name, self.id_data.name
            op.scope = self.scope
            if self.supports_variants:
                op = row.operator("genvfx.variants", text="", icon="IMGDISPLAY")
                op.node_name, op.tree_name = self.name, self.id_data.name
        if self.state == "ERROR" and self.message:
            box = layout.box()
            for index, line in enumerate(_wrap(self.message, 40)):
                box.label(text=line, icon="ERROR" if index == 0 else "BLANK1")
        elif self.state == "DONE":
            layout.label(text=f"Frames {self.result_first}–{self.result_last}", icon="CHECKMARK")
        elif self.message:
            layout.label(text=self.message)

    def draw_extra_buttons(self, context, layout) -> None:
        pass

    def draw_buttons_ext(self, context, layout):
        self.draw_buttons(context, layout)
        if self.supports_variants:
            self.draw_variants(context, layout)
        layout.prop(self, "model_id")
        manifest = self.chosen_model()
        if manifest is not None:
            layout.label(text=f"Licence: {manifest.licence}")
        layout.prop(self, "result_pattern", text="Result")
        layout.label(text=f"Key: {self.job_key or '—'}")

    def chosen_model(self):
        """The manifest of the chosen model (None when it cannot be found)."""
        try:
            from ..backend.generators import generator_spec
            from ..models import registry
            from . import preferences

            model_id = self.model_id or generator_spec(self.generator).default_model
            return registry.find_model(model_id, preferences.model_folders(), slot=self.model_slot)
        except Exception:  # a broken model folder must not break drawing the node
            return None

    def draw_label(self):
        if self.state == "RUNNING":
            return f"{self.bl_label} ({self.progress * 100:.0f}%)"
        return self.bl_label


def _frame_file(pattern: str, frame: int) -> str:
    """The file of ``frame`` in a '#'-numbered pattern (the last run of '#')."""
    head, name = os.path.split(pattern)
    end = name.rfind("#")
    if end < 0:
        return pattern
    start = end
    while start > 0 and name[start - 1] == "#":
        start -= 1
    width = end - start + 1
    return os.path.join(head, f"{name[:start]}{frame:0{width}d}{name[end + 1:]}")


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines
