"""What the artist sets on every genvfx node (model, seed, proxy scale, source, scope) and
what the node shows about its job (state, progress, message).

The Model menu lists the embedded default first, then every model for the node's slot
on the search path (shipped weights, the preferences' folders, GENVFX_MODEL_PATH).
"""

from __future__ import annotations

from bpy.props import EnumProperty, FloatProperty, IntProperty, StringProperty

from ..backend.generators import generator_spec
from ..models import registry
from . import preferences

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

# Blender keeps pointers into the items a dynamic enum returns: they must outlive the call.
_model_items_cache: dict[str, list] = {}


def _model_items(node, context):
    slot = node.model_slot or node.generator
    items = [(DEFAULT_MODEL, "Embedded default", "The generator's built-in model (no download, runs on a CPU)")]
    try:
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


class NodeProperties:
    """Mixin: the properties every genvfx node has."""

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

    @property
    def proxy_scale(self) -> float:
        return int(self.proxy) / 100.0

    def chosen_model(self):
        """The manifest of the chosen model (None when it cannot be found)."""
        try:
            model_id = self.model_id or generator_spec(self.generator).default_model
            return registry.find_model(model_id, preferences.model_folders(), slot=self.model_slot)
        except Exception:  # a broken model folder must not break drawing the node
            return None
