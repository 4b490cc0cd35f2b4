"""The Blender UI: the Add menu entries and the sidebar panels."""


def in_compositor(context) -> bool:
    """Whether the editor in ``context`` shows a compositor node tree."""
    space = context.space_data
    return space is not None and getattr(space, "tree_type", "") == "CompositorNodeTree"
