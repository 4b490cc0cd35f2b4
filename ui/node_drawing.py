"""How every genvfx node draws: its buttons on the node (model, seed, proxy, scope,
Generate or the progress bar with Cancel, the last error), its sidebar (N) with the
Variants box, and its label.

:class:`NodeDrawing` is mixed into the node classes Blender registers (:mod:`.nodes`).
A node's own buttons go in ``draw_extra_buttons``; a node that draws more in the sidebar
calls ``NodeDrawing.draw_buttons_ext(self, …)`` by name rather than through ``super()``,
so the drawing also runs on a stand-in for the node (the tests draw headless, where no
real UILayout exists).
"""

from __future__ import annotations

from ..addon.variant_thumbnails import VARIANT_PROXY

WRAP_WIDTH = 40  # characters a line of a message on the node


def wrap_lines(text: str, width: int = WRAP_WIDTH) -> list[str]:
    """``text`` in lines of at most ``width`` characters (a longer word keeps its own line)."""
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


def draw_warning(layout, text: str) -> None:
    """``text`` wrapped into labels, the first with the error icon."""
    for index, line in enumerate(wrap_lines(text)):
        layout.label(text=line, icon="ERROR" if index == 0 else "BLANK1")


def point_at(op, node) -> None:
    """Point an operator button at ``node``."""
    op.node_name, op.tree_name = node.name, node.id_data.name


class NodeDrawing:
    """Mixin: the drawing of a genvfx node."""

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
            point_at(row.operator("genvfx.cancel", text="", icon="CANCEL"), self)
        else:
            op = row.operator("genvfx.generate", text="Generate", icon="PLAY")
            point_at(op, self)
            op.scope = self.scope
            if self.supports_variants:
                point_at(row.operator("genvfx.variants", text="", icon="IMGDISPLAY"), self)
        if self.state == "ERROR" and self.message:
            draw_warning(layout.box(), self.message)
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

    def draw_variants(self, context, layout) -> None:
        """The sidebar's Variants box: how many, the button, a thumbnail and Use per seed."""
        box = layout.box()
        row = box.row(align=True)
        row.prop(self, "variant_count")
        point_at(row.operator("genvfx.variants", text="Variants", icon="IMGDISPLAY"), self)
        seeds = self.variant_seed_list()
        scale = f"{VARIANT_PROXY * 100:.0f} %"
        if not seeds:
            box.label(text=f"Seeds {self.seed}–{self.seed + self.variant_count - 1} at {scale}, current frame")
            return
        box.label(text=f"Frame {self.variant_frame}, {scale}")
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
            point_at(op, self)
            op.seed = seed

    def draw_label(self):
        if self.state == "RUNNING":
            return f"{self.bl_label} ({self.progress * 100:.0f}%)"
        return self.bl_label
