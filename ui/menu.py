"""Add > Generative in the compositor's Add menu (Blender 5.0: the compositor's
root add menu is ``NODE_MT_compositor_node_add_all``, drawn inside ``NODE_MT_add``)."""

from __future__ import annotations

import bpy

from . import in_compositor, nodes

#: (idname, label) of each entry.
GENERATIVE_NODES = tuple((cls.bl_idname, cls.bl_label) for cls in nodes.classes)
ROOT_MENU = "NODE_MT_compositor_node_add_all"


class NODE_MT_genvfx_generative(bpy.types.Menu):
    bl_idname = "NODE_MT_genvfx_generative"
    bl_label = "Generative"

    @classmethod
    def poll(cls, context):
        return in_compositor(context)

    def draw(self, context):
        layout = self.layout
        for idname, label in GENERATIVE_NODES:
            props = layout.operator("node.add_node", text=label)
            props.type = idname
            props.use_transform = True


def draw_add_menu(self, context):
    if not in_compositor(context):
        return
    self.layout.separator()
    self.layout.menu(NODE_MT_genvfx_generative.bl_idname, icon="SHADERFX")


classes = (NODE_MT_genvfx_generative,)


def register() -> None:
    menu = getattr(bpy.types, ROOT_MENU, None)
    if menu is not None:
        menu.append(draw_add_menu)


def unregister() -> None:
    menu = getattr(bpy.types, ROOT_MENU, None)
    if menu is not None:
        menu.remove(draw_add_menu)
