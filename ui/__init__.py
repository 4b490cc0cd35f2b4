"""The Blender UI: the node classes Blender registers with their drawing (:mod:`.nodes`,
:mod:`.node_drawing`), the Add menu entries, the sidebar panels and the status-bar
progress (:mod:`.progress`)."""


def in_compositor(context) -> bool:
    """Whether the editor in ``context`` shows a compositor node tree."""
    space = context.space_data
    return space is not None and getattr(space, "tree_type", "") == "CompositorNodeTree"
